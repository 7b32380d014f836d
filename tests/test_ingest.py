"""The pipeline's writer: sources that queue up while it is busy are stored together, and fail alone."""

from __future__ import annotations

import asyncio
import fcntl
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from feeder.config import load_config
from feeder.dedup.text import content_words
from feeder.fetch import Fetcher
from feeder.ingest import PROCESS_PARSING_FROM, Pipeline, RefreshOutcome, _Ingestion, parse_executor
from feeder.model import Article, RawEntry, SourceState
from feeder.normalise import to_article
from feeder.parse.worker import read_feed
from feeder.store import IngestResult, Store
from tests.conftest import FeedServer, Reply, rss, write_config

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SOURCES = ("steady", "flaky", "other")


def _articles(source: str, titles: list[str]) -> list[Article]:
    return [to_article(RawEntry(title=title, link=f"http://{source}.example/{n}", guid=str(n), published=T0),
                       source, f"http://{source}.example/feed", T0 + timedelta(minutes=5))
            for n, title in enumerate(titles)]


async def _ingest(pipeline: Pipeline, source: str, titles: list[str]) -> IngestResult:
    """As a refresh hands a source's articles to the writer, with the state to save beside them."""
    state = SourceState(source, url=f"http://{source}.example/feed", etag=f'"{source}-1"', last_success=T0)
    return await pipeline.ingests.submit(_Ingestion(source, _articles(source, titles), T0, {}, state))


async def _ingest_together(pipeline: Pipeline) -> list[IngestResult | BaseException]:
    """Submitted in one loop turn, so the writer takes all three as one batch."""
    titles = {"steady": ["Storm nears coast"], "flaky": ["Storm nears coast", "Oil falls to $98"],
              "other": ["Oil falls to $98"]}
    return await asyncio.gather(*(_ingest(pipeline, s, titles[s]) for s in SOURCES), return_exceptions=True)


@pytest.fixture
def pipeline(tmp_path: Path) -> Any:
    sources = "".join(f'[[source]]\nname = "{s}"\nurl = "http://127.0.0.1:9/{s}"\n' for s in SOURCES)
    config = load_config(write_config(tmp_path, sources))
    store = Store(config.database)
    pipeline = Pipeline(config, store, Fetcher(config.fetch))
    yield pipeline
    pipeline.close()
    store.close()


