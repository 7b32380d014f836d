"""Real clients against the feeds served on 127.0.0.1: the newsboat feed reader, and headless Chromium for the
index page. Each skips with a reason when the program is not installed (Debian: newsboat, chromium)."""

from __future__ import annotations

import shutil
import sqlite3
import struct
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from feeder.config import TopicConfig
from feeder.publish import Publisher, TopicFeed
from feeder.server import create_app
from tests.test_publish import article, make_config, publisher, rich_feed, story
from tests.test_server import serving


def _program(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (Debian package {name!r}; .ci/run installs it)")
    return path


def _feeds() -> list[TopicFeed]:
    tech = TopicFeed(TopicConfig("tech", "Tech"), (story(40, article("post", 40, 1, title="Chips get smaller")),
                                                    story(41, article("daily", 41, 2, title="Phones fold"))))
    return [rich_feed(), tech]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Publisher]]:
    """The topics published under a real uvicorn; base_url is the served address."""
    app = create_app(tmp_path / "state" / "public", timedelta(minutes=5))
    with serving(app) as base:
        pub = Publisher(make_config(tmp_path, base_url=base), publisher(tmp_path).sources)
        pub.write_all(_feeds())
        yield base, pub


def _newsboat(newsboat: str, folder: Path) -> None:
    # HOME points into the test folder: newsboat must not touch (or read) the user's own configuration.
    result = subprocess.run([newsboat, "-x", "reload", "-u", "urls", "-c", "cache.db", "-C", "config"],
                            cwd=folder, env={"HOME": str(folder), "PATH": "/usr/bin:/bin"},
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_newsboat_reloads_the_topic_feeds(tmp_path: Path, site: tuple[str, Publisher]) -> None:
    newsboat = _program("newsboat")
    base, pub = site
    folder = tmp_path / "newsboat"
    folder.mkdir()
    # newsboat keys its cache by item guid: one format per topic, or the second would overwrite the first.
    (folder / "urls").write_text(f"{base}/topics/world.atom\n{base}/topics/tech.rss\n")
    (folder / "config").write_text("download-timeout 10\n")
    _newsboat(newsboat, folder)

    with sqlite3.connect(folder / "cache.db") as db:
        feeds = dict(db.execute("SELECT rssurl, title FROM rss_feed").fetchall())
        items = db.execute("SELECT feedurl, title, url FROM rss_item ORDER BY feedurl, pubDate DESC").fetchall()
    assert feeds == {f"{base}/topics/world.atom": "World & Politics", f"{base}/topics/tech.rss": "Tech"}
    assert [(f.rsplit("/", 1)[1], t) for f, t, _ in items] == [
        ("tech.rss", "Phones fold"), ("tech.rss", "Chips get smaller"),
        ("world.atom", "Story 1 from wire"), ("world.atom", "Markets & <tech> stocks rally"),
        ("world.atom", "Story 3 from post"), ("world.atom", "Story 4 from wire")]
    assert ("https://wire.example/story/1") in [u for _, _, u in items]

    # The reader has read everything. Then a new story arrives, and another outlet joins story 3: the new
    # story shows up unread, story 3 stays one read item (same id, same updated, one more related link).
    with sqlite3.connect(folder / "cache.db") as db:
        db.execute("UPDATE rss_item SET unread = 0")
    world = rich_feed()
    joined = replace(world.stories[2], articles=(*world.stories[2].articles, article("daily", 99, 70)))
    grown = TopicFeed(world.topic, (story(60, article("wire", 60, 600, title="Ceasefire talks")),
                                    *world.stories[:2], joined, world.stories[3]))
    assert b'title="The Daily"' in pub.atom(TopicFeed(world.topic, (joined,)))
    assert pub.write_all([grown, _feeds()[1]]) == ["world"]
    _newsboat(newsboat, folder)
    with sqlite3.connect(folder / "cache.db") as db:
        rows = dict(db.execute("SELECT title, unread FROM rss_item WHERE feedurl LIKE '%world.atom'").fetchall())
    assert rows == {"Ceasefire talks": 1, "Story 1 from wire": 0, "Markets & <tech> stocks rally": 0,
                    "Story 3 from post": 0, "Story 4 from wire": 0}


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]


def _chromium(chromium: str, profile: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *arguments],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_chromium_renders_the_index_with_every_topic(tmp_path: Path, site: tuple[str, Publisher]) -> None:
    chromium = _program("chromium")
    base, _ = site
    result = _chromium(chromium, tmp_path / "profile", "--dump-dom", f"{base}/")
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    assert "<h2>World &amp; Politics</h2>" in dom and "<h2>Tech</h2>" in dom
    assert "Story 1 from wire" in dom and "Phones fold" in dom
    assert f'href="{base}/topics/tech.atom"' in dom  # autodiscovery
    assert "<script" not in dom


def test_chromium_screenshot_at_phone_width(tmp_path: Path, site: tuple[str, Publisher]) -> None:
    chromium = _program("chromium")
    base, _ = site
    shot = tmp_path / "phone.png"
    result = _chromium(chromium, tmp_path / "profile", f"--screenshot={shot}", "--window-size=390,844",
                       "--hide-scrollbars", f"{base}/")
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == (390, 844)
