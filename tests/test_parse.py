"""parse_document: feeds through feedparser, JSON Feed, sitemaps, sitemap indexes; never an exception."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feeder.normalise import to_article
from feeder.parse import parse_document, sniff
from feeder.parse.dates import parse_date

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FEEDPARSER_TESTS = SHARED / "data" / "feeds" / "feedparser-tests"
FETCHED = datetime(2026, 1, 1, tzinfo=UTC)


def _json_feed(version: str, items: list[dict[str, object]], **feed: object) -> bytes:
    doc = {"version": f"https://jsonfeed.org/version/{version}", "title": "Example", **feed, "items": items}
    return json.dumps(doc).encode()


def test_json_feed_1_1() -> None:
    body = _json_feed("1.1", [{
        "id": "1", "url": "https://example.com/a?utm_source=x", "title": "A &amp; B",
        "content_html": "<p>Hi <script>x()</script><a href='/rel'>link</a></p>", "summary": "Short",
        "date_published": "2024-05-01T10:00:00+02:00", "date_modified": "2024-05-02T00:00:00Z",
        "authors": [{"name": "Ann"}, {"name": "Bob"}], "tags": ["news", "World"], "language": "en-gb",
    }], home_page_url="https://example.com/", language="en")
    feed = parse_document(body, "https://example.com/feed.json", "application/feed+json")
    assert feed.title == "Example" and feed.link == "https://example.com/" and not feed.problem
    (entry,) = feed.entries
    assert entry.published == datetime(2024, 5, 1, 8, tzinfo=UTC)
    assert entry.author == "Ann, Bob" and entry.categories == ("news", "World")
    article = to_article(entry, "src", "https://example.com/feed.json", FETCHED)
    assert article.url == "https://example.com/a"
    assert article.title == "A & B"
    assert "script" not in article.content and 'href="https://example.com/rel"' in article.content
    assert article.language == "en-GB"
    assert article.updated == datetime(2024, 5, 2, tzinfo=UTC)


def test_json_feed_1_0_author_text_and_external_url() -> None:
    body = _json_feed("1", [
        {"id": 7, "external_url": "https://other.example/x", "content_text": "Para one.\n\nPara <two>.",
         "date_published": "2020-01-02T03:04:05Z", "author": {"name": "Old Style"}},
        "not an item",
    ], author={"name": "Feed Author"})
    feed = parse_document(body, "https://example.com/feed.json")  # sniffed, no content type
    (entry,) = feed.entries
    assert entry.guid == "7" and entry.link == "https://other.example/x"
    assert entry.author == "Old Style"
    assert entry.content == "<p>Para one.</p>\n<p>Para &lt;two&gt;.</p>"
    assert "1 item(s)" in feed.problem
    article = to_article(entry, "src", "https://example.com/feed.json", FETCHED)
    assert article.title == "Para one. Para <two>."  # no title: the text stands in


def test_json_feed_invalid_is_reported() -> None:
    feed = parse_document(b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "https://e.com/f")
    assert not feed.entries and "invalid JSON" in feed.problem


NEWS_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url>
    <loc>https://news.example.com/2024/05/01/big-story.html</loc>
    <lastmod>2024-05-01T12:30:00+01:00</lastmod>
    <news:news>
      <news:publication>
        <news:name>Example News</news:name><news:language>en</news:language>
      </news:publication>
      <news:publication_date>2024-05-01T10:00:00+01:00</news:publication_date>
      <news:title>Big story &amp; more</news:title>
      <news:keywords>politics, economy</news:keywords>
    </news:news>
  </url>
  <url><loc>/relative/plain-page</loc><lastmod>2024-04-30</lastmod></url>
</urlset>"""


def test_news_sitemap() -> None:
    feed = parse_document(NEWS_SITEMAP, "https://news.example.com/sitemap-news.xml", "application/xml")
    news, plain = feed.entries
    assert news.title == "Big story & more"
    assert news.published == datetime(2024, 5, 1, 9, tzinfo=UTC)
    assert news.updated == datetime(2024, 5, 1, 11, 30, tzinfo=UTC)
    assert news.categories == ("politics", "economy") and news.language == "en"
    assert plain.link == "https://news.example.com/relative/plain-page"
    assert plain.published == datetime(2024, 4, 30, tzinfo=UTC)
    article = to_article(plain, "src", "https://news.example.com/sitemap-news.xml", FETCHED)
    assert article.title == "https://news.example.com/relative/plain-page"  # no title: the URL stands in


