"""Fetching against servers on 127.0.0.1 that misbehave on purpose.

Unit-level cases drive ``Fetcher`` directly; "the run goes on and nothing is lost" cases drive the real
``feeder fetch --once`` twice: once while every source is healthy, then with one source broken.
"""

from __future__ import annotations

import asyncio
import gzip
import itertools
import json
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

import feeder.ingest
from feeder.cli import main
from feeder.config import FetchConfig
from feeder.fetch import MAX_BACKOFF, Fetcher, FetchError, FetchResult, after_failure, after_success
from feeder.model import SourceState
from feeder.status import source_status, status_table
from tests.conftest import FeedServer, Reply, rss, write_config

ATOM_NS = "{http://www.w3.org/2005/Atom}"
MB = 1024 * 1024
INTERVAL = timedelta(minutes=30)
RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}


def _items(prefix: str, count: int = 2) -> list[dict[str, str]]:
    return [{"title": f"{prefix} story {i}", "link": f"http://example.com/{prefix}/{i}", "guid": f"{prefix}-{i}",
             "pubDate": f"Thu, 26 Nov 2026 {10 + i}:00:00 GMT", "description": f"{prefix} body {i}"}
            for i in range(count)]


def _fetch(url: str, etag: str = "", last_modified: str = "", transport: str = "default",
           **config: Any) -> FetchResult:
    """One fetch through a fresh Fetcher; ``config`` overrides FetchConfig fields.

    ``transport="httpx"`` uses httpx's own transport instead of the default (aiohttp's).
    """
    async def go() -> FetchResult:
        own = httpx.AsyncHTTPTransport() if transport == "httpx" else None
        fetcher = Fetcher(FetchConfig(**config), transport=own)
        try:
            return await fetcher.fetch(url, etag, last_modified)
        finally:
            await fetcher.aclose()
    return asyncio.run(go())


def _fetch_error(url: str, **options: Any) -> FetchError:
    with pytest.raises(FetchError) as caught:
        _fetch(url, **options)
    assert "\n" not in str(caught.value)
    return caught.value


def _last_headers(server: FeedServer) -> dict[str, str]:
    return {name.lower(): value for name, value in server.requests[-1][1].items()}


# -- misbehaving routes ------------------------------------------------------------------------------


def _drip(interval: float = 0.2) -> Callable[[BaseHTTPRequestHandler], None]:
    """Headers at once, then one byte every ``interval``: each read is quick, the whole never ends."""
    def handler(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "application/rss+xml")
        request.send_header("Content-Length", "100000")
        request.end_headers()
        _write_until_closed(request, lambda: b"<", interval)
    return handler


def _endless(request: BaseHTTPRequestHandler) -> None:
    """A body that never ends, as fast as the client reads it, with no length to warn of it."""
    request.send_response(200)
    request.send_header("Content-Type", "application/rss+xml")
    request.send_header("Connection", "close")  # the body ends when the connection does: never
    request.end_headers()
    chunk = b"<!-- filler -->" * 4096
    _write_until_closed(request, lambda: chunk, 0.0)


def _write_until_closed(request: BaseHTTPRequestHandler, piece: Callable[[], bytes], pause: float) -> None:
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            request.wfile.write(piece())
            request.wfile.flush()
            if pause:
                time.sleep(pause)
    except OSError:
        pass  # the client gave up, as it should
    request.close_connection = True


_BOMB: dict[int, bytes] = {}


