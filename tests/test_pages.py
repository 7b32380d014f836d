"""Listing pages (article link finding) and article pages (extraction) — bytes in, objects out."""

from __future__ import annotations

import codecs
import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feeder.parse.dates import parse_date
from feeder.parse.pages import extract_article, find_article_links, html_encoding, is_article_url

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
READABILITY_PAGES = SHARED / "data" / "articles" / "readability-test-pages"

LISTING = b"""<!doctype html><html><head><base href="/news/"></head><body>
<header><a href="/2024/05/01/header-promo-story-link">promo</a></header>
<nav><a href="/world">World</a><a href="/category/politics">Politics</a></nav>
<main>
  <div class="teaser"><a href="/2024/05/01/storm-hits-coast?utm_source=home#top">Storm hits coast</a></div>
  <div class="teaser"><a href="https://www.example.com/world/europe/ministers-agree-new-migration-pact">Pact</a></div>
  <div class="teaser"><a href="article-123456.html">Relative to base</a></div>
  <div class="teaser"><a href="/2024/05/01/storm-hits-coast">Same story again</a></div>
  <a href="/tag/weather">Weather</a>
  <a href="/author/jane-smith-reporter">Jane</a>
  <a href="/about">About</a>
  <a href="/login?next=/x">Log in</a>
  <a href="https://other.org/2024/05/01/a-story-elsewhere-entirely">Elsewhere</a>
  <a href="/media/2024/05/photo-of-storm.jpg">Photo</a>
  <a href="javascript:void(0)">js</a>
  <a href="mailto:news@example.com">mail</a>
</main>
<aside><a href="/2024/04/30/most-read-sidebar-story">Most read</a></aside>
<footer><a href="/privacy-policy">Privacy</a></footer>
</body></html>"""


def test_automatic_link_finding() -> None:
    links = find_article_links(LISTING, "https://Example.com:443/")
    assert links == [
        "https://example.com/2024/05/01/storm-hits-coast",
        "https://www.example.com/world/europe/ministers-agree-new-migration-pact",
        "https://example.com/news/article-123456.html",
    ]


def test_selector_link_finding_and_limit() -> None:
    links = find_article_links(LISTING, "https://example.com/", selector="div.teaser")
    assert links[0] == "https://example.com/2024/05/01/storm-hits-coast" and len(links) == 3
    assert find_article_links(LISTING, "https://example.com/", selector="aside a") == [
        "https://example.com/2024/04/30/most-read-sidebar-story"
    ]
    assert len(find_article_links(LISTING, "https://example.com/", selector="a", limit=2)) == 2


def test_invalid_selector_is_an_error() -> None:
    with pytest.raises(ValueError, match="invalid CSS selector"):
        find_article_links(LISTING, "https://example.com/", selector="div[")


def test_is_article_url() -> None:
    site = "https://example.com/"
    assert is_article_url("https://example.com/politics/2023/11/02/budget-vote", site)
    assert is_article_url("https://news.example.com/story/98765432", site)
    assert is_article_url("https://news.bbc.co.uk/2024/01/02/x", "https://www.bbc.co.uk/")
    assert not is_article_url("https://www.itv.co.uk/2024/01/02/x", "https://www.bbc.co.uk/")
    assert not is_article_url("https://example.com/sport", site)
    assert not is_article_url("https://example.com/topics/climate-change-and-energy", site)
    assert not is_article_url("https://example.com/page/2", site)
    assert not is_article_url("https://example.com/news/science_and_environment", site)
    assert not is_article_url("https://example.com/real-estate/the-high-end", site, "The High End")
    headline = "Parliament delays budget vote"
    assert is_article_url("https://example.com/news/budget-vote-delayed", site, headline)


def test_link_finding_survives_garbage() -> None:
    assert find_article_links(b"", "https://e.com/") == []
    assert find_article_links(b"\x00\xff<<<", "https://e.com/") == []


