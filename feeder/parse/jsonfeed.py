"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1). feedparser 6.0 has no reader for it."""

from __future__ import annotations

import html
import json
from typing import Any

from feeder.model import ParsedFeed, RawEntry
from feeder.parse.dates import parse_date
from feeder.parse.values import plain_text_html, text_value


def looks_like_json_feed(body: bytes) -> bool:
    """Cheap sniff: a JSON object that names a jsonfeed.org version near its start."""
    head = body[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{") and b"jsonfeed.org" in body[:65536]


def parse_json_feed(body: bytes, url: str) -> ParsedFeed:
    """Parse a JSON Feed; items that are not objects are skipped and counted in ``problem``."""
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        return ParsedFeed(problem=f"not a JSON Feed: invalid JSON ({str(exc)[:120]})")
    if not isinstance(doc, dict):
        return ParsedFeed(problem="not a JSON Feed: top level is not an object")
    items = doc.get("items")
    if not isinstance(items, list):
        return ParsedFeed(problem="not a JSON Feed: no items list")
    language = text_value(doc.get("language"))
    feed_authors = _authors(doc)
    entries = [
        _entry(item, language, feed_authors) for item in items if isinstance(item, dict)
    ]
    skipped = len(items) - len(entries)
    problem = f"{skipped} item(s) are not JSON objects and were skipped" if skipped else ""
    if not entries and not problem:
        problem = "JSON Feed has no items"
    return ParsedFeed(
        title=text_value(doc.get("title")),
        link=text_value(doc.get("home_page_url")),
        language=language,
        entries=tuple(entries),
        problem=problem,
    )


def _entry(item: dict[str, Any], feed_language: str, feed_authors: str) -> RawEntry:
    link = text_value(item.get("url")) or text_value(item.get("external_url"))
    content = text_value(item.get("content_html")) or plain_text_html(text_value(item.get("content_text")))
    tags = item.get("tags")
    return RawEntry(
        title=text_value(item.get("title")),
        link=link,
        guid=text_value(item.get("id")) or link,
        published=parse_date(item.get("date_published")),
        updated=parse_date(item.get("date_modified")),
        author=_authors(item) or feed_authors,
        summary=html.escape(text_value(item.get("summary")), quote=False),
        content=content,
        categories=tuple(text_value(t) for t in tags if text_value(t)) if isinstance(tags, list) else (),
        language=text_value(item.get("language")) or feed_language,
    )


def _authors(obj: dict[str, Any]) -> str:
    """1.1 has an ``authors`` list; 1.0 a single ``author`` object. Names joined with ", "."""
    found = obj.get("authors")
    people = found if isinstance(found, list) else [obj.get("author")]
    names = [text_value(p.get("name")) for p in people if isinstance(p, dict)]
    return ", ".join(n for n in names if n)
