"""RawEntry -> Article: URLs, dates, sanitising, plain-text titles, languages, categories."""

from __future__ import annotations

import pickle
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from datetime import UTC, datetime, timedelta, timezone

import pytest

from feeder import normalise
from feeder.model import RawEntry
from feeder.normalise import (
    canonical_url,
    clean_language,
    plain_text,
    sanitise_html,
    strip_xml_forbidden,
    to_article,
    web_url,
)
from feeder.urls import is_plain_absolute_url

FETCHED = datetime(2026, 1, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(("url", "expected"), [
    ("HTTPS://Example.COM:443/a/b?utm_source=x&id=7&fbclid=1#frag", "https://example.com/a/b?id=7"),
    ("http://example.com:80", "http://example.com/"),
    ("http://example.com:8080/x?q=a%20b&gclid=z&mc_cid=1&UTM_Medium=m", "http://example.com:8080/x?q=a%20b"),
    ("https://e.com/x?flag&ref=home", "https://e.com/x?flag&ref=home"),
])
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_relative_urls_and_non_web_schemes() -> None:
    assert canonical_url("../b?x=1", "https://e.com/feeds/a/") == "https://e.com/feeds/b?x=1"
    assert web_url("javascript:alert(1)", "https://e.com/") == ""
    assert web_url("data:text/html,hi") == "" and web_url("") == ""
    assert web_url("//cdn.e.com/p", "https://e.com/") == "https://cdn.e.com/p"


def test_absolute_links_come_out_as_they_did_when_every_link_was_joined_to_its_base(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """web_url skips urljoin for plain absolute links: the canonical URL must be what joining gave, or
    stored articles would look edited after an upgrade."""
    rng = random.Random(3986)
    pieces = ["http://", "https://", "HTTP://", "https:///", "http://a.example", "https://B.Example:443", ":8080",
              "/", "/x", "/./y/../z", "?", "?a=1", "&utm_source=s", "#", "#f", ";p", ";", "%20", " ", "\t", "\n",
              "//", "@", "user@", "[::1]", "..", "ü", "x", "=", "&"]
    bases = ["https://e.com/feeds/a/", "http://e.com/", "https://other.example/x?y#z", "ftp://f.example/"]
    cases = [("".join(rng.choices(pieces, k=rng.randrange(1, 8))), rng.choice(bases)) for _ in range(20_000)]
    cases += [("https://a.example/x?y=1&utm_source=s#f", base) for base in bases]

    def canonical(url: str, base: str) -> tuple[str, str] | None:
        try:
            return normalise._canonical(url, base)
        except ValueError:  # what urlsplit refuses (a bad IPv6 host), refused either way
            return None

    quick = [canonical(url, base) for url, base in cases]
    assert sum(is_plain_absolute_url(url.strip()) for url, _ in cases) > 500  # not vacuous
    monkeypatch.setattr(normalise, "is_plain_absolute_url", lambda url: False)  # every link joined, as before
    assert [canonical(url, base) for url, base in cases] == quick


HOSTILE = """<p onclick="x()">Hi<script>alert(1)</script><style>p{}</style>
<a href="javascript:alert(1)">a</a><a href=" JaVaScRiPt:alert(2)">b</a><img src="x.png" onerror="y()">
<iframe src="https://evil"></iframe><a href="/ok">ok</a>\x00\x0b<img src="data:image/png;base64,AA"></p>"""


def test_sanitise_html_removes_everything_active() -> None:
    clean = sanitise_html(HOSTILE, "https://e.com/post/")
    for bad in ("script", "style", "onclick", "onerror", "javascript", "iframe", "alert", "\x00", "\x0b"):
        assert bad not in clean.lower(), bad
    assert 'href="https://e.com/ok"' in clean and 'src="https://e.com/post/x.png"' in clean
    assert "data:" not in clean


def test_sanitise_html_makes_every_link_absolute() -> None:
    markup = ('<a href=" ../rel?a=1&amp;b=2 ">r</a><img src="i.png"><a href="https://o.org/abs">a</a>'
              '<blockquote cite="/src">q</blockquote><a href="#top">t</a>')
    assert sanitise_html(markup, "https://e.com/news/post") == (
        '<a href="https://e.com/rel?a=1&amp;b=2" rel="noopener noreferrer">r</a><img src="https://e.com/news/i.png">'
        '<a href="https://o.org/abs" rel="noopener noreferrer">a</a><blockquote>q</blockquote>'
        '<a href="https://e.com/news/post#top" rel="noopener noreferrer">t</a>')
    # A base urljoin rejects: relative links go, absolute ones stay.
    assert sanitise_html(markup, "http://[bad").count("href=") == 1
    assert sanitise_html('<a href="rel">r</a>') == '<a href="rel" rel="noopener noreferrer">r</a>'  # no base


def test_sanitise_html_resolves_against_its_own_base_on_every_thread() -> None:
    """The cleaners are shared; each call's base is its thread's own."""
    def resolve_many(number: int) -> set[str]:
        base = f"https://e{number}.com/a/"
        return {sanitise_html(f'<p><a href="x{i}">x</a>{"y" * i}</p>', base) for i in range(300)}

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(resolve_many, range(8)))
    for number, cleaned in enumerate(results):
        assert all(f'href="https://e{number}.com/a/x' in markup for markup in cleaned)


def test_plain_text() -> None:
    assert plain_text("<b>Tom</b> &amp; <i>Jerry</i>\n  return") == "Tom & Jerry return"
    assert plain_text("x < y and y > z") == "x < y and y > z"
    assert plain_text("AT&amp;amp;T <script>evil()</script>wins") == "AT&T wins"
    assert plain_text("&lt;b&gt;bold&lt;/b&gt;") == "<b>bold</b>"  # escaped markup is text: decoded once
    assert strip_xml_forbidden("a\x01b\ud800c\ufffe") == "abc"


@pytest.mark.parametrize("forbidden", ["\x00", "\x08", "\x0b", "\x1f", "\ufffe", "\uffff", "\ud800", "\udfff"])
def test_strip_xml_forbidden_every_kind_of_text(forbidden: str) -> None:
    for text in ("plain ascii", "accents é and € and 😀", "\t\n\r kept"):
        assert strip_xml_forbidden(text) == text
        assert strip_xml_forbidden(f"{forbidden}{text}{forbidden}") == text


def _entry(**fields: object) -> RawEntry:
    return RawEntry(**{"title": "T", "link": "https://e.com/a", **fields})  # type: ignore[arg-type]


def test_dates_are_utc_missing_is_first_seen_future_is_clamped() -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    article = to_article(_entry(published=datetime(2022, 1, 27, 20, 39, tzinfo=ist)), "s", "", FETCHED)
    assert article.published == datetime(2022, 1, 27, 15, 9, tzinfo=UTC) and article.published.tzinfo == UTC
    assert to_article(_entry(), "s", "", FETCHED).published == FETCHED
    future = to_article(_entry(published=datetime(2030, 1, 1, tzinfo=UTC)), "s", "", FETCHED)
    assert future.published == FETCHED and future.updated == FETCHED
    near = FETCHED + timedelta(minutes=30)  # clock skew within tolerance is kept
    assert to_article(_entry(published=near), "s", "", FETCHED).published == near
    naive = to_article(_entry(updated=datetime(2024, 1, 1)), "s", "", FETCHED)
    assert naive.published == naive.updated == datetime(2024, 1, 1, tzinfo=UTC)


def test_article_fields() -> None:
    article = to_article(_entry(
        title="  <em>Big</em>\n news &amp; more ", link="javascript:alert(1)", author="<b>Ann</b>",
        categories=("World", "world", " <i>Tech</i> ", ""), language="EN_us", guid=" g1 ",
        summary="<p>Same</p>", content="<p>Same</p>",
    ), "s", "https://e.com/feed", FETCHED)
    assert article.title == "Big news & more" and article.url == "" and article.author == "Ann"
    assert article.categories == ("World", "Tech") and article.language == "en-US"
    assert article.guid == "g1" and article.summary == "" and article.content == "<p>Same</p>"
    assert len(article.content_hash) == 32


def test_an_article_crosses_from_a_parse_worker_whole() -> None:
    """Articles are pickled by value (Article.__reduce__): every field back in its place."""
    article = to_article(_entry(
        title="Title", link="https://e.com/a", author="Ann", categories=("World", "Tech"), language="de",
        guid="g1", summary="<p>Short</p>", content="<p>Long</p>",
        published=datetime(2026, 1, 1, 9, tzinfo=UTC), updated=datetime(2026, 1, 1, 10, tzinfo=UTC),
    ), "s", "https://e.com/feed", FETCHED)
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(article, protocol))
        assert back == article and type(back) is type(article)
        assert [getattr(back, f.name) for f in fields(back)] == [getattr(article, f.name) for f in fields(article)]


def test_language_tags() -> None:
    assert clean_language("zh-hant-tw") == "zh-Hant-TW"
    assert clean_language("de") == "de" and clean_language("") == "" and clean_language("english!") == ""
