"""Serving the published files: strong ETags, Last-Modified, 304s, HEAD, gzip, Cache-Control, content types,
404s; the pure semantics through Starlette's TestClient, then once more over a real socket with uvicorn."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from datetime import timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

with warnings.catch_warnings():  # starlette 1.x prefers httpx2 for its TestClient; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from feeder.publish import Publisher, TopicFeed
from feeder.server import create_app
from tests.test_publish import article, make_config, publisher, rich_feed, story

IDENTITY = {"Accept-Encoding": "identity"}
TYPES = {
    "/topics/world.atom": "application/atom+xml; charset=utf-8",
    "/topics/world.rss": "application/rss+xml; charset=utf-8",
    "/topics/world.json": "application/feed+json; charset=utf-8",
    "/topics.opml": "text/x-opml; charset=utf-8",
    "/": "text/html; charset=utf-8",
    "/icon.svg": "image/svg+xml; charset=utf-8",
}


@pytest.fixture
def published(tmp_path: Path) -> Publisher:
    pub = publisher(tmp_path)
    pub.write_all([rich_feed()])
    return pub


@pytest.fixture
def client(published: Publisher) -> TestClient:
    return TestClient(create_app(published.config.public_dir, timedelta(minutes=30)))


def test_files_are_served_with_their_types_validators_and_cache_lifetime(client: TestClient,
                                                                         published: Publisher) -> None:
    for path, content_type in TYPES.items():
        response = client.get(path, headers=IDENTITY)
        assert response.status_code == 200, path
        assert response.headers["content-type"] == content_type
        assert response.headers["cache-control"] == "public, max-age=1800"  # the fetch interval
        assert response.headers["vary"] == "Accept-Encoding"
        etag = response.headers["etag"]
        assert etag == f'"{hashlib.sha256(response.content).hexdigest()[:32]}"'  # strong: no W/
        file = published.config.public_dir / ("index.html" if path == "/" else path.lstrip("/"))
        assert parsedate_to_datetime(response.headers["last-modified"]).timestamp() == int(file.stat().st_mtime)
        assert response.content == file.read_bytes()
    assert "script-src" not in client.get("/").headers["content-security-policy"]
    assert "default-src 'none'" in client.get("/").headers["content-security-policy"]


def test_conditional_requests_give_304(client: TestClient) -> None:
    first = client.get("/topics/world.atom", headers=IDENTITY)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    for condition in ({"If-None-Match": etag}, {"If-None-Match": f'"other", W/{etag}'}, {"If-None-Match": "*"},
                      {"If-Modified-Since": modified}):
        response = client.get("/topics/world.atom", headers={**IDENTITY, **condition})
        assert response.status_code == 304, condition
        assert response.content == b""
        assert response.headers["etag"] == etag and response.headers["cache-control"] == "public, max-age=1800"
    earlier = format_datetime(parsedate_to_datetime(modified) - timedelta(seconds=1), usegmt=True)
    assert client.get("/topics/world.atom", headers={**IDENTITY, "If-Modified-Since": earlier}).status_code == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2).
    both = {**IDENTITY, "If-None-Match": '"stale"', "If-Modified-Since": modified}
    assert client.get("/topics/world.atom", headers=both).status_code == 200
    assert client.get("/topics/world.atom", headers={**IDENTITY, "If-Modified-Since": "garbage"}).status_code == 200


def test_head_answers_like_get_without_a_body(client: TestClient) -> None:
    get = client.get("/topics/world.rss", headers=IDENTITY)
    head = client.head("/topics/world.rss", headers=IDENTITY)
    assert head.status_code == 200 and head.content == b""
    for name in ("etag", "last-modified", "content-type", "content-length", "cache-control"):
        assert head.headers[name] == get.headers[name], name
    assert client.head("/topics/world.rss", headers={"If-None-Match": get.headers["etag"]}).status_code == 304


def test_gzip_when_asked_with_its_own_strong_etag(client: TestClient) -> None:
    plain = client.get("/topics/world.atom", headers=IDENTITY)
    with client.stream("GET", "/topics/world.atom", headers={"Accept-Encoding": "gzip"}) as response:
        raw = b"".join(response.iter_raw())
    assert response.headers["content-encoding"] == "gzip"
    assert gzip.decompress(raw) == plain.content
    assert int(response.headers["content-length"]) == len(raw)
    gz_etag = response.headers["etag"]
    assert gz_etag != plain.headers["etag"] and not gz_etag.startswith("W/")
    for etag in (gz_etag, plain.headers["etag"]):  # either representation's validator means "unchanged"
        assert client.get("/topics/world.atom", headers={"Accept-Encoding": "gzip",
                                                         "If-None-Match": etag}).status_code == 304
    refused = client.get("/topics/world.atom", headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "content-encoding" not in refused.headers and refused.headers["etag"] == plain.headers["etag"]
    assert client.get("/topics/world.atom", headers={"Accept-Encoding": "br, *;q=0.5"}).headers[
        "content-encoding"] == "gzip"


def test_unknown_paths_are_404(client: TestClient) -> None:
    for path in ("/topics/nope.atom", "/topics/world.xml", "/topics/..%2Fconfig.atom", "/topics/.hidden.atom",
                 "/topics/world", "/index.html.tmp", "/nothing"):
        assert client.get(path).status_code == 404, path
    assert client.post("/topics/world.atom").status_code == 405


def test_a_republished_file_gets_new_validators(tmp_path: Path, published: Publisher, client: TestClient) -> None:
    before = client.get("/topics/world.atom", headers=IDENTITY)
    grown = TopicFeed(rich_feed().topic, (story(50, article("wire", 50, 500)), *rich_feed().stories))
    time.sleep(0.01)
    assert published.write_all([grown]) == ["world"]
    after = client.get("/topics/world.atom", headers={**IDENTITY, "If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and b"Story 50 from wire" in after.content
    assert after.headers["etag"] != before.headers["etag"]


# -- a real socket ------------------------------------------------------------------------------------


@contextlib.contextmanager
def serving(app: Starlette) -> Iterator[str]:
    """The app under a real uvicorn on 127.0.0.1 (a free port), in a thread; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def test_real_uvicorn_serves_conditional_gzip_and_head(tmp_path: Path) -> None:
    app = create_app(tmp_path / "state" / "public", timedelta(minutes=5))
    with serving(app) as base:
        # Published with the served address as base_url: the feed's self link is where it is fetched from.
        pub = Publisher(make_config(tmp_path, base_url=base), publisher(tmp_path).sources)
        pub.write_all([rich_feed()])
        with httpx.Client(base_url=base, timeout=10) as http:
            response = http.get("/topics/world.atom")  # httpx asks for gzip and decodes it
            assert response.status_code == 200 and response.headers["content-encoding"] == "gzip"
            assert f'href="{base}/topics/world.atom" rel="self"'.encode() in response.content
            assert response.headers["cache-control"] == "public, max-age=300"
            again = http.get("/topics/world.atom", headers={"If-None-Match": response.headers["etag"]})
            assert again.status_code == 304 and again.content == b""
            head = http.head("/topics/world.json", headers=IDENTITY)
            assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 0
            assert http.get("/topics/missing.rss").status_code == 404
    assert os.path.exists(tmp_path / "state" / "public" / "topics" / "world.atom")
