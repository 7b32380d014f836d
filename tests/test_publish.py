"""Published feeds: valid (RELAX NG + the RFC 4287 / W3C validator rules the schema cannot check), stable
(ids, dates, bytes), rich, in every format; written atomically and only when changed; WebSub pings."""

from __future__ import annotations

import asyncio
import io
import json
import os
import random
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import feedparser
import pytest
from lxml import etree, html

from feeder.config import Config, ServerConfig, TopicConfig
from feeder.dedup import Deduplicator
from feeder.model import Article, Story
from feeder.publish import (
    ICON_SVG,
    AtomicBatch,
    Publisher,
    RenderCache,
    SourceInfo,
    TopicFeed,
    entry_id,
    hub_topics,
    ping_hub,
)
from feeder.store import Store
from tests.conftest import shared_path

A = "{http://www.w3.org/2005/Atom}"
BASE = "http://127.0.0.1:8080"
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
SOURCES = {
    "wire": SourceInfo("World Wire", "https://wire.example/", "https://wire.example/feed.rss"),
    "daily": SourceInfo("The Daily", "https://daily.example/"),
    "post": SourceInfo("Evening Post", "https://post.example/"),
}


# -- building blocks ---------------------------------------------------------------------------------


def article(source: str, n: int, minutes: int = 0, **fields: object) -> Article:
    values: dict[str, object] = {
        "source": source, "guid": f"{source}-{n}", "url": f"https://{source}.example/story/{n}",
        "title": f"Story {n} from {source}", "published": T0 + timedelta(minutes=minutes),
        "updated": T0 + timedelta(minutes=minutes), "author": "", "summary": f"<p>Summary of story {n}.</p>",
        "content": f"<p>Body of story {n}.</p>", "categories": ("world",),
    }
    values.update(fields)
    return Article(**values)  # type: ignore[arg-type]


def story(n: int, *articles: Article) -> Story:
    first = articles[0]
    return Story(n, f"{n:032x}", min(a.published for a in articles), first.updated, articles)


def make_config(tmp_path: Path, hub: str = "", base_url: str = BASE) -> Config:
    return Config(path=tmp_path / "config.toml", base_url=base_url, state_dir=tmp_path / "state",
                  database=f"sqlite:///{tmp_path / 'feeder.db'}", title="Feeder Test",
                  server=ServerConfig(websub_hub=hub))


def rich_feed() -> TopicFeed:
    """Stories that exercise every branch: several outlets, a story without URL, hostile and odd text."""
    stories = (
        story(1, article("wire", 1, 30, author="Ann Reporter", categories=("world", "ukraine", "world")),
              article("daily", 11, 45), article("post", 21, 50), article("daily", 12, 55)),
        story(2, article("daily", 2, 20, title="Markets & <tech> \x00stocks\x1f rally",
                         summary='<p onclick="x()">Up <a href="/markets">5%</a></p><script>alert(1)</script>',
                         content='<p>See <img src="chart.png"> and <a href="javascript:alert(1)">this</a></p>')),
        story(3, article("post", 3, 10, url="", content='<p><a href="/local">relative</a></p>')),
        story(4, article("wire", 4, 5), article("daily", 14, 6, url="https://wire.example/story/4")),
    )
    return TopicFeed(TopicConfig("world", "World & Politics"), stories)


def publisher(tmp_path: Path, hub: str = "", cache: RenderCache | None = None) -> Publisher:
    return Publisher(make_config(tmp_path, hub), SOURCES, cache or RenderCache())


def parse(document: bytes) -> etree._Element:
    return etree.fromstring(document)


# -- Atom: schema and the RFC 4287 / W3C rules -------------------------------------------------------


def test_atom_is_valid_against_the_rfc4287_relax_ng_schema(tmp_path: Path) -> None:
    schema = etree.RelaxNG(etree.parse(str(shared_path("data", "schema", "atom.rng"))))
    for hub in ("", "http://127.0.0.1:9/hub"):
        for feed in (rich_feed(), TopicFeed(TopicConfig("empty", "Empty"), ())):
            document = etree.fromstring(publisher(tmp_path, hub).atom(feed))
            assert schema.validate(document), schema.error_log


