"""Date strings as found in feeds, pages and dumps -> aware UTC datetimes (or None)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from dateutil import parser as dateparser

# "GMT+0100 (CET)" as JavaScript's Date.toString() writes it. dateutil reads "GMT+1" the POSIX way
# (the sign inverted), which is wrong for these strings: turn them into a plain "+0100" first.
_GMT_OFFSET = re.compile(r"\b(?:GMT|UTC)\s*(?=[+-]\d)")
_TRAILING_ZONE_NAME = re.compile(r"\s*\([^)]*\)\s*$")


def to_utc(when: datetime) -> datetime:
    """Aware -> UTC; a naive datetime is taken to be UTC already."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def parse_date(value: object, tzinfos: dict[str, int] | None = None, fuzzy: bool = False) -> datetime | None:
    """RFC 3339 / ISO 8601 first; then what dateutil understands (RFC 822, JS Date strings ...)."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return to_utc(dateparser.isoparse(text))
    except (ValueError, OverflowError):
        pass
    text = _GMT_OFFSET.sub("", _TRAILING_ZONE_NAME.sub("", text))
    try:
        when = dateparser.parse(text, fuzzy=fuzzy, tzinfos=tzinfos)
    except (ValueError, OverflowError, TypeError):
        return None
    return to_utc(when) if when is not None else None
