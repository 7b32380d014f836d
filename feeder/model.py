"""The plain typed objects that pass between the pipeline's stages.

parse -> ``RawEntry`` / ``ParsedFeed``; normalise -> ``Article``; dedup + store -> ``Story``.
Everything here is immutable; datetimes are timezone-aware UTC unless a field says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RawEntry:
    """One item as a parser read it: text fields are as found (titles may hold HTML, dates may be absent)."""

    title: str
    link: str = ""
    guid: str = ""
    published: datetime | None = None
    updated: datetime | None = None
    author: str = ""
    summary: str = ""  # HTML or text, unsanitised
    content: str = ""  # HTML or text, unsanitised
    categories: tuple[str, ...] = ()
    language: str = ""
    base: str = ""  # base URI for relative references in summary/content (xml:base or the page URL)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What a parser made of one document: the feed's own metadata plus its entries."""

    title: str = ""
    link: str = ""
    language: str = ""
    entries: tuple[RawEntry, ...] = ()
    problem: str = ""  # why nothing or less than everything could be read; "" when clean
    children: tuple[str, ...] = ()  # a sitemap index's child sitemaps (absolute URLs), to fetch next


@dataclass(frozen=True, slots=True)
class Article:
    """One normalised article from one source: UTC dates, canonical URL, sanitised HTML, plain-text title."""

    source: str
    guid: str
    url: str
    title: str
    published: datetime
    updated: datetime
    author: str = ""
    summary: str = ""
    content: str = ""
    categories: tuple[str, ...] = ()
    language: str = ""
    content_hash: str = ""


@dataclass(frozen=True, slots=True)
class Outlet:
    """A source that carried a story, with the article it ran."""

    source: str
    source_title: str
    url: str
    title: str


@dataclass(frozen=True, slots=True)
class Story:
    """One news item: its canonical article plus every other outlet that ran it."""

    id: int
    article: Article
    source_title: str
    source_link: str
    first_published: datetime
    updated: datetime
    others: tuple[Outlet, ...] = field(default=())
