"""Storage: the only place that speaks SQL. SQLite by default, any SQLAlchemy URL (PostgreSQL) too."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, NoResultFound, SQLAlchemyError

from feeder.dedup import Deduplicator, Headline
from feeder.dedup.text import Words
from feeder.model import Article, SourceState, Story
from feeder.store.driver import Stamps, Statements, run_many
from feeder.store.migrate import sanitise_stored_markup
from feeder.store.schema import articles, metadata, sources, stories

log = logging.getLogger("feeder.store")
_CATEGORY_SEP = "\x1f"
_INGEST_LOCK = 0x0FEEDE4  # PostgreSQL advisory lock key: one ingest at a time across workers


@dataclass(frozen=True, slots=True)
class IngestResult:
    new: int = 0
    changed: int = 0
    merged: int = 0  # new articles that joined an existing story


class Store:
    """Articles, stories and per-source fetch state in one database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _engine(url)
        with self._writing() as conn:
            metadata.create_all(conn)
        self._sql = Statements(self.engine.dialect)
        self._stamps = Stamps(self._sql.stamp)
        # True: every stored summary and content is as today's sanitiser leaves it, so the publisher may
        # trust it (feeder.store.migrate).
        self.markup_current = self._bring_markup_current()
        self._checkpointer = _Checkpointer(self.engine) if _is_sqlite_file(url) else None
        # Per deduplicator: the highest article id it has been taught, to catch up with other workers.
        self._high_water: dict[int, int] = {}

    def _bring_markup_current(self) -> bool:
        try:
            with self._writing() as conn:
                _take_turn(conn)
                sanitise_stored_markup(conn)
        except SQLAlchemyError as exc:  # a busy or read-only database: publishing checks every entry instead
            log.warning("stored markup not re-sanitised, the publisher will check every entry: %s",
                        str(exc).splitlines()[0])
            return False
        return True

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self.engine.dispose()

    @contextlib.contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A transaction that writes. On SQLite it takes the write lock at BEGIN, before its first read (ids
        are allocated from max(id), see _Ingest), so that writers sharing the file take turns; readers
        run each statement on its own and never wait for it (WAL)."""
        with self.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                # Emitted here, not from a "begin" event (SQLAlchemy's recipe): with any engine event
                # listened to, SQLAlchemy dispatches its (empty) events around every statement.
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield conn

    # -- sources -------------------------------------------------------------------------------

    def source_state(self, name: str) -> SourceState | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(sources).where(sources.c.name == name)).mappings().first()
        return SourceState(**row) if row else None

    def source_states(self) -> dict[str, SourceState]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(sources).order_by(sources.c.name)).mappings().all()
        return {row["name"]: SourceState(**row) for row in rows}

    def save_source_state(self, state: SourceState) -> None:
        self.save_source_states([state])

    def save_source_states(self, states: Sequence[SourceState]) -> None:
        """Several states in one transaction and one statement: a warm refresh of thousands of 304s
        commits once per batch. The latest state of a source given twice wins."""
        with self._writing() as conn:
            self._write_states(conn, states)

    def _write_states(self, conn: Connection, states: Sequence[SourceState]) -> None:
        latest = {state.name: state for state in states}
        if not latest:
            return
        if self._sql.upsert_source is not None:
            run_many(conn, self._sql.upsert_source, [self._sql.source_row(state) for state in latest.values()])
            return
        known: set[str] = set()
        for chunk in _chunks(list(latest), 500):
            known.update(conn.execute(select(sources.c.name).where(sources.c.name.in_(chunk))).scalars())
        rows = {name: {f.name: getattr(state, f.name) for f in fields(SourceState)}
                for name, state in latest.items()}
        changed = [{**values, "key": name} for name, values in rows.items() if name in known]
        if changed:
            columns: dict[str, Any] = {f.name: bindparam(f.name) for f in fields(SourceState) if f.name != "name"}
            conn.execute(update(sources).where(sources.c.name == bindparam("key")).values(columns), changed)
        added = [values for name, values in rows.items() if name not in known]
        if added:
            conn.execute(insert(sources), added)

    def claim_due_sources(self, names: Sequence[str], now: datetime, lease_until: datetime) -> list[str]:
        """Claim the sources that are due: each claim moves next_fetch to the lease's end, atomically,
        so that several workers sharing one database never fetch the same source twice."""
        with self.engine.connect() as conn:
            known = set(conn.execute(select(sources.c.name)).scalars())
        for name in names:
            if name not in known:
                with contextlib.suppress(IntegrityError), self._writing() as conn:
                    conn.execute(insert(sources).values(name=name))  # another worker may win: fine
        due = (sources.c.next_fetch.is_(None) | (sources.c.next_fetch <= now)) & sources.c.gone.is_(False)
        wanted = set(names)
        claimed = []
        with self.engine.connect() as conn:
            candidates = [n for n in conn.execute(select(sources.c.name).where(due)).scalars() if n in wanted]
        for name in sorted(candidates):
            with self._writing() as conn:
                done = conn.execute(update(sources).where(sources.c.name == name, due)
                                    .values(next_fetch=lease_until))
                if done.rowcount == 1:
                    claimed.append(name)
        return claimed

    # -- articles and stories ------------------------------------------------------------------

    def ingest(
        self,
        source: str,
        new_articles: Sequence[Article],
        dedup: Deduplicator,
        priorities: Mapping[str, int],
        now: datetime,
        title_words: Mapping[str, Words] | None = None,
        state: SourceState | None = None,
    ) -> IngestResult:
        """Store one source's articles in one transaction, joining each new one to its story."""
        return self.ingest_many([(source, new_articles)], dedup, priorities, now, title_words,
                                [state] if state else ())[0]

    def ingest_many(
        self,
        batches: Sequence[tuple[str, Sequence[Article]]],
        dedup: Deduplicator,
        priorities: Mapping[str, int],
        now: datetime,
        title_words: Mapping[str, Words] | None = None,
        states: Sequence[SourceState] = (),
    ) -> list[IngestResult]:
        """Store several sources' articles (each source once) in one transaction: one result per source.

        ``title_words``: titles' ``content_words``, where already worked out (a parse worker does it);
        the rest are tokenised here. ``states``: source states saved in the same transaction, so that a
        source's new validators (ETag, Last-Modified) are stored if and only if its articles are.

        Other workers may share the database: ingests take turns (an advisory lock on PostgreSQL, the
        write lock on SQLite), and each first teaches ``dedup`` what the others stored since its last turn.
        On an exception the transaction rolls back but ``dedup`` has learnt the batch's headlines:
        the caller must then rebuild it with ``load_dedup_window``.
        """
        if len({source for source, _ in batches}) < len(batches):
            raise ValueError("ingest_many: a source may appear only once in a transaction")
        with self._writing() as conn:
            _take_turn(conn)
            self._catch_up(conn, dedup)
            job = _Ingest(conn, self._sql, self._stamps, dedup, priorities, now, title_words or {})
            results = job.run_all(batches)
            job.write()
            self._write_states(conn, states)
            self._high_water[id(dedup)] = max(self._high_water.get(id(dedup), 0), job.last_article_id)
            return results

    def known_guids(self, source: str, guids: Sequence[str]) -> set[str]:
        """Which of these guids the source already has stored."""
        found: set[str] = set()
        with self.engine.connect() as conn:
            for chunk in _chunks(list(guids), 500):
                found.update(conn.execute(select(articles.c.guid).where(
                    articles.c.source == source, articles.c.guid.in_(chunk))).scalars())
        return found

    def load_dedup_window(self, dedup: Deduplicator) -> int:
        """Teach a fresh deduplicator the stored articles inside its window, in arrival order."""
        with self.engine.connect() as conn:
            newest = conn.execute(select(func.max(articles.c.published))).scalar()
            if newest is None:
                self._high_water[id(dedup)] = 0
                return 0
            return self._teach(conn, dedup, _TAUGHT.where(articles.c.published >= _as_utc(newest) - dedup.window))

    def _catch_up(self, conn: Connection, dedup: Deduplicator) -> int:
        """Articles other workers stored since this deduplicator last looked."""
        return self._teach(conn, dedup, _CAUGHT_UP, {"high_water": self._high_water.get(id(dedup), 0)})

    def _teach(self, conn: Connection, dedup: Deduplicator, query: Select[Any],
               params: Mapping[str, Any] | None = None) -> int:
        rows = conn.execute(query, params).all()
        for _id, story_id, title, published, url in rows:
            dedup.add(story_id, Headline(title, _as_utc(published), url))
        if rows:
            self._high_water[id(dedup)] = max(self._high_water.get(id(dedup), 0), rows[-1][0])
        return len(rows)

    def recent_stories(self, limit: int, since: datetime | None = None) -> list[Story]:
        """Stories newest first by first publication, each with all its articles."""
        query = select(stories).order_by(stories.c.first_published.desc(), stories.c.id.desc()).limit(limit)
        if since is not None:
            query = query.where(stories.c.first_published >= since)
        with self.engine.connect() as conn:
            return _with_articles(conn, conn.execute(query).mappings().all())

    def story_ids(self, since: datetime | None = None) -> list[int]:
        """Every stored story's id (first published at or after ``since``), newest first: cheap to list all."""
        query = select(stories.c.id).order_by(stories.c.first_published.desc(), stories.c.id.desc())
        if since is not None:
            query = query.where(stories.c.first_published >= since)
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def stories_by_id(self, ids: Iterable[int]) -> list[Story]:
        """These stories (those still stored), newest first, each with all its articles."""
        story_rows: list[Any] = []
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(set(ids)), 500):
                story_rows.extend(conn.execute(select(stories).where(stories.c.id.in_(chunk))).mappings())
            story_rows.sort(key=lambda row: (row["first_published"], row["id"]), reverse=True)
            return _with_articles(conn, story_rows)

    def article_versions(self) -> dict[int, tuple[int, str]]:
        """Every stored article's id -> (story id, content hash): what tells a restarted Curator which
        stories changed while it was down (feeder.topics.Curator.restore)."""
        query = select(articles.c.id, articles.c.story_id, articles.c.content_hash)
        with self.engine.connect() as conn:
            return {article_id: (story_id, digest) for article_id, story_id, digest in conn.execute(query)}

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {
                "articles": conn.execute(select(func.count()).select_from(articles)).scalar_one(),
                "stories": conn.execute(select(func.count()).select_from(stories)).scalar_one(),
            }

    def prune(self, older_than: datetime) -> int:
        """Delete stories (and their articles) whose every article was first seen before the cut.

        First seen, not published: an old article its source still carries (an archive, a folder of
        files) would otherwise be pruned and ingested again on every poll."""
        with self._writing() as conn:
            newest = select(articles.c.story_id).where(articles.c.first_seen >= older_than)
            doomed = select(stories.c.id).where(stories.c.id.not_in(newest))
            conn.execute(delete(articles).where(articles.c.story_id.in_(doomed)))
            return conn.execute(delete(stories).where(stories.c.id.not_in(newest))).rowcount