def test_atom_follows_the_rules_the_schema_cannot_check(tmp_path: Path) -> None:
    root = parse(publisher(tmp_path, "http://127.0.0.1:9/hub").atom(rich_feed()))
    entries = root.findall(f"{A}entry")
    assert len(entries) == 4

    _one_alternate_per_type_and_language(root)
    assert root.find(f"{A}author/{A}name") is not None  # an author on the feed covers every entry
    self_links = [link.get("href") for link in root.findall(f"{A}link[@rel='self']")]
    assert self_links == [f"{BASE}/topics/world.atom"]
    assert [link.get("href") for link in root.findall(f"{A}link[@rel='hub']")] == ["http://127.0.0.1:9/hub"]
    assert root.findtext(f"{A}icon") == f"{BASE}/icon.svg"
    assert root.findtext(f"{A}generator") == "feeder"
    ids = [e.findtext(f"{A}id") for e in entries]
    assert len(set(ids)) == len(ids), "duplicate entry ids"
    for identifier in [root.findtext(f"{A}id"), *ids]:
        assert identifier and re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$", identifier), identifier
    for element in root.iter(f"{A}updated", f"{A}published"):
        assert RFC3339.match(element.text or ""), element.text
    for entry in entries:
        _one_alternate_per_type_and_language(entry)
        assert entry.find(f"{A}author/{A}name") is not None
        assert entry.findtext(f"{A}published") <= entry.findtext(f"{A}updated")  # both in UTC
        _source_is_well_formed(entry)
        _related_links_are_distinct_and_titled(entry)
    _no_relative_urls(root)


def _one_alternate_per_type_and_language(element: etree._Element) -> None:
    alternates = [(link.get("type"), link.get("hreflang")) for link in element.findall(f"{A}link")
                  if link.get("rel", "alternate") == "alternate"]
    assert len(alternates) == len(set(alternates)), alternates


def _source_is_well_formed(entry: etree._Element) -> None:
    """RFC 4287 4.2.11, as the W3C validator checks it: a source carries the source feed's title, id and
    updated (it validates a source like a feed's metadata), and no entries."""
    sources = entry.findall(f"{A}source")
    assert len(sources) == 1
    source = sources[0]
    info = next(i for i in SOURCES.values() if i.title == source.findtext(f"{A}title"))
    assert source.findtext(f"{A}id") == (info.feed_url or info.link)
    assert RFC3339.match(source.findtext(f"{A}updated") or "")
    links = {(link.get("rel"), link.get("href")) for link in source.findall(f"{A}link")}
    assert links == {("alternate", info.link)} | ({("self", info.feed_url)} if info.feed_url else set())
    assert source.find(f"{A}entry") is None


def _related_links_are_distinct_and_titled(entry: etree._Element) -> None:
    alternate = {link.get("href") for link in entry.findall(f"{A}link[@rel='alternate']")}
    related = entry.findall(f"{A}link[@rel='related']")
    hrefs = [link.get("href") for link in related]
    assert len(hrefs) == len(set(hrefs)) and not alternate & set(hrefs)
    assert all(link.get("title") in {i.title for i in SOURCES.values()} for link in related)
    assert all(link.get("type") == "text/html" for link in related)


def _no_relative_urls(root: etree._Element) -> None:
    """Every URL, in attributes and inside escaped HTML content, is absolute (no xml:base is set)."""
    for element in root.iter():
        for name in ("href", "src", "uri"):
            value = element.get(name)
            assert value is None or urlsplit(value).scheme in ("http", "https"), value
        if element.tag in (f"{A}content", f"{A}summary") and element.text:
            fragment = html.fragment_fromstring(element.text, create_parent="div")
            for url in (*fragment.xpath("//@href"), *fragment.xpath("//@src")):
                assert urlsplit(str(url)).scheme in ("http", "https", "mailto"), url


