"""What `feeder status` prints and `/status.json` serves: one record per configured source."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from feeder.config import SourceConfig
from feeder.model import SourceState

COLUMNS = ("name", "kind", "status", "failures", "entries_seen", "last_attempt", "last_success", "next_fetch",
           "etag", "last_modified", "error")


def source_status(source: SourceConfig, state: SourceState | None) -> dict[str, Any]:
    state = state or SourceState(source.name, url=source.url)
    return {
        "name": source.name,
        "kind": source.kind,
        "url": state.url or source.url or (str(source.path) if source.path else ""),
        "status": state.status,
        "error": state.error,
        "failures": state.failures,
        "gone": state.gone,
        "entries_seen": state.entries_seen,
        "etag": state.etag,
        "last_modified": state.last_modified,
        "last_attempt": _iso(state.last_attempt),
        "last_success": _iso(state.last_success),
        "next_fetch": "never (410 Gone)" if state.gone else _iso(state.next_fetch),
    }


def status_table(records: list[dict[str, Any]]) -> str:
    """A fixed-width table for a terminal; long errors are cut, the JSON has them whole."""
    rows = [COLUMNS] + [tuple(_cell(r[c]) for c in COLUMNS) for r in records]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        for row in rows
    )


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _iso(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z") if moment else ""
