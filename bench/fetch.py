"""Refresh throughput against the loopback farm: feeder's Pipeline vs. the floor of fetching alone.

    PYTHONPATH=. python bench/fetch.py --feeds 2000

Prints, per HTTP transport, a cold refresh (every feed 200, parsed and stored) and a warm one (every feed
304) through ``Pipeline.refresh_all`` with a temporary SQLite store, and the process's peak RSS; then
the floor: plain httpx, plain aiohttp and httpx over httpx-aiohttp's transport fetching the same URLs
with no parsing; then the single-thread parse time. Each Pipeline run is its own process, so that peak
RSS is its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

sys.path.insert(0, str(Path(__file__).resolve().parent))
from farm import running_farm

TRANSPORTS = ("httpx", "aiohttp")


def make_transport(name: str, concurrency: int) -> httpx.AsyncBaseTransport:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    if name == "aiohttp":
        return AiohttpTransport(limits=limits)
    return httpx.AsyncHTTPTransport(limits=limits)


# -- feeder's pipeline, in a child process -------------------------------------------------------------


def _config_text(urls: list[str], concurrency: int) -> str:
    sources = "".join(f'[[source]]\nname = "farm-{i}"\nurl = "{url}"\n' for i, url in enumerate(urls))
    return (f'[feeder]\nstate_dir = "state"\n[fetch]\nconcurrency = {concurrency}\n'
            f"per_host = {concurrency}\n{sources}")  # the whole farm is one host


async def _pipeline(urls: list[str], transport: str, concurrency: int, processes: int) -> dict[str, Any]:
    from feeder.config import load_config
    from feeder.fetch import Fetcher
    from feeder.ingest import Pipeline
    from feeder.store import Store

    folder = Path(tempfile.mkdtemp(prefix="feeder-bench-"))
    (folder / "config.toml").write_text(_config_text(urls, concurrency), encoding="utf-8")
    config = load_config(folder / "config.toml")
    store = Store(config.database)
    fetcher = Fetcher(config.fetch, transport=make_transport(transport, concurrency))
    cpu = _count_cpu(store)
    # One thread unless asked: the CPU counters below wrap the parse functions, which a process cannot take.
    parser: Executor = (ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"))
                        if processes else ThreadPoolExecutor(1, thread_name_prefix="feeder-parse"))
    pipeline = Pipeline(config, store, fetcher, parser)
    try:
        started = time.perf_counter()
        cold = await pipeline.refresh_all()
        cold_seconds = time.perf_counter() - started
        entries = sum(s.entries_seen for s in store.source_states().values())
        started = time.perf_counter()
        warm = await pipeline.refresh_all()
        warm_seconds = time.perf_counter() - started
    finally:
        await fetcher.aclose()
        pipeline.close()
        store.close()
    return {
        "cold_s": cold_seconds, "warm_s": warm_seconds, "entries": entries,
        "cold_ok": sum(o.outcome in ("new", "unchanged") for o in cold),
        "warm_304": sum(o.outcome == "not-modified" for o in warm),
        "errors": sorted({o.error for o in (*cold, *warm) if o.error})[:3],
        "peak_rss_mb": _peak_rss_mb(),
        "parse_cpu_s": cpu["parse"], "store_cpu_s": cpu["store"],
    }


def _count_cpu(store: Any) -> dict[str, float]:
    """Thread CPU seconds spent in read_feed (parse, normalise, tokenise titles) and Store.ingest_many during
    the run (cold + warm).

    Only meaningful when parsing runs in a thread: a process pool's CPU is not seen here.
    """
    import feeder.ingest

    spent = {"parse": 0.0, "store": 0.0}

    def counted(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            started = time.thread_time()
            try:
                return func(*args)
            finally:
                spent[name] += time.thread_time() - started
        return run

    feeder.ingest.read_feed = counted("parse", feeder.ingest.read_feed)
    store.ingest_many = counted("store", store.ingest_many)  # Store.ingest goes through it too
    return spent


def _peak_rss_mb(process: str = "self") -> float:
    """VmHWM of this process (or of the pid given), not ru_maxrss: Linux carries ru_maxrss across exec,
    so a child would report its parent's. 0 for another process whose status cannot be read."""
    try:
        status = Path(f"/proc/{process}/status").read_text()
    except OSError:
        status = ""
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 if process == "self" else 0.0


def run_pipeline_child(base: str, feeds: int, transport: str, concurrency: int, processes: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", transport, "--base", base, "--feeds", str(feeds),
               "--concurrency", str(concurrency), "--parse-processes", str(processes)]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


# -- the floor: fetching alone -------------------------------------------------------------------------


async def _bounded(urls: list[str], concurrency: int, get: Callable[[str], Awaitable[bytes]]) -> list[bytes]:
    gate = asyncio.Semaphore(concurrency)  # see dependencies.md: unbounded, httpx's pool collapses

    async def one(url: str) -> bytes:
        async with gate:
            return await get(url)

    return list(await asyncio.gather(*(one(u) for u in urls)))