def test_html_content_is_escaped_and_sanitised(tmp_path: Path) -> None:
    root = parse(publisher(tmp_path).atom(rich_feed()))
    markets = root.findall(f"{A}entry")[1]
    assert markets.findtext(f"{A}title") == "Markets & <tech> stocks rally"  # control characters gone
    for name in ("summary", "content"):
        element = markets.find(f"{A}{name}")
        assert element is not None and element.get("type") == "html"
        assert len(element) == 0, "type=html must carry escaped text, not child elements"
        text = element.text or ""
        assert "<script" not in text and "onclick" not in text and "javascript:" not in text
        html.fragment_fromstring(text, create_parent="div")  # it is HTML once unescaped
    assert 'href="https://daily.example/markets"' in (markets.findtext(f"{A}summary") or "")
    assert 'src="https://daily.example/story/chart.png"' in (markets.findtext(f"{A}content") or "")
    no_url = root.findall(f"{A}entry")[2]
    assert no_url.find(f"{A}link[@rel='alternate']") is None
    assert 'href="https://post.example/local"' in (no_url.findtext(f"{A}content") or "")  # resolved on outlet


def test_entries_are_rich(tmp_path: Path) -> None:
    root = parse(publisher(tmp_path).atom(rich_feed()))
    first = root.findall(f"{A}entry")[0]
    assert first.findtext(f"{A}title") == "Story 1 from wire"
    assert first.find(f"{A}link[@rel='alternate']").get("href") == "https://wire.example/story/1"  # type: ignore[union-attr]
    related = [(link.get("href"), link.get("title")) for link in first.findall(f"{A}link[@rel='related']")]
    # One per other outlet: daily's second article of the same story is not a second link.
    assert related == [("https://daily.example/story/11", "The Daily"), ("https://post.example/story/21",
                                                                           "Evening Post")]
    assert first.findtext(f"{A}author/{A}name") == "Ann Reporter"
    assert root.findall(f"{A}entry")[1].findtext(f"{A}author/{A}name") == "The Daily"  # outlet when no byline
    assert [c.get("term") for c in first.findall(f"{A}category")] == ["world", "ukraine"]
    assert first.findtext(f"{A}source/{A}title") == "World Wire"
    assert first.findtext(f"{A}summary") == "<p>Summary of story 1.</p>"
    assert first.findtext(f"{A}content") == "<p>Body of story 1.</p>"
    # Story 4: the other outlet links to the canonical URL itself, so no related link duplicates it.
    assert root.findall(f"{A}entry")[3].findall(f"{A}link[@rel='related']") == []


# -- stability ---------------------------------------------------------------------------------------


def test_regenerating_gives_the_same_bytes_cached_or_not(tmp_path: Path) -> None:
    cache = RenderCache()
    first = publisher(tmp_path, cache=cache)
    renders = [first.atom, first.rss, first.json_feed]
    once = [render(rich_feed()) for render in renders]
    assert [render(rich_feed()) for render in renders] == once  # from the entry cache
    fresh = publisher(tmp_path)  # a new process: nothing cached
    assert [fresh.atom(rich_feed()), fresh.rss(rich_feed()), fresh.json_feed(rich_feed())] == once


def test_an_outlet_renamed_in_the_config_is_rendered_anew(tmp_path: Path) -> None:
    cache = RenderCache()
    feed = rich_feed()
    before = Publisher(make_config(tmp_path), SOURCES, cache).atom(feed)
    renamed = {**SOURCES, "daily": SourceInfo("The Daily Planet", "https://daily.example/")}
    after = Publisher(make_config(tmp_path), renamed, cache).atom(feed)  # same cache: must not serve stale
    assert b"The Daily Planet" in after and b"The Daily Planet" not in before


def test_a_story_that_changed_by_a_second_is_not_served_from_the_cache(tmp_path: Path) -> None:
    cache = RenderCache()
    one = story(7, article("wire", 7, 0))
    topic = TopicConfig("t", "T")
    before = _entry(Publisher(make_config(tmp_path), SOURCES, cache).atom(TopicFeed(topic, (one,))))
    later = replace(one, updated=one.updated + timedelta(seconds=1))
    after = _entry(Publisher(make_config(tmp_path), SOURCES, cache).atom(TopicFeed(topic, (later,))))
    assert after.findtext(f"{A}updated") == "2026-11-20T08:00:01+00:00" != before.findtext(f"{A}updated")


def _changed(value: Any) -> Any:
    """Another value of the same type, for every type a Story or Article field holds."""
    if isinstance(value, datetime):
        return value + timedelta(seconds=1)
    if isinstance(value, str):
        return value + "\udc80"  # a lone surrogate too: the store may hold one
    if isinstance(value, tuple):
        return (*value, "x")
    assert isinstance(value, int), value
    return value + 1


