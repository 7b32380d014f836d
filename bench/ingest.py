"""Cold and warm ingest, feeder vs. lemon24/reader, side by side against the loopback farm, in one run.

    pip install -e '.[bench]'          # reader + sgmllib3k
    PYTHONPATH=. python bench/ingest.py --feeds 2000 [--processes 2] [--profile]

Prints one table: the floor (aiohttp fetching every feed, then lxml.etree.fromstring over the same
bodies), feeder (Pipeline.refresh_all into a fresh SQLite store, with the parse executor feeder uses by
default or a pool of --processes), reader (make_reader on a fresh database, update_feeds(workers=...)),
each side's peak RSS (VmHWM of the process that did the work: each side runs in its own subprocess),
and the p99 latency of a topic feed served by feeder's Starlette app under uvicorn in the same event
loop as feeder's cold ingest (as the daemon does), measured by a client in another process.
--profile adds a cProfile of feeder's cold ingest (all three threads: loop, parser, writer).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import multiprocessing
import os
import pstats
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent))
from farm import running_farm
from fetch import _peak_rss_mb, floor_aiohttp

TOPIC = "all"
LATENCY_MAX_REQUESTS = 20_000  # the client stops at this count, or after LATENCY_MAX_SECONDS
LATENCY_MAX_SECONDS = 600.0
LATENCY_PAUSE = 0.01  # between requests: ~100/s at most, a busy reader population, not a load test


def _urls(base: str, feeds: int) -> list[str]:
    return [f"{base}/feed/{i}" for i in range(feeds)]


def _run_child(args: list[str]) -> dict[str, Any]:
    """Run this file as a child; its last stdout line is a JSON result."""
    done = subprocess.run([sys.executable, __file__, *args], check=False, capture_output=True, text=True)
    if done.returncode != 0:
        return {"failed": done.stderr.strip().splitlines()[-5:]}
    lines = done.stdout.strip().splitlines()
    result: dict[str, Any] = json.loads(lines[-1])
    if len(lines) > 1:
        result["output"] = "\n".join(lines[:-1])
    return result


# -- the floor -----------------------------------------------------------------------------------------


def floor(urls: list[str], concurrency: int) -> dict[str, Any]:
    fetch_s, bodies = asyncio.run(floor_aiohttp(urls, concurrency))
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    started = time.perf_counter()
    for body in bodies:
        etree.fromstring(body, parser)
    parse_s = time.perf_counter() - started
    return {"fetch_s": fetch_s, "parse_s": parse_s, "megabytes": sum(map(len, bodies)) / 1e6}


# -- feeder, in a child process ------------------------------------------------------------------------


def _config_text(urls: list[str], concurrency: int) -> str:
    sources = "".join(f'[[source]]\nname = "farm-{i}"\nurl = "{url}"\n' for i, url in enumerate(urls))
    return (f'[feeder]\nstate_dir = "state"\n[fetch]\nconcurrency = {concurrency}\n'
            f'per_host = {concurrency}\n[[topic]]\nslug = "{TOPIC}"\ntitle = "All"\n{sources}')


class _ProfiledThreadPool(ThreadPoolExecutor):
    """A one-thread pool whose thread runs under its own cProfile (a profiler sees one thread only)."""

    instances: ClassVar[list[_ProfiledThreadPool]] = []

    def __init__(self, max_workers: int | None = None, thread_name_prefix: str = "") -> None:
        self.profile = cProfile.Profile()
        super().__init__(max_workers=1, thread_name_prefix=thread_name_prefix, initializer=self.profile.enable)
        _ProfiledThreadPool.instances.append(self)

    def stop_profile(self) -> None:
        self.submit(self.profile.disable).result()  # disabled from inside its own thread


async def _feeder(urls: list[str], concurrency: int, processes: int, profile: bool,
                  farm_pid: int) -> dict[str, Any]:
    import feeder.ingest
    from feeder.config import load_config
    from feeder.daemon import SWITCH_INTERVAL
    from feeder.fetch import Fetcher
    from feeder.ingest import Pipeline, widen_pipes
    from feeder.store import Store

    sys.setswitchinterval(SWITCH_INTERVAL)  # as `feeder run` does
    folder = Path(tempfile.mkdtemp(prefix="feeder-ingest-bench-"))
    (folder / "config.toml").write_text(_config_text(urls, concurrency), encoding="utf-8")
    config = load_config(folder / "config.toml")
    store = Store(config.database)
    fetcher = Fetcher(config.fetch)
    if profile:
        setattr(feeder.ingest, "ThreadPoolExecutor", _ProfiledThreadPool)  # noqa: B010 (the Pipeline's pools)
    pool: Executor | None = None
    if processes:
        pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"))
        widen_pipes(pool)  # as feeder's own executor does
    pipeline = Pipeline(config, store, fetcher, pool)
    result: dict[str, Any] = {}
    try:
        pipeline.publish()  # the topic files exist before serving starts, as after a daemon restart
        if profile:
            result["profile"] = await _profiled_cold(pipeline)
            return result
        async with _serving(config) as topic_url:
            # The client's requests need this loop: wait for it off the loop, in a thread.
            client = await asyncio.to_thread(_latency_client, topic_url)
            started, main_cpu, threads_cpu = time.perf_counter(), time.process_time(), _threads_cpu_s()
            farm_cpu = _process_cpu_s(farm_pid)
            pool_waits = _pool_waits_s(pipeline.parser)
            cold = await pipeline.refresh_all()
            result["cold_s"] = time.perf_counter() - started
            result["cold_main_cpu_s"] = time.process_time() - main_cpu
            result["cold_threads_cpu_s"] = {name: seconds - threads_cpu.get(name, 0.0)
                                            for name, seconds in _threads_cpu_s().items()}
            result["cold_pool_cpu_s"] = _pool_cpu_s(pipeline.parser)
            result["cold_farm_cpu_s"] = _process_cpu_s(farm_pid) - farm_cpu
            result["cold_pool_runqueue_s"] = _pool_waits_s(pipeline.parser) - pool_waits
            result["latency"] = await asyncio.to_thread(_stop_client, client)
        result["entries"] = sum(s.entries_seen for s in store.source_states().values())
        started = time.perf_counter()
        await pipeline.publish_async()  # as the daemon does after an ingest: the topic index is in the peak RSS
        result["publish_s"] = time.perf_counter() - started
        started = time.perf_counter()
        warm = await pipeline.refresh_all()
        result["warm_s"] = time.perf_counter() - started
        result["cold_ok"] = sum(o.outcome in ("new", "unchanged") for o in cold)
        result["warm_304"] = sum(o.outcome == "not-modified" for o in warm)
        result["errors"] = sorted({o.error for o in (*cold, *warm) if o.error})[:3]
        result["pool_peak_rss_mb"] = _pool_peak_rss_mb(pipeline.parser)
    finally:
        await fetcher.aclose()
        pipeline.close()
        store.close()
    result["peak_rss_mb"] = _peak_rss_mb()
    return result


async def _profiled_cold(pipeline: Any) -> str:
    main = cProfile.Profile()
    main.enable()
    await pipeline.refresh_all()
    main.disable()
    stats = pstats.Stats(main, stream=io.StringIO())
    for pool in _ProfiledThreadPool.instances:
        pool.stop_profile()
        stats.add(pool.profile)
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats("cumulative").print_stats(25)
    stats.sort_stats("tottime").print_stats(15)
    return out.getvalue()


def _threads_cpu_s() -> dict[str, float]:
    """User + system CPU seconds of each live thread of this process, by name (Linux; {} elsewhere)."""
    found: dict[str, float] = {}
    for thread in threading.enumerate():
        name = thread.name.rstrip("_0123456789")
        if thread is threading.main_thread():
            name = "event loop"
        elif name == "Thread-":  # unnamed: concurrent.futures' _ExecutorManagerThread (the results' reader)
            name = type(thread).__name__.lstrip("_")
        found[name] = found.get(name, 0.0) + _stat_cpu_s(f"/proc/self/task/{thread.native_id}/stat")
    return found


def _worker_pids(pool: Executor | None) -> list[int]:
    """The parse workers' process ids (none when parsing runs in a thread)."""
    return list(getattr(pool, "_processes", None) or {})


