"""The pipeline, one source at a time: fetch -> parse -> normalise -> dedup + store; then topics -> publish.

Network waits run on the event loop; parsing runs in a worker thread so it never stalls serving;
every database write goes through one writer thread, which also owns the deduplicator.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import BrokenExecutor, Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Generic, TypeVar

from feeder.collect import collect
from feeder.config import Config, SourceConfig
from feeder.dedup import Deduplicator, make_deduplicator
from feeder.dedup.text import Words
from feeder.fetch import Fetcher, FetchError, FetchResult, after_failure, after_success
from feeder.model import Article, ParsedFeed, SourceState
from feeder.parse.worker import leave_signals_to_the_parent, normalise_all, read_feed
from feeder.publish import Publisher, SourceInfo, TopicFeed, write_atomically
from feeder.store import IngestResult, Store
from feeder.topics import Curator
from feeder.topics.snapshot import decode, encode

log = logging.getLogger("feeder.ingest")
R = TypeVar("R")
T = TypeVar("T")
PROCESS_PARSING_FROM = 50  # web sources from which parsing gets processes of its own
STORY_POOL = 5000  # most recent stories read at each publish (a topic keeps its older entries: Curator)
TOPICS_SNAPSHOT = "topics.snapshot"  # in state_dir: the Curator's words and entries, for the next start
SNAPSHOT_EVERY = 600.0  # seconds between snapshots (and one after a start's first publish)
# A small ingest batch waits this long for more sources: every transaction rewrites the index pages it
# touches, and a cold run's refreshes otherwise reach the writer one or two at a time. bench/ingest.py
# --feeds 2000, interleaved runs: store thread CPU 8.2-10.2 -> 6.1-6.6 s, main process 13.0-16.3 ->
# 10.2-10.8 s. (Measured before widen_pipes, when the parse worker's waits hid it from the wall time.)
INGEST_LINGER = 0.05
INGEST_ENOUGH = 10  # sources: a batch this big goes at once
PIPE_SIZE = 1 << 20  # bytes: Linux's default limit for a process without CAP_SYS_RESOURCE


@dataclass(frozen=True, slots=True)
class _Ingestion:
    """What a refresh hands the store writer."""

    source: str
    articles: list[Article]
    now: datetime
    words: dict[str, Words]  # the titles' words, where the parse worker tokenised them
    state: SourceState  # the source's state after this refresh, saved in the same transaction


@dataclass(frozen=True, slots=True)
class RefreshOutcome:
    source: str
    outcome: str  # "new", "unchanged", "not-modified", "error", "gone"
    new: int = 0
    changed: int = 0
    merged: int = 0
    error: str = ""
    seconds: float = 0.0


def parse_executor(config: Config) -> Executor:
    """Where parsing runs. In a thread it competes with the event loop and the store for one GIL; a
    process of its own took a 2,000-feed cold ingest from ~60-70 s to ~42 s (bench/ingest.py). A process
    costs ~0.6 s before its first parse (imports), so small configs (and `fetch --once` on a few feeds)
    keep a thread."""
    web_sources = sum(1 for s in config.sources if s.kind != "files")
    if web_sources < PROCESS_PARSING_FROM:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="feeder-parse")
    workers = max(1, (os.cpu_count() or 2) - 1)  # one core stays with the event loop and the store
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=leave_signals_to_the_parent)
    widen_pipes(pool)
    return pool


def widen_pipes(pool: ProcessPoolExecutor) -> None:
    """Pipes to and from the workers that hold a whole feed's body or articles (Linux; elsewhere a no-op).

    A result (127 KB for a farm feed) is bigger than a pipe's default 64 KB, so a worker blocked in its
    send until the loaded parent process took the GIL to read the rest: 4.1 s of a 15.7 s cold ingest went
    there (a one-off probe around concurrent.futures' _sendback_result, not in bench/). What bench/ingest.py
    --feeds 2000 prints, interleaved runs: cold wall time over the parse worker's CPU 1.58-1.62 -> 1.33-1.39.
    """
    size = _pipe_max_size()
    try:
        import fcntl  # POSIX only

        for queue in (getattr(pool, "_result_queue"), getattr(pool, "_call_queue")):  # noqa: B009 (private)
            fcntl.fcntl(queue._reader.fileno(), fcntl.F_SETPIPE_SZ, size)
    except (ImportError, AttributeError, OSError) as exc:  # another platform, Python or limit: default pipes
        log.debug("parse worker pipes keep their default size: %s", exc)


def _pipe_max_size() -> int:
    try:
        return min(PIPE_SIZE, int(Path("/proc/sys/fs/pipe-max-size").read_text()))
    except (OSError, ValueError):
        return PIPE_SIZE


class Pipeline:
    """Refreshes sources and publishes topics for one config; shared by `fetch --once` and the daemon."""

    def __init__(self, config: Config, store: Store, fetcher: Fetcher, parser: Executor | None = None) -> None:
        """``parser`` runs the CPU work (default: see parse_executor); the pipeline shuts it down."""
        self.config = config
        self.store = store
        self.fetcher = fetcher
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feeder-store")
        self.parser = parser or parse_executor(config)
        # Fetching outruns parsing and storing: without a bound, every fetched body of a cold run
        # waits in memory for the parser (bench/fetch.py --feeds 600: 165 MB peak RSS before this bound,
        # 106 MB after).
        self._in_progress = asyncio.Semaphore(2 * config.fetch.concurrency)
        self.dedup = self._fresh_dedup()
        self.store.load_dedup_window(self.dedup)
        # Keeps each stored article's words between publishes; new topics search the whole store.
        self.curator = Curator(store)
        self._snapshot_at: float | None = None  # monotonic time of the last snapshot; None: not restored yet
        self.states = _BatchWriter(self.writer, self._save_states)
        self.ingests: _BatchWriter[_Ingestion, IngestResult] = _BatchWriter(
            self.writer, self._ingest_many, INGEST_LINGER, INGEST_ENOUGH)

    @property
    def config(self) -> Config:
        return self._config

    @config.setter
    def config(self, config: Config) -> None:  # set again by the daemon's reload
        self._config = config
        # Read by every ingest batch (hundreds in a cold run): not rebuilt from thousands of sources each time.
        self._priorities = {s.name: s.priority for s in config.sources}

    def close(self) -> None:
        self.writer.shutdown(wait=True)
        self.parser.shutdown(wait=True)

    def _fresh_dedup(self) -> Deduplicator:
        dedup = self.config.dedup
        return make_deduplicator(dedup.level, dedup.window, dedup.engine)

    async def _in(self, executor: Executor, func: Callable[..., R], *args: object) -> R:
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, func, *args)
        except BrokenExecutor:
            if executor is self.parser:  # a worker died (OOM killer, a crash in C): start afresh
                log.error("parse worker died; starting a new one")
                self.parser = parse_executor(self.config)
            raise

    # -- refreshing ------------------------------------------------------------------------------

    async def refresh_all(self, sources: Sequence[SourceConfig] | None = None) -> list[RefreshOutcome]:
        chosen = self.config.sources if sources is None else sources
        # One query for every state, off the event loop, instead of one blocking query per source.
        states = await self._in(self.writer, self.store.source_states)
        return list(await asyncio.gather(*(self._refresh_stored(s, states.get(s.name)) for s in chosen)))

    async def refresh(self, source: SourceConfig) -> RefreshOutcome:
        """Refresh one source; every failure ends up in its state and the outcome, never raised."""
        return await self._refresh_stored(source, await self._in(self.writer, self.store.source_state, source.name))

    async def _refresh_stored(self, source: SourceConfig, stored: SourceState | None) -> RefreshOutcome:
        """``refresh``, given the source's saved state (None: never refreshed, not to be looked up again)."""
        state = current_state(source, stored)
        if state.gone:  # 410 Gone: never asked again until the config names another URL
            log.debug("source=%s gone, not fetched", source.name)
            return RefreshOutcome(source.name, "gone", error=state.error)
        async with self._in_progress:
            outcome, state = await self._refresh_and_save(source, state)
        if state.url != stored_url(stored, source):
            log.warning("source=%s permanent redirect adopted: now fetched from %s (was %s)", source.name,
                        state.url, stored_url(stored, source))
        _log_outcome(outcome, state)
        return outcome

    async def _refresh_and_save(self, source: SourceConfig,
                                state: SourceState) -> tuple[RefreshOutcome, SourceState]:
        started = time.monotonic()
        now = datetime.now(UTC)
        try:
            outcome, state = await self._refresh(source, state, now)  # saves the state it returns
        except Exception as exc:  # a bug or a hostile document must not stop the other sources either
            outcome, state = self._failed(source, state, now, exc)
            await self.states.submit(state)
        return replace(outcome, seconds=time.monotonic() - started), state

    def _failed(self, source: SourceConfig, state: SourceState, now: datetime,
                exc: Exception) -> tuple[RefreshOutcome, SourceState]:
        if isinstance(exc, FetchError):
            state = after_failure(state, str(exc), self.config.interval_of(source), now, exc.status,
                                  exc.retry_after)
            return RefreshOutcome(source.name, "gone" if state.gone else "error", error=str(exc)), state
        log.error("source=%s unexpected error", source.name, exc_info=exc)
        error = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        state = after_failure(state, error, self.config.interval_of(source), now)
        return RefreshOutcome(source.name, "error", error=error), state

    async def _refresh(self, source: SourceConfig, state: SourceState,
                       now: datetime) -> tuple[RefreshOutcome, SourceState]:
        """One refresh that succeeded, its state saved: with its articles when there are any, in their
        transaction, so that new validators (ETag, Last-Modified) are never stored without the articles
        they vouch for (a crash between two transactions would have left a 304 hiding them)."""
        if source.kind == "files":
            return await self._refresh_folder(source, state, now)
        read = self._read_feed if source.kind == "feed" and not source.full_text else self._read_collected
        result, parsed, articles, words = await read(source, state, now)
        interval = self.config.interval_of(source)
        if result.body is None:
            state = after_success(state, result, interval, now, 0)
            await self.states.submit(state)
            return RefreshOutcome(source.name, "not-modified"), state
        state = after_success(state, result, interval, now, len(articles))
        state = replace(state, title=parsed.title or state.title, link=parsed.link or state.link)
        ingested = await self.ingests.submit(_Ingestion(source.name, articles, now, words, state))
        return _outcome(source.name, ingested), state

    async def _read_feed(self, source: SourceConfig, state: SourceState,
                         now: datetime) -> tuple[FetchResult, ParsedFeed, list[Article], dict[str, Words]]:
        """One document: fetched, then parsed, normalised and its titles tokenised in a single hop to the
        parse worker."""
        result = await self.fetcher.fetch(state.url, state.etag, state.last_modified)
        if result.body is None:
            return result, ParsedFeed(), [], {}
        parsed, articles, words = await self._in(self.parser, read_feed, result.body, result.url,
                                                 result.content_type, source.name, now)
        if parsed.problem and not articles:
            raise FetchError(f"not a feed: {parsed.problem}" if "not a feed" not in parsed.problem
                             else parsed.problem, result.status)
        return result, parsed, articles, words

    async def _read_collected(self, source: SourceConfig, state: SourceState,
                              now: datetime) -> tuple[FetchResult, ParsedFeed, list[Article], dict[str, Words]]:
        """Sources whose poll reads more than one document: sitemaps, listing pages, full-text feeds."""

        async def run_cpu(func: Callable[..., R], *args: object) -> R:
            return await self._in(self.parser, func, *args)

        async def known(guids: list[str]) -> set[str]:
            return await self._in(self.writer, self.store.known_guids, source.name, guids)

        collected = await collect(source, state.url, state.etag, state.last_modified, self.fetcher, run_cpu, known)
        if collected.result.body is None:
            return collected.result, collected.feed, [], {}
        articles = await run_cpu(normalise_all, collected.feed, source.name, collected.result.url, now)
        return collected.result, collected.feed, articles, {}  # no words: the store tokenises these titles

    async def _refresh_folder(self, source: SourceConfig, state: SourceState,
                              now: datetime) -> tuple[RefreshOutcome, SourceState]:
        from feeder.parse.files import read_folder

        assert source.path is not None
        if not source.path.is_dir():
            raise FetchError(f"folder {source.path} does not exist")
        parsed = await self._in(self.parser, read_folder, source.path)
        articles = normalise_all(parsed, source.name, source.path.as_uri() + "/", now)
        state = replace(state, last_attempt=now, last_success=now, status=0, failures=0,
                        error=parsed.problem.splitlines()[0] if parsed.problem else "",
                        entries_seen=len(articles), next_fetch=now + self.config.interval_of(source))
        ingested = await self.ingests.submit(_Ingestion(source.name, articles, now, {}, state))
        if parsed.problem:
            for line in parsed.problem.splitlines():
                log.warning("source=%s skipped %s", source.name, line)
        return _outcome(source.name, ingested), state

    def _save_states(self, states: list[SourceState]) -> list[Exception | None]:
        self.store.save_source_states(states)
        return [None] * len(states)

    def _ingest_many(self, batch: list[_Ingestion]) -> list[IngestResult | Exception]:
        """On the writer thread: the sources that queued up while the last batch was written, in one
        transaction (a cold run stores hundreds of small batches). If it fails, each source is tried
        alone, so that one source's bad data fails only that source."""
        priorities = self._priorities
        now = max(each.now for each in batch)
        sources = {each.source for each in batch}
        if len(batch) > 1 and len(sources) == len(batch):
            words = {title: found for each in batch for title, found in each.words.items()}
            try:
                return list(self.store.ingest_many([(each.source, each.articles) for each in batch], self.dedup,
                                                   priorities, now, words, [each.state for each in batch]))
            except Exception:
                self._rebuild_dedup()
        results: list[IngestResult | Exception] = []
        for each in batch:
            try:
                results.append(self.store.ingest(each.source, each.articles, self.dedup, priorities, each.now,
                                                 each.words, each.state))
            except Exception as exc:
                self._rebuild_dedup()
                results.append(exc)
        return results

    def _rebuild_dedup(self) -> None:
        # The rolled-back batch taught the deduplicator headlines the database does not have.
        self.dedup = self._fresh_dedup()
        self.store.load_dedup_window(self.dedup)

    # -- publishing ------------------------------------------------------------------------------

    def topic_feeds(self, now: datetime | None = None) -> list[TopicFeed]:
        now = now or datetime.now(UTC)
        tags = {s.name: s.tags for s in self.config.sources}
        restored = self._restore_topics(tags) if self._snapshot_at is None else None
        # Versions read before the publish: whatever another worker changes during it counts as changed.
        # After a restore they are the ones it just read: no second scan of every article.
        versions = None
        if self._snapshot_due():
            versions = restored if restored is not None else self.store.article_versions()
        chosen = self.curator.curate(self.config.topics, self.store.recent_stories(STORY_POOL), tags, now)
        if versions is not None:
            self._save_topics(versions, tags)
        return [TopicFeed(topic, tuple(stories)) for topic, stories in zip(self.config.topics, chosen, strict=True)]

    def _restore_topics(self, tags: dict[str, tuple[str, ...]]) -> dict[int, tuple[int, str]] | None:
        """Start the Curator from the last snapshot, if there is one this process can trust; returns the
        store's article versions it read to do so (None when there was nothing to restore)."""
        self._snapshot_at = float("-inf")  # the first publish saves one, restored or not
        path = self.config.state_dir / TOPICS_SNAPSHOT
        try:
            snapshot = decode(path.read_bytes())
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("topic snapshot %s unreadable (%s); reading every article", path, exc)
            return None
        if snapshot is None:
            log.info("topic snapshot %s is from other code or damaged; reading every article", path)
            return None
        versions = self.store.article_versions()
        self.curator.restore(snapshot, versions, tags)
        return versions

    def _snapshot_due(self) -> bool:
        return self._snapshot_at is not None and time.monotonic() - self._snapshot_at >= SNAPSHOT_EVERY

    def _save_topics(self, versions: dict[int, tuple[int, str]], tags: dict[str, tuple[str, ...]]) -> None:
        try:
            write_atomically(self.config.state_dir / TOPICS_SNAPSHOT, encode(self.curator.snapshot(versions, tags)))
        except OSError as exc:  # a full disk must not stop publishing: the next start reads more, that is all
            log.warning("topic snapshot not written: %s", exc)
        self._snapshot_at = time.monotonic()

    def publisher(self) -> Publisher:
        states = self.store.source_states()
        infos = {}
        for source in self.config.sources:
            state = states.get(source.name)
            title = source.title or (state.title if state else "") or source.name
            infos[source.name] = SourceInfo(title, (state.link if state else "") or source.url, source.url)
        return Publisher(self.config, infos, markup_trusted=self.store.markup_current)

    def publish(self) -> list[str]:
        """Write every topic's files; returns the slugs whose feeds changed."""
        started = time.monotonic()
        changed = self.publisher().write_all(self.topic_feeds())
        log.info("published topics=%d changed=%s in %.3fs", len(self.config.topics),
                 ",".join(changed) or "none", time.monotonic() - started)
        return changed

    async def publish_async(self) -> list[str]:
        return await self._in(self.writer, self.publish)


class _BatchWriter(Generic[T, R]):
    """Runs ``write_many`` on the writer thread, many items per call.

    Items that arrive while a batch is being written wait and go together in the next one; each caller
    still returns only once its own item is written, with its own result or exception. With ``linger``,
    a batch of fewer than ``enough`` items first waits up to that many seconds for more.
    """

    def __init__(self, writer: ThreadPoolExecutor, write_many: Callable[[list[T]], Sequence[R | Exception]],
                 linger: float = 0.0, enough: int = 1) -> None:
        self.writer = writer
        self.write_many = write_many
        self.linger, self.enough = linger, enough
        self.pending: list[tuple[T, asyncio.Future[R]]] = []
        self.flushing = False
        self._task: asyncio.Task[None] | None = None  # held: the loop keeps only a weak reference
        self._enough: asyncio.Future[None] | None = None  # set once ``enough`` items wait (during a linger)

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[R] = loop.create_future()
        self.pending.append((item, done))
        if self._enough is not None and len(self.pending) >= self.enough and not self._enough.done():
            self._enough.set_result(None)
        if not self.flushing:
            self.flushing = True
            self._task = loop.create_task(self._flush())
        return await done

    async def _flush(self) -> None:
        try:
            while self.pending:
                await self._linger()
                batch, self.pending = self.pending, []
                try:
                    results = await asyncio.get_running_loop().run_in_executor(
                        self.writer, self.write_many, [item for item, _ in batch])
                except Exception as exc:  # every waiter hears of it: its item was not written
                    results = [exc] * len(batch)
                for (_, done), result in zip(batch, results, strict=True):
                    if done.done():
                        continue
                    if isinstance(result, Exception):
                        done.set_exception(result)
                    else:
                        done.set_result(result)
        finally:
            self.flushing = False

    async def _linger(self) -> None:
        if self.linger <= 0 or len(self.pending) >= self.enough:
            return
        self._enough = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait([self._enough], timeout=self.linger)
        finally:
            self._enough = None


def current_state(source: SourceConfig, stored: SourceState | None) -> SourceState:
    """The saved state, or a fresh one when there is none or the config now names another URL.

    A new configured URL wins over an adopted redirect, and the old URL's validators, backoff and
    410 do not apply to it.
    """
    if stored is None or (source.kind != "files" and stored.config_url != source.url):
        fresh = SourceState(source.name, url=source.url, config_url=source.url)
        if stored is None:
            return fresh
        return replace(fresh, title=stored.title, link=stored.link, entries_seen=stored.entries_seen,
                       last_attempt=stored.last_attempt, last_success=stored.last_success)
    return stored


def stored_url(stored: SourceState | None, source: SourceConfig) -> str:
    return stored.url if stored is not None and stored.config_url == source.url else source.url


def _outcome(source: str, ingested: IngestResult) -> RefreshOutcome:
    kind = "new" if ingested.new or ingested.changed else "unchanged"
    return RefreshOutcome(source, kind, ingested.new, ingested.changed, ingested.merged)


def _log_outcome(outcome: RefreshOutcome, state: SourceState) -> None:
    if outcome.outcome in ("error", "gone"):
        log.warning("source=%s %s status=%s failures=%d next=%s error=%s (%.2fs)", outcome.source,
                    outcome.outcome, state.status, state.failures,
                    state.next_fetch.isoformat(timespec="seconds") if state.next_fetch else "never",
                    outcome.error, outcome.seconds)
    elif outcome.outcome == "new":
        log.info("source=%s new=%d changed=%d merged=%d (%.2fs)", outcome.source, outcome.new,
                 outcome.changed, outcome.merged, outcome.seconds)
    else:
        log.debug("source=%s %s (%.2fs)", outcome.source, outcome.outcome, outcome.seconds)
