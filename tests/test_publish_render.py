"""The text renderer (feeder/publish/render.py) against feedgen 0.9 + lxml, its reference
(tests/feedgen_reference.py): byte-identical entries, items and whole documents, for many varied stories."""

from __future__ import annotations

import io
import json
import random
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from json.encoder import encode_basestring
from pathlib import Path
from urllib.parse import urlsplit

import feedgen.version
import feedparser
import pytest
from feedgen.entry import FeedEntry
from lxml import etree, html

from feeder.config import TopicConfig
from feeder.model import Article, Story
from feeder.publish import Publisher, SourceInfo, TopicFeed, render
from feeder.publish.render import EntryView, FeedHead
from tests import feedgen_reference as reference
from tests.conftest import shared_path
from tests.test_publish import SOURCES, T0, A, make_config, rich_feed

# Text that exercises escaping and the XML rules: markup characters, quotes, whitespace of every kind,
# characters XML forbids (the publisher must strip them), non-BMP, no-break and zero-width spaces.
TEXTS = ["", "plain", "Ünïcødé — “quotes” 'single' \"double\"", "a & b < c > d", "tab\there", "new\nline",
         "cr\rhere", "\x00\x01ctl\x1f\x08", "  spaced   out  ", "]]> <![CDATA[x]]>", "emoji 😀 \U0001F600",
         "\u2028line sep", "&amp; already &lt;", "zero\u200bwidth\ufeff", "nbsp\xa0x", "rtl \u202e", "\ufffd",
         "\x7f\x85 C1", "<b>bold</b>", "x" * 300]
URLS = ["", "https://x.example/a?b=1&c=2", "https://x.example/ü/ñ?q=é", 'http://x.example/"quoted"',
        "https://x.example/a b", "https://x.example/<tag>", "https://x.example/a\tb\nc\rd", "https://x.example/\x01ctl",
        "mailto:a@b.example", "https://x.example/#frag", "https://[::1]/x", "/relative/path", "https://x.example/?",
        "https://x.example/a%20b;p?q#f"]
HTMLS = ["", "<p>Body</p>", "<p>Summary &amp; more</p>",
         '<p onclick="x()">Up <a href="/m">5%</a></p><script>a()</script>',
         '<p>See <img src="chart.png"> and <a href="javascript:alert(1)">this</a></p>', "<p>a\r\nb</p>",
         "<p>x]]&gt;y</p>", "<table><tr><td>cell</td></tr></table>", "plain text, no markup", "<p>\x00ctl\x1f</p>",
         '<a href="https://x.example/?a=1&b=2" title="T &quot;q&quot;">l</a>', "<p>ünï 😀\xa0</p>",
         "<!-- c --><p>x</p>",
         '<p>x</p>\n<ul>\n<li>one</li>\n</ul>', "<div><p>a<p>b</div>"]
ZONES = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8)), None]


def random_moment(rng: random.Random) -> datetime:
    moment = T0 + timedelta(seconds=rng.randrange(-10**8, 10**8), microseconds=rng.randrange(10**6))
    zone = rng.choice(ZONES)
    return moment.replace(tzinfo=None) if zone is None else moment.astimezone(zone)


def random_sources(rng: random.Random) -> dict[str, SourceInfo]:
    names = ["World Wire", "Le Monde & Co", 'The "Daily"', "Ünï <Post>", "", "\x01Ctl", "  Spaced  "]
    return {f"s{i}": SourceInfo(rng.choice(names), rng.choice(URLS), rng.choice(URLS)) for i in range(6)}


def random_article(rng: random.Random, source: str, n: int) -> Article:
    return Article(
        source=source, guid=f"{source}-{n}", url=rng.choice(URLS), title=rng.choice(TEXTS),
        published=random_moment(rng), updated=random_moment(rng), author=rng.choice(TEXTS),
        summary=rng.choice(HTMLS), content=rng.choice(HTMLS),
        categories=tuple(rng.choice(TEXTS) for _ in range(rng.randrange(4))),
    )


def random_story(rng: random.Random, n: int, sources: list[str]) -> Story:
    articles = tuple(random_article(rng, rng.choice(sources), n * 10 + k) for k in range(1 + rng.randrange(4)))
    uid = rng.choice([f"{n:032x}", f"{rng.getrandbits(128):032X}", f"not-hex-{n}", f"{n:x}"])
    return Story(n, uid, random_moment(rng), random_moment(rng), articles)