def test_the_entry_key_covers_every_field_and_only_the_values(tmp_path: Path) -> None:
    """The cache key changes with any field of the story or its canonical article and with the other
    articles' outlet and URL; equal stories as fresh objects (naive dates read as UTC) give the same key."""
    def make() -> Story:
        return story(1, article("wire", 1, 0, author="A. Writer"), article("daily", 2, 5))

    first = make()
    key = publisher(tmp_path)._entry_key(first)
    naive = replace(first, updated=first.updated.replace(tzinfo=None))
    assert publisher(tmp_path)._entry_key(make()) == publisher(tmp_path)._entry_key(naive) == key
    variants = [replace(first, **{f.name: _changed(getattr(first, f.name))}) for f in fields(Story)
                if f.name != "articles"]
    canonical, other = first.articles
    variants += [replace(first, articles=(replace(canonical, **{f.name: _changed(getattr(canonical, f.name))}),
                                          other)) for f in fields(Article)]
    variants += [replace(first, articles=(canonical, replace(other, source="wire")))]
    variants += [replace(first, articles=(canonical, replace(other, url=other.url + "/2")))]
    keys = [publisher(tmp_path)._entry_key(variant) for variant in variants]
    assert key not in keys and len(set(keys)) == len(keys)


def test_entry_ids_are_the_uuid_urns_they_always_were() -> None:
    """entry_id writes the URN out for a hex uid; an id must never change, so it must be exactly what
    uuid.UUID gave (and the fallback for other uids is untouched)."""
    rng = random.Random(5)
    uids = [f"{rng.getrandbits(128):032x}", f"{rng.getrandbits(160):040X}", "abc", "", "not-hex-at-all",
            "{" + "a" * 30 + "}", "a" * 31 + "-", "urn:uuid:" + "b" * 23, "ABCDEF" * 6]
    for uid in uids:
        digits = uid[:32].ljust(32, "0")
        try:
            expected = uuid.UUID(hex=digits).urn
        except ValueError:
            expected = uuid.uuid5(uuid.NAMESPACE_URL, f"feeder:story:{uid}").urn
        assert entry_id(Story(1, uid, T0, T0, ())) == expected, uid


def _entry(document: bytes, index: int = 0) -> etree._Element:
    return parse(document).findall(f"{A}entry")[index]


def test_a_new_outlet_changes_neither_id_nor_updated(tmp_path: Path) -> None:
    one = story(7, article("wire", 7, 0))
    later = replace(one, articles=(*one.articles, article("daily", 77, 90)))  # the store keeps `updated`
    topic = TopicConfig("t", "T")
    pub = publisher(tmp_path)
    before = _entry(pub.atom(TopicFeed(topic, (one,))))
    after_doc = pub.atom(TopicFeed(topic, (later,)))
    after = _entry(after_doc)
    for name in ("id", "updated", "published"):
        assert after.findtext(f"{A}{name}") == before.findtext(f"{A}{name}")
    assert parse(after_doc).findtext(f"{A}updated") == before.findtext(f"{A}updated")  # the feed's too
    assert [link.get("title") for link in after.findall(f"{A}link[@rel='related']")] == ["The Daily"]


def test_published_is_the_first_publication_and_updated_follows_the_content(tmp_path: Path) -> None:
    early = story(8, article("wire", 8, 60), article("daily", 88, 0))  # daily ran it an hour earlier
    entry = _entry(publisher(tmp_path).atom(TopicFeed(TopicConfig("t", "T"), (early,))))
    assert entry.findtext(f"{A}published") == "2026-11-20T08:00:00+00:00"
    assert entry.findtext(f"{A}updated") == "2026-11-20T09:00:00+00:00"
    edited = replace(early, updated=T0 + timedelta(hours=3),
                     articles=(replace(early.article, content="<p>Corrected.</p>"), *early.others))
    entry2 = _entry(publisher(tmp_path).atom(TopicFeed(TopicConfig("t", "T"), (edited,))))
    assert entry2.findtext(f"{A}updated") == "2026-11-20T11:00:00+00:00"
    assert entry2.findtext(f"{A}id") == entry.findtext(f"{A}id") == entry_id(early)