# The ingest's Core queries, built once: each transaction runs them, and building a statement costs
# more than executing one of these small queries from SQLAlchemy's compiled cache.
_TAUGHT = select(articles.c.id, articles.c.story_id, articles.c.title, articles.c.published,
                 articles.c.url).order_by(articles.c.id)
_CAUGHT_UP = _TAUGHT.where(articles.c.id > bindparam("high_water"))
_TOP_IDS = select(select(func.max(articles.c.id)).scalar_subquery(), select(func.max(stories.c.id)).scalar_subquery())
_DRAFTS = (select(stories.c.id, stories.c.canonical_id, stories.c.first_published, stories.c.updated,
                  articles.c.source, articles.c.published)
           .select_from(stories.outerjoin(articles, articles.c.id == stories.c.canonical_id))
           .where(stories.c.id.in_(bindparam("ids", expanding=True))))


@dataclass(slots=True)
class _StoryDraft:
    """A story as this batch leaves it: who is canonical, when it was first published, last updated."""

    canonical_id: int | None
    canonical_source: str
    canonical_published: datetime | None
    first_published: datetime
    updated: datetime
    uid: str = ""  # set for stories this batch creates


class _Ingest:
    """One transaction's worth of ingesting: decisions in Python, writes in a few statements.

    Ids are allocated here (max + 1) rather than by the database, so that a whole batch goes in with
    executemany; this is safe because ingests take turns (see Store.ingest_many). New rows wait for
    ``write``, so that several sources share each statement.
    """

    def __init__(self, conn: Connection, sql: Statements, stamps: Stamps, dedup: Deduplicator,
                 priorities: Mapping[str, int], now: datetime, title_words: Mapping[str, Words]) -> None:
        self.conn = conn
        self.sql = sql
        self.dedup = dedup
        self.title_words = title_words
        self.priorities = priorities
        self.now = now
        self.stamps = stamps
        self.seen = stamps[now]
        self.drafts: dict[int, _StoryDraft] = {}
        self.rows: list[tuple[Any, ...]] = []  # in driver.ARTICLE_COLUMNS order
        self.next_article = 0  # 0: not read from the database yet
        self.next_story = 0
        self.last_article_id = 0

    def run_all(self, batches: Sequence[tuple[str, Sequence[Article]]]) -> list[IngestResult]:
        """Each source's articles in turn; what is stored already is looked up for all of them at once."""
        unique = [(source, list(_unique_guids(batch))) for source, batch in batches]
        known = self._known([(source, a.guid) for source, batch in unique for a in batch])
        return [self._run(source, batch, known) for source, batch in unique]

    def _run(self, source: str, unique: list[Article],
             known: Mapping[tuple[str, str], tuple[int, str]]) -> IngestResult:
        stored = [(known.get((source, a.guid)), a) for a in unique]
        fresh = [a for found, a in stored if found is None]
        edited = [(found[0], a) for found, a in stored if found is not None and found[1] != a.content_hash]
        if edited:
            self.write()  # an edit updates its story directly: drafts written later must not undo that
        for article_id, article in edited:
            self._update(article_id, article)
        merged = self._insert_all(fresh) if fresh else 0
        return IngestResult(len(fresh), len(edited), merged)

    def _known(self, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], tuple[int, str]]:
        """(source, guid) -> (id, content hash) of those stored. No source's articles are written before
        its turn, and each source comes once: one look-up at the start answers for every turn."""
        found: dict[tuple[str, str], tuple[int, str]] = {}
        for chunk in _chunks(pairs, 500):
            rows = self.conn.exec_driver_sql(self.sql.known(len(chunk)), tuple(v for pair in chunk for v in pair))
            found.update({(source, guid): (row_id, digest) for source, guid, row_id, digest in rows})
        return found

    def _insert_all(self, fresh: list[Article]) -> int:
        if not self.next_article:
            top_article, top_story = self.conn.execute(_TOP_IDS).one()
            self.next_article, self.next_story = (top_article or 0) + 1, (top_story or 0) + 1
        placed = [self._place(article) for article in fresh]
        self._load_drafts(sorted({story_id for _, story_id, _, _ in placed if story_id not in self.drafts}))
        stamp, seen = self.stamps.__getitem__, self.seen
        for article_id, story_id, article, _ in placed:
            self.rows.append((article_id, article.source, article.guid, article.url, article.title, article.author,
                              article.summary, article.content, _CATEGORY_SEP.join(article.categories),
                              article.language, stamp(article.published), stamp(article.updated), seen,
                              article.content_hash, story_id))
            self._elect(story_id, article, article_id)
        self.last_article_id = self.next_article - 1
        return sum(joined for _, _, _, joined in placed)

    def _place(self, article: Article) -> tuple[int, int, Article, bool]:
        """The article's id, the story it goes to and whether that story was there before it (if none
        matches, a new one, drafted here)."""
        article_id, self.next_article = self.next_article, self.next_article + 1
        # Headlines only: no engine reads summaries yet.
        headline = Headline(article.title, article.published, article.url, words=self.title_words.get(article.title))
        story_id = self.dedup.match(headline)
        if story_id is None:
            story_id, self.next_story = self.next_story, self.next_story + 1
            self.drafts[story_id] = _StoryDraft(None, "", None, article.published, article.updated,
                                                uid=_story_uid(article))
            joined = False
        else:
            joined = True
        self.dedup.add(story_id, headline)
        return article_id, story_id, article, joined
    def _elect(self, story_id: int, article: Article, article_id: int) -> None:
        draft = self.drafts[story_id]
        draft.first_published = min(draft.first_published, article.published)
        if draft.canonical_id is None or self._outranks(article, draft.canonical_source,
                                                        draft.canonical_published):
            # From the data, not the clock: the same articles give the same feed, however they arrived.
            draft.canonical_id, draft.canonical_source = article_id, article.source
            draft.canonical_published = article.published
            draft.updated = max(draft.updated, article.updated)

    def _load_drafts(self, story_ids: Sequence[int]) -> None:
        """Drafts of stored stories, as they are now (after any edit this transaction wrote)."""
        for chunk in _chunks(story_ids, 500):
            rows = self.conn.execute(_DRAFTS, {"ids": chunk}).all()
            for story_id, canonical_id, first_published, updated, source, published in rows:
                self.drafts[story_id] = _StoryDraft(canonical_id, source or "",
                                                    _as_utc(published) if published else None,
                                                    _as_utc(first_published), _as_utc(updated))
            if len(rows) < len(chunk):
                raise NoResultFound(f"stories {sorted(set(chunk) - set(self.drafts))} are gone")

    def write(self) -> None:
        """The rows and story changes decided so far, in three statements."""
        drafts, rows = self.drafts, self.rows
        self.drafts, self.rows = {}, []
        stamp, sql = self.stamps.__getitem__, self.sql
        run_many(self.conn, sql.insert_story, [
            (story_id, d.uid, d.canonical_id, stamp(d.first_published), stamp(d.updated))
            for story_id, d in drafts.items() if d.uid])
        run_many(self.conn, sql.insert_article, rows)
        run_many(self.conn, sql.update_story, [
            (d.canonical_id, stamp(d.first_published), stamp(d.updated), story_id)
            for story_id, d in drafts.items() if not d.uid])

    def _update(self, article_id: int, article: Article) -> None:
        """An edited article rewritten in place."""
        self.conn.execute(update(articles).where(articles.c.id == article_id).values(**_row(article)))
        story_id, canonical_id = self.conn.execute(
            select(stories.c.id, stories.c.canonical_id)
            .join(articles, articles.c.story_id == stories.c.id)
            .where(articles.c.id == article_id)
        ).one()
        if canonical_id == article_id:
            # Only the canonical article's content is what readers see: only it moves `updated`.
            self.conn.execute(update(stories).where(stories.c.id == story_id)
                              .values(updated=max(article.updated, self.now)))

    def _outranks(self, article: Article, source: str, published: datetime | None) -> bool:
        mine, theirs = self.priorities.get(article.source, 0), self.priorities.get(source, 0)
        return mine > theirs or (mine == theirs and (published is None or article.published < published))