def random_view(rng: random.Random) -> EntryView:
    """An entry straight from text XML can carry (what the publisher's view guarantees), so the renderer's
    escaping meets every character class, not just what the view leaves."""
    alphabet = "aZ9 &<>\"'\t\n\r\\]=/;:?#%ü€😀\u2028\xa0\ufffd\x7f\x85"

    def text(low: int = 0) -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(low, 12)))

    def moment() -> datetime:
        return T0 + timedelta(seconds=rng.randrange(-10**8, 10**8))

    published = moment()

    def another() -> datetime:  # often the same date, sometimes the same instant written in another zone
        return rng.choice([published, published.astimezone(timezone(timedelta(hours=2))), moment()])

    return EntryView(
        id=text(1), title=text(1), url=text(), author=text(), published=published, updated=another(),
        related=tuple((text(1), text()) for _ in range(rng.randrange(3))),
        categories=tuple(text() for _ in range(rng.randrange(3))), summary=text(), content=text(1),
        outlet_name=text(), outlet_page=text(1), outlet_feed=text(), source_updated=another(),
    )


def test_feedgen_keeps_rel_type_and_title_on_entry_links() -> None:
    """feedgen 1.0.0 drops them (upstream #135): the reference would lose related links' rel and type."""
    assert feedgen.version.version_str.startswith("0.9"), "feedgen >= 1.0 loses entry link rel/type/title"
    entry = FeedEntry()
    entry.id("urn:uuid:00000000-0000-0000-0000-000000000001")
    entry.title("t")
    entry.updated(T0)
    entry.link(href="https://a.example/", rel="alternate", type="text/html")
    entry.link(href="https://b.example/", rel="related", type="text/html", title="B")
    links = [dict(link.attrib) for link in entry.atom_entry().findall("link")]
    assert links == [{"href": "https://a.example/", "rel": "alternate", "type": "text/html"},
                     {"href": "https://b.example/", "rel": "related", "type": "text/html", "title": "B"}]


