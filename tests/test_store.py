"""The store on a real SQLite file and, where one answers, a real PostgreSQL server."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.exc import StatementError

from feeder.dedup import Deduplicator, Headline
from feeder.dedup.text import content_words
from feeder.model import Article, RawEntry, SourceState
from feeder.normalise import to_article
from feeder.store import IngestResult, Store

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = Store(database_url)
    yield store
    store.close()


def article(source: str, guid: str, title: str, published: datetime, summary: str = "") -> Article:
    entry = RawEntry(title=title, link=f"http://{source}.example/{guid}", guid=guid, published=published,
                     summary=summary)
    return to_article(entry, source, f"http://{source}.example/feed", published + timedelta(minutes=5))


def ingest(store: Store, dedup: Deduplicator, batch: list[Article], priorities: dict[str, int] | None = None):
    return store.ingest(batch[0].source, batch, dedup, priorities or {}, T0 + timedelta(days=1))


def test_same_headline_from_two_sources_is_one_story(store: Store) -> None:
    dedup = Deduplicator()
    ingest(store, dedup, [article("a", "1", "Oil falls to $98", T0)])
    result = ingest(store, dedup, [article("b", "9", "Oil falls to $98", T0 + timedelta(hours=1))])
    assert (result.new, result.merged) == (1, 1)
    [story] = store.recent_stories(10)
    assert story.outlets == ("a", "b")
    assert story.article.source == "a"  # the earliest is canonical
    assert story.first_published == T0


def test_titles_tokenised_elsewhere_are_what_the_store_compares(store: Store) -> None:
    """A parse worker hands over each title's words (feeder.parse.worker.read_feed): the store matches with
    them instead of tokenising again, so words that say the same news merge however the titles read."""
    dedup = Deduplicator()
    ingest(store, dedup, [article("a", "1", "Oil falls to $98", T0)])
    reworded = article("b", "9", "Bridge reopens after repairs", T0 + timedelta(hours=1))
    result = store.ingest("b", [reworded], dedup, {}, T0 + timedelta(days=1),
                          {reworded.title: content_words("Oil falls to $98")})
    assert (result.new, result.merged) == (1, 1)
    # Words for another title change nothing: a title is looked up by its own text.
    other = article("c", "5", "Storm nears coast", T0 + timedelta(hours=2))
    result = store.ingest("c", [other], dedup, {}, T0 + timedelta(days=1),
                          {"Something else": content_words("Oil falls to $98")})
    assert (result.new, result.merged) == (1, 0)


def test_reingesting_unchanged_articles_changes_nothing(store: Store) -> None:
    dedup = Deduplicator()
    batch = [article("a", "1", "One", T0), article("a", "2", "Two", T0)]
    ingest(store, dedup, batch)
    before = store.recent_stories(10)
    assert ingest(store, dedup, batch).new == 0
    assert store.recent_stories(10) == before


def test_changed_article_is_updated_in_place(store: Store) -> None:
    dedup = Deduplicator()
    ingest(store, dedup, [article("a", "1", "Storm nears coast", T0, "first")])
    result = ingest(store, dedup, [article("a", "1", "Storm nears coast", T0, "second, corrected")])
    assert (result.new, result.changed) == (0, 1)
    [story] = store.recent_stories(10)
    assert story.article.summary == "second, corrected"
    assert store.counts() == {"articles": 1, "stories": 1}


def test_several_sources_in_one_transaction_equal_one_at_a_time(tmp_path: Path, database_url: str) -> None:
    first = [article("a", "1", "Storm nears coast", T0, "first"), article("a", "2", "Oil falls to $98", T0)]
    second = [article("b", "7", "Oil falls to $98", T0 + timedelta(hours=1)),
              article("b", "8", "Bridge reopens after repairs", T0)]
    edit = [article("a", "2", "Oil falls to $98", T0, "corrected"),  # a's canonical article, edited
            article("a", "3", "Bridge reopens after repairs", T0 - timedelta(hours=1))]  # a new canonical
    one_by_one = Store(f"sqlite:///{tmp_path / 'one-by-one.db'}")
    dedup = Deduplicator()
    for batch in (first, second, edit):
        ingest(one_by_one, dedup, batch)
    together = Store(database_url)
    results = together.ingest_many([("a", first), ("b", second)], Deduplicator(), {}, T0 + timedelta(days=1))
    assert [(r.new, r.merged) for r in results] == [(2, 0), (2, 1)]
    dedup = Deduplicator()
    together.load_dedup_window(dedup)
    ingest(together, dedup, edit)
    assert together.recent_stories(10) == one_by_one.recent_stories(10)
    assert sorted(s.outlets for s in together.recent_stories(10)) == [("a",), ("a", "b"), ("a", "b")]
    with pytest.raises(ValueError, match="only once"):
        together.ingest_many([("a", first), ("a", edit)], dedup, {}, T0)
    one_by_one.close()
    together.close()


def test_the_write_ahead_log_is_copied_into_the_database_off_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "feeder.db"

    def rows_in_database_file() -> int:  # immutable: the main file alone, as if the log were lost
        with contextlib.closing(sqlite3.connect(f"file:{path}?immutable=1", uri=True)) as raw:
            try:
                return int(raw.execute("SELECT count(*) FROM articles").fetchone()[0])
            except sqlite3.OperationalError:  # not even the table is there yet
                return 0

    store = Store(f"sqlite:///{path}")
    ingest(store, Deduplicator(), [article("a", str(n), f"Headline number {n}", T0) for n in range(50)])
    assert rows_in_database_file() == 0  # no commit waited for a checkpoint
    deadline = time.monotonic() + 10
    while rows_in_database_file() < 50 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert rows_in_database_file() == 50
    store.close()
    wal = Path(f"{path}-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # truncated, or removed with the last connection


def test_priority_outranks_earliest(store: Store) -> None:
    dedup = Deduplicator()
    ingest(store, dedup, [article("wire", "1", "Election called for May", T0)], {"paper": 5})
    ingest(store, dedup, [article("paper", "2", "Election called for May", T0 + timedelta(hours=2))],
           {"paper": 5})
    [story] = store.recent_stories(10)
    assert story.article.source == "paper" and story.first_published == T0


def test_window_is_rebuilt_after_restart(database_url: str) -> None:
    first = Store(database_url)
    ingest(first, Deduplicator(), [article("a", "1", "Bridge reopens after repairs", T0)])
    first.close()
    second = Store(database_url)
    dedup = Deduplicator()
    assert second.load_dedup_window(dedup) == 1
    result = ingest(second, dedup, [article("b", "7", "Bridge reopens after repairs", T0 + timedelta(hours=3))])
    assert result.merged == 1
    assert len(second.recent_stories(10)) == 1
    second.close()


def test_source_state_round_trip(store: Store) -> None:
    state = SourceState("a", url="http://a.example/feed", etag='"x"', last_success=T0, failures=2,
                        next_fetch=T0 + timedelta(minutes=30), error="HTTP 500")
    store.save_source_state(state)
    assert store.source_state("a") == state
    store.save_source_state(SourceState("a", url="http://a.example/feed"))
    assert store.source_state("a") == SourceState("a", url="http://a.example/feed")


def test_source_states_saved_together_every_field_kept(store: Store) -> None:
    everything = SourceState("b", "http://b.example/f", "B", "http://b.example/", '"e"', "Mon, 01 Jan 2026",
                             T0, T0 - timedelta(hours=1), 304, "", 3, T0 + timedelta(hours=2), 40, True,
                             "http://c.example/f", "http://b.example/f")
    first = SourceState("a", url="http://a.example/feed", last_attempt=T0.astimezone(timezone(timedelta(hours=5))))
    store.save_source_states([first, everything, replace(everything, failures=9)])  # the last of one source wins
    assert store.source_states() == {"a": replace(first, last_attempt=T0), "b": replace(everything, failures=9)}
    store.save_source_states([replace(everything, gone=False, next_fetch=None), SourceState("c")])
    assert store.source_states() == {"a": replace(first, last_attempt=T0), "c": SourceState("c"),
                                     "b": replace(everything, gone=False, next_fetch=None)}


def test_prune_removes_only_stories_wholly_seen_before_the_cut(store: Store) -> None:
    dedup = Deduplicator(window=timedelta(days=30))
    long_ago = T0 - timedelta(days=40)
    store.ingest("a", [article("a", "old", "Old news", long_ago)], dedup, {}, long_ago)
    store.ingest("a", [article("a", "kept", "Bridge fund still under review", long_ago)], dedup, {}, T0)
    ingest(store, dedup, [article("a", "new", "New news", T0)])
    assert store.prune(T0 - timedelta(days=30)) == 1
    assert {s.article.title for s in store.recent_stories(10)} == {"New news", "Bridge fund still under review"}


def test_due_sources_are_claimed_once(database_url: str) -> None:
    """Two workers on one database: each due source goes to exactly one of them."""
    worker_a, worker_b = Store(database_url), Store(database_url)
    names = ["s1", "s2", "s3"]
    lease = T0 + timedelta(minutes=10)
    claimed_a = worker_a.claim_due_sources(names, T0, lease)
    claimed_b = worker_b.claim_due_sources(names, T0, lease)
    assert sorted(claimed_a + claimed_b) == names and not set(claimed_a) & set(claimed_b)
    assert worker_b.claim_due_sources(names, lease + timedelta(seconds=1), lease + timedelta(minutes=10)) == names
    worker_b.save_source_state(SourceState("s1", gone=True))
    assert "s1" not in worker_a.claim_due_sources(names, T0 + timedelta(days=1), T0 + timedelta(days=2))
    worker_a.close()
    worker_b.close()


def test_workers_sharing_a_database_merge_each_others_stories(database_url: str) -> None:
    """Worker B never saw worker A's article at start-up; it learns it before its own ingest."""
    worker_a, worker_b = Store(database_url), Store(database_url)
    dedup_a, dedup_b = Deduplicator(), Deduplicator()
    worker_a.load_dedup_window(dedup_a)
    worker_b.load_dedup_window(dedup_b)
    ingest(worker_a, dedup_a, [article("a", "1", "Central bank raises rates to 4.5%", T0)])
    result = ingest(worker_b, dedup_b, [article("b", "2", "Central bank raises rates to 4.5%", T0)])
    assert result.merged == 1
    assert [s.outlets for s in worker_a.recent_stories(10)] == [("a", "b")]
    worker_a.close()
    worker_b.close()


