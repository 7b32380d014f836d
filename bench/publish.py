"""Publishing and serving speed.

    cd <repo> && PYTHONPATH=$PWD .venv/bin/python bench/publish.py [--topics 100] [--entries 200] [--profile]

1. Publishing N topics x M entries (3 formats each, plus OPML, index, icon) into a fresh folder:
   cold (nothing rendered yet in this process), unchanged (same process; then fresh equal story objects,
   as the daemon reads them from the store), one new story in every topic, a restart (new process
   state, the files on disk already current), then, in the first process again, one more new story with
   the other stories as fresh objects (the long-running daemon's usual publish). Wall and CPU (process)
   time: the machine may be shared. Article HTML is what the store holds, already sanitised at ingest
   (normalise) and, as in the daemon, trusted without a check because the store's sanitiser stamp is
   current (Store.markup_current); --unstamped checks every entry as a publisher must when the stamp could
   not be brought current; --unsanitised (implies --unstamped) gives it markup an older sanitiser left, which
   it must sanitise again.
2. Requests/s for one topic feed served by uvicorn on 127.0.0.1 (in a child process, so the client's
   Python does not share its GIL), with and without If-None-Match; httpx with a bounded worker pool,
   bounded in request count and seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import resource
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

import httpx
from httpx_aiohttp import AiohttpTransport

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feeder.config import TopicConfig
from feeder.publish import Publisher, RenderCache, TopicFeed
from tests.test_publish import SOURCES, article, make_config, story

# As normalise stores it: sanitised, so links carry the rel nh3 adds.
PARAGRAPH = ("<p>Officials met for a third day of talks on Thursday, with negotiators from both sides saying "
             "progress had been made on <a href=\"https://example.org/background\" rel=\"noopener noreferrer\">"
             "the framework</a>.</p>")
UNSANITISED = PARAGRAPH.replace(' rel="noopener noreferrer"', "")
SERVER = """
import sys, uvicorn
from datetime import timedelta
from pathlib import Path
from feeder.server import create_app
app = create_app(Path(sys.argv[1]), timedelta(minutes=30))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False, lifespan="off")
"""


def make_feeds(topics: int, entries: int, paragraph: str = PARAGRAPH) -> list[TopicFeed]:
    outlets = list(SOURCES)
    feeds = []
    for t in range(topics):
        stories = []
        for e in range(entries):
            n = t * entries + e
            members = [article(outlets[(n + k) % 3], n * 10 + k, entries - e + k,
                               content=f"<p>Story {n}, article {k}.</p>" + paragraph * 6,
                               title=f"Topic {t}: headline number {e} about the talks")
                       for k in range(1 + n % 3)]
            stories.append(story(n, *members))
        feeds.append(TopicFeed(TopicConfig(f"topic-{t}", f"Topic {t}"), tuple(stories)))
    return feeds


def timed(label: str, publish: Publisher, feeds: list[TopicFeed]) -> None:
    started, cpu = time.perf_counter(), time.process_time()
    changed = publish.write_all(feeds)
    print(f"  {label:<44} {time.perf_counter() - started:7.3f} s  (CPU {time.process_time() - cpu:6.3f} s, "
          f"{len(changed)} topics rewritten)")


def profiled(label: str, publish: Publisher, feeds: list[TopicFeed]) -> None:
    """``timed`` under cProfile (which slows Python calls, so its times are not the row's), then where the
    time went: the functions with most time of their own, and the kernel's share with its page faults."""
    profile = cProfile.Profile()
    before = resource.getrusage(resource.RUSAGE_SELF)
    profile.runcall(timed, f"{label} (profiled)", publish, feeds)
    after = resource.getrusage(resource.RUSAGE_SELF)
    print(f"    user {after.ru_utime - before.ru_utime:.3f} s, system {after.ru_stime - before.ru_stime:.3f} s, "
          f"{after.ru_minflt - before.ru_minflt} minor page faults")
    pstats.Stats(profile, stream=sys.stdout).sort_stats("tottime").print_stats(25)


def bench_publish(folder: Path, topics: int, entries: int, unsanitised: bool, profile: bool,
                  stamped: bool = False) -> list[TopicFeed]:
    feeds = make_feeds(topics, entries, UNSANITISED if unsanitised else PARAGRAPH)
    config = make_config(folder)
    cache = RenderCache()
    html = "unsanitised" if unsanitised else "sanitised at ingest" + (", trusted (stamp)" if stamped else "")
    publisher = partial(Publisher, markup_trusted=stamped)
    print(f"publishing {topics} topics x {entries} entries (Atom + RSS + JSON Feed each, fsync'd; HTML {html}):")
    (profiled if profile else timed)("cold: first publish, nothing cached", publisher(config, SOURCES, cache), feeds)
    timed("unchanged, same process", publisher(config, SOURCES, cache), feeds)
    # The daemon reads its stories from the store at each publish: equal values, new objects.
    fresh = make_feeds(topics, entries, UNSANITISED if unsanitised else PARAGRAPH)
    timed("unchanged, fresh story objects (as stored)", publisher(config, SOURCES, cache), fresh)
    grown = [replace(f, stories=(story(10**7 + i, article("wire", 10**7 + i, 10**4)), *f.stories[:-1]))
             for i, f in enumerate(feeds)]
    timed("one new story in every topic", publisher(config, SOURCES, cache), grown)
    timed("restart: new process, files already current", publisher(config, SOURCES, RenderCache()), grown)
    # The long-running daemon's usual publish: one more story, the others read back from the store as new,
    # equal objects.
    regrown = [replace(f, stories=(story(2 * 10**7 + i, article("wire", 2 * 10**7 + i, 2 * 10**4)),
                                   story(10**7 + i, article("wire", 10**7 + i, 10**4)), *f.stories[:-2]))
               for i, f in enumerate(fresh)]
    timed("daemon: one more new story, fresh objects", publisher(config, SOURCES, cache), regrown)
    size = (config.public_dir / "topics" / "topic-0.atom").stat().st_size
    print(f"  one topic's Atom file: {size / 1024:.0f} KiB")
    return grown


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def load(url: str, headers: dict[str, str], count: int, seconds: float, workers: int,
               aiohttp: bool) -> tuple[int, float]:
    """``count`` GETs (or as many as fit in ``seconds``) from ``workers`` tasks sharing one client."""
    done = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    transport = AiohttpTransport(limits=limits) if aiohttp else None
    async with httpx.AsyncClient(limits=limits, timeout=10, transport=transport) as client:

        async def worker() -> None:
            nonlocal done
            while done < count and time.monotonic() < deadline:
                done += 1
                response = await client.get(url, headers=headers)
                await response.aread()
                assert response.status_code in (200, 304), response.status_code

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(workers)))
        return done, time.monotonic() - started


