"""Topics end to end: real feeds on 127.0.0.1, the real CLI, the published files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from feeder.cli import main
from tests.conftest import REPO, FeedServer, Reply, atom, rss, write_config
from tests.test_end_to_end import _free_port, _wait_for

ATOM_NS = "{http://www.w3.org/2005/Atom}"

WIRE = [  # world-wire, tagged "world"
    {"title": "Kyïv braces for winter blackouts", "link": "http://wire.example/kyiv", "guid": "w1",
     "pubDate": "Fri, 20 Nov 2026 10:00:00 GMT", "description": "Energy grid under strain."},
    {"title": "Markets rally on tech earnings", "link": "http://wire.example/markets", "guid": "w2",
     "pubDate": "Fri, 20 Nov 2026 09:00:00 GMT", "description": "Stocks rose."},
    {"title": "Warning issued as storms approach", "link": "http://wire.example/storms", "guid": "w3",
     "pubDate": "Fri, 20 Nov 2026 08:00:00 GMT", "description": "Coastal areas on alert."},
]
DAILY = [  # daily-atom, tagged "uk"
    {"title": "Kyïv braces for winter blackouts", "link": "http://daily.example/kyiv", "id": "urn:d1",
     "updated": "2026-11-20T11:00:00Z", "summary": "Another outlet's take."},
    {"title": "War in Sudan enters third year", "link": "http://daily.example/sudan", "id": "urn:d2",
     "updated": "2026-11-20T07:00:00Z", "summary": "Aid agencies appeal."},
]
TECH = [  # tech-times, tagged "tech"
    {"title": "Chip makers rally as AI demand grows", "link": "http://tech.example/chips", "guid": "t1",
     "pubDate": "Fri, 20 Nov 2026 12:00:00 GMT", "description": "Shares of chip makers climbed."},
    {"title": "Markets rally on tech earnings", "link": "http://tech.example/markets", "guid": "t2",
     "pubDate": "Fri, 20 Nov 2026 09:30:00 GMT", "description": "A strong quarter."},
]

SOURCES = """
    [[source]]
    name = "world-wire"
    url = "{wire}"
    tags = ["world"]
    [[source]]
    name = "daily-atom"
    url = "{daily}"
    tags = ["uk"]
    [[source]]
    name = "tech-times"
    url = "{tech}"
    tags = ["tech"]
"""
TOPICS = """
    [[topic]]
    slug = "ukraine"
    title = "Ukraine"
    query = 'kyiv OR ukraine'
    [[topic]]
    slug = "markets"
    title = "Markets"
    query = 'rally'
    rank = "coverage"
    [[topic]]
    slug = "conflict"
    title = "Conflict"
    query = 'war OR title:"winter blackouts"'
    tags = ["uk"]