def _pool_cpu_s(pool: Executor | None) -> float:
    """User + system CPU seconds of the parse workers so far."""
    return sum(_process_cpu_s(pid) for pid in _worker_pids(pool))


def _pool_waits_s(pool: Executor | None) -> float:
    """Seconds the parse workers' main threads have spent ready to run but waiting for a core (Linux
    schedstat), so far."""
    total = 0.0
    for pid in _worker_pids(pool):
        try:
            total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
        except OSError:
            continue
    return total


def _process_cpu_s(pid: int) -> float:
    return _stat_cpu_s(f"/proc/{pid}/stat")


def _stat_cpu_s(path: str) -> float:
    """User + system CPU seconds in a /proc stat file (a process's or a thread's); 0 when unreadable."""
    try:
        fields = Path(path).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def _pool_peak_rss_mb(pool: Executor | None) -> float:
    """Sum of the parse workers' VmHWM (they are alive until the pipeline closes)."""
    return sum(_peak_rss_mb(str(pid)) for pid in _worker_pids(pool))


class _serving:
    """feeder's HTTP app under uvicorn, in this event loop, on a free loopback port."""

    def __init__(self, config: Any) -> None:
        import uvicorn

        from feeder.server import create_app

        class Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:  # the bench, not uvicorn, owns Ctrl-C
                yield

        app = create_app(config.public_dir, config.fetch.interval)
        self.server = Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
        self.sock = socket.socket()
        # As uvicorn does for a socket it binds itself: without it every response waits ~40 ms
        # (Nagle on the server, delayed ACK on the client), which swamped the latency measured.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> str:
        self.task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        while not self.server.started:
            await asyncio.sleep(0.02)
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/topics/{TOPIC}.atom"

    async def __aexit__(self, *_: object) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await self.task