def test_the_store_does_not_move_updated_when_another_outlet_joins(tmp_path: Path) -> None:
    """The publisher trusts Story.updated; this holds the store to it through real ingestion."""
    store = Store(f"sqlite:///{tmp_path / 'feeder.db'}")
    dedup = Deduplicator("headline", timedelta(hours=48))
    headline = "Ukraine: Blinken warns Lavrov of consequences"
    store.ingest("wire", [article("wire", 1, 0, title=headline)], dedup, {}, T0 + timedelta(minutes=1))
    (before,) = store.recent_stories(10)
    store.ingest("daily", [article("daily", 2, 30, title=headline)], dedup, {}, T0 + timedelta(hours=2))
    (after,) = store.recent_stories(10)
    store.close()
    assert len(after.articles) == 2
    assert (after.uid, after.updated, after.first_published) == (before.uid, before.updated, before.first_published)


# -- RSS, JSON Feed, OPML, index ---------------------------------------------------------------------


def test_feedparser_reads_back_every_entry_of_atom_and_rss(tmp_path: Path) -> None:
    pub = publisher(tmp_path, "http://127.0.0.1:9/hub")
    feed = rich_feed()
    empty = TopicFeed(TopicConfig("empty", "Empty"), ())
    for document in (pub.atom(empty), pub.rss(empty)):
        parsed = feedparser.parse(io.BytesIO(document), response_headers={"content-type": "application/xml"})
        assert not parsed.bozo and parsed.feed.title == "Empty" and parsed.entries == []
    for fmt, document in (("atom", pub.atom(feed)), ("rss", pub.rss(feed))):
        parsed = feedparser.parse(io.BytesIO(document), response_headers={"content-type": "application/xml"})
        assert not parsed.bozo, (fmt, parsed.get("bozo_exception"))
        assert parsed.version == {"atom": "atom10", "rss": "rss20"}[fmt]
        assert [e.id for e in parsed.entries] == [entry_id(s) for s in feed.stories]
        assert [e.title for e in parsed.entries] == [
            "Story 1 from wire", "Markets & <tech> stocks rally", "Story 3 from post", "Story 4 from wire"]
        assert parsed.entries[0].link == "https://wire.example/story/1"
        assert parsed.feed.title == "World & Politics"


def test_rss_is_rss_2(tmp_path: Path) -> None:
    root = parse(publisher(tmp_path).rss(rich_feed()))
    channel = root.find("channel")
    assert root.get("version") == "2.0" and channel is not None
    assert channel.findtext("link") == f"{BASE}/#world"
    assert [link.get("href") for link in channel.findall(f"{A}link[@rel='self']")] == [f"{BASE}/topics/world.rss"]
    for item in channel.findall("item"):
        assert item.find("guid").get("isPermaLink") == "false"  # type: ignore[union-attr]
        assert parsedate_to_datetime(item.findtext("pubDate") or "").tzinfo is not None
        assert item.findtext("title") and item.findtext("description")
    first = channel.findall("item")[0]
    assert first.findtext("{http://purl.org/rss/1.0/modules/content/}encoded") == "<p>Body of story 1.</p>"
    assert first.find("source").get("url") == "https://wire.example/feed.rss"  # type: ignore[union-attr]
    assert first.findtext("source") == "World Wire"


def check_json_feed_1_1(document: dict[str, object]) -> None:
    """The JSON Feed 1.1 rules (https://jsonfeed.org/version/1.1) as a structural check."""
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(document["title"], str) and document["title"]
    for key in ("home_page_url", "feed_url", "icon", "favicon"):
        assert key not in document or urlsplit(str(document[key])).scheme in ("http", "https")
    for hub in document.get("hubs", []):  # type: ignore[attr-defined]
        assert set(hub) == {"type", "url"}
    items = document["items"]
    assert isinstance(items, list)
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids)) and all(isinstance(i, str) and i for i in ids)
    for item in items:
        assert item.get("content_html") or item.get("content_text")
        for key in ("date_published", "date_modified"):
            assert key not in item or RFC3339.match(item[key])
        for author in item.get("authors", []):
            assert set(author) <= {"name", "url", "avatar"} and author
        assert isinstance(item.get("tags", []), list)
        unknown = set(item) - {"id", "url", "external_url", "title", "content_html", "content_text", "summary",
                               "image", "banner_image", "date_published", "date_modified", "authors", "tags",
                               "language", "attachments"}
        assert all(key.startswith("_") for key in unknown), unknown  # extensions start with "_"