@pytest.mark.parametrize("seed", range(4))
def test_entries_are_byte_identical_to_feedgens_for_varied_stories(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    sources = random_sources(rng)
    pub = Publisher(make_config(tmp_path), sources)
    for n in range(150):
        view = pub.view(random_story(rng, n, list(sources)))
        assert render.entry_formats(view)[0] == reference.atom_entry(view), view
        assert render.entry_formats(view)[1] == reference.rss_item(view), view
        assert render.entry_formats(view)[2] == reference.json_item(view).encode(), view


def test_escaping_is_byte_identical_to_lxml_and_json_for_any_text() -> None:
    rng = random.Random(7)
    for _ in range(1500):
        view = random_view(rng)
        assert render.entry_formats(view)[0] == reference.atom_entry(view), view
        assert render.entry_formats(view)[1] == reference.rss_item(view), view
        assert render.entry_formats(view)[2] == reference.json_item(view).encode(), view


def test_markup_is_escaped_for_json_as_its_own_encoder_does() -> None:
    """json_markup against encode_basestring for every character XML can carry (the planes beyond the first
    sampled), alone, repeated and among others."""
    carried = ["\t", "\n", "\r", *map(chr, range(0x20, 0xD800)), *map(chr, range(0xE000, 0xFFFE)),
               *map(chr, range(0x10000, 0x110000, 97))]
    for char in carried:
        for text in (char, f"a{char}b{char}{char}", f'<a href="x">{char}\\</a>\n'):
            assert render.json_markup(text) == encode_basestring(text), repr(text)


def test_rss_dates_are_what_email_utils_writes() -> None:
    """rss_date reuses the digits of the Atom date when it has them; either way the text is
    format_datetime's, in UTC and in any other zone, naive, with microseconds, in any year."""
    rng = random.Random(3)
    moments = [random_moment(rng) for _ in range(300)]
    moments += [datetime(5, 1, 2, 3, 4, 5, 6, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
                datetime(2026, 1, 1, tzinfo=timezone(timedelta(seconds=30)))]
    for moment in moments:
        assert render.rss_date(moment) == render.rss_date(moment, render.atom_date(moment)) == (
            format_datetime(moment)), moment


@pytest.mark.parametrize("hub", ["", "http://127.0.0.1:9/hub?a=1&b=2"])
def test_documents_are_byte_identical_to_feedgens(tmp_path: Path, hub: str) -> None:
    rng = random.Random(hub)
    sources = random_sources(rng)
    stories = tuple(random_story(rng, n, list(sources)) for n in range(20))
    topics = [TopicConfig("world", "World & <Politics>"), TopicConfig("t\u00fc", "Ünï \"quoted\" 😀")]
    for base_url in ("http://127.0.0.1:8080", "https://news.example/a&b"):
        pub = Publisher(make_config(tmp_path, hub, base_url), sources)
        for feed in [TopicFeed(t, s) for t in topics for s in (stories, stories[:1], ())]:
            views = [pub.view(s) for s in feed.stories]
            assert pub.atom(feed) == reference.atom_document(pub.head(feed, "atom"), views)
            assert pub.rss(feed) == reference.rss_document(pub.head(feed, "rss"), views)


def test_the_rich_feed_is_byte_identical_to_feedgens(tmp_path: Path) -> None:
    for hub in ("", "http://127.0.0.1:9/hub"):
        pub = Publisher(make_config(tmp_path, hub), SOURCES)
        feed = rich_feed()
        views = [pub.view(s) for s in feed.stories]
        assert pub.atom(feed) == reference.atom_document(pub.head(feed, "atom"), views)
        assert pub.rss(feed) == reference.rss_document(pub.head(feed, "rss"), views)


def test_a_head_without_hub_or_entries_still_matches(tmp_path: Path) -> None:
    head = FeedHead("urn:x", "T", "S", "A", "http://a.example/", "", "http://a.example/t.atom", "http://a.example/#t",
                    "http://a.example/i.svg", "https://g.example/", "1.0", T0)
    assert render.atom_head(head) + render.ATOM_TAIL == reference.atom_document(head, [])
    assert render.rss_head(head) + render.RSS_TAIL == reference.rss_document(head, [])






@pytest.mark.parametrize("seed", range(3))
def test_feeds_of_varied_stories_stay_valid_and_readable(tmp_path: Path, seed: int) -> None:
    """Whatever the store holds (hostile markup, control characters, odd URLs, missing fields), every
    document is valid (RELAX NG), read back whole by feedparser, and carries no relative URL or script."""
    schema = etree.RelaxNG(etree.parse(str(shared_path("data", "schema", "atom.rng"))))
    rng = random.Random(seed)
    sources = random_sources(rng)
    stories = tuple(random_story(rng, n, list(sources)) for n in range(40))
    feed = TopicFeed(TopicConfig("mixed", "Mixed & <odd>"), stories)
    pub = Publisher(make_config(tmp_path, "http://127.0.0.1:9/hub"), sources)
    atom, rss, json_feed = pub.documents(feed)
    assert schema.validate(etree.fromstring(atom)), schema.error_log
    for document, version in ((atom, "atom10"), (rss, "rss20")):
        parsed = feedparser.parse(io.BytesIO(document), response_headers={"content-type": "application/xml"})
        assert not parsed.bozo and parsed.version == version, parsed.get("bozo_exception")
        assert len(parsed.entries) == 40
    html_texts = [element.text or "" for element in etree.fromstring(atom).iter(f"{A}content", f"{A}summary")]
    channel = etree.fromstring(rss).find("channel")
    assert channel is not None
    html_texts += [item.findtext(name) or "" for item in channel.iter("item")
                   for name in ("description", "{http://purl.org/rss/1.0/modules/content/}encoded")]
    items = json.loads(json_feed)["items"]
    html_texts += [item.get(key, "") for item in items for key in ("content_html", "summary")]
    for text in html_texts:
        fragment = html.fragment_fromstring(text, create_parent="div")
        assert not fragment.xpath("//script|//style|//@*[starts-with(name(), 'on')]"), text
        for url in (*fragment.xpath("//@href"), *fragment.xpath("//@src")):
            assert urlsplit(str(url)).scheme in ("http", "https", "mailto"), (url, text)