def bench_serving(public: Path, count: int, seconds: float, workers: int) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(public), str(port)], env=env)
    url = f"http://127.0.0.1:{port}/topics/topic-0.atom"
    try:
        etag = wait_for(url)
        print(f"serving {url.rsplit('/', 1)[1]} from uvicorn (child process), {workers} concurrent "
              f"keep-alive connections, at most {count} requests or {seconds:.0f} s each:")
        # httpx's own transport is itself the bottleneck on loopback; its aiohttp transport shows the server.
        for client, aiohttp in (("httpx", False), ("httpx+aiohttp", True)):
            for label, headers in (("GET 200, gzip", {"Accept-Encoding": "gzip"}),
                                   ("GET 304, If-None-Match", {"Accept-Encoding": "gzip", "If-None-Match": etag})):
                done, elapsed = asyncio.run(load(url, headers, count, seconds, workers, aiohttp))
                print(f"  {client:<14} {label:<24} {done / elapsed:7.0f} requests/s  ({done} in {elapsed:.2f} s)")
    finally:
        server.terminate()
        server.wait(10)


def wait_for(url: str) -> str:
    deadline = time.monotonic() + 20
    while True:
        try:
            return httpx.get(url, headers={"Accept-Encoding": "gzip"}).headers["etag"]
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--topics", type=int, default=100)
    parser.add_argument("--entries", type=int, default=200)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--unsanitised", action="store_true", help="article HTML not in the sanitiser's shape")
    parser.add_argument("--unstamped", action="store_true", help="markup checked (no current stamp)")
    parser.add_argument("--no-serving", action="store_true", help="only the publishing part")
    parser.add_argument("--profile", action="store_true", help="the cold publish under cProfile, and its page faults")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="feeder-bench-") as folder:
        bench_publish(Path(folder), args.topics, args.entries, args.unsanitised, args.profile,
                      stamped=not (args.unstamped or args.unsanitised))
        if not args.no_serving:
            bench_serving(Path(folder) / "state" / "public", args.requests, args.seconds, args.workers)


if __name__ == "__main__":
    main()