def test_json_feed_is_json_feed_1_1_from_the_same_data(tmp_path: Path) -> None:
    pub = publisher(tmp_path, "http://127.0.0.1:9/hub")
    document = json.loads(pub.json_feed(rich_feed()))
    check_json_feed_1_1(document)
    assert document["feed_url"] == f"{BASE}/topics/world.json"
    assert document["hubs"] == [{"type": "WebSub", "url": "http://127.0.0.1:9/hub"}]
    atom_entries = parse(pub.atom(rich_feed())).findall(f"{A}entry")
    assert [i["id"] for i in document["items"]] == [e.findtext(f"{A}id") for e in atom_entries]
    assert [i["title"] for i in document["items"]] == [e.findtext(f"{A}title") for e in atom_entries]
    assert document["items"][0]["_feeder"]["also_reported_by"][0] == {
        "name": "The Daily", "url": "https://daily.example/story/11"}


def test_opml_lists_every_topic(tmp_path: Path) -> None:
    topics = [TopicConfig("world", "World"), TopicConfig("tech", "Tech & Science")]
    root = parse(publisher(tmp_path).opml(topics))
    outlines = root.findall("body/outline")
    assert root.get("version") == "2.0"
    assert [(o.get("text"), o.get("xmlUrl")) for o in outlines] == [
        ("World", f"{BASE}/topics/world.atom"), ("Tech & Science", f"{BASE}/topics/tech.atom")]


def test_index_lists_topics_with_headlines_and_autodiscovery_without_script(tmp_path: Path) -> None:
    feeds = [rich_feed(), TopicFeed(TopicConfig("empty", "Nothing <yet>"), ())]
    page = html.fromstring(publisher(tmp_path).index_html(feeds))
    assert page.xpath("//meta[@name='viewport']/@content") == ["width=device-width, initial-scale=1"]
    assert not page.xpath("//script") and not page.xpath("//@*[starts-with(name(), 'on')]")
    discovery = page.xpath("//head/link[@rel='alternate']/@href")
    assert f"{BASE}/topics/world.atom" in discovery and f"{BASE}/topics/empty.json" in discovery
    assert page.xpath("//section/h2/text()") == ["World & Politics", "Nothing <yet>"]
    assert page.xpath("//section[@id='world']//li/a/text()")[0] == "Story 1 from wire"
    assert page.xpath("//section[@id='world']//p[@class='feeds']/a/@href") == [
        "/topics/world.atom", "/topics/world.rss", "/topics/world.json"]


# -- writing -----------------------------------------------------------------------------------------


def _files(public: Path) -> dict[str, int]:
    return {str(p.relative_to(public)): p.stat().st_mtime_ns for p in public.rglob("*") if p.is_file()}


def test_write_all_rewrites_only_changed_topics_atomically(tmp_path: Path) -> None:
    world, other = rich_feed(), TopicFeed(TopicConfig("other", "Other"), (story(9, article("post", 9)),))
    pub = publisher(tmp_path)
    public = pub.config.public_dir
    assert pub.write_all([world, other]) == ["world", "other"]
    first = _files(public)
    assert set(first) == {"index.html", "topics.opml", "icon.svg", *(f"topics/{s}.{f}" for s in ("world", "other")
                                                                     for f in ("atom", "rss", "json"))}
    assert (public / "icon.svg").read_bytes() == ICON_SVG
    assert publisher(tmp_path).write_all([world, other]) == []  # a new process, same stories
    assert pub.write_all([world, other]) == []  # the same process: not even rendered
    assert _files(public) == first

    grown = replace(other, stories=(story(10, article("wire", 10, 99)), *other.stories))
    assert pub.write_all([world, grown]) == ["other"]
    now = _files(public)
    assert all(now[f"topics/world.{f}"] == first[f"topics/world.{f}"] for f in ("atom", "rss", "json"))
    assert now["topics/other.atom"] != first["topics/other.atom"]
    assert not [p for p in public.rglob("*.tmp")], "temporary files left behind"

    memo = pub.config.state_dir / "publish-memo.json"
    assert memo.exists() and not list(public.rglob("*memo*"))  # beside what is served, not in it
    memo.write_text("{damaged")  # a damaged memo costs a render, nothing else
    assert pub.write_all([world, grown]) == [] and json.loads(memo.read_text())

    (public / "topics" / "world.rss").unlink()  # someone removed a file: the memo must not hide it
    assert pub.write_all([world, grown]) == ["world"]
    assert pub.write_all([grown]) == []
    assert not (public / "topics" / "world.atom").exists()  # a removed topic stops being published


