"""The plain typed objects that pass between the pipeline's stages.

parse -> ``RawEntry`` / ``ParsedFeed``; normalise -> ``Article``; dedup + store -> ``Story``.
Everything here is immutable; datetimes are timezone-aware UTC unless a field says otherwise.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, fields
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

    def __reduce__(self) -> tuple[type[Article], tuple[object, ...]]:
        # Every article crosses from a parse worker pickled. By value into the constructor, not through
        # dataclasses' state functions for a frozen, slotted class, which loop over its fields in Python:
        # pickling 6.1-6.9 -> 3.9-4.1 and unpickling 5.1-5.7 -> 3.3-3.5 us per farm article (bench/parse.py).
        return (Article, _article_values(self))


_article_values = operator.attrgetter(*(field.name for field in fields(Article)))


@dataclass(frozen=True, slots=True)
class Story:
    """One news item: its canonical article first, then every other outlet's article in arrival order."""

    id: int
    uid: str
    first_published: datetime
    updated: datetime
    articles: tuple[Article, ...]

    @property
    def article(self) -> Article:
        return self.articles[0]

    @property
    def others(self) -> tuple[Article, ...]:
        return self.articles[1:]

    @property
    def outlets(self) -> tuple[str, ...]:
        """Distinct sources that ran the story, canonical first."""
        return tuple(dict.fromkeys(a.source for a in self.articles))


@dataclass(frozen=True, slots=True)
class SourceState:
    """What feeder remembers about polling one source (fetch decides, store keeps)."""

    name: str
    url: str = ""  # where it is fetched now: the configured URL, or where a permanent redirect led
    title: str = ""
    link: str = ""
    etag: str = ""
    last_modified: str = ""
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    status: int = 0
    error: str = ""
    failures: int = 0
    next_fetch: datetime | None = None
    entries_seen: int = 0
    gone: bool = False
    redirect_to: str = ""  # a permanent redirect seen once; adopted when the next fetch sees it again
    config_url: str = ""  # the configured URL ``url`` derives from: when the config changes, polling restarts
