"""Counters and latency histograms, rendered in the Prometheus text format for /metrics."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field

_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass
class Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(_BUCKETS) + 1))
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(_BUCKETS, seconds)] += 1
        self.total += seconds

    def render(self, name: str, help_text: str) -> list[str]:
        lines = [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
        running = 0
        for bound, count in zip(_BUCKETS, self.counts, strict=False):
            running += count
            lines.append(f'{name}_bucket{{le="{bound}"}} {running}')
        running += self.counts[-1]
        lines += [f'{name}_bucket{{le="+Inf"}} {running}', f"{name}_sum {self.total:.6f}", f"{name}_count {running}"]
        return lines


@dataclass
class Metrics:
    fetches: Counter[str] = field(default_factory=Counter)  # by outcome
    entries_ingested: int = 0
    duplicates_merged: int = 0
    fetch_seconds: Histogram = field(default_factory=Histogram)
    publish_seconds: Histogram = field(default_factory=Histogram)

    def render(self) -> str:
        lines = ["# HELP feeder_fetches_total Source refreshes by outcome.", "# TYPE feeder_fetches_total counter"]
        lines += [f'feeder_fetches_total{{outcome="{o}"}} {n}' for o, n in sorted(self.fetches.items())]
        lines += [
            "# HELP feeder_entries_ingested_total New articles stored.",
            "# TYPE feeder_entries_ingested_total counter",
            f"feeder_entries_ingested_total {self.entries_ingested}",
            "# HELP feeder_duplicates_merged_total New articles that joined an existing story.",
            "# TYPE feeder_duplicates_merged_total counter",
            f"feeder_duplicates_merged_total {self.duplicates_merged}",
        ]
        lines += self.fetch_seconds.render("feeder_fetch_seconds", "Time to refresh one source.")
        lines += self.publish_seconds.render("feeder_publish_seconds", "Time to publish every topic.")
        return "\n".join(lines) + "\n"
