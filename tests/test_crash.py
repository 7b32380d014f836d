"""Crash safety: SIGKILL `feeder run` again and again while it fetches and publishes; nothing is lost."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from lxml import etree

from feeder.cli import main
from tests.conftest import FeedServer, Reply, rss, write_config
from tests.test_daemon import Daemon, free_port

pytestmark = pytest.mark.slow
SOURCES = 12
ITEMS = 25
KILLS = 20
ATOM = "{http://www.w3.org/2005/Atom}"
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "bu", "da", "fe", "gi", "ho", "ju", "pe"]


def _headline(owner: int, story: int) -> str:
    """Six made-up words per story: distinct stories share no words, so no engine may merge them."""
    rng = random.Random(owner * 10_000 + story)
    words = ["".join(rng.choice(SYLLABLES) for _ in range(3)) for _ in range(6)]
    return " ".join(words).capitalize() + (" city" if owner == 0 else "")


def _items(source: int) -> list[dict[str, str]]:
    """Every third story is carried by several sources under the same headline: merges happen."""
    items = []
    for n in range(ITEMS):
        story = n if n % 3 else 1000 + n  # shared story ids
        owner = source if n % 3 else 0
        items.append({
            "title": _headline(owner, story),
            "link": f"http://outlet{source}.example/{n}",
            "guid": f"s{source}-{n}",
            "pubDate": f"Thu, 26 Nov 2026 {n % 24:02d}:{source:02d}:00 GMT",
            "description": f"<p>Body of story {story} as told by outlet {source}.</p>",
        })
    return items


def _serve(server: FeedServer) -> list[str]:
    rng = random.Random(7)
    urls = []
    for source in range(SOURCES):
        body = rss(_items(source), f"Outlet {source}")

        def slow(_request: BaseHTTPRequestHandler, body: bytes = body, delay: float = rng.random() * 0.3) -> Reply:
            time.sleep(delay)  # keep fetches in flight long enough to be killed in the middle
            return Reply(200, body, {"Content-Type": "application/rss+xml"})

        urls.append(server.add(f"/feed{source}.rss", slow))
    return urls


def _config(folder: Path, urls: list[str], port: int) -> Path:
    folder.mkdir()
    sources = "".join(f'[[source]]\nname = "outlet-{i}"\nurl = "{u}"\ninterval = "2s"\n' for i, u in enumerate(urls))
    return write_config(folder, """
        [fetch]
        timeout = "2s"
        [[topic]]
        slug = "all"
        title = "All"
        max_items = 500
        [[topic]]
        slug = "shared"
        title = "Shared"
        query = "city"
        max_items = 500
    """ + sources, port)


def _feed_content(path: Path) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """What a reader sees, without the ids: a story's id comes from whichever outlet arrived first."""
    root = etree.parse(str(path)).getroot()
    entries = []
    for entry in root.iter(f"{ATOM}entry"):
        alternate = entry.find(f"{ATOM}link[@rel='alternate']")
        related = tuple(sorted(link.get("href", "") for link in entry.findall(f"{ATOM}link[@rel='related']")))
        entries.append((entry.findtext(f"{ATOM}title") or "", alternate.get("href", "") if alternate is not None
                        else "", entry.findtext(f"{ATOM}published") or "", related))
    return entries


def _check_files_complete(public: Path) -> None:
    for path in public.rglob("*"):
        if path.is_file():
            assert not path.name.startswith("."), f"temporary file left behind: {path}"
            if path.suffix in (".atom", ".rss", ".opml"):
                etree.parse(str(path))  # raises on a truncated file
            elif path.suffix == ".json":
                json.loads(path.read_bytes())


def test_sigkill_at_random_moments_loses_nothing(tmp_path: Path, feed_server: FeedServer) -> None:
    urls = _serve(feed_server)
    port = free_port()
    reference = _config(tmp_path / "reference", urls, port)
    assert main(["fetch", "--once", "--config", str(reference)]) == 0
    expected = _published(reference)
    shared = len(range(0, ITEMS, 3))
    assert len(expected["all.atom"]) == SOURCES * (ITEMS - shared) + shared  # shared stories merged
    assert any(related for *_, related in expected["shared.atom"])

    killed = _config(tmp_path / "killed", urls, port)
    rng = random.Random(2026)
    for _ in range(KILLS):
        daemon = Daemon(killed, port, tmp_path)
        daemon.wait_message("READY=1")  # killed while it fetches, ingests and publishes, not while it imports
        time.sleep(rng.uniform(0.0, 2.0))
        daemon.process.send_signal(signal.SIGKILL)
        daemon.process.wait(timeout=10)
        daemon.notify.close()
        (tmp_path / "notify.sock").unlink()

    daemon = Daemon(killed, port, tmp_path)
    try:
        daemon.wait_message("READY=1")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = daemon.wait_http("/status.json").json()["sources"]
            if all(s["last_success"] for s in status) and _published(killed) == _published(reference):
                break
            time.sleep(0.5)
    finally:
        assert daemon.stop() == 0
        daemon.notify.close()

    database = killed.parent / "state" / "feeder.db"
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        articles = db.execute("SELECT count(*), count(DISTINCT source || '/' || guid) FROM articles").fetchone()
    assert articles == (SOURCES * ITEMS, SOURCES * ITEMS)
    _check_files_complete(killed.parent / "state" / "public")
    assert _published(killed) == _published(reference)


def _published(config: Path) -> dict[str, list[tuple[str, str, str, tuple[str, ...]]]]:
    topics = config.parent / "state" / "public" / "topics"
    return {p.name: _feed_content(p) for p in sorted(topics.glob("*.atom"))} if topics.is_dir() else {}