ARTICLE = """<!doctype html><html lang="de-DE"><head><meta charset="windows-1252">
<title>Sturm an der K\xfcste | Beispiel Zeitung</title>
<meta property="og:title" content="Sturm an der K\xfcste">
<meta name="author" content="Erika Mustermann">
<meta property="article:published_time" content="2024-05-01T08:00:00+02:00">
<meta name="description" content="Ein Sturm trifft die K\xfcste.">
<link rel="canonical" href="https://zeitung.example/2024/05/01/sturm-kueste?utm_medium=x">
</head><body><nav>Men\xfc</nav><article><h1>Sturm an der K\xfcste</h1>
<p>Ein schwerer Sturm hat am Mittwoch die K\xfcste getroffen und B\xe4ume entwurzelt. Die Feuerwehr war
die ganze Nacht im Einsatz, um Stra\xdfen frei zu r\xe4umen und Keller auszupumpen.</p>
<p>Der Wetterdienst warnt vor weiteren B\xf6en am Donnerstag. Schulen bleiben in mehreren Gemeinden
geschlossen, wie die Beh\xf6rden am Abend mitteilten.</p><script>alert(1)</script>
</article><footer>Impressum</footer></body></html>""".encode("cp1252")


def test_extract_article_with_metadata_and_legacy_encoding() -> None:
    assert codecs.lookup(html_encoding(ARTICLE)).name == "cp1252"
    entry = extract_article(ARTICLE, "https://zeitung.example/a?id=1")
    assert entry is not None
    assert entry.title == "Sturm an der Küste"
    assert entry.author == "Erika Mustermann"
    assert entry.published == datetime(2024, 5, 1, 6, tzinfo=UTC)
    assert entry.link == "https://zeitung.example/2024/05/01/sturm-kueste"
    assert entry.language == "de-DE" and entry.summary == "Ein Sturm trifft die Küste."
    assert entry.content.startswith("<p>Ein schwerer Sturm") and "alert" not in entry.content
    assert entry.content.count("<p>") == 2


def test_extract_article_of_nothing() -> None:
    assert extract_article(b"", "https://e.com/") is None
    assert extract_article(b"<html><body></body></html>", "https://e.com/") is None


_SEPARATORS = re.compile(r"\s+(?:[|\-\u2013\u2014\u00b7:/\u00bb]|::)\s+|\s*[_\[\]]\s*")


def _norm(text: str) -> str:
    return " ".join(text.casefold().replace("\u2019", "'").split())


def title_matches(expected: str, extracted: str) -> bool:
    """Equal or containing the expected title after normalising case and whitespace; or equal to the
    expected title less a leading or trailing run of separator-delimited parts (a site-name suffix like
    " - Breitbart" or "_科技_腾讯网"). Containment the other way round (extracted in expected) is no match."""
    want, got = _norm(expected), _norm(extracted)
    if not got:
        return False
    if want == got or want in got:
        return True
    parts = [p for p in _SEPARATORS.split(expected) if p.strip()]
    shorter = {_norm(" ".join(parts[:i])) for i in range(1, len(parts))}
    shorter |= {_norm(" ".join(parts[i:])) for i in range(1, len(parts))}
    return _norm(" ".join(p for p in _SEPARATORS.split(extracted) if p.strip())) in shorter


def test_title_match_rule() -> None:
    assert title_matches("Mozilla - Wikipedia", "Mozilla")
    assert title_matches("A  Title", "a title | Site")
    assert not title_matches("A long and specific headline", "A long")
    assert not title_matches("Base URL test", "Lorem")


@pytest.mark.skipif(not READABILITY_PAGES.is_dir(), reason=f"shared data set absent: {READABILITY_PAGES}")
def test_readability_pages_titles_and_dates() -> None:
    started = time.monotonic()
    titles = dates = titled = dated = 0
    misses: list[str] = []
    for page in sorted(p for p in READABILITY_PAGES.iterdir() if (p / "source.html").is_file()):
        expected = json.loads((page / "expected-metadata.json").read_text(encoding="utf-8"))
        entry = extract_article((page / "source.html").read_bytes(), "http://fakehost/test/page.html")
        if expected.get("title"):
            titled += 1
            if entry is not None and title_matches(expected["title"], entry.title):
                titles += 1
            else:
                misses.append(f"title {page.name}: {expected['title']!r} != {entry and entry.title!r}")
        if want := parse_date(expected.get("publishedTime")):
            dated += 1
            got = entry.published if entry is not None else None
            if got is not None and (got == want or got.date() == want.date()):
                dates += 1
            else:
                misses.append(f"date {page.name}: {want} != {got}")
    print(f"\nreadability pages: titles {titles}/{titled} ({titles / titled:.1%}), "
          f"dates {dates}/{dated} ({dates / dated:.1%}), {time.monotonic() - started:.1f}s")
    print("\n".join(misses))
    assert titles / titled >= 0.95
    assert dates / dated >= 0.90
