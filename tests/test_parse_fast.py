"""The lxml fast path against feedparser: for every document both read, the same normalised articles.

Corpus: feedparser's own test documents (../shared/data/feeds/feedparser-tests) and a sample of the
bench farm's feeds. Counts are printed (run with -s to see them).
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feeder.model import Article, ParsedFeed
from feeder.normalise import to_article
from feeder.parse import parse_document
from feeder.parse.fast import parse_fast
from feeder.parse.feeds import parse_feed

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "data" / "feeds" / "feedparser-tests" / "tests"
URL = "http://example.org/feeds/test.xml"
FETCHED = datetime(2030, 1, 1, tzinfo=UTC)
FARM_SAMPLE = 120


@dataclass
class Tally:
    accepted: int = 0
    fell_back: int = 0
    identical: int = 0
    different: list[str] = field(default_factory=list)

    def report(self, corpus: str) -> str:
        return (f"{corpus}: accepted by fast path {self.accepted}, fell back {self.fell_back}, "
                f"identical {self.identical}, different {len(self.different)}")


def _articles(parsed: ParsedFeed, url: str) -> list[Article]:
    return [to_article(entry, "source", url, FETCHED, parsed.language) for entry in parsed.entries]


def _compare(tally: Tally, name: str, body: bytes, url: str, content_type: str) -> None:
    fast = parse_fast(body, url, content_type)
    if fast is None:
        tally.fell_back += 1
        return
    tally.accepted += 1
    slow = parse_feed(body, url, content_type)
    same_feed = (fast.title, fast.link, fast.language) == (slow.title, slow.link, slow.language)
    if same_feed and _articles(fast, url) == _articles(slow, url):
        tally.identical += 1
    else:
        tally.different.append(name)


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"feedparser's test corpus is not at {CORPUS}")
def test_fast_path_matches_feedparser_on_its_own_test_corpus() -> None:
    tally = Tally()
    for path in sorted(CORPUS.rglob("*.xml")):
        _compare(tally, str(path.relative_to(CORPUS)), path.read_bytes(), URL, "")
    print(tally.report("feedparser-tests"))
    assert not tally.different, tally.different[:20]
    assert tally.accepted > 400  # the fast path must actually be exercised


def test_fast_path_matches_feedparser_on_the_farm() -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from farm import build_feed

    tally = Tally()
    for number in random.Random(9).sample(range(2000), FARM_SAMPLE):
        document = build_feed(number)
        url = f"http://127.0.0.1:8000/feed/{number}"
        _compare(tally, f"farm {number}", document.body, url, document.content_type)
    print(tally.report("farm"))
    assert not tally.different, tally.different
    assert tally.accepted == FARM_SAMPLE  # every farm feed is plain RSS 2.0 / Atom 1.0


@pytest.mark.parametrize("body", [
    b'<!DOCTYPE rss [<!ENTITY x "y">]><rss version="2.0"><channel><item><title>&x;</title></item></channel></rss>',
    b'<rss version="2.0"><channel><item><title>a &nbsp; b</title></item></channel></rss>',
    b'<rss version="2.0"><channel><item><title>unclosed</item></channel></rss>',
    b'<?xml version="1.0" encoding="iso-8859-1"?><rss><channel><item><title>\xe9</title></item></channel></rss>',
    b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>',
    b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
    b"<b>x</b></div></content></entry></feed>",
])
def test_what_the_fast_path_does_not_model_goes_to_feedparser(body: bytes) -> None:
    assert parse_fast(body, URL, "application/xml") is None
    assert parse_document(body, URL, "application/xml") == parse_feed(body, URL, "application/xml")


def test_a_non_utf8_charset_or_untyped_non_ascii_body_goes_to_feedparser() -> None:
    body = '<rss version="2.0"><channel><item><title>café</title></item></channel></rss>'.encode()
    assert parse_fast(body, URL, "application/rss+xml; charset=utf-8") is not None
    assert parse_fast(body, URL, "application/rss+xml; charset=windows-1252") is None
    assert parse_fast(body, URL, "text/xml") is None  # RFC 3023: us-ascii, feedparser then guesses
    assert parse_fast(body, URL, "") is None  # no content type at all: iso-8859-1 for feedparser


