"""Stories -> Atom, RSS 2.0, JSON Feed 1.1, OPML and an HTML index, written atomically as static files.

Output is a pure function of the stories: regenerating an unchanged topic gives the same bytes, so
ETags stay put and only topics that changed are rewritten.

Every entry is rendered once, as text (render.py writes what feedgen 0.9 + lxml wrote, byte for byte,
at a fraction of the cost); a feed document is its header with the cached entries spliced in. A story that
sits in several topics, or in the same topic publish after publish, is rendered once while it stays
unchanged.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import marshal
import operator
import os
import re
import tempfile
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import astuple, dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import cast
from xml.sax.saxutils import quoteattr

import httpx

from feeder import __version__
from feeder.config import Config, TopicConfig
from feeder.model import Article, Story
from feeder.normalise import is_absolute_web_url, sanitise_html, strip_xml_forbidden
from feeder.publish import render
from feeder.publish.render import EntryView, FeedHead
from feeder.sanitised import is_sanitised

log = logging.getLogger("feeder.publish")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
GENERATOR_URI = "https://github.com/feeder/feeder"
FORMATS = {"atom": "application/atom+xml", "rss": "application/rss+xml", "json": "application/feed+json"}
HUB_FORMATS = ("atom", "rss", "json")  # the formats that advertise the WebSub hub, so the ones pinged
ICON_NAME = "icon.svg"
MEMO_NAME = "publish-memo.json"  # in state_dir, beside (not inside) what is served
# A square icon (RFC 4287 4.2.5 wants 1:1) drawn in text, so the project ships no binary file.
ICON_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">'
    b'<rect width="64" height="64" rx="12" fill="#d35400"/>'
    b'<circle cx="18" cy="46" r="6" fill="#fff"/>'
    b'<path d="M12 28a24 24 0 0 1 24 24h-8a16 16 0 0 0-16-16z M12 12a40 40 0 0 1 40 40h-8'
    b'a32 32 0 0 0-32-32z" fill="#fff"/></svg>\n'
)


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """How an outlet is named and linked in published feeds."""

    title: str
    link: str = ""  # the outlet's web site
    feed_url: str = ""  # where feeder fetches it: the source feed's own address


@dataclass(frozen=True, slots=True)
class TopicFeed:
    """One topic's entries, ready to render."""

    topic: TopicConfig
    stories: tuple[Story, ...]

    @property
    def updated(self) -> datetime:
        return max((_entry_updated(s) for s in self.stories), default=EPOCH)


@dataclass(frozen=True, slots=True)
class RenderedEntry:
    """One story in every format, serialised once: Atom and RSS fragments, a JSON Feed item."""

    atom: bytes
    rss: bytes
    json: bytes


@dataclass
class RenderCache:
    """Rendered entries that survive between publishes in one process (the daemon builds a new Publisher
    each time). Only the stories the last publish used are kept, so it never outgrows the feeds."""

    entries: dict[str, RenderedEntry] = field(default_factory=dict)
    # Per topic, the stories it was last published from and their entry keys, with what else the keys
    # hash (base URL, outlets): equal stories give the same keys without deriving one per story again.
    topics: dict[str, tuple[object, tuple[Story, ...], list[str]]] = field(default_factory=dict)
    _used: set[str] = field(default_factory=set)

    def keep(self, keys: Iterable[str]) -> None:
        """Entries of a topic that was not rendered this time, still wanted when it next changes."""
        self._used.update(keys)

    def entry(self, key: str, render: Callable[[], RenderedEntry]) -> RenderedEntry:
        self._used.add(key)
        found = self.entries.get(key)
        if found is None:
            found = self.entries[key] = render()
        return found

    def sweep(self) -> None:
        """Forget entries no feed used since the last sweep."""
        self.entries = {key: value for key, value in self.entries.items() if key in self._used}
        self._used = set()

    def story_keys(self, slug: str, context: object, stories: tuple[Story, ...],
                   derive: Callable[[Story], str]) -> list[str]:
        """The entry keys of a topic's stories, remembered from its last publish for the stories that are
        equal to one it had. Comparing equal stories is far cheaper than deriving their keys, even as fresh
        objects from the store (bench/publish.py: "unchanged, fresh story objects"); a topic that gained a
        story derives only that one's ("one new story in every topic")."""
        known = self.topics.get(slug)
        if known is None or known[0] != context:
            keys = [derive(story) for story in stories]
        elif known[1] == stories:
            return known[2]
        else:
            earlier = {story.id: (story, key) for story, key in zip(known[1], known[2], strict=True)}
            keys = [_earlier_key(earlier, story) or derive(story) for story in stories]
        self.topics[slug] = (context, stories, keys)
        return keys