def _latency_client(url: str) -> subprocess.Popen[str]:
    client = subprocess.Popen([sys.executable, __file__, "--child", "latency", "--base", url],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert client.stdout is not None
    client.stdout.readline()  # "ready": its first request has been answered
    return client


def _stop_client(client: subprocess.Popen[str]) -> dict[str, Any]:
    out, _ = client.communicate("", timeout=60)
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def latency_loop(url: str) -> dict[str, Any]:
    """GET the topic feed until stdin closes (the ingest ended), or the count or time bound is reached."""
    import httpx

    stop = threading.Event()

    def wait_for_eof() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=wait_for_eof, daemon=True).start()
    timings: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.monotonic() + LATENCY_MAX_SECONDS
    with httpx.Client(timeout=30) as client:
        client.get(url)
        print("ready", flush=True)
        cpu_at_ready = time.process_time()  # the CPU reported is the loop's, not the imports'
        while not stop.is_set() and len(timings) < LATENCY_MAX_REQUESTS and time.monotonic() < deadline:
            started = time.perf_counter()
            status = client.get(url).status_code
            timings.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
            time.sleep(LATENCY_PAUSE)
    return {**_latency_summary(timings, statuses), "cpu_s": time.process_time() - cpu_at_ready}


def _latency_summary(timings: list[float], statuses: dict[int, int]) -> dict[str, Any]:
    if len(timings) < 2:
        return {"requests": len(timings), "statuses": statuses}
    cuts = statistics.quantiles(timings, n=100, method="inclusive")
    return {"requests": len(timings), "statuses": statuses, "p50_ms": cuts[49] * 1000,
            "p99_ms": cuts[98] * 1000, "max_ms": max(timings) * 1000}


# -- reader, in a child process ------------------------------------------------------------------------


