"""`feeder run`: one asyncio loop with the scheduler jobs, the HTTP server and the signal handlers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
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
from feeder.server import create_app
from feeder.status import source_status
from feeder.store import Store
from feeder.topics import check_topics

log = logging.getLogger("feeder.daemon")
POLL_EVERY = 5.0  # seconds between looks for due sources
PUBLISH_EVERY = 10.0
SHUTDOWN_GRACE = 10.0  # seconds in-flight fetches get to finish on SIGTERM


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
        self.dirty = True  # publish once at start-up: topics may have changed while we were down
        self.last_progress = time.monotonic()
        self.server: _Server | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.stopping.set)
        loop.add_signal_handler(signal.SIGINT, self.stopping.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self.reload()))
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
                         healthy=self.healthy)
        server_config = uvicorn.Config(app, host=self.config.server.host, port=self.config.server.port,
                                       log_level="warning", access_log=False, lifespan="off")
        return _Server(server_config)

    def _schedule(self) -> None:
        self.scheduler.add_job(self.poll, "interval", seconds=POLL_EVERY, jitter=1, id="poll",
                               next_run_time=datetime.now(UTC), max_instances=1, coalesce=True)
        self.scheduler.add_job(self.publish_if_dirty, "interval", seconds=PUBLISH_EVERY, id="publish",
                               max_instances=1, coalesce=True)
        if os.environ.get("WATCHDOG_USEC"):
            every = max(int(os.environ["WATCHDOG_USEC"]) / 2e6, 1.0)
            self.scheduler.add_job(self.watchdog, "interval", seconds=every, id="watchdog")
        if self.config.keep:
            self.scheduler.add_job(self.prune, "interval", hours=1, id="prune",
                                   next_run_time=datetime.now(UTC) + timedelta(minutes=1))

    # -- jobs ----------------------------------------------------------------------------------

    async def poll(self) -> None:
        """Start a refresh for every source that is due and not already running."""
        self.last_progress = time.monotonic()
        if self.stopping.is_set():
            return
        now = datetime.now(UTC)
        states = await asyncio.get_running_loop().run_in_executor(self.pipeline.writer,
                                                                  self.store.source_states)
        for source in self.config.sources:
            state = states.get(source.name)
            due = state is None or (not state.gone and (state.next_fetch is None or state.next_fetch <= now))
            if due and source.name not in self.running:
                self._start(source)

    def _start(self, source: SourceConfig) -> None:
        task = asyncio.create_task(self.pipeline.refresh(source), name=f"refresh-{source.name}")
        self.running[source.name] = task

        def finished(done: asyncio.Task[RefreshOutcome]) -> None:
            self.running.pop(source.name, None)
            if not done.cancelled() and done.exception() is None and done.result().outcome == "new":
                self.dirty = True

        task.add_done_callback(finished)

    async def publish_if_dirty(self) -> None:
        self.last_progress = time.monotonic()
        if self.dirty:
            self.dirty = False
            try:
                await self.pipeline.publish_async()
            except Exception:
                self.dirty = True
                log.exception("publishing failed; will retry")

    async def prune(self) -> None:
        assert self.config.keep is not None
        cut = datetime.now(UTC) - self.config.keep
        removed = await asyncio.get_running_loop().run_in_executor(self.pipeline.writer, self.store.prune, cut)
        if removed:
            log.info("pruned %d stories older than %s", removed, cut.isoformat(timespec="seconds"))
            self.dirty = True

    async def watchdog(self) -> None:
        if self.healthy():
            notify("WATCHDOG=1")

    def healthy(self) -> bool:
        return time.monotonic() - self.last_progress < 3 * max(POLL_EVERY, PUBLISH_EVERY)

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
        self.dirty = True
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
    asyncio.run(Daemon(config).run())