def test_article_versions_name_each_article_its_story_and_content(store: Store) -> None:
    """What a restarted Curator compares with its snapshot: an edit changes the content hash, a merge
    names the story joined."""
    dedup = Deduplicator()
    ingest(store, dedup, [article("bbc", "1", "Storm hits coast", T0)])
    ingest(store, dedup, [article("cnn", "9", "Storm hits coast", T0)])
    before = store.article_versions()
    assert len(before) == 2 and len({story for story, _ in before.values()}) == 1
    ingest(store, dedup, [article("bbc", "1", "Storm hits coast", T0, summary="Update: roads closed.")])
    after = store.article_versions()
    assert after.keys() == before.keys()
    assert [after[i] != before[i] for i in sorted(before)] == [True, False]


def test_writers_sharing_a_database_take_turns_from_the_first_read(database_url: str) -> None:
    """Ids come from max(id), read at the start of an ingest: two workers on one file would allocate
    the same ids unless the first holds the write lock from its first read to its commit (on SQLite,
    pysqlite's own BEGIN comes only with the first INSERT). Readers never wait for it."""
    worker_a, worker_b = Store(database_url), Store(database_url)
    inside, go = threading.Event(), threading.Event()

    class Paused(Deduplicator):  # worker A stops after its reads, before any write
        def match(self, headline: Headline) -> int | None:
            inside.set()
            go.wait(10)
            return super().match(headline)

    results: dict[str, IngestResult | Exception] = {}

    def run(name: str, worker: Store, dedup: Deduplicator, title: str) -> None:
        try:
            results[name] = ingest(worker, dedup, [article(name, "1", title, T0)])
        except Exception as exc:  # reported by the comparison below
            results[name] = exc

    first = threading.Thread(target=run, args=("a", worker_a, Paused(), "Storm nears coast"))
    first.start()
    assert inside.wait(10)
    assert worker_b.counts() == {"articles": 0, "stories": 0}  # a reader does not wait
    second = threading.Thread(target=run, args=("b", worker_b, Deduplicator(), "Oil falls to $98"))
    second.start()
    second.join(0.3)
    assert second.is_alive()  # waiting for worker A's turn to end
    go.set()
    first.join()
    second.join()
    assert results == {"a": IngestResult(new=1), "b": IngestResult(new=1)}
    assert sorted(s.outlets for s in worker_a.recent_stories(10)) == [("a",), ("b",)]
    worker_a.close()
    worker_b.close()


