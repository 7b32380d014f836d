"""What one poll of a source yields, whatever its kind: feed, sitemap, page (or, elsewhere, files).

A feed is one document. A sitemap index points at child sitemaps, and a sitemap without news titles, a
listing page, or a teaser-only feed with `full_text` point at article pages: each new one is fetched
once (at most `max_articles` a poll) and its article extracted. Pages already stored are not refetched.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from feeder.config import SourceConfig
from feeder.fetch import Fetcher, FetchError, FetchResult
from feeder.model import ParsedFeed, RawEntry
from feeder.normalise import canonical_url, plain_text
from feeder.parse import parse_document
from feeder.parse.pages import extract_article, find_article_links

log = logging.getLogger("feeder.collect")
MAX_CHILD_SITEMAPS = 10
TEASER_CHARS = 600  # an entry body shorter than this, in plain text, is a teaser worth replacing
R = TypeVar("R")

# Runs CPU-bound work (parsing, extraction) away from the event loop.
RunCpu = Callable[..., Awaitable[Any]]
# Of these guids, the ones the store already has for this source.
KnownGuids = Callable[[list[str]], Awaitable[set[str]]]


@dataclass(frozen=True, slots=True)
class Collected:
    result: FetchResult  # the source's own document: status, validators, redirects
    feed: ParsedFeed  # entries found (empty when the document was not modified)


async def collect(source: SourceConfig, url: str, etag: str, last_modified: str, fetcher: Fetcher,
                  run_cpu: RunCpu, known: KnownGuids) -> Collected:
    """Fetch and parse one source of kind feed, sitemap or page. Raises FetchError."""
    result = await fetcher.fetch(url, etag, last_modified)
    if result.body is None:
        return Collected(result, ParsedFeed())
    gatherer = _Gatherer(source, fetcher, run_cpu, known)
    if source.kind == "page":
        links = await run_cpu(find_article_links, result.body, result.url, source.links or None,
                              source.max_articles * 3)
        feed = ParsedFeed(link=result.url, entries=tuple(await gatherer.articles(links)))
        return Collected(result, feed)
    feed = await run_cpu(parse_document, result.body, result.url, result.content_type)
    if feed.problem and not feed.entries and not feed.children:
        raise FetchError(feed.problem, result.status)
    if source.kind == "sitemap":
        feed = await gatherer.sitemap(feed)
    elif source.full_text:
        feed = replace(feed, entries=tuple(await gatherer.full_text(feed.entries)))
    return Collected(result, feed)


class _Gatherer:
    def __init__(self, source: SourceConfig, fetcher: Fetcher, run_cpu: RunCpu, known: KnownGuids) -> None:
        self.source = source
        self.fetcher = fetcher
        self.run_cpu = run_cpu
        self.known = known

    async def sitemap(self, feed: ParsedFeed) -> ParsedFeed:
        entries = list(feed.entries)
        for child in feed.children[:MAX_CHILD_SITEMAPS]:
            try:
                result = await self.fetcher.fetch(child)
            except FetchError as exc:
                log.warning("source=%s child sitemap %s: %s", self.source.name, child, exc)
                continue
            if result.body is not None:
                child_feed = await self.run_cpu(parse_document, result.body, result.url, result.content_type)
                entries.extend(child_feed.entries)
        titled = [e for e in entries if e.title]
        if len(titled) == len(entries):
            return replace(feed, entries=tuple(entries))
        # A plain sitemap says where articles are, not what they say: read the new ones.
        pages = await self.articles([e.link for e in entries if not e.title and e.link])
        return replace(feed, entries=tuple(titled + pages))

    async def full_text(self, entries: Sequence[RawEntry]) -> list[RawEntry]:
        """Teasers replaced by their page's main text. Stored teasers are left out: they were enriched
        (or tried) when new, and their teaser text must not overwrite the stored full text."""
        teasers = {id(e) for e in entries if e.link and len(plain_text(e.content or e.summary)) < TEASER_CHARS}
        guids = {id(e): e.guid or canonical_url(e.link) for e in entries if id(e) in teasers}
        stored = await self.known(list(guids.values()))
        new_teasers = [e for e in entries if id(e) in teasers and guids[id(e)] not in stored]
        chosen = new_teasers[: self.source.max_articles]
        pages = dict(zip(map(id, chosen), await asyncio.gather(*(self._article(e.link) for e in chosen)),
                         strict=True))
        kept = []
        for entry in entries:
            if id(entry) in teasers and guids[id(entry)] in stored:
                continue
            page = pages.get(id(entry))
            kept.append(replace(entry, content=page.content, summary=entry.summary or page.summary)
                        if page and page.content else entry)
        return kept

    async def articles(self, links: Sequence[str]) -> list[RawEntry]:
        """The articles of pages not stored yet, at most max_articles of them."""
        new = await self._new(list(links))
        chosen = [link for link in dict.fromkeys(canonical_url(u) for u in links) if link in new]
        pages = await asyncio.gather(*(self._article(link) for link in chosen[: self.source.max_articles]))
        return [page for page in pages if page is not None]

    async def _new(self, links: list[str]) -> set[str]:
        urls = list(dict.fromkeys(canonical_url(u) for u in links))
        return set(urls) - await self.known(urls)

    async def _article(self, url: str) -> RawEntry | None:
        try:
            result = await self.fetcher.fetch(url)
        except FetchError as exc:
            log.info("source=%s article %s: %s", self.source.name, url, exc)
            return None
        if result.body is None:
            return None
        entry: RawEntry | None = await self.run_cpu(extract_article, result.body, result.url)
        # The listing's URL is the article's identity: a canonical link may differ per visit.
        return replace(entry, guid=canonical_url(url)) if entry else None