def _earlier_key(earlier: dict[int, tuple[Story, str]], story: Story) -> str:
    """The key remembered for an equal story ("" when there is none): equal stories have equal keys."""
    found = earlier.get(story.id)
    return found[1] if found is not None and found[0] == story else ""


_CACHE = RenderCache()
# Every field of a story and its canonical article goes into its entry key; new model fields join
# automatically. The values are written by marshal, in C with no Python call per value, in format 2 (no
# back-references, so equal values give equal bytes whatever objects hold them); dates, which it cannot
# write, as POSIX timestamps, read as UTC when naive, as the entry shows them. Of the other articles an
# entry shows only the outlet and URL.
_MARSHAL_FORMAT = 2


_Value = int | str | tuple[str, ...]  # what the models' fields hold, but for dates and a story's articles


def _fields_getter(model: type, dates: bool, skip: tuple[str, ...]) -> Callable[[object], tuple[object, ...]]:
    """A getter for the model's fields that are (or are not) datetimes, always returning a tuple."""
    names = [f.name for f in dataclass_fields(model)
             if f.name not in skip and (f.type in ("datetime", datetime)) == dates]
    getter = operator.attrgetter(*names)
    return getter if len(names) > 1 else lambda value: (getter(value),)


_Values = Callable[[object], tuple[_Value, ...]]
_Dates = Callable[[object], tuple[datetime, ...]]
_story_values = cast(_Values, _fields_getter(Story, False, ("articles",)))
_story_dates = cast(_Dates, _fields_getter(Story, True, ()))
_article_values = cast(_Values, _fields_getter(Article, False, ()))
_article_dates = cast(_Dates, _fields_getter(Article, True, ()))


def _instants(moments: tuple[datetime, ...]) -> list[float]:
    return [moment.timestamp() if moment.tzinfo is not None else moment.replace(tzinfo=UTC).timestamp()
            for moment in moments]


# The code that renders is part of every topic's input: an upgrade re-renders topics whose stories did not change.
_RENDERER = hashlib.blake2b(b"".join(
    path.read_bytes() for path in (*sorted(Path(__file__).parent.glob("*.py")),
                                   Path(sanitise_html.__code__.co_filename),
                                   Path(is_sanitised.__code__.co_filename))), digest_size=8).hexdigest()