def test_dates_are_stored_as_sqlalchemy_would_bind_them(tmp_path: Path) -> None:
    """The ingest binds dates itself (feeder.store.driver): the text in the file must stay what
    SQLAlchemy's DateTime wrote before, in UTC, or existing databases would sort and compare wrongly."""
    path = tmp_path / "feeder.db"
    store = Store(f"sqlite:///{path}")
    east = timezone(timedelta(hours=2))
    published = datetime(2026, 11, 27, 14, 0, 0, 5, tzinfo=east)
    store.ingest("a", [article("a", "1", "Storm nears coast", published)], Deduplicator(), {}, T0)
    with contextlib.closing(sqlite3.connect(path)) as raw:
        assert raw.execute("SELECT published, updated, first_seen FROM articles").fetchone() == (
            "2026-11-27 12:00:00.000005", "2026-11-27 12:00:00.000005", "2026-11-27 12:00:00.000000")
        assert raw.execute("SELECT first_published FROM stories").fetchone() == ("2026-11-27 12:00:00.000005",)
    [story] = store.recent_stories(10)
    assert story.article.published == published and story.article.published.tzinfo == UTC
    naive = replace(article("b", "2", "Oil falls to $98", T0), published=datetime(2026, 11, 27))
    with pytest.raises((ValueError, StatementError), match="naive"):  # Core wrapped it; the driver path does not
        store.ingest("b", [naive], Deduplicator(), {}, T0)
    store.close()
