"""A loopback feed farm: N deterministic feeds of realistic size on 127.0.0.1, with ETag/Last-Modified and 304.

    python bench/farm.py --feeds 2000 --port 0     # prints its base URL, serves until interrupted

or from a benchmark::

    with running_farm(2000) as farm:
        urls = farm.urls()

Feed ``i`` is at ``/feed/{i}``: even ones RSS 2.0, odd ones Atom 1.0, 20-50 entries of 1-5 KB of HTML
each, the same bytes on every run. About one headline in ten is shared with other feeds, as wire stories
are, so deduplication has work to do. Every body is built before the URL is printed, so the farm spends
its CPU on serving, not on writing feeds.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

from aiohttp import web

WORDS = ("market", "minister", "council", "energy", "river", "election", "summit", "storm", "court", "budget",
         "harbour", "report", "vaccine", "school", "rail", "strike", "festival", "museum", "drought", "league",
         "treaty", "border", "satellite", "reform", "inflation", "wildfire", "senate", "airport", "bridge",
         "harvest", "coalition", "protest", "verdict", "orbit", "archive")
EPOCH = datetime(2026, 11, 1, tzinfo=UTC)
LAST_MODIFIED = format_datetime(EPOCH, usegmt=True)
SHARED_HEADLINES = 300  # pool of wire headlines several feeds run


@dataclass(frozen=True, slots=True)
class Document:
    body: bytes
    content_type: str
    etag: str


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choices(WORDS, k=words)).capitalize() + "."


def _headline(feed: int, entry: int, rng: random.Random) -> str:
    if rng.random() < 0.1:
        shared = random.Random(rng.randrange(SHARED_HEADLINES))
        return _sentence(shared, 8)
    return f"{_sentence(rng, 7)[:-1]} ({feed}-{entry})"


def _html(rng: random.Random) -> str:
    size = rng.randint(1024, 5 * 1024)
    parts: list[str] = []
    while sum(map(len, parts)) < size:
        parts.append(f"<p>{_sentence(rng, rng.randint(12, 30))} <a href=\"https://example.com/"
                     f"{rng.randrange(10**6)}\">more</a> <em>{rng.choice(WORDS)}</em></p>")
    return "".join(parts)


def build_feed(feed: int) -> Document:
    """Feed number ``feed``, the same bytes every time."""
    rng = random.Random(feed)
    entries = []
    for n in range(rng.randint(20, 50)):
        when = EPOCH - timedelta(minutes=37 * n + feed % 60)
        entries.append((_headline(feed, n, rng), f"https://farm.example/{feed}/{n}", when, _html(rng)))
    if feed % 2:
        return Document(_atom(feed, entries), "application/atom+xml; charset=utf-8", f'"farm-{feed}-1"')
    return Document(_rss(feed, entries), "application/rss+xml; charset=utf-8", f'"farm-{feed}-1"')


Entry = tuple[str, str, datetime, str]


def _rss(feed: int, entries: list[Entry]) -> bytes:
    items = "".join(
        f"<item><title>{escape(title)}</title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate><description>{escape(html)}</description></item>"
        for title, link, when, html in entries
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Farm feed {feed}</title>'
            f"<link>https://farm.example/{feed}/</link><description>Feed {feed}</description>{items}"
            "</channel></rss>").encode()


def _atom(feed: int, entries: list[Entry]) -> bytes:
    items = "".join(
        f'<entry><title>{escape(title)}</title><link href="{link}"/><id>{link}</id>'
        f"<updated>{when.isoformat()}</updated><content type=\"html\">{escape(html)}</content></entry>"
        for title, link, when, html in entries
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>Farm feed {feed}</title><id>urn:farm:{feed}</id><updated>{EPOCH.isoformat()}</updated>"
            f'<link href="https://farm.example/{feed}/"/><author><name>Farm</name></author>{items}'
            "</feed>").encode()


def make_app(feeds: int) -> web.Application:
    documents = [build_feed(i) for i in range(feeds)]

    async def serve(request: web.Request) -> web.Response:
        try:
            document = documents[int(request.match_info["number"])]
        except (ValueError, IndexError):
            raise web.HTTPNotFound() from None
        headers = {"ETag": document.etag, "Last-Modified": LAST_MODIFIED}
        if _not_modified(request, document.etag):
            return web.Response(status=304, headers=headers)
        return web.Response(body=document.body, headers={**headers, "Content-Type": document.content_type})

    app = web.Application()
    app.router.add_get("/feed/{number}", serve)
    return app


def _not_modified(request: web.Request, etag: str) -> bool:
    if "If-None-Match" in request.headers:  # RFC 9110: when both are sent, the ETag decides
        return etag in [tag.strip() for tag in request.headers["If-None-Match"].split(",")]
    return request.headers.get("If-Modified-Since") == LAST_MODIFIED


async def serve_forever(feeds: int, port: int) -> None:
    runner = web.AppRunner(make_app(feeds), access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    await web.SockSite(runner, sock, backlog=1024).start()
    print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


@dataclass(frozen=True, slots=True)
class Farm:
    base: str
    feeds: int
    pid: int  # of the serving process: a benchmark on a small machine counts its CPU too

    def urls(self) -> list[str]:
        return [f"{self.base}/feed/{i}" for i in range(self.feeds)]


@contextmanager
def running_farm(feeds: int = 2000) -> Iterator[Farm]:
    """The farm in a subprocess (its own core, its own GIL), stopped on exit."""
    process = subprocess.Popen([sys.executable, __file__, "--feeds", str(feeds), "--port", "0"],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        base = process.stdout.readline().strip()
        if not base.startswith("http://"):
            raise RuntimeError(f"the farm did not start (exit {process.poll()})")
        yield Farm(base, feeds, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--port", type=int, default=0, help="0: any free port (the URL is printed)")
    args = parser.parse_args()
    with suppress(KeyboardInterrupt):
        asyncio.run(serve_forever(args.feeds, args.port))


if __name__ == "__main__":
    main()