def test_sources_queued_together_are_stored_in_one_transaction(pipeline: Pipeline,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    transactions: list[list[str]] = []
    real = Store.ingest_many
    monkeypatch.setattr(Store, "ingest_many", lambda self, batches, *a: transactions.append(
        [s for s, _ in batches]) or real(self, batches, *a))
    results = asyncio.run(_ingest_together(pipeline))
    assert transactions == [list(SOURCES)]
    assert [(r.new, r.merged) for r in results if isinstance(r, IngestResult)] == [(1, 0), (2, 1), (1, 1)]
    assert sorted(s.outlets for s in pipeline.store.recent_stories(10)) == [("flaky", "other"), ("steady", "flaky")]
    assert {name: state.etag for name, state in pipeline.store.source_states().items()} == {
        s: f'"{s}-1"' for s in SOURCES}  # saved with the articles, in the same transaction


def test_sources_arriving_within_the_linger_share_one_transaction(pipeline: Pipeline,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Refreshes finish a few milliseconds apart in a cold run; one transaction each rewrote the same
    index pages every time."""
    transactions: list[list[str]] = []
    real = Store.ingest_many
    monkeypatch.setattr(Store, "ingest_many", lambda self, batches, *a: transactions.append(
        [s for s, _ in batches]) or real(self, batches, *a))

    async def staggered() -> list[IngestResult]:
        started = asyncio.get_running_loop().time()
        waiting = []
        for n, source in enumerate(SOURCES):
            waiting.append(asyncio.create_task(_ingest(pipeline, source, [f"Storm {n} nears coast"])))
            await asyncio.sleep(0.005)
        results = await asyncio.gather(*waiting)
        assert asyncio.get_running_loop().time() - started < 1  # a short batch waits the linger, not forever
        return results

    assert [r.new for r in asyncio.run(staggered())] == [1, 1, 1]
    assert transactions == [list(SOURCES)]


def test_a_source_the_database_rejects_fails_alone(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in for a database error: no real input makes SQLite fail on demand."""
    real = Store.ingest_many

    def ingest_many(self: Store, batches: Any, *args: Any) -> list[IngestResult]:
        if any(source == "flaky" for source, _ in batches):
            raise RuntimeError("disk I/O error")
        return real(self, batches, *args)

    monkeypatch.setattr(Store, "ingest_many", ingest_many)
    steady, flaky, other = asyncio.run(_ingest_together(pipeline))
    assert isinstance(flaky, RuntimeError) and "disk I/O error" in str(flaky)
    assert isinstance(steady, IngestResult) and isinstance(other, IngestResult)
    assert sorted(s.outlets for s in pipeline.store.recent_stories(10)) == [("other",), ("steady",)]
    assert set(pipeline.store.source_states()) == {"steady", "other"}  # flaky's validators went with its articles
    # The rolled-back batch taught the deduplicator nothing that lingers: flaky's headlines are unknown.
    assert len(pipeline.dedup) == 2


@pytest.mark.skipif(not hasattr(fcntl, "F_GETPIPE_SZ"), reason="pipe sizes are Linux's")
def test_parse_worker_pipes_hold_a_whole_feed(tmp_path: Path) -> None:
    """A worker whose result outgrew the pipe waited for the busy parent to read it, chunk by chunk."""
    sources = "".join(f'[[source]]\nname = "s{n}"\nurl = "http://127.0.0.1:9/{n}"\n'
                      for n in range(PROCESS_PARSING_FROM))
    pool = parse_executor(load_config(write_config(tmp_path, sources)))
    try:
        assert isinstance(pool, ProcessPoolExecutor)
        wanted = min(1 << 20, int(Path("/proc/sys/fs/pipe-max-size").read_text()))
        for queue in (pool._result_queue, pool._call_queue):  # type: ignore[attr-defined]
            assert fcntl.fcntl(queue._reader.fileno(), fcntl.F_GETPIPE_SZ) >= wanted
        items = "".join(f"<item><title>Storm {n} nears coast</title><description>{'word ' * 2000}</description></item>"
                        for n in range(30))  # ~300 KB each way: more than a default pipe holds
        feed = f'<rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()
        _, articles, _ = pool.submit(read_feed, feed, "http://a.example/feed", "application/rss+xml", "a", T0).result()
        assert len(articles) == 30
    finally:
        pool.shutdown()


def test_a_parse_worker_loads_neither_the_store_nor_the_publisher() -> None:
    """A spawned worker imports what the functions it runs import: the parsing side only (memory)."""
    feed = b'<rss version="2.0"><channel><title>t</title><item><title>Storm nears coast</title></item></channel></rss>'
    loaded = "sorted(m for m in __import__('sys').modules if m.startswith(('feeder', 'sqlalchemy', 'httpx')))"
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        parsed, articles, words = pool.submit(read_feed, feed, "http://a.example/feed",
                                              "application/rss+xml", "a", T0).result()
        modules = pool.submit(eval, loaded).result()
    assert [a.title for a in articles] == ["Storm nears coast"] and parsed.title == "t" and parsed.entries == ()
    assert words == {"Storm nears coast": content_words("Storm nears coast")}  # tokenised there, for the store
    assert "feeder.parse.worker" in modules
    assert not {"feeder.ingest", "feeder.store", "feeder.publish", "sqlalchemy", "httpx"} & set(modules), modules


def test_refreshing_every_source_reads_the_states_once(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cold start has no state for any source: that is an answer, not a reason to ask again per source."""
    asked: list[str] = []
    real = Store.source_state
    monkeypatch.setattr(Store, "source_state", lambda self, name: asked.append(name) or real(self, name))

    async def twice() -> list[list[RefreshOutcome]]:  # nothing stored yet, then every source's (failed) state
        outcomes = [await pipeline.refresh_all() for _ in range(2)]
        await pipeline.fetcher.aclose()
        return outcomes

    for outcomes in asyncio.run(twice()):
        assert [o.outcome for o in outcomes] == ["error"] * len(SOURCES)
    assert asked == []
    assert set(pipeline.store.source_states()) == set(SOURCES)


def test_a_reloaded_config_s_priorities_choose_the_canonical_article(pipeline: Pipeline, tmp_path: Path) -> None:
    sources = "".join(f'[[source]]\nname = "{s}"\nurl = "http://127.0.0.1:9/{s}"\npriority = {int(s == "other")}\n'
                      for s in SOURCES)
    pipeline.config = load_config(write_config(tmp_path, sources))  # as the daemon's SIGHUP reload does

    async def one_after_the_other() -> None:
        for source in ("steady", "other"):
            await _ingest(pipeline, source, ["Storm nears coast"])

    asyncio.run(one_after_the_other())
    [story] = pipeline.store.recent_stories(10)
    assert story.outlets == ("other", "steady")


def test_articles_the_database_rejects_are_fetched_again_in_full(tmp_path: Path, feed_server: FeedServer,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A source's new ETag is stored only with its articles: had it been saved alone, the next poll would
    get 304 and the rejected articles would never be stored."""
    feed = rss([{"title": "Storm nears coast", "link": "http://a.example/1", "guid": "1"}])
    url = feed_server.add("/feed", Reply(200, feed, {"Content-Type": "application/rss+xml", "ETag": '"v1"'}))
    config = load_config(write_config(tmp_path, f'[[source]]\nname = "a"\nurl = "{url}"\n'))
    store = Store(config.database)
    pipeline = Pipeline(config, store, Fetcher(config.fetch))

    async def twice() -> list[RefreshOutcome]:
        with monkeypatch.context() as patched:  # a stand-in for a database error, as above
            patched.setattr(Store, "ingest_many", _rejecting)
            [failed] = await pipeline.refresh_all()
        state = store.source_state("a")
        assert state is not None and (state.etag, state.failures) == ("", 1)
        [stored] = await pipeline.refresh_all()
        await pipeline.fetcher.aclose()
        return [failed, stored]

    failed, stored = asyncio.run(twice())
    pipeline.close()
    assert failed.outcome == "error" and "disk I/O error" in failed.error
    assert (stored.outcome, stored.new) == ("new", 1)
    assert "if-none-match" not in feed_server.requests[-1][1]
    assert store.source_state("a").etag == '"v1"'  # type: ignore[union-attr]
    store.close()


def _rejecting(*args: Any, **kwargs: Any) -> list[IngestResult]:
    raise RuntimeError("disk I/O error")
