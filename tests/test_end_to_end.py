"""From sources in a config file to topic feeds a reader can subscribe to, through the real CLI."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import feedparser
import httpx
import pytest
from lxml import etree

from feeder.cli import main
from tests.conftest import REPO, FeedServer, Reply, atom, rss, shared_path, write_config

ATOM_NS = "{http://www.w3.org/2005/Atom}"

RSS_ITEMS = [
    {"title": "Ukraine: Blinken warns Lavrov of consequences", "link": "http://example.com/a1?utm_source=rss",
     "guid": "a1", "pubDate": "Thu, 27 Jan 2022 15:09:00 GMT", "description": "Talks in Stockholm."},
    {"title": "Markets rally on tech earnings", "link": "http://example.com/a2", "guid": "a2",
     "pubDate": "Thu, 27 Jan 2022 10:00:00 GMT", "description": "Stocks rose."},
]
ATOM_ENTRIES = [
    # The same headline as the RSS feed's first item, from another outlet an hour later.
    {"title": "Ukraine: Blinken warns Lavrov of consequences", "link": "http://example.org/b1",
     "id": "urn:b1", "updated": "2022-01-27T16:09:00Z", "summary": "Another outlet's take."},
    {"title": "Kyiv prepares for winter", "link": "http://example.org/b2", "id": "urn:b2",
     "updated": "2022-01-26T08:00:00+02:00", "summary": "Energy grid repairs."},
]


def _config(tmp_path: Path, server: FeedServer, port: int = 0) -> Path:
    rss_url = server.add("/world.rss", Reply(200, rss(RSS_ITEMS, "World Wire"),
                                             {"Content-Type": "application/rss+xml", "ETag": '"w1"'}))
    atom_url = server.add("/news.atom", Reply(200, atom(ATOM_ENTRIES, "Daily Atom"),
                                              {"Content-Type": "application/atom+xml"}))
    return write_config(tmp_path, f"""
        [[source]]
        name = "world-wire"
        url = "{rss_url}"
        tags = ["world"]
        [[source]]
        name = "daily-atom"
        url = "{atom_url}"
        [[topic]]
        slug = "ukraine"
        title = "Ukraine"
        query = 'ukraine OR kyiv OR lavrov'
        [[topic]]
        slug = "world"
        title = "World"
        tags = ["world"]
    """, port)


def _entries(path: Path) -> list[etree._Element]:
    return etree.parse(str(path)).getroot().findall(f"{ATOM_NS}entry")


def test_fetch_once_publishes_one_entry_per_story(tmp_path: Path, feed_server: FeedServer) -> None:
    config = _config(tmp_path, feed_server)
    assert main(["fetch", "--once", "--config", str(config)]) == 0

    ukraine = tmp_path / "state" / "public" / "topics" / "ukraine.atom"
    entries = _entries(ukraine)
    titles = [e.findtext(f"{ATOM_NS}title") for e in entries]
    assert titles == ["Ukraine: Blinken warns Lavrov of consequences", "Kyiv prepares for winter"]
    first = entries[0]
    alternate = first.find(f"{ATOM_NS}link[@rel='alternate']")
    assert alternate is not None and alternate.get("href") == "http://example.com/a1"  # tracking gone
    related = first.findall(f"{ATOM_NS}link[@rel='related']")
    assert [(r.get("href"), r.get("title")) for r in related] == [("http://example.org/b1", "Daily Atom")]
    assert first.findtext(f"{ATOM_NS}published") == "2022-01-27T15:09:00+00:00"
    assert entries[1].findtext(f"{ATOM_NS}published") == "2022-01-26T06:00:00+00:00"  # UTC

    world = _entries(tmp_path / "state" / "public" / "topics" / "world.atom")
    assert [e.findtext(f"{ATOM_NS}title") for e in world] == [
        "Ukraine: Blinken warns Lavrov of consequences", "Markets rally on tech earnings"]
    parsed = feedparser.parse(ukraine.read_bytes())
    assert not parsed.bozo and len(parsed.entries) == 2


def test_published_atom_is_valid_against_rfc4287_schema(tmp_path: Path, feed_server: FeedServer) -> None:
    schema = etree.RelaxNG(etree.parse(str(shared_path("data", "schema", "atom.rng"))))
    config = _config(tmp_path, feed_server)
    assert main(["fetch", "--once", "--config", str(config)]) == 0
    for path in (tmp_path / "state" / "public" / "topics").glob("*.atom"):
        document = etree.parse(str(path))
        assert schema.validate(document), (path.name, schema.error_log)


def test_second_run_is_conditional_and_changes_nothing(tmp_path: Path, feed_server: FeedServer) -> None:
    config = _config(tmp_path, feed_server)
    assert main(["fetch", "--once", "--config", str(config)]) == 0
    feed = tmp_path / "state" / "public" / "topics" / "ukraine.atom"
    before = feed.read_bytes(), feed.stat().st_mtime_ns

    def not_modified(request: object) -> Reply:
        assert request.headers.get("If-None-Match") == '"w1"'  # type: ignore[attr-defined]
        return Reply(304, b"", {"ETag": '"w1"'})

    feed_server.add("/world.rss", not_modified)
    assert main(["fetch", "--once", "--config", str(config)]) == 0
    assert (feed.read_bytes(), feed.stat().st_mtime_ns) == before  # byte-identical, not even rewritten


def test_bad_config_is_one_line_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, """
        [[source]]
        name = "Bad Name"
        url = "http://127.0.0.1:1/feed"
    """)
    assert main(["check", "--config", str(config)]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "source[0].name" in error


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_run_serves_topic_feeds_and_stops_cleanly(tmp_path: Path, feed_server: FeedServer) -> None:
    port = _free_port()
    config = _config(tmp_path, feed_server, port)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    daemon = subprocess.Popen([sys.executable, "-m", "feeder", "run", "--config", str(config)],
                              env=env, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/topics/ukraine.atom"
    try:
        response = _wait_for(url, lambda r: r.status_code == 200 and b"Blinken" in r.content)
        assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
        again = httpx.get(url, headers={"If-None-Match": response.headers["etag"]})
        assert again.status_code == 304
        index = httpx.get(f"http://127.0.0.1:{port}/")
        assert 'rel="alternate" type="application/atom+xml"' in index.text
    finally:
        daemon.send_signal(signal.SIGTERM)
        _out, err = daemon.communicate(timeout=30)
    assert daemon.returncode == 0, err


def _wait_for(url: str, ready: object, timeout: float = 20.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=2)
            if ready(response):  # type: ignore[operator]
                return response
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} never became ready")


def test_many_sources_parse_in_a_worker_process(tmp_path: Path, feed_server: FeedServer) -> None:
    """From PROCESS_PARSING_FROM web sources on, parsing runs in processes: same result, through the CLI."""
    from concurrent.futures import ProcessPoolExecutor

    from feeder.config import load_config
    from feeder.ingest import PROCESS_PARSING_FROM, parse_executor

    sources = ""
    for n in range(PROCESS_PARSING_FROM):
        items = [{"title": f"Harbour {n} reopens after storm repairs number {n}", "link": f"http://example.com/{n}",
                  "guid": f"g{n}", "pubDate": "Thu, 26 Nov 2026 10:00:00 GMT"}]
        url = feed_server.add(f"/feed{n}.rss", Reply(200, rss(items, f"Outlet {n}")))
        sources += f'[[source]]\nname = "outlet-{n}"\nurl = "{url}"\n'
    config = write_config(tmp_path, sources + '[[topic]]\nslug = "all"\ntitle = "All"\nmax_items = 100\n')
    executor = parse_executor(load_config(config))
    assert isinstance(executor, ProcessPoolExecutor)
    executor.shutdown()
    assert main(["fetch", "--once", "--config", str(config)]) == 0
    assert len(_entries(tmp_path / "state" / "public" / "topics" / "all.atom")) == PROCESS_PARSING_FROM
