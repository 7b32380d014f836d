"""Sitemaps, listing pages and full-text feeds, served from 127.0.0.1 and collected for real."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from feeder.cli import main
from feeder.collect import collect
from feeder.config import FetchConfig, SourceConfig
from feeder.fetch import Fetcher
from tests.conftest import FeedServer, Reply, rss, write_config

HTML = {"Content-Type": "text/html; charset=utf-8"}
XML = {"Content-Type": "application/xml"}


def article_page(title: str, body: str, published: str = "2026-11-26T09:30:00Z") -> bytes:
    paragraphs = "".join(f"<p>{body} Sentence {n} adds detail to the report for the reader.</p>" for n in range(8))
    return f"""<!DOCTYPE html><html lang="en"><head><title>{title} | Example News</title>
        <meta property="og:title" content="{title}">
        <meta property="article:published_time" content="{published}">
        <meta name="author" content="Jane Reporter"></head>
        <body><nav><a href="/about">About</a></nav><article><h1>{title}</h1>{paragraphs}</article></body></html>
    """.encode()


def listing(links: list[str]) -> bytes:
    anchors = "".join(f'<li class="story"><a href="{link}">Headline for {link}</a></li>' for link in links)
    return f"""<html><body><nav><a href="/about">About us</a><a href="/tag/world">World</a></nav>
        <main><ul>{anchors}</ul></main><footer><a href="/privacy">Privacy</a></footer></body></html>""".encode()


class Known:
    """Stands in for the store's guid lookup: the guids 'stored' so far."""

    def __init__(self) -> None:
        self.guids: set[str] = set()

    async def __call__(self, guids: list[str]) -> set[str]:
        return self.guids & set(guids)


