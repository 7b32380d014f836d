"""RSS 0.9x/1.0/2.0, Atom 0.3/1.0, RDF and CDF through feedparser."""

from __future__ import annotations

import calendar
import io
from datetime import UTC, datetime
from typing import Any

import feedparser

from feeder.model import ParsedFeed, RawEntry


def parse_feed(body: bytes, url: str, content_type: str = "") -> ParsedFeed:
    """Parse feed bytes; never lets feedparser open a path or URL (it would, given a str)."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    # Sanitising and URI resolution are left to normalise, which does both once, with nh3 (feedparser would
    # do them again in Python).
    # Links (<link href>, permalink guids) are still resolved against xml:base by feedparser itself.
    parsed = feedparser.parse(
        io.BytesIO(body), response_headers=headers, sanitize_html=False, resolve_relative_uris=False
    )
    entries = tuple(_entry(e, url) for e in parsed.entries)
    feed = parsed.get("feed", {})
    problem = ""
    if not entries and parsed.get("bozo"):
        problem = f"not a feed: {_describe(parsed.get('bozo_exception'))}"
    elif not entries and not feed:
        problem = "not a feed: no channel or entries found"
    elif not entries:
        problem = "feed has no entries"
    return ParsedFeed(
        title=str(feed.get("title", "")),
        link=str(feed.get("link", "")),
        language=str(feed.get("language", "")),
        entries=entries,
        problem=problem,
    )


def _entry(entry: Any, document_url: str) -> RawEntry:
    content = entry.get("content") or []
    body = content[0] if content else {}
    summary_detail = entry.get("summary_detail") or {}
    return RawEntry(
        title=str(entry.get("title", "")),
        link=_link(entry),
        guid=str(entry.get("id", "")),
        published=_utc(entry.get("published_parsed")),
        # dict.get: FeedParserDict.get maps a missing updated_parsed to published_parsed (and warns).
        updated=_utc(dict.get(entry, "updated_parsed")),
        author=_author(entry),
        summary=str(entry.get("summary", "")),
        content=str(body.get("value", "")),
        categories=tuple(str(t.get("term", "")) for t in entry.get("tags", []) if t.get("term")),
        language=str(body.get("language") or summary_detail.get("language") or ""),
        base=_xml_base(body or summary_detail, document_url),
    )


def _xml_base(detail: Any, document_url: str) -> str:
    """The xml:base in force where the content sat, if the feed declared one.

    feedparser reports the document's URL when there is none; then "" lets normalisation use the
    entry's own link, the likelier base for an RSS description's relative links.
    """
    base = str(detail.get("base") or "") if detail else ""
    return "" if base == document_url else base


def _link(entry: Any) -> str:
    """The alternate link; an RSS guid with isPermaLink (feedparser sets ``guidislink``) stands in."""
    link = str(entry.get("link", ""))
    if not link and entry.get("guidislink"):
        link = str(entry.get("id", ""))
    return link


def _author(entry: Any) -> str:
    """Names, not "jdoe@example.com (John Doe)": feedparser splits the name out into author_detail."""
    names = [str(a.get("name", "")).strip() for a in entry.get("authors", []) if isinstance(a, dict)]
    names = [n for n in names if n]
    if names:
        return ", ".join(dict.fromkeys(names))
    detail = entry.get("author_detail") or {}
    return str(detail.get("name") or entry.get("author", "") or "")


def _utc(parsed_time: Any) -> datetime | None:
    """feedparser gives a UTC struct_time; timegm keeps it UTC (mktime would apply local time)."""
    if not parsed_time:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed_time), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _describe(exc: object) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]
