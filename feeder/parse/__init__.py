"""Parsers: bytes of one document in, a ``ParsedFeed`` out. No I/O here."""

from __future__ import annotations

from feeder.model import ParsedFeed
from feeder.parse.feeds import parse_feed


def parse_document(body: bytes, url: str, content_type: str = "") -> ParsedFeed:
    """Parse a fetched document of any supported feed format."""
    return parse_feed(body, url, content_type)


__all__ = ["parse_document"]