async def floor_httpx(urls: list[str], concurrency: int, transport: str) -> tuple[float, list[bytes]]:
    async with httpx.AsyncClient(transport=make_transport(transport, concurrency)) as client:
        async def get(url: str) -> bytes:
            return (await client.get(url)).content

        started = time.perf_counter()
        bodies = await _bounded(urls, concurrency, get)
        return time.perf_counter() - started, bodies


async def floor_aiohttp(urls: list[str], concurrency: int) -> tuple[float, list[bytes]]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        async def get(url: str) -> bytes:
            async with session.get(url) as response:
                return await response.read()

        started = time.perf_counter()
        bodies = await _bounded(urls, concurrency, get)
        return time.perf_counter() - started, bodies


def parse_seconds(urls: list[str], bodies: list[bytes], every: int) -> float:
    """Single-thread parse + normalise time for all feeds, measured on every ``every``-th one."""
    from datetime import UTC, datetime

    from feeder.ingest import read_feed

    now = datetime.now(UTC)
    started = time.perf_counter()
    for url, body in list(zip(urls, bodies, strict=True))[::every]:
        read_feed(body, url, "application/xml; charset=utf-8", "bench", now)
    return (time.perf_counter() - started) * every


# -- report ------------------------------------------------------------------------------------------


def _rate(count: float, seconds: float) -> str:
    return f"{count / seconds:8.0f}/s" if seconds else "     n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--transport", choices=(*TRANSPORTS, "both"), default="both")
    parser.add_argument("--parse-sample", type=int, default=4, help="parse every Nth feed, scale up")
    parser.add_argument("--parse-processes", type=int, default=0,
                        help="parse in a pool of N processes (0: the Pipeline's default thread)")
    parser.add_argument("--child", choices=TRANSPORTS, help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        urls = [f"{args.base}/feed/{i}" for i in range(args.feeds)]
        print(json.dumps(asyncio.run(_pipeline(urls, args.child, args.concurrency, args.parse_processes))))
        return

    transports = TRANSPORTS if args.transport == "both" else (args.transport,)
    with running_farm(args.feeds) as farm:
        urls = farm.urls()
        print(f"farm: {args.feeds} feeds at {farm.base}, concurrency {args.concurrency}")
        floors: dict[str, float] = {}
        floors["httpx (own transport)"], _ = asyncio.run(floor_httpx(urls, args.concurrency, "httpx"))
        floors["httpx + AiohttpTransport"], _ = asyncio.run(floor_httpx(urls, args.concurrency, "aiohttp"))
        floors["aiohttp"], bodies = asyncio.run(floor_aiohttp(urls, args.concurrency))
        megabytes = sum(map(len, bodies)) / 1e6
        parse = parse_seconds(urls, bodies, args.parse_sample)
        del bodies
        runs = {t: run_pipeline_child(farm.base, args.feeds, t, args.concurrency, args.parse_processes)
                for t in transports}

    print(f"\nfloor, fetch only ({megabytes:.0f} MB, no parsing):")
    for name, seconds in floors.items():
        print(f"  {name:26s} {seconds:6.2f} s  {_rate(args.feeds, seconds)} feeds")
    print(f"parse + normalise, 1 thread (every {args.parse_sample}th feed, scaled): {parse:6.2f} s")
    for transport, run in runs.items():
        floor = floors["aiohttp" if transport == "aiohttp" else "httpx (own transport)"]
        where = f"{args.parse_processes} processes" if args.parse_processes else "1 thread"
        print(f"\nfeeder Pipeline, transport {transport}, parsing in {where}:")
        print(f"  cold (200) {run['cold_s']:6.2f} s  {_rate(args.feeds, run['cold_s'])} feeds "
              f"{_rate(run['entries'], run['cold_s'])} entries  ok={run['cold_ok']}")
        print(f"  warm (304) {run['warm_s']:6.2f} s  {_rate(args.feeds, run['warm_s'])} feeds  "
              f"304={run['warm_304']}")
        print(f"  cold / (floor {floor:.2f} s + parse {parse:.2f} s) = {run['cold_s'] / (floor + parse):.2f}x"
              f"   peak RSS {run['peak_rss_mb']:.0f} MB")
        if not args.parse_processes:
            print(f"  CPU inside the cold+warm runs: parse+normalise {run['parse_cpu_s']:.2f} s, "
                  f"store ingest {run['store_cpu_s']:.2f} s; cold / (floor + both) = "
                  f"{run['cold_s'] / (floor + run['parse_cpu_s'] + run['store_cpu_s']):.2f}x")
        if run["errors"]:
            print(f"  errors: {run['errors']}")


if __name__ == "__main__":
    main()