class Publisher:
    def __init__(self, config: Config, sources: Mapping[str, SourceInfo], cache: RenderCache | None = None,
                 markup_trusted: bool = False) -> None:
        """``markup_trusted``: every summary and content is already in the current sanitiser's shape (the
        store says so, ``Store.markup_current``), so none is checked again: the check was a quarter of a cold
        publish's instructions (callgrind, bench/publish.py data, 20 topics x 200 entries)."""
        self.config = config
        self.sources = sources
        self.markup_trusted = markup_trusted
        self.base_url = config.base_url
        self.hub = config.server.websub_hub
        self.cache = _CACHE if cache is None else cache
        # Entry keys by id(story), with the stories kept alive so that no id is reused: a plain list and str
        # values, which add nothing for the cyclic collector to track.
        self._keys: dict[int, str] = {}
        self._keyed: list[Story] = []
        # Every outlet's name and links, hashed into every entry key: editing one outlet re-renders all
        # entries (a rare config change), and a key needs no per-story look-up of its outlets.
        # Trusting markup can change an entry too.
        self._outlets = hashlib.blake2b(repr((sorted((name, astuple(info)) for name, info in sources.items()),
                                              markup_trusted)).encode(), digest_size=16).hexdigest()
        self._outlet_views: dict[str, tuple[str, str, str]] = {}

    def feed_url(self, slug: str, fmt: str = "atom") -> str:
        return f"{self.base_url}/topics/{slug}.{fmt}"

    def topic_page(self, slug: str) -> str:
        return f"{self.base_url}/#{slug}"

    @property
    def icon_url(self) -> str:
        return f"{self.base_url}/{ICON_NAME}"

    def outlet(self, source: str) -> SourceInfo:
        return self.sources.get(source) or SourceInfo(source)

    # -- rendering ---------------------------------------------------------------------------

    def atom(self, feed: TopicFeed) -> bytes:
        return b"".join(self._atom(self.head(feed, "atom"), self._entries(feed)))

    def rss(self, feed: TopicFeed) -> bytes:
        return b"".join(self._rss(self.head(feed, "rss"), self._entries(feed)))

    def json_feed(self, feed: TopicFeed) -> bytes:
        return b"".join(self._json_feed(feed, self._entries(feed)))

    def documents(self, feed: TopicFeed, keys: Sequence[str] | None = None) -> tuple[bytes, bytes, bytes]:
        """The topic's Atom, RSS and JSON Feed documents (in FORMATS order), each entry looked up once
        (by ``keys``, its stories' entry keys, when known)."""
        atom, rss, json_feed = self._document_parts(feed, keys)
        return b"".join(atom), b"".join(rss), b"".join(json_feed)

    def _document_parts(self, feed: TopicFeed, keys: Sequence[str] | None) -> tuple[list[bytes], ...]:
        """The three documents as the parts they are made of: written as they are, never joined."""
        entries = self._entries(feed, keys)
        updated = feed.updated  # a walk over every entry: once for both heads
        return (self._atom(self.head(feed, "atom", updated), entries),
                self._rss(self.head(feed, "rss", updated), entries), self._json_feed(feed, entries))

    def _entries(self, feed: TopicFeed, keys: Sequence[str] | None = None) -> list[RenderedEntry]:
        if keys is None:
            return [self.rendered(story) for story in feed.stories]
        return [self.rendered(story, key) for story, key in zip(feed.stories, keys, strict=True)]

    @staticmethod
    def _atom(head: FeedHead, entries: list[RenderedEntry]) -> list[bytes]:
        return [render.atom_head(head), *(e.atom for e in entries), render.ATOM_TAIL]

    @staticmethod
    def _rss(head: FeedHead, entries: list[RenderedEntry]) -> list[bytes]:
        return [render.rss_head(head), *(e.rss for e in entries), render.RSS_TAIL]

    def _json_feed(self, feed: TopicFeed, entries: list[RenderedEntry]) -> list[bytes]:
        topic = feed.topic
        document: dict[str, object] = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": topic.title,
            "home_page_url": self.topic_page(topic.slug),
            "feed_url": self.feed_url(topic.slug, "json"),
            "description": self._subtitle(topic),
            "icon": self.icon_url,
            "favicon": self.icon_url,
            "authors": [{"name": self.config.title, "url": f"{self.base_url}/"}],
            "language": "en",
        }
        if self.hub:
            document["hubs"] = [{"type": "WebSub", "url": self.hub}]
        head = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
        parts = [f'{head[:-1]},"items":[\n'.encode()]
        for entry in entries:
            parts += (entry.json, b",\n")
        if entries:
            parts.pop()  # no separator after the last item
        parts.append(b"\n]}\n")
        return parts

    def rendered(self, story: Story, key: str | None = None) -> RenderedEntry:
        """A story in every format, from the cache when nothing it shows has changed (``key``: its entry
        key, when already known)."""
        return self.cache.entry(key or self._entry_key(story), lambda: self._render_entry(story))

    def _entry_key(self, story: Story) -> str:
        """A digest of everything the story's entry is made from. Remembered per Story object for this
        Publisher (the object is kept, so its id cannot be reused): one publish asks for it several times."""
        known = self._keys.get(id(story))
        if known is not None:
            return known
        article = story.article
        others = [(other.source, other.url) for other in story.articles[1:]]
        dates = _instants(_story_dates(story) + _article_dates(article))
        values = (_story_values(story), _article_values(article), dates, others, self.base_url, self._outlets)
        # SHA-256, where CPUs have instructions for it (x86 SHA-NI, ARMv8), hashed an entry's ~2.5 KB twice
        # as fast as CPython's portable BLAKE2b: that hashing was 9% of a cold publish's instructions (callgrind).
        key = hashlib.sha256(marshal.dumps(values, _MARSHAL_FORMAT)).hexdigest()[:32]
        self._keys[id(story)] = key
        self._keyed.append(story)
        return key

    def _outlet_base(self, source: str) -> str:
        """What an article's relative links resolve against when the article has no absolute URL: its
        outlet's site, else the outlet's feed (what RFC 3986 makes the base of content in a feed), else,
        so that no relative URL is ever published, this site."""
        _, page, feed = self._outlet_view(source)
        return next((url for url in (page, feed) if is_absolute_web_url(url)), f"{self.base_url}/")

    def _outlet_view(self, source: str) -> tuple[str, str, str]:
        """An outlet as entries show it: its name (never blank: a blank name is an invalid link title), web
        site ("" when unknown) and feed URL ("" when unknown). Worked out once per outlet."""
        known = self._outlet_views.get(source)
        if known is None:
            outlet = self.outlet(source)
            known = self._outlet_views[source] = (_text(outlet.title) or source, outlet.link, _url(outlet.feed_url))
        return known

    def _subtitle(self, topic: TopicConfig) -> str:
        return f"{topic.title}: deduplicated news from {self.config.title}"

    def head(self, feed: TopicFeed, fmt: str, updated: datetime | None = None) -> FeedHead:
        """The feed-level part of the Atom or RSS document; its self link is the URL it is served at.
        ``updated`` is the feed's, when already known."""
        topic = feed.topic
        return FeedHead(
            id=self.feed_url(topic.slug),
            title=_text(topic.title),
            subtitle=_text(self._subtitle(topic)),
            author_name=_text(self.config.title),
            author_uri=f"{self.base_url}/",
            hub=self.hub,
            self_url=self.feed_url(topic.slug, fmt),
            page_url=self.topic_page(topic.slug),
            icon=self.icon_url,
            generator_uri=GENERATOR_URI,
            generator_version=__version__,
            updated=feed.updated if updated is None else updated,
        )

    def _render_entry(self, story: Story) -> RenderedEntry:
        return RenderedEntry(*render.entry_formats(self.view(story)))

    def view(self, story: Story) -> EntryView:
        """Everything one entry shows, worked out once for all three formats.

        Summary and content are sanitised again here unless the store vouches for them (``markup_trusted``)
        or they are already in the sanitiser's own shape: the store may hold rows from an older sanitiser,
        and readers must never get script or a relative URL (resolved against the article, else the
        outlet)."""
        article = story.article
        outlet_name, outlet_page, outlet_feed = self._outlet_view(article.source)
        summary = self._sanitised(article.summary, article)
        title = _text(article.title) or outlet_name
        # The fields in order: by keyword, the named tuple's __new__ would match every name again, per entry.
        return EntryView(
            entry_id(story),  # id
            title,
            _url(article.url),  # url
            _text(article.author) or outlet_name,  # author
            _utc(story.first_published),  # published
            _entry_updated(story),  # updated
            self._related(story),  # related
            _categories(article.categories),  # categories
            summary,
            self._sanitised(article.content, article) or summary or html.escape(title),  # content
            outlet_name,
            _url(outlet_page or article.url or f"{self.base_url}/"),  # outlet_page
            outlet_feed,
            _utc(article.updated),  # source_updated
        )

    def _sanitised(self, markup: str, article: Article) -> str:
        """``markup`` as the sanitiser leaves it, its relative links resolved against the article, else its
        outlet (sanitise_html itself passes markup already in the sanitiser's shape without running nh3)."""
        if not markup or self.markup_trusted:  # most summaries are empty: nothing to check
            return markup
        base = article.url if is_absolute_web_url(article.url) else self._outlet_base(article.source)
        return sanitise_html(markup, base)

    def _related(self, story: Story) -> tuple[tuple[str, str], ...]:
        if len(story.articles) == 1:  # the usual story, with nothing to look through
            return ()
        return tuple((_url(other.url), self._outlet_view(other.source)[0]) for other in _other_outlets(story))

    def opml(self, topics: Sequence[TopicConfig]) -> bytes:
        outlines = "\n".join(
            f'    <outline type="rss" text={quoteattr(_text(t.title))} '
            f"title={quoteattr(_text(t.title))} xmlUrl={quoteattr(self.feed_url(t.slug))} "
            f"htmlUrl={quoteattr(self.topic_page(t.slug))}/>"
            for t in topics
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">\n  <head>\n'
            f"    <title>{html.escape(_text(self.config.title))} topics</title>\n  </head>\n  <body>\n"
            f"{outlines}\n  </body>\n</opml>\n"
        ).encode()

    def index_html(self, feeds: Sequence[TopicFeed]) -> bytes:
        title = html.escape(self.config.title)
        links = "\n".join(
            f'<link rel="alternate" type="{media}" title="{html.escape(f.topic.title)} ({fmt.upper()})" '
            f'href="{html.escape(self.feed_url(f.topic.slug, fmt))}">'
            for f in feeds for fmt, media in FORMATS.items()
        )
        sections = "\n".join(self._index_section(f) for f in feeds) or '<p class="meta">No topics configured.</p>'
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{title}</title>
<link rel="icon" href="/{ICON_NAME}" type="image/svg+xml">
{links}
<style>
body{{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:0 auto;padding:1rem;overflow-wrap:break-word}}
h2{{margin-bottom:.2rem}} .feeds a{{margin-right:.8rem;font-size:.9rem}} li{{margin:.4rem 0}}
.meta{{opacity:.7;font-size:.85rem}} ul{{padding-left:1.2rem}}
</style>
</head>
<body>
<h1>{title}</h1>
<p class="meta">Subscribe to a topic in your feed reader, or import <a href="/topics.opml">all topics (OPML)</a>.</p>
{sections}
</body>
</html>
""".encode()

    def _index_section(self, feed: TopicFeed) -> str:
        slug = html.escape(feed.topic.slug)
        items = "\n".join(self._index_item(s) for s in feed.stories[:10]) or '<li class="meta">No stories yet.</li>'
        feed_links = " ".join(f'<a href="/topics/{slug}.{fmt}" type="{media}">{fmt.upper()}</a>'
                              for fmt, media in FORMATS.items())
        return (f'<section id="{slug}">\n<h2>{html.escape(feed.topic.title)}</h2>\n'
                f'<p class="feeds">{feed_links}</p>\n<ul>\n{items}\n</ul>\n</section>')

    def _index_item(self, story: Story) -> str:
        article = story.article
        headline = html.escape(_text(article.title))
        if article.url:
            headline = f'<a href="{html.escape(article.url)}">{headline}</a>'
        more = f" +{len(story.outlets) - 1} more" if len(story.outlets) > 1 else ""
        when = _utc(story.first_published)
        return (f'<li>{headline} <span class="meta">{html.escape(self.outlet(article.source).title)}{more}, '
                f'<time datetime="{_rfc3339(when)}">{when:%d %b %H:%M} UTC</time></span></li>')

    # -- writing -----------------------------------------------------------------------------

    def write_all(self, feeds: Sequence[TopicFeed]) -> list[str]:
        """Write every topic plus the OPML, index and icon; returns the slugs whose feeds changed."""
        memo = TopicMemo.load(self.config.state_dir / MEMO_NAME)
        keys = {f.topic.slug: self._story_keys(f) for f in feeds}
        digests = {f.topic.slug: self._digest(f, keys[f.topic.slug]) for f in feeds}
        self.cache.topics = {slug: self.cache.topics[slug] for slug in keys}  # removed topics forgotten
        with AtomicBatch() as batch:
            changed = [f.topic.slug for f in feeds
                       if self._write_topic(f, digests[f.topic.slug], keys[f.topic.slug], memo, batch)]
            batch.write(self.config.public_dir / "topics.opml", self.opml([f.topic for f in feeds]))
            batch.write(self.config.public_dir / "index.html", self.index_html(feeds))
            batch.write(self.config.public_dir / ICON_NAME, ICON_SVG)
        memo.topics = {slug: [digest, _stamps(self._paths(slug))] for slug, digest in digests.items()}
        memo.save()
        self._remove_stale(feeds)
        self.cache.sweep()
        return changed

    def _paths(self, slug: str) -> list[Path]:
        return [self.config.public_dir / "topics" / f"{slug}.{fmt}" for fmt in FORMATS]

    def _write_topic(self, feed: TopicFeed, digest: str, keys: list[str], memo: TopicMemo,
                     batch: AtomicBatch) -> bool:
        """Render one topic in every format into the batch; True when any file changed."""
        if memo.current(feed.topic.slug, digest, self._paths(feed.topic.slug)):
            # Same input, files untouched since: rendering would give the same bytes again.
            self.cache.keep(keys)
            return False
        paths = self._paths(feed.topic.slug)
        documents = self._document_parts(feed, keys)
        return any([batch.write(path, parts) for path, parts in zip(paths, documents, strict=True)])

    def _story_keys(self, feed: TopicFeed) -> list[str]:
        return self.cache.story_keys(feed.topic.slug, (self.base_url, self._outlets), feed.stories, self._entry_key)

    def _digest(self, feed: TopicFeed, keys: list[str]) -> str:
        """Everything a topic's files are made from (``keys``: its entries'), hashed: equal digests mean
        equal bytes."""
        digest = hashlib.blake2b(digest_size=16)
        digest.update(repr((feed.topic, self.base_url, self.hub, self.config.title, _RENDERER)).encode())
        digest.update("".join(keys).encode())
        return digest.hexdigest()

    def _remove_stale(self, feeds: Sequence[TopicFeed]) -> None:
        """A topic removed from the config stops being published."""
        wanted = {f"{f.topic.slug}.{fmt}" for f in feeds for fmt in FORMATS}
        folder = self.config.public_dir / "topics"
        for path in folder.glob("*.*") if folder.is_dir() else ():
            if path.name not in wanted and path.suffix.lstrip(".") in FORMATS:
                path.unlink(missing_ok=True)


def hub_topics(base_url: str, slugs: Sequence[str]) -> list[str]:
    """The feed URLs to announce to the WebSub hub for these changed topics."""
    return [f"{base_url}/topics/{slug}.{fmt}" for slug in slugs for fmt in HUB_FORMATS]


async def ping_hub(hub: str, feed_urls: Sequence[str], client: httpx.AsyncClient | None = None,
                   timeout: float = 10.0) -> list[str]:
    """Tell a WebSub hub these feeds changed (``hub.mode=publish``, one POST per feed URL, as most hubs
    accept). Returns the URLs whose ping failed; a hub that is down is logged, never raised: the next
    change pings again and subscribers still poll."""
    if not hub or not feed_urls:
        return []
    own = client is None
    http = client or httpx.AsyncClient(timeout=timeout)
    failed = []
    try:
        for url in feed_urls:
            try:
                response = await http.post(hub, data={"hub.mode": "publish", "hub.url": url})
                if response.status_code >= 300:
                    raise httpx.HTTPStatusError(f"hub answered {response.status_code}", request=response.request,
                                                response=response)
            except httpx.HTTPError as exc:
                log.warning("websub ping to %s for %s failed: %s", hub, url, exc)
                failed.append(url)
    finally:
        if own:
            await http.aclose()
    return failed


class AtomicBatch:
    """Files replaced together so that a reader sees each one old or new, never half of one, even across
    a crash: every new file's bytes reach the disk (fdatasync) before any is renamed into place, and the
    folders are fsync'd after the renames.

    Each file is created, written and synced by a few background threads while the caller renders the next
    one (the system calls release the GIL). That keeps the kernel's share of a publish and the wait for the
    disk off the rendering thread, and syncs only these files, where sync(2) waited on every dirty page of
    the machine. bench/publish.py's rows that rewrite every topic went from about 1.5 s to 0.3-0.6 s wall."""

    def __init__(self) -> None:
        self._staging: list[tuple[Future[Path], Path]] = []  # (the temporary file being written, destination)
        self._writers: ThreadPoolExecutor | None = None
        self._listed: dict[Path, frozenset[str]] = {}

    def write(self, path: Path, data: bytes | list[bytes]) -> bool:
        """Stage ``data`` (or the concatenation of its parts) for ``path``; False (nothing staged) when the
        file already holds exactly that."""
        parts = [data] if isinstance(data, bytes) else data
        if path.name in self._names(path.parent) and _holds(path, parts):
            return False
        if self._writers is None:
            self._writers = ThreadPoolExecutor(_WRITERS, thread_name_prefix="feeder-publish-write")
        self._staging.append((self._writers.submit(_stage, path, parts), path))
        return True

    def _names(self, folder: Path) -> frozenset[str]:
        """What ``folder`` held when this batch first wrote to it, the folder made if missing. One listing
        instead of a stat per file: a file that is not there needs no look-up, which waited on the writer
        threads creating files in the same folder (0.17 s of a cold publish under load, bench/publish.py
        --profile)."""
        names = self._listed.get(folder)
        if names is None:
            try:
                names = frozenset(os.listdir(folder))
            except FileNotFoundError:
                folder.mkdir(parents=True, exist_ok=True)
                names = frozenset()
            self._listed[folder] = names
        return names

    def commit(self) -> None:
        staged: dict[Path, Path] = {}  # destination: temporary file (a path staged twice gets its last data)
        for temp, path in self._staged():
            superseded = staged.pop(path, None)
            if superseded is not None:
                superseded.unlink()
            staged[path] = temp
        # Renaming over an old file frees it, which waits on the disk: in threads the waits overlap (timed once
        # per call while bench/publish.py rewrote every topic: 3.3 ms a file in turn, 0.2-0.4 ms in 8 threads;
        # the bench prints the whole publish, not the renames).
        with ThreadPoolExecutor(_WRITERS, thread_name_prefix="feeder-publish-rename") as renamers:
            list(renamers.map(os.replace, staged.values(), staged))
        for folder in {path.parent for path in staged}:
            _fsync(folder)  # the renames themselves

    def discard(self) -> None:
        try:
            pending = self._staged()
        except Exception:  # the caller's own error is the one to report (and _staged removed every file)
            return
        for temp, _ in pending:
            temp.unlink(missing_ok=True)

    def _staged(self) -> list[tuple[Path, Path]]:
        """Wait for every staged file: (temporary file, destination) once all are on disk; else every
        temporary file removed and the first error raised."""
        staging, self._staging = self._staging, []
        if self._writers is not None:
            self._writers.shutdown()
            self._writers = None
        failed = next((error for future, _ in staging if (error := future.exception()) is not None), None)
        if failed is None:
            return [(future.result(), path) for future, path in staging]
        for future, _ in staging:
            if future.exception() is None:
                future.result().unlink(missing_ok=True)
        raise failed

    def __enter__(self) -> AtomicBatch:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