async def run_cpu(func: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.to_thread(func, *args)


def collect_once(source: SourceConfig, known: Known) -> Any:
    async def go() -> Any:
        fetcher = Fetcher(FetchConfig())
        try:
            return await collect(source, source.url, "", "", fetcher, run_cpu, known)
        finally:
            await fetcher.aclose()

    return asyncio.run(go())


def test_page_source_reads_new_articles_once(feed_server: FeedServer) -> None:
    links = [f"/2026/11/26/story-number-{n}-of-the-day" for n in range(3)]
    for n, link in enumerate(links):
        feed_server.add(link, Reply(200, article_page(f"Story number {n} of the day", f"Fact {n}."), HTML))
    url = feed_server.add("/world/", Reply(200, listing(links), HTML))
    source = SourceConfig(name="front", kind="page", url=url, max_articles=2)
    known = Known()

    first = collect_once(source, known)
    assert [e.title for e in first.feed.entries] == ["Story number 0 of the day", "Story number 1 of the day"]
    assert first.feed.entries[0].author == "Jane Reporter"
    assert "Fact 0." in first.feed.entries[0].content
    known.guids.update(e.guid for e in first.feed.entries)

    second = collect_once(source, known)
    assert [e.title for e in second.feed.entries] == ["Story number 2 of the day"]
    assert feed_server.hits(links[0]) == 1  # a stored article page is never fetched again


def test_page_source_with_css_selector(feed_server: FeedServer) -> None:
    feed_server.add("/a/only-this-one", Reply(200, article_page("Only this one", "Chosen."), HTML))
    body = (b'<html><body><div class="lead"><a href="/a/only-this-one">Lead</a></div>'
            b'<a href="/2026/11/26/not-selected-story-here">Other</a></body></html>')
    url = feed_server.add("/front", Reply(200, body, HTML))
    source = SourceConfig(name="front", kind="page", url=url, links="div.lead a")
    assert [e.title for e in collect_once(source, Known()).feed.entries] == ["Only this one"]


def test_news_sitemap_index(feed_server: FeedServer) -> None:
    child = feed_server.add("/news-1.xml", Reply(200, b"""<?xml version="1.0"?>
        <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
                xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
          <url><loc>http://example.com/a1</loc><news:news>
            <news:publication><news:name>Example</news:name><news:language>en</news:language></news:publication>
            <news:publication_date>2026-11-26T08:00:00+01:00</news:publication_date>
            <news:title>Parliament passes the budget</news:title></news:news></url>
        </urlset>""", XML))
    index = feed_server.add("/sitemap.xml", Reply(200, f"""<?xml version="1.0"?>
        <sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
          <sitemap><loc>{child}</loc></sitemap></sitemapindex>""".encode(), XML))
    collected = collect_once(SourceConfig(name="map", kind="sitemap", url=index), Known())
    [entry] = collected.feed.entries
    assert entry.title == "Parliament passes the budget" and entry.link == "http://example.com/a1"
    assert entry.published is not None and entry.published.hour == 7  # UTC


def test_plain_sitemap_entries_are_read_from_their_pages(feed_server: FeedServer) -> None:
    page = feed_server.add("/2026/11/26/harbour-reopens", Reply(200, article_page("Harbour reopens", "Ships."), HTML))
    sitemap = feed_server.add("/sitemap.xml", Reply(200, f"""<?xml version="1.0"?>
        <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
          <url><loc>{page}</loc><lastmod>2026-11-26</lastmod></url></urlset>""".encode(), XML))
    [entry] = collect_once(SourceConfig(name="map", kind="sitemap", url=sitemap), Known()).feed.entries
    assert entry.title == "Harbour reopens" and "Ships." in entry.content


def test_full_text_replaces_teasers_once(feed_server: FeedServer) -> None:
    page = feed_server.add("/story/full", Reply(200, article_page("Full story", "The whole text."), HTML))
    long_body = "<p>" + "A complete entry body. " * 60 + "</p>"
    feed = rss([
        {"title": "Full story", "link": page, "guid": "t1", "description": "Teaser only."},
        {"title": "Complete already", "link": feed_server.url("/story/complete"), "guid": "c1",
         "description": long_body},
    ])
    url = feed_server.add("/feed.rss", Reply(200, feed, {"Content-Type": "application/rss+xml"}))
    source = SourceConfig(name="wire", url=url, full_text=True)
    known = Known()
    entries = collect_once(source, known).feed.entries
    assert "The whole text." in entries[0].content and entries[0].summary == "Teaser only."
    assert feed_server.hits("/story/complete") == 0  # not a teaser: not fetched
    known.guids.update(e.guid for e in entries)
    again = collect_once(source, known).feed.entries
    assert [e.title for e in again] == ["Complete already"]  # a stored teaser is neither refetched nor overwritten
    assert feed_server.hits("/story/full") == 1


@pytest.mark.parametrize("kind", ["page", "sitemap"])
def test_kinds_run_through_the_cli(kind: str, tmp_path: Path, feed_server: FeedServer) -> None:
    page = feed_server.add("/2026/11/26/bridge-opens-to-traffic",
                           Reply(200, article_page("Bridge opens to traffic", "Cars."), HTML))
    if kind == "page":
        url = feed_server.add("/front", Reply(200, listing([page]), HTML))
    else:
        url = feed_server.add("/sitemap.xml", Reply(200, f"""<?xml version="1.0"?>
            <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{page}</loc></url></urlset>
            """.encode(), XML))
    config = write_config(tmp_path, f"""
        [[source]]
        name = "site"
        kind = "{kind}"
        url = "{url}"
        [[topic]]
        slug = "all"
        title = "All"
    """)
    assert main(["fetch", "--once", "--config", str(config)]) == 0
    assert main(["fetch", "--once", "--config", str(config)]) == 0
    atom = (tmp_path / "state" / "public" / "topics" / "all.atom").read_text()
    assert atom.count("<entry>") == 1 and "Bridge opens to traffic" in atom
    assert feed_server.hits("/2026/11/26/bridge-opens-to-traffic") == 1
