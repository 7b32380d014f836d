"""Shared test parts: a real HTTP server on 127.0.0.1 whose answers each test scripts, and config files."""

from __future__ import annotations

import os
import textwrap
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

POSTGRES = os.environ.get("FEEDER_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def shared_path(*parts: str) -> Path:
    """A file from ../shared/, or a skip that says why: a user's clone does not have it."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (shared test data ships beside the repo, not in it)")
    return path


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[BaseHTTPRequestHandler], Reply | None]


class FeedServer:
    """Routes are set per test: a Reply, or a function of the request that writes or returns one."""

    def __init__(self) -> None:
        self.routes: dict[str, Reply | Handler] = {}
        self.requests: list[tuple[str, Message]] = []  # headers look up in any case
        server = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server.requests.append((self.path, self.headers))
                route = server.routes.get(self.path.split("?")[0])
                if route is None:
                    reply: Reply | None = Reply(404, b"not found")
                elif isinstance(route, Reply):
                    reply = route
                else:
                    reply = route(self)
                if reply is not None:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, route: Reply | Handler) -> str:
        self.routes[path] = route
        return self.url(path)

    def hits(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p.split("?")[0] == path)


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def write_config(folder: Path, body: str, port: int = 0) -> Path:
    """A config file under ``folder`` with the given sources/topics; state lives beside it."""
    path = folder / "config.toml"
    header = f"""
        [feeder]
        state_dir = "state"
        [server]
        port = {port or 8080}
    """
    path.write_text(textwrap.dedent(header) + textwrap.dedent(body), encoding="utf-8")
    return path


def rss(items: list[dict[str, str]], title: str = "Test feed", link: str = "http://example.com/") -> bytes:
    """An RSS 2.0 document; each item a dict of title, link, guid, pubDate, description."""
    parts = [f"<title>{title}</title><link>{link}</link><description>{title}</description>"]
    for item in items:
        fields = "".join(f"<{k}>{v}</{k}>" for k, v in item.items())
        parts.append(f"<item>{fields}</item>")
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>{"".join(parts)}'
            "</channel></rss>").encode()


def atom(entries: list[dict[str, str]], title: str = "Test Atom", link: str = "http://example.org/") -> bytes:
    """An Atom 1.0 document; each entry a dict of title, link, id, updated, summary."""
    parts = [f'<title>{title}</title><id>urn:test:{title}</id><updated>2026-11-27T00:00:00Z</updated>'
             f'<link href="{link}"/><author><name>Tester</name></author>']
    for entry in entries:
        link_href = entry.get("link", "")
        fields = "".join(f"<{k}>{v}</{k}>" for k, v in entry.items() if k != "link")
        parts.append(f'<entry><link href="{link_href}"/>{fields}</entry>')
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">{"".join(parts)}'
            "</feed>").encode()


def _postgres_url() -> Iterator[str]:
    try:
        admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            schema = f"feeder_test_{uuid.uuid4().hex[:10]}"
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:  # no driver, no server, no database: all mean "cannot test here"
        pytest.skip(f"no PostgreSQL at {POSTGRES}: {type(exc).__name__}")
    try:
        yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'feeder.db'}"
    else:
        yield from _postgres_url()