# Background threads per batch. An fdatasync waits for a journal commit, which concurrent ones share (timed
# once on bench/publish.py's cold publish, 306 files: the last file was on disk 0.01 s after the last topic
# was rendered with 8 threads, 0.06 s with 4, 0.2 s with 2; the bench itself prints only the whole publish).
_WRITERS = 8


def _holds(path: Path, parts: list[bytes]) -> bool:
    """Whether the file holds exactly ``parts``, joined (one of another size differs without being read)."""
    try:
        return path.stat().st_size == sum(map(len, parts)) and path.read_bytes() == b"".join(parts)
    except FileNotFoundError:
        return False


def _stage(path: Path, parts: list[bytes]) -> Path:
    """A temporary file beside ``path`` holding ``parts``, its data on disk; nothing left behind on error."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)
        _write_parts(fd, parts)
        os.fdatasync(fd)  # the data and the size that finds it: a renamed file is whole after a power loss
    except BaseException:
        os.close(fd)
        os.unlink(temp)
        raise
    os.close(fd)
    return Path(temp)


_IOV_MAX = os.sysconf("SC_IOV_MAX")


def _write_parts(fd: int, parts: list[bytes]) -> None:
    """Every part, in order, by writev: a document is never copied into one buffer (a fresh buffer per
    document, faulted in page by page, made half the minor page faults of a cold publish, as
    bench/publish.py --profile counts them)."""
    first = 0
    while first < len(parts):
        written = os.writev(fd, parts[first:first + _IOV_MAX])
        while first < len(parts) and written >= len(parts[first]):
            written -= len(parts[first])
            first += 1
        if written:  # a short write ended inside this part: the rest of it comes next
            parts = [parts[first][written:], *parts[first + 1:]]
            first = 0


def write_atomically(path: Path, data: bytes) -> bool:
    """Replace one file atomically and durably; False (and nothing written) when it is unchanged."""
    with AtomicBatch() as batch:
        return batch.write(path, data)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class TopicMemo:
    """Per topic, the digest of the input that produced its files and their (mtime, size) after writing.
    Kept in state_dir, so neither a later publish nor a restart renders a topic whose files are current."""

    path: Path
    topics: dict[str, list[object]] = field(default_factory=dict)  # slug: [digest, [[mtime_ns, size], ...]]

    @classmethod
    def load(cls, path: Path) -> TopicMemo:
        try:
            topics = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # missing or damaged: everything is rendered, nothing is lost
            return cls(path)
        return cls(path, topics if isinstance(topics, dict) else {})

    def current(self, slug: str, digest: str, paths: Sequence[Path]) -> bool:
        known = self.topics.get(slug)
        # The files are looked at only for a digest that matches: a topic new or changed is never current.
        return isinstance(known, list) and known[:1] == [digest] and known == [digest, _stamps(paths)]

    def save(self) -> None:
        write_atomically(self.path, json.dumps(self.topics, sort_keys=True).encode())


_HEX32 = re.compile("[0-9a-fA-F]{32}")


def entry_id(story: Story) -> str:
    """A story's Atom id, forever: derived from its uid (a hash of its first article's source and guid),
    never from anything that can change (URL, title, canonical article)."""
    digits = story.uid[:32].ljust(32, "0")
    if _HEX32.fullmatch(digits):  # the usual uid: what uuid.UUID(hex=digits).urn gives, without building one
        d = digits.lower()
        return f"urn:uuid:{d[:8]}-{d[8:12]}-{d[12:16]}-{d[16:20]}-{d[20:]}"
    try:
        return uuid.UUID(hex=digits).urn
    except ValueError:  # a uid that is not hex still needs a stable, valid IRI
        return uuid.uuid5(uuid.NAMESPACE_URL, f"feeder:story:{story.uid}").urn


def _entry_updated(story: Story) -> datetime:
    """The store moves ``updated`` only when the canonical article's content changes (a new outlet does
    not); never before ``published``, which validators and readers find odd."""
    return max(_utc(story.updated), _utc(story.first_published))


def _other_outlets(story: Story) -> list[Article]:
    """One related link per other outlet (not per article), skipping the canonical URL itself."""
    seen = {story.article.source}
    urls = {story.article.url}
    others = []
    for article in story.others:
        if article.source not in seen and article.url and article.url not in urls:
            seen.add(article.source)
            urls.add(article.url)
            others.append(article)
    return others


@lru_cache(maxsize=4096)  # a section recurs from entry to entry
def _categories(categories: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(filter(None, map(_text, categories))))


def _text(value: str) -> str:
    """Plain text XML 1.0 can carry, whitespace collapsed (an XML writer rejects control characters)."""
    if value.isprintable() and "  " not in value and value[:1] != " " and value[-1:] != " ":
        return value  # nothing to strip or collapse: isprintable is false for every control and odd space
    return " ".join(strip_xml_forbidden(value).split())


def _url(url: str) -> str:
    """A URL XML can carry (a forbidden character in one would stop the whole publish)."""
    return url if url.isprintable() else strip_xml_forbidden(url)  # isprintable: false for every one of them


def _stamps(paths: Iterable[Path]) -> list[list[int]]:
    """[mtime, size] of each file (JSON-friendly), or [] when one is missing."""
    stamps = []
    for path in paths:
        try:
            stat = path.stat()
        except FileNotFoundError:
            return []
        stamps.append([stat.st_mtime_ns, stat.st_size])
    return stamps


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is UTC and not moment.microsecond:  # what the store gives, kept as it is
        return moment
    if moment.tzinfo is None:  # the store promises UTC; a naive value is UTC that lost its label
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def _rfc3339(moment: datetime) -> str:
    return render.rfc3339(_utc(moment))


def remove_temporary_files(folder: Path) -> int:
    """Delete what a write killed mid-way left behind (the published files themselves are whole)."""
    removed = 0
    for path in folder.rglob(".*.tmp") if folder.is_dir() else ():
        path.unlink(missing_ok=True)
        removed += 1
    return removed
