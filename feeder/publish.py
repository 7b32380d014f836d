"""Stories -> Atom, RSS 2.0, JSON Feed 1.1, OPML and an HTML index, written atomically as static files.

Output is a pure function of the stories: regenerating an unchanged topic gives the same bytes, so
ETags stay put and only topics that changed are rewritten.
"""

from __future__ import annotations

import html
import json
import os
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import quoteattr

from feedgen.feed import FeedGenerator

from feeder import __version__
from feeder.config import Config, TopicConfig
from feeder.model import Article, Story

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
GENERATOR_URI = "https://github.com/feeder/feeder"
FORMATS = {"atom": "application/atom+xml", "rss": "application/rss+xml", "json": "application/feed+json"}


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """How an outlet is named and linked in published feeds."""

    title: str
    link: str = ""


@dataclass(frozen=True, slots=True)
class TopicFeed:
    """One topic's entries, ready to render."""

    topic: TopicConfig
    stories: tuple[Story, ...]

    @property
    def updated(self) -> datetime:
        return max((s.updated for s in self.stories), default=EPOCH)


class Publisher:
    def __init__(self, config: Config, sources: Mapping[str, SourceInfo]) -> None:
        self.config = config
        self.sources = sources
        self.base_url = config.base_url

    def feed_url(self, slug: str, fmt: str = "atom") -> str:
        return f"{self.base_url}/topics/{slug}.{fmt}"

    def outlet(self, source: str) -> SourceInfo:
        return self.sources.get(source) or SourceInfo(source)

    # -- rendering ---------------------------------------------------------------------------

    def atom(self, feed: TopicFeed) -> bytes:
        generator = self._generator(feed)
        for story in feed.stories:
            self._atom_entry(generator, story)
        return bytes(generator.atom_str(pretty=True))

    def rss(self, feed: TopicFeed) -> bytes:
        generator = self._generator(feed)
        for story in feed.stories:
            entry = self._atom_entry(generator, story)
            entry.guid(_entry_id(story), permalink=False)
        return bytes(generator.rss_str(pretty=True))

    def json_feed(self, feed: TopicFeed) -> bytes:
        document = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": feed.topic.title,
            "home_page_url": f"{self.base_url}/",
            "feed_url": self.feed_url(feed.topic.slug, "json"),
            "authors": [{"name": self.config.title}],
            "items": [self._json_item(story) for story in feed.stories],
        }
        return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode()

    def _generator(self, feed: TopicFeed) -> FeedGenerator:
        topic = feed.topic
        generator = FeedGenerator()
        generator.id(self.feed_url(topic.slug))
        generator.title(topic.title)
        generator.subtitle(f"{topic.title}: deduplicated news from {self.config.title}")
        generator.author({"name": self.config.title})
        generator.link(href=f"{self.base_url}/", rel="alternate", type="text/html")
        generator.link(href=self.feed_url(topic.slug), rel="self", type="application/atom+xml")
        if self.config.server.websub_hub:
            generator.link(href=self.config.server.websub_hub, rel="hub")
        generator.generator("feeder", __version__, GENERATOR_URI)
        generator.language("en")
        generator.updated(feed.updated)
        generator.description(topic.title)
        return generator

    def _atom_entry(self, generator: FeedGenerator, story: Story) -> Any:
        article = story.article
        entry = generator.add_entry(order="append")
        entry.id(_entry_id(story))
        entry.title(article.title)
        entry.updated(story.updated)
        entry.published(story.first_published)
        if article.url:
            entry.link(href=article.url, rel="alternate", type="text/html")
        for other in _other_outlets(story):
            entry.link(href=other.url, rel="related", type="text/html", title=self.outlet(other.source).title)
        outlet = self.outlet(article.source)
        entry.author({"name": article.author or outlet.title})
        if article.summary:
            entry.summary(article.summary, type="html")
        entry.content(article.content or article.summary or html.escape(article.title), type="html")
        for category in article.categories:
            entry.category(term=category)
        entry.source(url=outlet.link or article.url or self.base_url, title=outlet.title)
        return entry

    def _json_item(self, story: Story) -> dict[str, object]:
        article = story.article
        item: dict[str, object] = {
            "id": _entry_id(story),
            "title": article.title,
            "content_html": article.content or article.summary or html.escape(article.title),
            "date_published": _rfc3339(story.first_published),
            "date_modified": _rfc3339(story.updated),
            "authors": [{"name": article.author or self.outlet(article.source).title}],
        }
        if article.url:
            item["url"] = article.url
        if article.summary:
            item["summary"] = article.summary
        if article.categories:
            item["tags"] = list(article.categories)
        others = _other_outlets(story)
        if others:
            item["_feeder"] = {"also_reported_by": [
                {"name": self.outlet(o.source).title, "url": o.url} for o in others]}
        return item

    def opml(self, topics: Sequence[TopicConfig]) -> bytes:
        outlines = "\n".join(
            f'    <outline type="rss" text={quoteattr(t.title)} title={quoteattr(t.title)} '
            f'xmlUrl={quoteattr(self.feed_url(t.slug))} htmlUrl={quoteattr(self.base_url + "/")}/>'
            for t in topics
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">\n  <head>\n'
            f"    <title>{html.escape(self.config.title)} topics</title>\n  </head>\n  <body>\n"
            f"{outlines}\n  </body>\n</opml>\n"
        ).encode()

    def index_html(self, feeds: Sequence[TopicFeed]) -> bytes:
        title = html.escape(self.config.title)
        links = "\n".join(
            f'<link rel="alternate" type="application/atom+xml" title="{html.escape(f.topic.title)}" '
            f'href="{html.escape(self.feed_url(f.topic.slug))}">'
            for f in feeds
        )
        sections = "\n".join(self._index_section(f) for f in feeds)
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
{links}
<style>
body{{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:0 auto;padding:1rem;color:#222}}
h2{{margin-bottom:.2rem}} .feeds a{{margin-right:.6rem;font-size:.9rem}} li{{margin:.3rem 0}}
.meta{{color:#666;font-size:.85rem}}
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
        slug = feed.topic.slug
        items = "\n".join(
            f'<li><a href="{html.escape(s.article.url or "#")}">{html.escape(s.article.title)}</a> '
            f'<span class="meta">{html.escape(self.outlet(s.article.source).title)}'
            f'{f" +{len(s.outlets) - 1} more" if len(s.outlets) > 1 else ""}</span></li>'
            for s in feed.stories[:10]
        ) or "<li class=\"meta\">No stories yet.</li>"
        return (
            f'<section id="{slug}"><h2>{html.escape(feed.topic.title)}</h2>\n<p class="feeds">'
            + " ".join(f'<a href="/topics/{slug}.{fmt}">{fmt.upper()}</a>' for fmt in FORMATS)
            + f"</p>\n<ul>\n{items}\n</ul></section>"
        )

    # -- writing -----------------------------------------------------------------------------

    def write_topic(self, feed: TopicFeed) -> bool:
        """Render and write one topic in every format; True when any file changed."""
        renders = {"atom": self.atom, "rss": self.rss, "json": self.json_feed}
        changed = False
        for fmt, render in renders.items():
            changed |= write_atomically(self.config.public_dir / "topics" / f"{feed.topic.slug}.{fmt}",
                                        render(feed))
        return changed

    def write_all(self, feeds: Sequence[TopicFeed]) -> list[str]:
        """Write every topic plus the OPML and index; returns the slugs whose feeds changed."""
        changed = [f.topic.slug for f in feeds if self.write_topic(f)]
        write_atomically(self.config.public_dir / "topics.opml", self.opml([f.topic for f in feeds]))
        write_atomically(self.config.public_dir / "index.html", self.index_html(feeds))
        self._remove_stale(feeds)
        return changed

    def _remove_stale(self, feeds: Sequence[TopicFeed]) -> None:
        """A topic removed from the config stops being published."""
        wanted = {f"{f.topic.slug}.{fmt}" for f in feeds for fmt in FORMATS}
        folder = self.config.public_dir / "topics"
        for path in folder.glob("*.*") if folder.is_dir() else ():
            if path.name not in wanted and path.suffix.lstrip(".") in FORMATS:
                path.unlink(missing_ok=True)


def write_atomically(path: Path, data: bytes) -> bool:
    """Replace ``path`` with ``data`` so that a reader sees the old file or the new one, never half of
    one, even across a crash. Returns False (and writes nothing) when the content is unchanged."""
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return True


def _entry_id(story: Story) -> str:
    return uuid.UUID(hex=story.uid[:32].ljust(32, "0")).urn


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


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def host_of(url: str) -> str:
    return urlsplit(url).hostname or "localhost"


def remove_temporary_files(folder: Path) -> int:
    """Delete what a write_atomically killed mid-write left behind (the published files are whole)."""
    removed = 0
    for path in folder.rglob(".*.tmp") if folder.is_dir() else ():
        path.unlink(missing_ok=True)
        removed += 1
    return removed
