"""is_plain_absolute_url lets parse and normalise skip urljoin: every URL it accepts, joined to any base
(by urllib or by feedparser, as the parser's reference does), comes back exactly as it was."""

from __future__ import annotations

import random
from urllib.parse import urljoin

from feedparser.urls import _urljoin

from feeder.urls import is_plain_absolute_url

PIECES = ["http://", "https://", "HTTP://", "https:///", "a.example", "B.Example", ":443", ":", ":99999", "/", "//",
          "/x", "/./y/../z", "?", "?a=1", "&b=2", "#", "#f", ";p", ";", "%20", " ", "\t", "\n", "\x00", "@",
          "user@", "[::1]", "..", "ü", "x", "=", "&amp;", "'", '"', "<", "\\"]
BASES = ["", "https://e.com/feeds/a/", "http://e.com/", "https://other.example/x?y#z", "ftp://f.example/", "x"]


def test_what_it_accepts_every_join_gives_back_unchanged() -> None:
    rng = random.Random(3987)
    accepted = 0
    for _ in range(40_000):
        url = "".join(rng.choices(PIECES, k=rng.randrange(1, 9)))
        if rng.random() < 0.5:
            url = rng.choice(["http://", "https://"]) + url
        if is_plain_absolute_url(url):
            accepted += 1
            for base in BASES:
                assert urljoin(base, url) == url, (base, url)
                assert _urljoin(base, url) == url, (base, url)
    assert accepted > 1000, accepted


def test_typical_and_odd_links() -> None:
    assert is_plain_absolute_url("https://news.example/2026/12/07/story?id=7&utm_source=x#top")
    assert is_plain_absolute_url("http://127.0.0.1:8080/feed/1")
    for odd in ["https://a.example/x?", "https://a.example/x#", "https://a.example/x?#f", "https://a.example/x;p",
                "https://user@a.example/", "https://[::1]/", "https:///x", "HTTPS://a.example/", "/relative",
                "https://a.example/a b", "https://a.example/\tx", " https://a.example/", "mailto:a@b.example"]:
        assert not is_plain_absolute_url(odd), odd