def reader_run(urls: list[str], workers: int) -> dict[str, Any]:
    try:
        from reader import make_reader
    except ImportError as exc:
        return {"missing": f"reader is not installed ({exc}): pip install -e '.[bench]'"}
    folder = Path(tempfile.mkdtemp(prefix="reader-ingest-bench-"))
    reader = make_reader(str(folder / "reader.sqlite"))
    for url in urls:
        reader.add_feed(url)
    started = time.perf_counter()
    reader.update_feeds(workers=workers)
    cold_s = time.perf_counter() - started
    entries = reader.get_entry_counts().total
    cold_broken = reader.get_feed_counts().broken
    started = time.perf_counter()
    reader.update_feeds(workers=workers, scheduled=False)  # every feed now, not only those due
    warm_s = time.perf_counter() - started
    broken = reader.get_feed_counts().broken
    reader.close()
    return {"cold_s": cold_s, "warm_s": warm_s, "entries": entries, "broken": max(cold_broken or 0, broken or 0),
            "peak_rss_mb": _peak_rss_mb()}


# -- report --------------------------------------------------------------------------------------------


def _rate(count: float, seconds: float | None) -> str:
    return f"{count / seconds:9.0f}" if seconds else "      n/a"


def _row(name: str, feeds: int, run: dict[str, Any], rss: str) -> str:
    cold, warm, entries = run.get("cold_s"), run.get("warm_s"), run.get("entries", 0)
    cold_text = f"{cold:8.2f}" if cold else "     n/a"
    warm_text = f"{warm:8.2f}" if warm else "     n/a"
    return (f"{name:34s} {cold_text} {_rate(feeds, cold)} {_rate(entries, cold)} {warm_text} "
            f"{_rate(feeds, warm)} {rss:>14s}")