def _take_turn(conn: Connection) -> None:
    """Writers that allocate ids or rewrite rows go one at a time: on PostgreSQL by an advisory lock held
    to the end of the transaction; on SQLite the write lock does it."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _INGEST_LOCK})


def _with_articles(conn: Connection, story_rows: Sequence[Any]) -> list[Story]:
    """Stories from their rows, in the same order, each with its canonical article first."""
    ids = [row["id"] for row in story_rows]
    members: dict[int, list[Article]] = {i: [] for i in ids}
    canonical_ids = {row["id"]: row["canonical_id"] for row in story_rows}
    for chunk in _chunks(ids, 500):
        rows = conn.execute(
            select(articles).where(articles.c.story_id.in_(chunk)).order_by(articles.c.id)
        ).mappings()
        for row in rows:
            article = _article(row)
            if row["id"] == canonical_ids[row["story_id"]]:
                members[row["story_id"]].insert(0, article)
            else:
                members[row["story_id"]].append(article)
    return [
        Story(row["id"], row["uid"], row["first_published"], row["updated"], tuple(members[row["id"]]))
        for row in story_rows
        if members[row["id"]]
    ]


def _engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, future=True)
    if _is_sqlite_file(url):
        Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True, connect_args={"timeout": 30})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite would BEGIN (deferred) only at the first INSERT, after a transaction's reads: Store._writing
    # emits BEGIN IMMEDIATE instead (as in SQLAlchemy's "Enabling Non-Legacy SQLite Transactional Modes").
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL: readers (the HTTP server) never wait for the writer; synchronous=NORMAL is crash-safe in WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA wal_autocheckpoint=0")  # see _Checkpointer
    cursor.close()


def _is_sqlite_file(url: str) -> bool:
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")


class _Checkpointer:
    """Copies SQLite's write-ahead log into the database from a thread of its own, once a second.

    SQLite's automatic checkpoint runs inside the commit that crosses 1,000 pages, with two fsyncs: the
    ingest writer, the one thread everything is stored through, would wait for the disk there. PASSIVE
    never blocks the writer or a reader. (bench/store.py times the writer with this thread running.)
    """

    INTERVAL_S = 1.0

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="feeder-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.wait(self.INTERVAL_S):
            self.checkpoint("PASSIVE")

    def checkpoint(self, mode: str) -> None:
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})")
        except Exception as exc:  # a busy or vanished database: the next round (or the next start) copies it
            log.warning("WAL checkpoint (%s) failed: %s", mode, exc)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()
        self.checkpoint("TRUNCATE")  # leave a small log behind


def _row(article: Article) -> dict[str, Any]:
    return {
        "source": article.source, "guid": article.guid, "url": article.url, "title": article.title,
        "author": article.author, "summary": article.summary, "content": article.content,
        "categories": _CATEGORY_SEP.join(article.categories), "language": article.language,
        "published": article.published, "updated": article.updated, "content_hash": article.content_hash,
    }


def _article(row: Any) -> Article:
    return Article(
        source=row["source"], guid=row["guid"], url=row["url"], title=row["title"],
        published=row["published"], updated=row["updated"], author=row["author"], summary=row["summary"],
        content=row["content"], categories=tuple(c for c in row["categories"].split(_CATEGORY_SEP) if c),
        language=row["language"], content_hash=row["content_hash"],
    )


def _story_uid(article: Article) -> str:
    return hashlib.blake2b(f"{article.source}\x00{article.guid}".encode(), digest_size=16).hexdigest()


def _unique_guids(batch: Iterable[Article]) -> Iterator[Article]:
    seen: set[str] = set()
    for article in batch:
        if article.guid not in seen:
            seen.add(article.guid)
            yield article


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


__all__ = ["IngestResult", "Store"]