def test_sitemap_index_lists_children_and_gzip_is_read() -> None:
    body = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc>https://e.com/s1.xml</loc><lastmod>2024-01-01</lastmod></sitemap>
      <sitemap><loc>s2.xml.gz</loc></sitemap><sitemap><loc>https://e.com/s1.xml</loc></sitemap>
    </sitemapindex>"""
    feed = parse_document(gzip.compress(body), "https://e.com/sitemaps/index.xml")
    assert feed.children == ("https://e.com/s1.xml", "https://e.com/sitemaps/s2.xml.gz")
    assert not feed.entries and not feed.problem


def test_sitemap_entities_are_not_expanded() -> None:
    body = b"""<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY x SYSTEM "file:///etc/passwd">]>
      <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://e.com/a&x;</loc></url></urlset>"""
    feed = parse_document(body, "https://e.com/sitemap.xml")
    assert all("root:" not in e.link for e in feed.entries)


def test_sniff() -> None:
    assert sniff(b"<?xml version='1.0'?>\n<!-- hi --><urlset>") == "sitemap"
    assert sniff(b"<rss version='2.0'>") == "feed"
    assert sniff(b"{}", "application/feed+json; charset=utf-8") == "json"


@pytest.mark.parametrize("body", [b"", b"\x00\xff\xfe garbage", b"<html><body>hi</body></html>",
                                  b"\x1f\x8b not gzip", b"{not json", b"<urlset><url>"])
def test_bad_documents_are_reported_not_raised(body: bytes) -> None:
    feed = parse_document(body, "https://e.com/x")
    assert not feed.entries and feed.problem


def test_rss_author_name_and_xml_base() -> None:
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://e.com/blog/">
      <title>T</title><entry><title type="html">A &lt;b&gt;bold&lt;/b&gt; title</title>
      <link href="posts/1"/><id>urn:1</id><updated>2024-01-01T00:00:00Z</updated>
      <author><name>Jane</name><email>j@e.com</email></author>
      <content type="html" xml:base="https://cdn.e.com/media/">&lt;img src="pic.jpg"&gt;</content>
      </entry></feed>"""
    (entry,) = parse_document(body, "https://e.com/atom.xml").entries
    article = to_article(entry, "src", "https://e.com/atom.xml", FETCHED)
    assert article.url == "https://e.com/blog/posts/1"
    assert article.title == "A bold title" and article.author == "Jane"
    assert 'src="https://cdn.e.com/media/pic.jpg"' in article.content


def test_rss_relative_content_uses_the_entry_link() -> None:
    body = b"""<rss version="2.0"><channel><item><title>T</title><link>/news/2024/story</link>
      <description>&lt;img src="pic.jpg"&gt;</description></item></channel></rss>"""
    (entry,) = parse_document(body, "https://e.com/feeds/rss.xml").entries
    article = to_article(entry, "src", "https://e.com/feeds/rss.xml", FETCHED)
    assert article.url == "https://e.com/news/2024/story"
    assert 'src="https://e.com/news/2024/pic.jpg"' in article.summary


def test_lenient_dates() -> None:
    js_date = "Sat Dec 07 2024 01:36:42 GMT+0100 (CET)"  # JavaScript Date.toString(), seen in JSON-LD
    assert parse_date(js_date) == datetime(2024, 12, 7, 0, 36, 42, tzinfo=UTC)
    assert parse_date("2015-07-10 09:53:00 -0400") == datetime(2015, 7, 10, 13, 53, tzinfo=UTC)
    assert parse_date("not a date") is None and parse_date(None) is None


@pytest.mark.skipif(not FEEDPARSER_TESTS.is_dir(), reason=f"shared data set absent: {FEEDPARSER_TESTS}")
def test_feedparser_corpus_goes_through_without_exceptions() -> None:
    counts: Counter[str] = Counter()
    for path in sorted(FEEDPARSER_TESTS.rglob("*")):
        if not path.is_file() or path.name == "LICENSE":
            continue
        url = f"http://example.com/{path.relative_to(FEEDPARSER_TESTS).as_posix()}"
        feed = parse_document(path.read_bytes(), url)
        articles = [to_article(e, "corpus", url, FETCHED) for e in feed.entries]
        assert articles or feed.problem, f"{path}: nothing read and no problem reported"
        counts["ok" if articles else "empty-with-problem"] += 1
        counts["articles"] += len(articles)
    print(f"\nfeedparser corpus: {counts['ok']} ok, {counts['empty-with-problem']} empty-with-problem, "
          f"{counts['articles']} articles")
    assert counts["ok"] > 1000


def test_gzip_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import feeder.parse as parse

    monkeypatch.setattr(parse, "MAX_INFLATED_BYTES", 1000)
    feed = parse_document(gzip.compress(b"<urlset>" + b" " * 5000 + b"</urlset>"), "https://e.com/s.xml.gz")
    assert not feed.entries and "size limit" in feed.problem
