"""`feeder run` as a service: readiness and watchdog messages, reload, shutdown, health and metrics."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, FeedServer, Reply, rss, write_config

pytestmark = pytest.mark.slow

ITEMS = [{"title": f"Story number {n} about Ukraine", "link": f"http://example.com/{n}", "guid": f"g{n}",
          "pubDate": f"Thu, 26 Nov 2026 {10 + n}:00:00 GMT"} for n in range(3)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Daemon:
    """`python -m feeder run` in a subprocess, with $NOTIFY_SOCKET bound to a socket the test reads."""

    def __init__(self, config: Path, port: int, tmp_path: Path, watchdog_usec: int = 0) -> None:
        self.port = port
        self.notify_path = tmp_path / "notify.sock"
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(str(self.notify_path))
        self.notify.settimeout(0.2)
        env = {**os.environ, "PYTHONPATH": str(REPO), "NOTIFY_SOCKET": str(self.notify_path)}
        if watchdog_usec:
            env["WATCHDOG_USEC"] = str(watchdog_usec)
        self.log = (tmp_path / "daemon.log").open("w+")
        self.process = subprocess.Popen([sys.executable, "-m", "feeder", "run", "--config", str(config)],
                                        env=env, stderr=self.log)
        self.messages: list[str] = []

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_message(self, wanted: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(wanted in m.split("\n") for m in self.messages):
                return
            try:
                self.messages.append(self.notify.recv(4096).decode())
            except TimeoutError:
                assert self.process.poll() is None, self.log_text()
        raise AssertionError(f"no {wanted} in {self.messages}; log:\n{self.log_text()}")

    def wait_http(self, path: str, ready: object = None, timeout: float = 20.0) -> httpx.Response:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                response = httpx.get(self.url(path), timeout=2)
                if ready is None or ready(response):  # type: ignore[operator]
                    return response
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{path} never became ready; log:\n{self.log_text()}")

    def log_text(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


@pytest.fixture
def daemon_config(tmp_path: Path, feed_server: FeedServer) -> tuple[Path, int]:
    url = feed_server.add("/feed.rss", Reply(200, rss(ITEMS, "Wire"), {"Content-Type": "application/rss+xml"}))
    port = free_port()
    config = write_config(tmp_path, f"""
        [[source]]
        name = "wire"
        url = "{url}"
        [[topic]]
        slug = "ukraine"
        title = "Ukraine"
        query = "ukraine"
    """, port)
    return config, port


@pytest.fixture
def daemon(daemon_config: tuple[Path, int], tmp_path: Path) -> Iterator[Daemon]:
    config, port = daemon_config
    running = Daemon(config, port, tmp_path, watchdog_usec=2_000_000)
    yield running
    running.stop()
    running.notify.close()


def test_ready_watchdog_and_stopping(daemon: Daemon) -> None:
    daemon.wait_message("READY=1")
    daemon.wait_message("WATCHDOG=1")
    feed = daemon.wait_http("/topics/ukraine.atom", lambda r: r.status_code == 200 and b"Story number 2" in r.content)
    assert feed.headers["content-type"].startswith("application/atom+xml")
    assert daemon.stop() == 0
    daemon.wait_message("STOPPING=1", timeout=2)


def test_health_metrics_and_status(daemon: Daemon) -> None:
    daemon.wait_message("READY=1")
    daemon.wait_http("/topics/ukraine.atom", lambda r: r.status_code == 200)
    assert httpx.get(daemon.url("/healthz")).status_code == 200
    metrics = httpx.get(daemon.url("/metrics")).text
    assert 'feeder_fetches_total{outcome="new"} 1' in metrics
    assert "feeder_entries_ingested_total 3" in metrics
    assert "feeder_publish_seconds_count" in metrics
    status = httpx.get(daemon.url("/status.json")).json()
    [wire] = status["sources"]
    assert wire["name"] == "wire" and wire["status"] == 200 and wire["entries_seen"] == 3


def test_reload_adds_a_topic_from_stored_articles(daemon: Daemon, daemon_config: tuple[Path, int],
                                                   feed_server: FeedServer) -> None:
    config, _port = daemon_config
    daemon.wait_message("READY=1")
    daemon.wait_http("/topics/ukraine.atom", lambda r: b"Story number 2" in r.content)
    feed_server.add("/feed.rss", Reply(500, b"down"))  # the new topic must come from what is stored
    config.write_text(config.read_text() + '\n[[topic]]\nslug = "numbers"\ntitle = "Numbers"\nquery = "number"\n')
    daemon.messages.clear()
    daemon.process.send_signal(signal.SIGHUP)
    daemon.wait_message("RELOADING=1")
    daemon.wait_message("READY=1")
    feed = daemon.wait_http("/topics/numbers.atom", lambda r: r.status_code == 200)
    assert feed.content.count(b"<entry>") == 3


def test_bad_reload_keeps_the_running_config(daemon: Daemon, daemon_config: tuple[Path, int]) -> None:
    config, _port = daemon_config
    daemon.wait_message("READY=1")
    daemon.wait_http("/topics/ukraine.atom", lambda r: r.status_code == 200)
    config.write_text(config.read_text() + "\n[[topic]]\nslug = 'Bad Slug'\n")
    daemon.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "reload refused" not in daemon.log_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "reload refused" in daemon.log_text() and "topic[1].slug" in daemon.log_text()
    assert httpx.get(daemon.url("/topics/ukraine.atom")).status_code == 200
    assert daemon.process.poll() is None
    assert daemon.stop() == 0


def test_stops_cleanly_with_parse_worker_processes(tmp_path: Path, feed_server: FeedServer) -> None:
    """Enough sources for parsing in processes: an interrupt still ends with exit 0 and a quiet log."""
    from feeder.ingest import PROCESS_PARSING_FROM

    sources = ""
    for n in range(PROCESS_PARSING_FROM):
        url = feed_server.add(f"/feed{n}.rss", Reply(200, rss([{"title": f"Ukraine bulletin {n}", "guid": f"g{n}",
                                                                  "link": f"http://example.com/{n}"}])))
        sources += f'[[source]]\nname = "outlet-{n}"\nurl = "{url}"\n'
    port = free_port()
    topic = '[[topic]]\nslug = "ukraine"\ntitle = "Ukraine"\nquery = "ukraine"\n'
    config = write_config(tmp_path, sources + topic, port)
    daemon = Daemon(config, port, tmp_path)
    try:
        daemon.wait_message("READY=1")
        daemon.wait_http("/topics/ukraine.atom", lambda r: r.status_code == 200 and r.content.count(b"<entry>") > 1)
        daemon.process.send_signal(signal.SIGINT)  # as Ctrl-C in a terminal would, to the daemon alone here
        assert daemon.stop() == 0
        assert "Traceback" not in daemon.log_text()
    finally:
        daemon.stop()
        daemon.notify.close()