def _gzip_bomb(inflated: int = 64 * MB) -> bytes:
    """A few tens of KB of gzip that inflate to ``inflated`` bytes, built without holding them."""
    if inflated not in _BOMB:
        packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        zeros = bytes(MB)
        _BOMB[inflated] = b"".join([*(packer.compress(zeros) for _ in range(inflated // MB)), packer.flush()])
    return _BOMB[inflated]


def _bomb_reply() -> Reply:
    return Reply(200, _gzip_bomb(), {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"})


# -- unit level: the Fetcher -----------------------------------------------------------------------------


def test_conditional_get_sends_both_validators_and_304_has_no_body(feed_server: FeedServer) -> None:
    def conditional(request: BaseHTTPRequestHandler) -> Reply:
        if request.headers.get("If-None-Match") == '"v1"' and request.headers.get("If-Modified-Since"):
            return Reply(304, b"", {"ETag": '"v1"'})
        return Reply(200, rss(_items("a")), {**RSS, "ETag": '"v1"', "Last-Modified": "Wed, 25 Nov 2026 10:00:00 GMT"})

    url = feed_server.add("/feed", conditional)
    first = _fetch(url)
    assert first.status == 200 and first.body and first.etag == '"v1"'
    assert first.last_modified == "Wed, 25 Nov 2026 10:00:00 GMT"
    assert first.content_type == RSS["Content-Type"]  # goes to the parser with the bytes
    again = _fetch(url, first.etag, first.last_modified)
    assert (again.status, again.body) == (304, None)
    sent = _last_headers(feed_server)
    assert sent["if-none-match"] == '"v1"' and sent["if-modified-since"] == first.last_modified
    assert sent["user-agent"].startswith("feeder/")


def test_user_agent_is_configurable(feed_server: FeedServer) -> None:
    url = feed_server.add("/feed", Reply(200, rss(_items("a")), RSS))
    _fetch(url, user_agent="feeder-test/9 (+http://127.0.0.1/)")
    assert _last_headers(feed_server)["user-agent"] == "feeder-test/9 (+http://127.0.0.1/)"


@pytest.mark.parametrize("transport", ["default", "httpx"])
def test_slow_drip_is_cut_by_the_total_timeout(feed_server: FeedServer, transport: str) -> None:
    url = feed_server.add("/drip", _drip())
    started = time.monotonic()
    error = _fetch_error(url, transport=transport, timeout=timedelta(seconds=1))
    assert "timed out after 1s" in str(error)
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("transport", ["default", "httpx"])
def test_endless_body_is_capped(feed_server: FeedServer, transport: str) -> None:
    url = feed_server.add("/endless", _endless)
    assert "body larger than 1048576 bytes" in str(_fetch_error(url, transport=transport, max_bytes=MB))


def test_a_declared_oversized_body_is_refused_before_reading(feed_server: FeedServer) -> None:
    url = feed_server.add("/huge", Reply(200, b"x" * (MB + 1), RSS))
    assert str(_fetch_error(url, max_bytes=MB)) == f"body larger than {MB} bytes (Content-Length {MB + 1})"


def test_a_feed_with_the_wrong_content_type_is_still_read(run: Run) -> None:
    run.server.add("/flaky", Reply(200, rss(_items("plain")), {"Content-Type": "text/plain"}))
    run.once()
    assert {"plain story 0", "plain story 1"} <= run.titles()


@pytest.mark.parametrize("transport", ["default", "httpx"])
def test_gzip_bomb_is_rejected_while_memory_stays_small(feed_server: FeedServer, transport: str) -> None:
    url = feed_server.add("/bomb", _bomb_reply())
    assert len(_gzip_bomb()) < 100_000
    tracemalloc.start()
    try:
        error = _fetch_error(url, transport=transport, max_bytes=MB)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "body larger than 1048576 bytes" in str(error)
    assert peak < 8 * MB, f"peak {peak / MB:.1f} MB while inflating a bomb"


def test_gzip_and_raw_deflate_bodies_within_the_cap_are_inflated(feed_server: FeedServer) -> None:
    body = rss(_items("zipped", 20))
    raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    url_gzip = feed_server.add("/gz", Reply(200, gzip.compress(body), {**RSS, "Content-Encoding": "gzip"}))
    url_raw = feed_server.add("/raw", Reply(200, raw.compress(body) + raw.flush(),
                                            {**RSS, "Content-Encoding": "deflate"}))
    url_zlib = feed_server.add("/zlib", Reply(200, zlib.compress(body), {**RSS, "Content-Encoding": "deflate"}))
    assert _fetch(url_gzip).body == _fetch(url_raw).body == _fetch(url_zlib).body == body


def test_unbounded_content_encodings_are_refused(feed_server: FeedServer) -> None:
    url = feed_server.add("/br", Reply(200, b"\x8b\x00\x80hello\x03", {**RSS, "Content-Encoding": "br"}))
    assert "unsupported Content-Encoding 'br'" in str(_fetch_error(url))
    assert _last_headers(feed_server)["accept-encoding"] == "gzip, deflate"


def test_redirect_loop_and_long_chains_stop(feed_server: FeedServer) -> None:
    feed_server.add("/loop-a", Reply(302, b"", {"Location": "/loop-b"}))
    url = feed_server.add("/loop-b", Reply(302, b"", {"Location": "/loop-a"}))
    assert "redirect loop" in str(_fetch_error(url))
    for hop in range(7):
        feed_server.add(f"/hop{hop}", Reply(301, b"", {"Location": f"/hop{hop + 1}"}))
    assert "more than 5 redirects" in str(_fetch_error(feed_server.url("/hop0")))
    assert feed_server.hits("/hop6") == 0


def test_permanent_redirect_chain_is_reported_only_when_every_hop_is_permanent(feed_server: FeedServer) -> None:
    final = feed_server.add("/final", Reply(200, rss(_items("a")), RSS))
    feed_server.add("/p1", Reply(301, b"", {"Location": "/p2"}))
    feed_server.add("/p2", Reply(308, b"", {"Location": final}))
    feed_server.add("/t1", Reply(301, b"", {"Location": "/t2"}))
    feed_server.add("/t2", Reply(302, b"", {"Location": final}))
    assert _fetch(feed_server.url("/p1")).permanent_redirect == final
    assert _fetch(feed_server.url("/t1")).permanent_redirect == ""


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/feed", "gopher://127.0.0.1/"])
def test_only_http_urls_are_fetched(url: str) -> None:
    assert "only http(s) URLs" in str(_fetch_error(url))


def test_a_redirect_to_a_local_file_is_refused(feed_server: FeedServer) -> None:
    url = feed_server.add("/sneaky", Reply(301, b"", {"Location": "file:///etc/passwd"}))
    assert "only http(s) URLs" in str(_fetch_error(url))


def test_empty_body_and_http_errors_are_one_line(feed_server: FeedServer) -> None:
    assert str(_fetch_error(feed_server.add("/empty", Reply(200, b"  \n", RSS)))) == "empty body"
    error = _fetch_error(feed_server.add("/busy", Reply(503, b"busy", {"Retry-After": "120"})))
    assert (str(error), error.status, error.retry_after) == ("HTTP 503 Service Unavailable", 503,
                                                             timedelta(seconds=120))
    refused = _fetch_error("http://127.0.0.1:9/feed")
    assert refused.status == 0 and str(refused).startswith("ClientConnectorError: Cannot connect to host")


# -- the polling policy ------------------------------------------------------------------------------


NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _delay(state: SourceState) -> timedelta:
    assert state.next_fetch is not None
    return state.next_fetch - NOW


def test_errors_back_off_exponentially_capped_and_reset_on_success() -> None:
    state = SourceState("s", url="http://127.0.0.1/")
    delays = []
    for _ in range(10):
        state = after_failure(state, "HTTP 500 Internal Server Error", INTERVAL, NOW, 500)
        delays.append(_delay(state))
    assert state.failures == 10 and state.error == "HTTP 500 Internal Server Error" and state.status == 500
    assert INTERVAL <= delays[0] <= INTERVAL * 1.1
    assert all(later > earlier for earlier, later in itertools.pairwise(delays[:6]))
    assert all(MAX_BACKOFF <= d <= MAX_BACKOFF * 1.1 for d in delays[6:])  # 30 min * 2**6 > 24 h
    state = after_success(state, FetchResult("http://127.0.0.1/", 200, b"<rss/>"), INTERVAL, NOW, 3)
    assert (state.failures, state.error, state.status) == (0, "", 200)
    assert INTERVAL <= _delay(state) <= INTERVAL * 1.1


@pytest.mark.parametrize(("retry_after", "low", "high"), [
    (timedelta(hours=3), timedelta(hours=3), timedelta(hours=3.3)),  # later than the interval: honoured
    (timedelta(seconds=5), INTERVAL, INTERVAL * 1.1),  # earlier than the interval: never
    (timedelta(days=30), MAX_BACKOFF, MAX_BACKOFF * 1.1),  # absurd: capped
])
def test_retry_after_moves_next_fetch_later_never_earlier(retry_after: timedelta, low: timedelta,
                                                          high: timedelta) -> None:
    state = after_failure(SourceState("s"), "HTTP 429 Too Many Requests", INTERVAL, NOW, 429, retry_after)
    assert low <= _delay(state) <= high


@pytest.mark.parametrize(("headers", "nominal"), [
    ({"Cache-Control": "public, max-age=7200"}, timedelta(hours=2)),
    ({"Cache-Control": "max-age=60"}, INTERVAL),  # shorter than the interval: the interval wins
    ({"Expires": format_datetime(datetime.now(UTC) + timedelta(hours=5), usegmt=True)}, timedelta(hours=5)),
])
def test_cache_headers_move_next_fetch_later(feed_server: FeedServer, headers: dict[str, str],
                                             nominal: timedelta) -> None:
    result = _fetch(feed_server.add("/cached", Reply(200, rss(_items("a")), {**RSS, **headers})))
    state = after_success(SourceState("s"), result, INTERVAL, NOW, 2)
    slack = timedelta(minutes=1)  # Expires is read against the server's Date, to the second
    assert nominal - slack <= _delay(state) <= nominal * 1.1 + slack  # up to 10% jitter


def test_retry_after_http_date_is_understood(feed_server: FeedServer) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(hours=2), usegmt=True)
    error = _fetch_error(feed_server.add("/slow-down", Reply(429, b"", {"Retry-After": when})))
    assert error.retry_after is not None and timedelta(hours=1.9) < error.retry_after <= timedelta(hours=2)


# -- the whole run: one broken source, the others go on, nothing stored is lost -------------------------


class Run:
    """A config with a 'steady' and a 'flaky' source and one topic showing both, run by the real CLI."""

    def __init__(self, tmp_path: Path, server: FeedServer, flaky_path: str = "/flaky") -> None:
        self.tmp_path, self.server = tmp_path, server
        self.steady = server.add("/steady", Reply(200, rss(_items("steady")), RSS))
        self.flaky = server.add(flaky_path, Reply(200, rss(_items("flaky")), RSS))
        self.write(self.flaky)

    def write(self, flaky_url: str) -> None:
        self.config = write_config(self.tmp_path, f"""
            [fetch]
            timeout = "1s"
            max_bytes = {MB}
            [[source]]
            name = "steady"
            url = "{self.steady}"
            tags = ["all"]
            [[source]]
            name = "flaky"
            url = "{flaky_url}"
            tags = ["all"]
            [[topic]]
            slug = "all"
            title = "All"
            tags = ["all"]
        """)

    def once(self) -> None:
        assert main(["fetch", "--once", "--config", str(self.config)]) == 0

    def titles(self) -> set[str]:
        path = self.tmp_path / "state" / "public" / "topics" / "all.atom"
        return {str(e.findtext(f"{ATOM_NS}title")) for e in etree.parse(str(path)).getroot().iter(f"{ATOM_NS}entry")}

    def status(self, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, Any]]:
        capsys.readouterr()
        assert main(["status", "--json", "--config", str(self.config)]) == 0
        return {record["name"]: record for record in json.loads(capsys.readouterr().out)}


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """conftest's server, but quick to stop: these tests start dozens of them."""
    server = FeedServer()
    thread = threading.Thread(target=server.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def run(tmp_path: Path, feed_server: FeedServer) -> Iterator[Run]:
    yield Run(tmp_path, feed_server)


BROKEN: dict[str, tuple[Callable[[FeedServer], Any], str]] = {
    "server-error": (lambda s: Reply(500, b"oops"), "HTTP 500 Internal Server Error"),
    "rate-limited": (lambda s: Reply(429, b"", {"Retry-After": "7200"}), "HTTP 429 Too Many Requests"),
    "gone": (lambda s: Reply(410, b""), "HTTP 410 Gone"),
    "slow-drip": (lambda s: _drip(), "timed out after 1s"),
    "endless-body": (lambda s: _endless, "body larger than 1048576 bytes"),
    "gzip-bomb": (lambda s: _bomb_reply(), "body larger than 1048576 bytes"),
    "empty-body": (lambda s: Reply(200, b"", RSS), "empty body"),
    "invalid-xml": (lambda s: Reply(200, b"<rss><channel><item><title>x</ti", RSS), "not a feed"),
    "html-page": (lambda s: Reply(200, b"<html><body><p>Welcome!</p></body></html>",
                                 {"Content-Type": "text/html"}), "not a feed"),
    "json": (lambda s: Reply(200, b'{"items": []}', {"Content-Type": "application/json"}), "not a feed"),
    "redirect-loop": (lambda s: Reply(302, b"", {"Location": "/flaky"}), "redirect loop"),
    "redirect-to-file": (lambda s: Reply(302, b"", {"Location": "file:///etc/passwd"}), "only http(s) URLs"),
    "closed-port": (lambda s: Reply(301, b"", {"Location": "http://127.0.0.1:9/feed"}), "Cannot connect"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_source_fails_alone_and_loses_nothing(run: Run, capsys: pytest.CaptureFixture[str],
                                                       case: str) -> None:
    run.once()
    assert run.titles() == {"steady story 0", "steady story 1", "flaky story 0", "flaky story 1"}

    make_route, expected = BROKEN[case]
    run.server.add("/flaky", make_route(run.server))
    run.server.add("/steady", Reply(200, rss(_items("steady", 3)), RSS))  # news elsewhere meanwhile
    run.once()

    assert run.titles() == {"steady story 0", "steady story 1", "steady story 2", "flaky story 0", "flaky story 1"}
    status = run.status(capsys)
    flaky = status["flaky"]
    assert expected in flaky["error"] and "\n" not in flaky["error"], flaky["error"]
    assert flaky["failures"] == 1 and flaky["entries_seen"] == 2 and flaky["last_success"]
    assert status["steady"]["error"] == "" and status["steady"]["entries_seen"] == 3


def test_not_modified_costs_no_parse_and_changes_nothing(run: Run, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    validators = {"ETag": '"f1"', "Last-Modified": "Wed, 25 Nov 2026 10:00:00 GMT"}

    def conditional(request: BaseHTTPRequestHandler) -> Reply:
        if (request.headers.get("If-None-Match") == validators["ETag"]
                and request.headers.get("If-Modified-Since") == validators["Last-Modified"]):
            return Reply(304, b"", {"ETag": validators["ETag"]})
        return Reply(200, rss(_items("flaky")), {**RSS, **validators})

    run.server.add("/flaky", conditional)
    run.server.add("/steady", conditional)
    run.once()
    feed = run.tmp_path / "state" / "public" / "topics" / "all.atom"
    before_feed, before = feed.read_bytes(), run.status(capsys)

    parses: list[str] = []
    real = feeder.ingest.read_feed
    monkeypatch.setattr(feeder.ingest, "read_feed",
                        lambda *args: parses.append(str(args[1])) or real(*args))
    run.once()

    assert parses == []
    assert feed.read_bytes() == before_feed
    after = run.status(capsys)
    for name in ("flaky", "steady"):
        assert after[name]["status"] == 304 and after[name]["error"] == ""
        for kept in ("etag", "last_modified", "entries_seen", "url"):
            assert after[name][kept] == before[name][kept], kept
        assert after[name]["etag"] == '"f1"' and after[name]["last_modified"] == validators["Last-Modified"]


def test_gone_source_is_not_polled_again_and_says_so(run: Run, capsys: pytest.CaptureFixture[str]) -> None:
    run.once()
    run.server.add("/flaky", Reply(410, b""))
    run.once()
    run.once()
    assert run.server.hits("/flaky") == 2
    flaky = run.status(capsys)["flaky"]
    assert flaky["gone"] and flaky["next_fetch"] == "never (410 Gone)" and flaky["status"] == 410
    assert "flaky story 0" in run.titles()

    # Only a new URL in the config brings it back.
    moved = run.server.add("/flaky-v2", Reply(200, rss(_items("flaky", 3)), RSS))
    run.write(moved)
    run.once()
    flaky = run.status(capsys)["flaky"]
    assert not flaky["gone"] and flaky["error"] == "" and flaky["url"] == moved
    assert "flaky story 2" in run.titles()


def test_permanent_redirect_is_adopted_on_the_second_consecutive_fetch(
        run: Run, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    new_home = run.server.add("/new-home", Reply(200, rss(_items("flaky", 3)), RSS))
    run.server.add("/flaky", Reply(301, b"", {"Location": "/middle"}))
    run.server.add("/middle", Reply(308, b"", {"Location": "/new-home"}))
    run.once()
    assert run.status(capsys)["flaky"]["url"] == run.flaky  # once is not enough
    with caplog.at_level("WARNING", logger="feeder.ingest"):
        run.once()
    assert run.status(capsys)["flaky"]["url"] == new_home
    assert any("permanent redirect adopted" in r.getMessage() and new_home in r.getMessage()
               for r in caplog.records)
    run.once()
    assert run.server.hits("/flaky") == 2 and run.server.hits("/new-home") == 3  # the third went straight there
    assert "flaky story 2" in run.titles()

    # A new URL in the config wins over the adopted redirect.
    other = run.server.add("/configured", Reply(200, rss(_items("flaky")), RSS))
    run.write(other)
    run.once()
    assert run.status(capsys)["flaky"]["url"] == other


def test_temporary_redirect_is_followed_but_never_adopted(run: Run, capsys: pytest.CaptureFixture[str]) -> None:
    run.server.add("/elsewhere", Reply(200, rss(_items("flaky")), RSS))
    for status in (302, 307, 302):
        run.server.add("/flaky", Reply(status, b"", {"Location": "/elsewhere"}))
        run.once()
    flaky = run.status(capsys)["flaky"]
    assert flaky["url"] == run.flaky and flaky["error"] == "" and flaky["entries_seen"] == 2
    assert run.server.hits("/flaky") == 3


def test_retry_after_and_repeated_failures_show_in_status(run: Run, capsys: pytest.CaptureFixture[str]) -> None:
    run.once()
    run.server.add("/flaky", Reply(500, b""))
    run.once()
    run.once()
    flaky = run.status(capsys)["flaky"]
    assert flaky["failures"] == 2 and flaky["status"] == 500
    first_gap = datetime.fromisoformat(flaky["next_fetch"]) - datetime.fromisoformat(flaky["last_attempt"])
    assert INTERVAL * 2 <= first_gap <= INTERVAL * 2.2 + timedelta(seconds=1)  # the second failure doubles

    run.server.add("/flaky", Reply(429, b"", {"Retry-After": "36000"}))
    run.once()
    flaky = run.status(capsys)["flaky"]
    gap = datetime.fromisoformat(flaky["next_fetch"]) - datetime.fromisoformat(flaky["last_attempt"])
    assert timedelta(hours=10) <= gap <= timedelta(hours=11, seconds=1)

    run.server.add("/flaky", Reply(200, rss(_items("flaky")), RSS))
    run.once()
    flaky = run.status(capsys)["flaky"]
    assert (flaky["failures"], flaky["error"], flaky["status"]) == (0, "", 200)


@pytest.mark.parametrize(("body", "content_type"), [
    # The header says UTF-8, the bytes are Latin-1.
    ("<?xml version='1.0'?><rss version='2.0'><channel><title>T</title>"
     "<item><title>Café crème à Zürich</title><guid>c1</guid></item></channel></rss>".encode("latin-1"),
     "application/rss+xml; charset=utf-8"),
    # The XML declaration says Latin-1, the bytes are UTF-8 and the header says nothing.
    ("<?xml version='1.0' encoding='iso-8859-1'?><rss version='2.0'><channel><title>T</title>"
     "<item><title>Café crème à Zürich</title><guid>c1</guid></item></channel></rss>".encode(),
     "application/rss+xml"),
    # The header's charset is right and the declaration wrong: the header wins.
    ("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>T</title>"
     "<item><title>Café crème à Zürich</title><guid>c1</guid></item></channel></rss>".encode("cp1252"),
     "application/rss+xml; charset=windows-1252"),
])
def test_wrong_charset_declarations_still_give_readable_titles(run: Run, body: bytes, content_type: str) -> None:
    run.server.add("/flaky", Reply(200, body, {"Content-Type": content_type}))
    run.once()
    assert "Café crème à Zürich" in run.titles()


def test_status_table_shows_every_field(run: Run, capsys: pytest.CaptureFixture[str]) -> None:
    run.server.add("/flaky", Reply(200, rss(_items("flaky")), {**RSS, "ETag": '"e1"'}))
    run.once()
    run.server.add("/flaky", Reply(503, b"", {"Retry-After": "60"}))
    run.once()
    capsys.readouterr()
    assert main(["status", "--config", str(run.config)]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[0].split()
    for column in ("name", "status", "failures", "entries_seen", "last_attempt", "last_success", "next_fetch",
                   "etag", "last_modified", "error"):
        assert column in header
    flaky = next(line for line in lines if line.startswith("flaky"))
    assert "503" in flaky and '"e1"' in flaky and flaky.endswith("HTTP 503 Service Unavailable")


def test_status_json_is_served(run: Run) -> None:
    from starlette.testclient import TestClient

    from feeder.server import create_app
    from feeder.store import Store

    run.once()
    store = Store(f"sqlite:///{run.tmp_path / 'state' / 'feeder.db'}")
    states = store.source_states()
    store.close()
    records = [source_status(s, states.get(s.name)) for s in _config_sources(run)]
    app = create_app(run.tmp_path / "state" / "public", INTERVAL, status=lambda: {"sources": records})
    served = TestClient(app).get("/status.json").json()["sources"]
    assert {r["name"] for r in served} == {"steady", "flaky"}
    assert all(r["status"] == 200 and r["last_attempt"] and r["entries_seen"] == 2 for r in served)
    assert status_table(served).splitlines()[0].startswith("name")


def _config_sources(run: Run) -> tuple[Any, ...]:
    from feeder.config import load_config

    return load_config(run.config).sources


class _Gauge:
    """Counts requests a server is answering at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = self.peak = 0

    def slow_reply(self, request: BaseHTTPRequestHandler) -> Reply:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        time.sleep(0.15)
        with self.lock:
            self.now -= 1
        return Reply(200, rss(_items("c")), RSS)


def test_global_and_per_host_limits_hold(feed_server: FeedServer) -> None:
    other = FeedServer()  # another port: another host as far as the per-host limit goes
    threading.Thread(target=other.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    gauges = {"one": _Gauge(), "other": _Gauge(), "both": _Gauge()}
    both = gauges["both"]

    def counted(gauge: _Gauge) -> Callable[[BaseHTTPRequestHandler], Reply]:
        def handler(request: BaseHTTPRequestHandler) -> Reply:
            with both.lock:
                both.now += 1
                both.peak = max(both.peak, both.now)
            try:
                return gauge.slow_reply(request)
            finally:
                with both.lock:
                    both.now -= 1
        return handler

    urls = [feed_server.add(f"/c{i}", counted(gauges["one"])) for i in range(8)]
    urls += [other.add(f"/c{i}", counted(gauges["other"])) for i in range(8)]

    async def fetch_all() -> None:
        fetcher = Fetcher(FetchConfig(concurrency=4, per_host=3))
        try:
            await asyncio.gather(*(fetcher.fetch(url) for url in urls))
        finally:
            await fetcher.aclose()

    try:
        asyncio.run(fetch_all())
    finally:
        other.httpd.shutdown()
        other.httpd.server_close()
    # Never above the limits, and in parallel up to them (the lower bounds allow for a slow machine).
    assert 2 <= gauges["one"].peak <= 3 and 2 <= gauges["other"].peak <= 3  # per host
    assert 3 <= both.peak <= 4  # in all
