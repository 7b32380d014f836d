"""Throughput and memory of feeder.dedup on a 100,000-headline stream.

The stream is synthesised from the UCI headlines: the 3,149 titles are replayed in rounds, each round
shifted by ROUND_HOURS and with every longer word given a per-round suffix, so rounds do not repeat each
other's news but keep real headline shapes and word counts.

``headlines/s`` is the whole of ``match`` + ``add`` with each title tokenised on the way (``Headline.words``
unset), as it has always been measured. ``matching/s`` is the same loop on headlines whose ``words`` were
tokenised beforehand, as the parse worker does in the daemon (``Store.ingest_many(title_words=...)``):
what the store's thread pays.

Memory is what tracemalloc sees the Deduplicator hold at the end (after emptying the tokeniser's and URL
digest's bounded module-level LRU caches, which do not grow with the window), divided by the headlines then
in its window.

Run from the repository root: ``python bench/dedup_speed.py [--level story] [--count N]``.
"""

from __future__ import annotations

import argparse
import csv
import gc
import re
import sys
import time
import tracemalloc
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feeder.dedup import Deduplicator, Headline
from feeder.dedup.engine import url_digest
from feeder.dedup.text import content_words, word_key

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "headlines"
UCI = DATA / "uci-news-aggregator-part1.csv"
ROUND_HOURS = 18  # the UCI part spans ~18 hours, so rounds follow each other without a gap
_LONG_WORD = re.compile(r"\b([A-Za-z]{5,})\b")


@dataclass(frozen=True, slots=True)
class Result:
    level: str
    headlines: int
    seconds: float
    in_window: int
    window_bytes: int
    stories: int


def synthesise(count: int) -> list[Headline]:
    with UCI.open(encoding="utf-8", newline="") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda r: (int(r["TIMESTAMP"]), int(r["ID"])))
    stream: list[Headline] = []
    for index in range(count):
        row = rows[index % len(rows)]
        rnd = index // len(rows)
        title = _LONG_WORD.sub(rf"\g<1>{rnd}", row["TITLE"]) if rnd else row["TITLE"]
        published = datetime.fromtimestamp(int(row["TIMESTAMP"]) / 1000, UTC)
        published += timedelta(hours=ROUND_HOURS * rnd)
        stream.append(Headline(title, published, url=f"{row['URL']}#{rnd}"))
    return stream


def run(level: str, stream: list[Headline]) -> Result:
    _clear_caches()
    gc.collect()
    tracemalloc.start()
    dedup = Deduplicator(level=level)
    baseline = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    stories = feed(dedup, stream)
    seconds = time.perf_counter() - started
    _clear_caches()
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - baseline
    tracemalloc.stop()
    return Result(level, len(stream), seconds, len(dedup), held, stories)


def _clear_caches() -> None:
    """The tokeniser's and the URL digest's LRU caches are module-level and bounded (they do not grow with
    the window): emptied, so that what remains is what the Deduplicator itself holds."""
    content_words.cache_clear()
    word_key.cache_clear()
    url_digest.cache_clear()


def feed(dedup: Deduplicator, stream: list[Headline]) -> int:
    """The store's loop (match, else a new story; then add); returns how many stories it made.
    Keeps no per-headline list, so the memory measured is the Deduplicator's own."""
    stories = 0
    for headline in stream:
        story = dedup.match(headline)
        if story is None:
            stories += 1
            story = stories
        dedup.add(story, headline)
    return stories


def timed_only(level: str, stream: list[Headline]) -> float:
    """Seconds without tracemalloc, which slows allocation-heavy code several times."""
    dedup = Deduplicator(level=level)
    started = time.perf_counter()
    feed(dedup, stream)
    return time.perf_counter() - started


def pretokenised(stream: list[Headline]) -> list[Headline]:
    """The stream with each title's words worked out, as the parse worker hands them to the store."""
    tokenised = [replace(headline, words=content_words(headline.title)) for headline in stream]
    _clear_caches()
    return tokenised


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--level", choices=("headline", "story", "both"), default="both")
    args = parser.parse_args()
    if not UCI.exists():
        print(f"data not found: {UCI.resolve()}", file=sys.stderr)
        return 1
    stream = synthesise(args.count)
    tokenised = pretokenised(stream)
    levels = ("headline", "story") if args.level == "both" else (args.level,)
    print(
        f"{'level':<10}{'headlines':>10}{'headlines/s':>13}{'matching/s':>12}{'in window':>11}"
        f"{'bytes/headline':>16}{'stories':>9}"
    )
    for level in levels:
        seconds = timed_only(level, stream)
        matching = timed_only(level, tokenised)
        result = run(level, stream)
        print(
            f"{level:<10}{result.headlines:>10}{result.headlines / seconds:>13,.0f}"
            f"{result.headlines / matching:>12,.0f}{result.in_window:>11}"
            f"{result.window_bytes / max(result.in_window, 1):>16,.0f}{result.stories:>9}"
        )
    print("(headlines/s: tokenise + match + add; matching/s: titles tokenised beforehand, as by the parse worker;")
    print(" both measured without tracemalloc;")
    print(" bytes/headline = memory tracemalloc sees the Deduplicator hold / headlines in its window)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