def test_a_topic_that_changed_derives_keys_only_for_stories_unlike_its_last_ones() -> None:
    """Equal stories keep their keys, even as fresh objects and moved down the topic; a story under the
    same id that changed, and every story once the outlets or base URL changed, derive theirs again."""
    def stories(*numbers: int) -> tuple[Story, ...]:
        return tuple(story(n, article("wire", n, n)) for n in numbers)

    derived: list[int] = []

    def derive(one: Story) -> str:
        derived.append(one.id)
        return key_of(one)

    def key_of(one: Story) -> str:
        return f"{one.id}@{one.updated.isoformat()}"

    cache = RenderCache()
    assert cache.story_keys("t", "context", stories(1, 2, 3), derive) == ["1@" + T0.replace(minute=1).isoformat(),
                                                                           *map(key_of, stories(2, 3))]
    changed = replace(stories(3)[0], updated=T0 + timedelta(hours=5))
    derived.clear()
    assert cache.story_keys("t", "context", (*stories(9, 1, 2), changed), derive) == [
        *map(key_of, stories(9, 1, 2)), key_of(changed)]
    assert derived == [9, 3]
    derived.clear()
    cache.story_keys("t", "other context", stories(1, 2), derive)
    assert derived == [1, 2]


def test_a_batch_stages_a_file_of_the_same_size_that_differs(tmp_path: Path) -> None:
    path = tmp_path / "world.atom"
    path.write_bytes(b"old")
    with AtomicBatch() as batch:
        assert not batch.write(path, b"old")
        assert not batch.write(path, [b"o", b"", b"ld"])  # parts compare as the file they make
        assert batch.write(path, [b"ne", b"w"])
    assert path.read_bytes() == b"new"


