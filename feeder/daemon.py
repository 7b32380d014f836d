"""`feeder run`: one asyncio loop with the scheduler jobs, the HTTP server and the signal handlers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Generator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from feeder.config import Config, ConfigError, SourceConfig, load_config
from feeder.fetch import Fetcher
from feeder.ingest import Pipeline, RefreshOutcome
from feeder.metrics import Metrics
from feeder.publish import hub_topics, ping_hub, remove_temporary_files
from feeder.server import create_app
from feeder.status import source_status
from feeder.store import Store
from feeder.topics import check_topics

log = logging.getLogger("feeder.daemon")
POLL_EVERY = 5.0  # seconds between looks for due sources
PUBLISH_DELAY = 1.0  # seconds a burst of refreshes gets before publishing
SHUTDOWN_GRACE = 10.0  # seconds in-flight fetches get to finish on SIGTERM
# The loop serves HTTP beside the store writer's thread and the parse pool's threads, under one GIL: at
# Python's default 5 ms a busy writer kept the loop waiting that long at each hand-over. bench/ingest.py
# (which sets the same) --feeds 10000, one run each: topic feed p99 during the cold ingest 109 -> 60 ms,
# cold ingest 71.0 -> 72.5 s (within the runs' noise).
SWITCH_INTERVAL = 0.001  # seconds


def notify(message: str) -> None:
    """sd_notify(3) in a few lines: a datagram to $NOTIFY_SOCKET, silently nothing outside systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock, contextlib.suppress(OSError):
        sock.connect(address)
        sock.sendall(message.encode())


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the daemon owns SIGTERM, SIGINT and SIGHUP."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class Daemon:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.store = Store(config.database)
        self.fetcher = Fetcher(config.fetch)
        self.pipeline = Pipeline(config, self.store, self.fetcher)
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.running: dict[str, asyncio.Task[RefreshOutcome]] = {}
        self.stopping = asyncio.Event()
        self.dirty = False
        self.publishing: asyncio.Task[None] | None = None
        self.last_progress = time.monotonic()
        self.server: _Server | None = None
        self.metrics = Metrics()
        self.pings: set[asyncio.Task[list[str]]] = set()  # WebSub pings in flight (kept from the GC)

    # -- lifecycle -----------------------------------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.stopping.set)
        loop.add_signal_handler(signal.SIGINT, self.stopping.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self.reload()))
        remove_temporary_files(self.config.public_dir)
        self._schedule()
        self.scheduler.start()
        self.server = self._make_server()
        serving = asyncio.create_task(self.server.serve())
        while not self.server.started and not serving.done():
            await asyncio.sleep(0.05)
        if serving.done():
            self.scheduler.shutdown(wait=False)
            await serving  # re-raises why the server could not start (port taken …)
            raise SystemExit(f"server on {self.config.server.host}:{self.config.server.port} did not start")
        log.info("serving %s on http://%s:%d with %d sources, %d topics", self.config.path,
                 self.config.server.host, self.config.server.port, len(self.config.sources),
                 len(self.config.topics))
        self.publish_soon()  # topics may have changed while feeder was down
        notify("READY=1")
        await self.stopping.wait()
        await self._shutdown(serving)

    async def _shutdown(self, serving: asyncio.Task[None]) -> None:
        notify("STOPPING=1")
        log.info("stopping: %d fetches in flight", len(self.running))
        self.scheduler.shutdown(wait=False)
        if self.running:
            _done, pending = await asyncio.wait(self.running.values(), timeout=SHUTDOWN_GRACE)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self.publishing is not None:
            self.publishing.cancel()
            await asyncio.gather(self.publishing, return_exceptions=True)
        if self.dirty:
            await self.pipeline.publish_async()
        assert self.server is not None
        self.server.should_exit = True
        await serving
        await self.fetcher.aclose()
        self.pipeline.close()
        self.store.close()
        log.info("stopped")

    def _make_server(self) -> _Server:
        app = create_app(self.config.public_dir, self.config.fetch.interval, status=self.status,
                         healthy=self.healthy, metrics=self.metrics.render)
        server_config = uvicorn.Config(app, host=self.config.server.host, port=self.config.server.port,
                                       log_level="warning", access_log=False, lifespan="off")
        return _Server(server_config)

    def _schedule(self) -> None:
        self.scheduler.add_job(self.poll, "interval", seconds=POLL_EVERY, jitter=1, id="poll",
                               next_run_time=datetime.now(UTC), max_instances=1, coalesce=True)
        if os.environ.get("WATCHDOG_USEC"):
            every = max(int(os.environ["WATCHDOG_USEC"]) / 2e6, 1.0)
            self.scheduler.add_job(self.watchdog, "interval", seconds=every, id="watchdog")
        if self.config.keep:
            self.scheduler.add_job(self.prune, "interval", hours=1, id="prune",
                                   next_run_time=datetime.now(UTC) + timedelta(minutes=1))

    # -- jobs ----------------------------------------------------------------------------------

    async def poll(self) -> None:
        """Claim every source that is due and start its refresh."""
        self.last_progress = time.monotonic()
        if self.stopping.is_set():
            return
        now = datetime.now(UTC)
        idle = [s.name for s in self.config.sources if s.name not in self.running]
        # A claim is a lease: if this worker dies mid-fetch, the source is due again when it ends.
        lease_until = now + self.config.fetch.timeout * 2 + timedelta(seconds=5)
        claimed = await asyncio.get_running_loop().run_in_executor(
            self.pipeline.writer, self.store.claim_due_sources, idle, now, lease_until)
        for name in claimed:
            source = self.config.source(name)
            if source is not None:
                self._start(source)

    def _start(self, source: SourceConfig) -> None:
        task = asyncio.create_task(self.pipeline.refresh(source), name=f"refresh-{source.name}")
        self.running[source.name] = task

        def finished(done: asyncio.Task[RefreshOutcome]) -> None:
            self.running.pop(source.name, None)
            if done.cancelled() or done.exception() is not None:
                return
            outcome = done.result()
            self.metrics.fetches[outcome.outcome] += 1
            self.metrics.entries_ingested += outcome.new
            self.metrics.duplicates_merged += outcome.merged
            self.metrics.fetch_seconds.observe(outcome.seconds)
            if outcome.outcome == "new":
                self.publish_soon()

        task.add_done_callback(finished)

    def publish_soon(self) -> None:
        """Publish after a short pause, so that a burst of refreshes is published once."""
        self.dirty = True
        if self.publishing is None or self.publishing.done():
            self.publishing = asyncio.create_task(self._publish_after(PUBLISH_DELAY))

    async def _publish_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        while self.dirty:
            self.dirty = False
            started = time.monotonic()
            try:
                changed = await self.pipeline.publish_async()
                self.metrics.publish_seconds.observe(time.monotonic() - started)
            except Exception:
                log.exception("publishing failed; will retry at the next change")
            else:
                self.announce(changed)

    def announce(self, changed: list[str]) -> None:
        """WebSub: tell the hub which feeds changed, in the background so a slow hub never delays publishing."""
        hub = self.config.server.websub_hub
        if hub and changed:
            task = asyncio.create_task(ping_hub(hub, hub_topics(self.config.base_url, changed)))
            self.pings.add(task)
            task.add_done_callback(self.pings.discard)

    async def prune(self) -> None:
        assert self.config.keep is not None
        cut = datetime.now(UTC) - self.config.keep
        removed = await asyncio.get_running_loop().run_in_executor(self.pipeline.writer, self.store.prune, cut)
        if removed:
            log.info("pruned %d stories older than %s", removed, cut.isoformat(timespec="seconds"))
            self.publish_soon()

    async def watchdog(self) -> None:
        """Pet systemd's watchdog only while the poll job runs: a wedged scheduler gets restarted."""
        if self.healthy():
            notify("WATCHDOG=1")

    def healthy(self) -> bool:
        return time.monotonic() - self.last_progress < 4 * POLL_EVERY

    async def reload(self) -> None:
        """SIGHUP: adopt a new config if it is valid; otherwise keep running the old one."""
        notify(f"RELOADING=1\nMONOTONIC_USEC={time.monotonic_ns() // 1000}")
        try:
            config = load_config(self.config.path)
            check_topics(config)  # a bad query adopted here would fail every publish until the next reload
            _check_unchanged(self.config, config)
        except ConfigError as exc:
            log.error("reload refused, keeping the running config: %s", exc)
            notify("READY=1")
            return
        self.config = config
        self.pipeline.config = config
        self.publish_soon()
        log.info("reloaded %s: %d sources, %d topics", config.path, len(config.sources), len(config.topics))
        notify("READY=1")

    def status(self) -> dict[str, Any]:
        states = self.store.source_states()
        return {"sources": [source_status(source, states.get(source.name)) for source in self.config.sources]}


def _check_unchanged(old: Config, new: Config) -> None:
    """Some settings belong to resources opened at start-up; changing them needs a restart."""
    for key in ("database", "state_dir"):
        if getattr(old, key) != getattr(new, key):
            raise ConfigError(f"feeder.{key}: changing it needs a restart")
    if (old.server.host, old.server.port) != (new.server.host, new.server.port):
        raise ConfigError("server: changing host or port needs a restart")
    if old.dedup != new.dedup:
        raise ConfigError("dedup: changing it needs a restart")
    if replace(old.fetch, interval=new.fetch.interval) != new.fetch:
        raise ConfigError("fetch: only fetch.interval can change without a restart")


def run(config: Config) -> None:
    sys.setswitchinterval(SWITCH_INTERVAL)
    asyncio.run(Daemon(config).run())