"""


def _serve(server: FeedServer) -> dict[str, str]:
    return {
        "wire": server.add("/wire.rss", Reply(200, rss(WIRE, "World Wire"), {"ETag": '"wire1"'})),
        "daily": server.add("/daily.atom", Reply(200, atom(DAILY, "Daily Atom"), {"ETag": '"daily1"'})),
        "tech": server.add("/tech.rss", Reply(200, rss(TECH, "Tech Times"), {"ETag": '"tech1"'})),
    }


def _config(tmp_path: Path, urls: dict[str, str], topics: str = TOPICS) -> Path:
    return write_config(tmp_path, SOURCES.format(**urls) + topics)


def _titles(tmp_path: Path, slug: str) -> list[str]:
    path = tmp_path / "state" / "public" / "topics" / f"{slug}.atom"
    return [e.findtext(f"{ATOM_NS}title") or "" for e in etree.parse(str(path)).getroot().findall(f"{ATOM_NS}entry")]


def test_three_topics_from_three_sources(tmp_path: Path, feed_server: FeedServer) -> None:
    config = _config(tmp_path, _serve(feed_server))
    assert main(["fetch", "--once", "--config", str(config)]) == 0

    # Accents folded; the story is one entry though two outlets ran it.
    assert _titles(tmp_path, "ukraine") == ["Kyïv braces for winter blackouts"]
    # Coverage: two outlets before one, although the chip story is newer.
    assert _titles(tmp_path, "markets") == ["Markets rally on tech earnings", "Chip makers rally as AI demand grows"]
    # tags = ["uk"]: only daily-atom's articles count; "war" is not "Warning"; the Kyiv story is in through
    # daily-atom's duplicate, newest first.
    assert _titles(tmp_path, "conflict") == ["Kyïv braces for winter blackouts", "War in Sudan enters third year"]


def test_a_new_topic_is_filled_from_the_store_without_refetching(tmp_path: Path, feed_server: FeedServer) -> None:
    urls = _serve(feed_server)
    assert main(["fetch", "--once", "--config", str(_config(tmp_path, urls))]) == 0
    assert (tmp_path / "state" / "public" / "topics" / "conflict.atom").exists()

    # The sources now have nothing new (304) or are down (503); the config gains a topic and loses one.
    feed_server.add("/wire.rss", Reply(304, b"", {"ETag": '"wire1"'}))
    feed_server.add("/tech.rss", Reply(304, b"", {"ETag": '"tech1"'}))
    feed_server.add("/daily.atom", Reply(503, b"down for maintenance"))
    fetched_before = len(feed_server.requests)
    topics = TOPICS.replace('slug = "conflict"', 'slug = "weather"').replace(
        """query = 'war OR title:"winter blackouts"'
    tags = ["uk"]""", "query = 'storms OR blackouts -source:daily-atom'")
    config = _config(tmp_path, urls, topics)
    assert main(["fetch", "--once", "--config", str(config)]) == 0

    second_run = feed_server.requests[fetched_before:]
    assert len(second_run) == 3
    assert all(headers.get("If-None-Match") for path, headers in second_run if path != "/daily.atom"), second_run
    # Filled from stored articles: the Kyiv story through world-wire's article (daily-atom's is excluded).
    assert _titles(tmp_path, "weather") == ["Kyïv braces for winter blackouts", "Warning issued as storms approach"]
    assert not (tmp_path / "state" / "public" / "topics" / "conflict.atom").exists()
    assert _titles(tmp_path, "ukraine") == ["Kyïv braces for winter blackouts"]


def test_check_names_the_topic_position_and_expectation(tmp_path: Path, feed_server: FeedServer,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    topics = TOPICS.replace("query = 'rally'", "query = 'rally OR (chips'")
    config = _config(tmp_path, _serve(feed_server), topics)
    assert main(["check", "--config", str(config)]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error
    assert error.endswith("topic[1].query (markets): at position 16: expected ')' to close the '(' at position 10")


def test_check_rejects_a_topic_naming_an_unknown_source(tmp_path: Path, feed_server: FeedServer,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    topics = TOPICS + '    sources = ["world-wyre"]\n'
    config = _config(tmp_path, _serve(feed_server), topics)
    assert main(["check", "--config", str(config)]) == 2
    assert "topic[2].sources (conflict): no source is named 'world-wyre'" in capsys.readouterr().err


def test_topics_test_and_list(tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, _serve(feed_server))
    assert main(["topics", "list", "--config", str(config)]) == 0
    assert "never" in capsys.readouterr().out
    assert main(["fetch", "--once", "--config", str(config)]) == 0
    capsys.readouterr()

    assert main(["topics", "test", "rally OR kyiv", "--config", str(config)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert [line.split("  ")[1] for line in lines] == [  # newest first
        "Chip makers rally as AI demand grows", "Kyïv braces for winter blackouts", "Markets rally on tech earnings"]
    assert lines[1].startswith("2026-11-20 10:00") and lines[1].endswith("[world-wire, daily-atom]")
    assert captured.err.strip() == "(OR rally kyiv): 3 of 5 stored stories match"
    assert main(["topics", "test", "rally OR kyiv", "--limit", "1", "--config", str(config)]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 1 and captured.err.strip().endswith("; the newest 1 shown")

    assert main(["topics", "test", '"unclosed', "--config", str(config)]) == 2
    assert "at position 1: unclosed phrase" in capsys.readouterr().err

    assert main(["topics", "list", "--config", str(config)]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert [line.split()[:3] for line in listing] == [
        ["ukraine", "1", "items"], ["markets", "2", "items"], ["conflict", "2", "items"]]


@pytest.mark.slow
def test_sighup_publishes_a_new_topic_from_stored_articles(tmp_path: Path, feed_server: FeedServer) -> None:
    urls = _serve(feed_server)
    port = _free_port()
    config = write_config(tmp_path, SOURCES.format(**urls) + TOPICS, port)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    daemon = subprocess.Popen([sys.executable, "-m", "feeder", "run", "--config", str(config)],
                              env=env, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}/topics"
    try:
        _wait_for(f"{base}/ukraine.atom", lambda r: r.status_code == 200 and "Kyïv" in r.text)
        for path in ("/wire.rss", "/tech.rss", "/daily.atom"):  # from now on nothing new anywhere
            feed_server.add(path, Reply(503, b"down"))
        config.write_text(config.read_text(encoding="utf-8") + '[[topic]]\nslug = "weather"\nquery = "storms"\n',
                          encoding="utf-8")
        daemon.send_signal(signal.SIGHUP)
        weather = _wait_for(f"{base}/weather.atom", lambda r: r.status_code == 200, timeout=40)
        assert "Warning issued as storms approach" in weather.text and "Kyïv" not in weather.text
    finally:
        daemon.send_signal(signal.SIGTERM)
        _out, err = daemon.communicate(timeout=30)
    assert daemon.returncode == 0, err
    assert "reloaded" in err