def test_a_batch_writes_every_part_in_order_whatever_writev_takes(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """More parts than one writev call takes, and writes that stop short, even inside a part."""
    parts = [f"<{n}>".encode() * (n % 5) for n in range(5000)]
    with AtomicBatch() as batch:
        assert batch.write(tmp_path / "all.atom", parts)
    assert (tmp_path / "all.atom").read_bytes() == b"".join(parts)
    assert (tmp_path / "all.atom").stat().st_mode & 0o777 == 0o644

    writev = os.writev
    calls = []

    def short(fd: int, buffers: list[bytes]) -> int:
        calls.append(len(buffers))
        return writev(fd, [b"".join(buffers)[:7]])  # at most 7 bytes a call

    monkeypatch.setattr(os, "writev", short)
    with AtomicBatch() as batch:
        assert batch.write(tmp_path / "short.atom", parts[:300])
    assert (tmp_path / "short.atom").read_bytes() == b"".join(parts[:300]) and len(calls) > 300


def test_a_batch_that_fails_halfway_leaves_every_old_file(tmp_path: Path) -> None:
    old = tmp_path / "world.atom"
    old.write_bytes(b"old")
    with pytest.raises(RuntimeError), AtomicBatch() as batch:
        assert batch.write(old, b"new")
        assert batch.write(tmp_path / "tech.atom", b"new tech")
        assert not batch.write(old, b"old")  # unchanged: nothing staged
        raise RuntimeError("rendering the next topic failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["world.atom"]  # no temporary file left
    assert old.read_bytes() == b"old"
    with AtomicBatch() as batch:
        batch.write(old, b"new")
    assert old.read_bytes() == b"new" and old.stat().st_mode & 0o777 == 0o644



def test_a_batch_whose_background_write_fails_raises_and_leaves_every_old_file(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Files are written and synced in background threads: an error there comes out of the batch, before
    any file is renamed, and no temporary file stays behind."""
    old = tmp_path / "world.atom"
    old.write_bytes(b"old")
    fdatasync = os.fdatasync
    synced: list[int] = []

    def full_disk_on_the_third(fd: int) -> None:
        synced.append(fd)
        if len(synced) == 3:
            raise OSError(28, "No space left on device")
        fdatasync(fd)

    monkeypatch.setattr(os, "fdatasync", full_disk_on_the_third)
    with pytest.raises(OSError, match="No space"), AtomicBatch() as batch:
        for n in range(6):
            assert batch.write(tmp_path / f"{n}.atom", [b"new ", str(n).encode()])
        assert batch.write(old, b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["world.atom"] and old.read_bytes() == b"old"
    assert len(synced) == 7  # every file was waited for before the error came out


def test_a_path_staged_twice_in_a_batch_gets_its_last_data(tmp_path: Path) -> None:
    """Files are renamed into place by several threads at once: the earlier staging of a path is dropped."""
    with AtomicBatch() as batch:
        for n in range(30):
            batch.write(tmp_path / f"{n % 3}.atom", f"version {n}".encode())
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == {
        "0.atom": b"version 27", "1.atom": b"version 28", "2.atom": b"version 29"}

def test_a_batch_whose_caller_fails_waits_for_its_writes_and_removes_them(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), AtomicBatch() as batch:
        for n in range(20):
            batch.write(tmp_path / f"{n}.atom", [b"x" * 100_000])
        raise RuntimeError("rendering the next topic failed")
    assert list(tmp_path.iterdir()) == []


# -- WebSub ------------------------------------------------------------------------------------------


class Hub:
    """A real WebSub hub on 127.0.0.1 that records publish pings."""

    def __init__(self, status: int = 204) -> None:
        self.pings: list[dict[str, list[str]]] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                assert self.headers.get("Content-Type") == "application/x-www-form-urlencoded"
                hub.pings.append(parse_qs(self.rfile.read(length).decode()))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hub"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def hub() -> Iterator[Hub]:
    server = Hub()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def test_changed_topics_are_pinged_to_the_hub(tmp_path: Path, hub: Hub) -> None:
    pub = publisher(tmp_path, hub.url)
    changed = pub.write_all([rich_feed()])
    for fmt in ("atom", "rss"):  # and JSON Feed's "hubs", checked with the JSON Feed
        assert f'href="{hub.url}" rel="hub"' in (pub.config.public_dir / "topics" / f"world.{fmt}").read_text()
    assert asyncio.run(ping_hub(hub.url, hub_topics(BASE, changed))) == []
    assert hub.pings == [{"hub.mode": ["publish"], "hub.url": [f"{BASE}/topics/world.{fmt}"]}
                         for fmt in ("atom", "rss", "json")]
    assert asyncio.run(ping_hub(hub.url, hub_topics(BASE, pub.write_all([rich_feed()])))) == []
    assert len(hub.pings) == 3  # nothing changed, nothing pinged


def test_a_failing_hub_is_reported_not_raised() -> None:
    broken = Hub(status=500)
    try:
        assert asyncio.run(ping_hub(broken.url, ["http://127.0.0.1/x.atom"])) == ["http://127.0.0.1/x.atom"]
    finally:
        broken.httpd.shutdown()
        broken.httpd.server_close()
    # Nothing listens on port 9 (discard): a refused connection is a failure too, quickly.
    assert asyncio.run(ping_hub("http://127.0.0.1:9/hub", ["http://127.0.0.1/x.atom"], timeout=2)) == [
        "http://127.0.0.1/x.atom"]


def test_the_daemon_pings_the_hub_after_a_publish_that_changed_topics(tmp_path: Path, hub: Hub) -> None:
    from feeder.daemon import Daemon

    daemon = Daemon(make_config(tmp_path, hub.url))

    async def publish_then_wait() -> None:
        daemon.announce([])  # nothing changed: no ping
        daemon.announce(["world", "tech"])
        await asyncio.gather(*daemon.pings)
        await daemon.fetcher.aclose()

    try:
        asyncio.run(publish_then_wait())
    finally:
        daemon.pipeline.close()
        daemon.store.close()
    assert [ping["hub.url"] for ping in hub.pings] == [
        [f"{BASE}/topics/{slug}.{fmt}"] for slug in ("world", "tech") for fmt in ("atom", "rss", "json")]