def report(args: argparse.Namespace, base_floor: dict[str, Any], ours: dict[str, Any],
           theirs: dict[str, Any]) -> None:
    feeds = args.feeds
    floor_s = base_floor["fetch_s"] + base_floor["parse_s"]
    where = f"{args.processes} processes" if args.processes else "default executor"
    print(f"\n{feeds} feeds, {base_floor['megabytes']:.0f} MB, concurrency {args.concurrency}; "
          f"feeder parses in its {where}; reader workers={args.reader_workers}\n")
    print(f"{'':34s} {'cold s':>8s} {'feeds/s':>9s} {'entries/s':>9s} {'warm s':>8s} {'feeds/s':>9s} "
          f"{'peak RSS MB':>14s}")
    print(f"{'floor: aiohttp fetch':34s} {base_floor['fetch_s']:8.2f} {_rate(feeds, base_floor['fetch_s'])}")
    print(f"{'floor: lxml.etree.fromstring':34s} {base_floor['parse_s']:8.2f} {_rate(feeds, base_floor['parse_s'])}")
    print(f"{'floor: fetch + parse':34s} {floor_s:8.2f} {_rate(feeds, floor_s)}")
    pool = f"+{ours['pool_peak_rss_mb']:.0f}" if ours.get("pool_peak_rss_mb") else ""
    print(_row("feeder", feeds, ours, f"{ours.get('peak_rss_mb', 0):.0f}{pool}"))
    print(_row("reader", feeds, theirs, f"{theirs.get('peak_rss_mb', 0):.0f}"))
    print()
    if ours.get("cold_s") and theirs.get("cold_s"):
        print(f"feeder / reader feeds/s: cold {theirs['cold_s'] / ours['cold_s']:.1f}x (goal >= 10x), "
              f"warm {theirs['warm_s'] / ours['warm_s']:.1f}x (goal >= 3x)")
    if ours.get("cold_s"):
        print(f"feeder cold / floor: {ours['cold_s'] / floor_s:.1f}x (goal <= 8x)")
        latency = ours.get("latency", {})
        if "p99_ms" in latency:
            print(f"topic feed during feeder's cold ingest: p99 {latency['p99_ms']:.1f} ms, p50 "
                  f"{latency['p50_ms']:.1f} ms, max {latency['max_ms']:.1f} ms over {latency['requests']} "
                  f"requests {latency['statuses']} (goal p99 < 100 ms)")
        print(f"feeder publish after the cold ingest (one topic over every article): {ours.get('publish_s', 0):.2f} s")
        print(f"feeder cold CPU: main process {ours.get('cold_main_cpu_s', 0):.1f} s (event loop, store "
              f"writer, dedup), parse workers {ours.get('cold_pool_cpu_s', 0):.1f} s (and "
              f"{ours.get('cold_pool_runqueue_s', 0):.1f} s waiting for a core)")
        threads = sorted(ours.get("cold_threads_cpu_s", {}).items(), key=lambda item: -item[1])
        print("feeder cold CPU by thread of the main process: "
              + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in threads if seconds >= 0.05))
        busy = (ours.get("cold_main_cpu_s", 0) + ours.get("cold_pool_cpu_s", 0) + ours.get("cold_farm_cpu_s", 0)
                + latency.get("cpu_s", 0))
        print(f"CPU during the cold ingest: farm {ours.get('cold_farm_cpu_s', 0):.1f} s, latency client "
              f"{latency.get('cpu_s', 0):.1f} s; with feeder's, {busy / ours['cold_s']:.2f} of "
              f"{os.cpu_count()} cores busy")
        print(f"feeder: entries {ours.get('entries')}, cold ok {ours.get('cold_ok')}, warm 304 "
              f"{ours.get('warm_304')}, errors {ours.get('errors')}")
    for side, run in (("feeder", ours), ("reader", theirs)):
        for key in ("failed", "missing"):
            if key in run:
                print(f"{side}: {key}: {run[key]}")
    if "entries" in theirs:
        print(f"reader: entries {theirs['entries']}, broken feeds {theirs.get('broken')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--processes", type=int, default=0, help="feeder parses in N processes (0: its default)")
    parser.add_argument("--reader-workers", type=int, default=20)
    parser.add_argument("--skip-reader", action="store_true")
    parser.add_argument("--profile", action="store_true", help="also profile feeder's cold ingest")
    parser.add_argument("--profile-feeds", type=int, default=200,
                        help="feeds in the profiled run (cProfile slows feeder ~2.5x)")
    parser.add_argument("--child", choices=("feeder", "reader", "latency"), help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    parser.add_argument("--farm-pid", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args)))
        return
    with running_farm(args.feeds) as farm:
        print(f"farm: {args.feeds} feeds at {farm.base}", flush=True)
        common = ["--feeds", str(args.feeds), "--concurrency", str(args.concurrency), "--farm-pid", str(farm.pid)]
        base_floor = floor(farm.urls(), args.concurrency)
        ours = _run_child(["--child", "feeder", "--base", farm.base, *common, "--processes", str(args.processes)])
        theirs: dict[str, Any] = {"missing": "skipped (--skip-reader)"}
        if not args.skip_reader:
            theirs = _run_child(["--child", "reader", "--base", farm.base, *common,
                                 "--reader-workers", str(args.reader_workers)])
        profile: dict[str, Any] = {}
        if args.profile:
            profile = _run_child(["--child", "feeder", "--base", farm.base, "--feeds", str(min(args.profile_feeds,
                                 args.feeds)), "--concurrency", str(args.concurrency), "--profile"])
    report(args, base_floor, ours, theirs)
    if profile:
        print(f"\ncProfile of feeder's cold ingest of {min(args.profile_feeds, args.feeds)} feeds "
              "(event loop + parse thread + store thread):")
        print(profile.get("profile") or profile)


def _child(args: argparse.Namespace) -> dict[str, Any]:
    runs: dict[str, Callable[[], dict[str, Any]]] = {
        "feeder": lambda: asyncio.run(_feeder(_urls(args.base, args.feeds), args.concurrency, args.processes,
                                              args.profile, args.farm_pid)),
        "reader": lambda: reader_run(_urls(args.base, args.feeds), args.reader_workers),
        "latency": lambda: latency_loop(args.base),
    }
    return runs[args.child]()


if __name__ == "__main__":
    main()
