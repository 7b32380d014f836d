"""The sanitiser stamp: a store re-sanitises rows an older sanitiser left, once, so the publisher can trust
stored markup. Checked on a real SQLite file laid out by the schema before the stamp (no ``meta`` table)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from feeder.config import TopicConfig
from feeder.normalise import sanitise_html
from feeder.publish import Publisher, RenderCache, TopicFeed
from feeder.store import _INGEST_LOCK, Store
from feeder.store.migrate import SANITISER, sanitiser_stamp
from tests.test_publish import SOURCES, article, make_config, story

# What Store() created before the meta table existed (sqlite_master of a database made by that code).
OLD_SCHEMA = """
CREATE TABLE sources (name VARCHAR(100) NOT NULL, url TEXT NOT NULL, title TEXT NOT NULL, link TEXT NOT NULL,
  etag TEXT NOT NULL, last_modified TEXT NOT NULL, last_attempt DATETIME, last_success DATETIME,
  status INTEGER NOT NULL, error TEXT NOT NULL, failures INTEGER NOT NULL, next_fetch DATETIME,
  entries_seen INTEGER NOT NULL, gone BOOLEAN NOT NULL, redirect_to TEXT NOT NULL, config_url TEXT NOT NULL,
  PRIMARY KEY (name));
CREATE INDEX ix_sources_next_fetch ON sources (next_fetch);
CREATE TABLE stories (id INTEGER NOT NULL, uid VARCHAR(32) NOT NULL, canonical_id INTEGER,
  first_published DATETIME NOT NULL, updated DATETIME NOT NULL, PRIMARY KEY (id), UNIQUE (uid));
CREATE INDEX ix_stories_first_published ON stories (first_published);
CREATE TABLE articles (id INTEGER NOT NULL, source VARCHAR(100) NOT NULL, guid TEXT NOT NULL, url TEXT NOT NULL,
  title TEXT NOT NULL, author TEXT NOT NULL, summary TEXT NOT NULL, content TEXT NOT NULL,
  categories TEXT NOT NULL, language VARCHAR(16) NOT NULL, published DATETIME NOT NULL,
  updated DATETIME NOT NULL, first_seen DATETIME NOT NULL, content_hash VARCHAR(32) NOT NULL,
  story_id INTEGER NOT NULL, PRIMARY KEY (id), CONSTRAINT uq_articles_source_guid UNIQUE (source, guid),
  FOREIGN KEY(story_id) REFERENCES stories (id));
CREATE INDEX ix_articles_story ON articles (story_id);
CREATE INDEX ix_articles_published ON articles (published);
"""
WHEN = "2026-11-27 12:00:00.000000"
# As an older sanitiser could have left them: a handler, a script, relative links.
OLD_SUMMARY = '<p onclick="x()">Up <a href="/markets">5%</a></p><script>alert(1)</script>'
OLD_CONTENT = '<p>See <img src="chart.png"> and <a href="javascript:alert(1)">this</a></p>'
CLEAN = "<p>Already <em>clean</em>.</p>"


def old_database(path: Path) -> str:
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
        db.execute("INSERT INTO sources VALUES ('wire', 'https://wire.example/feed.xml', 'Wire', 'https://wire.example/',"
                   " '', '', NULL, NULL, 0, '', 0, NULL, 0, 0, '', '')")
        for n, (url, summary, content) in enumerate([("https://wire.example/story/1", OLD_SUMMARY, OLD_CONTENT),
                                                     ("", "", '<p><a href="/local">relative</a></p>'),
                                                     ("https://wire.example/story/3", CLEAN, CLEAN)], 1):
            db.execute("INSERT INTO stories VALUES (?, ?, NULL, ?, ?)", (n, f"{n:032x}", WHEN, WHEN))
            db.execute("INSERT INTO articles VALUES (?, 'wire', ?, ?, ?, '', ?, ?, 'world', 'en', ?, ?, ?, ?, ?)",
                       (n, f"g{n}", url, f"Story {n}", summary, content, WHEN, WHEN, WHEN, "0" * 32, n))
    return f"sqlite:///{path}"


def stored(path: Path) -> dict[int, tuple[str, str]]:
    with sqlite3.connect(path) as db:
        return {n: (s, c) for n, s, c in db.execute("SELECT id, summary, content FROM articles ORDER BY id")}


def stamp(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as db:
        return list(db.execute("SELECT key, value FROM meta"))


def test_opening_a_database_from_before_the_stamp_sanitises_every_row_once(tmp_path: Path) -> None:
    path = tmp_path / "feeder.db"
    store = Store(old_database(path))
    store.close()
    assert store.markup_current and stamp(path) == [(SANITISER, sanitiser_stamp())]
    rows = stored(path)
    assert rows[1] == (sanitise_html(OLD_SUMMARY, "https://wire.example/story/1"),
                       sanitise_html(OLD_CONTENT, "https://wire.example/story/1"))
    assert "script" not in "".join(rows[1]) and 'href="https://wire.example/markets"' in rows[1][0]
    # No article URL: resolved against the source's feed, as at ingest.
    assert rows[2] == ("", '<p><a href="https://wire.example/local" rel="noopener noreferrer">relative</a></p>')
    assert rows[3] == (CLEAN, CLEAN)

    with sqlite3.connect(path) as db:  # a row changed behind the stamp's back is not looked at again...
        db.execute("UPDATE articles SET content = ? WHERE id = 3", (OLD_CONTENT,))
    Store(f"sqlite:///{path}").close()
    assert stored(path)[3] == (CLEAN, OLD_CONTENT)
    with sqlite3.connect(path) as db:  # ...until the sanitiser changes
        db.execute("UPDATE meta SET value = 'nh3 0.0.1 normalise 0' WHERE key = ?", (SANITISER,))
    Store(f"sqlite:///{path}").close()
    assert stored(path)[3] == (CLEAN, sanitise_html(OLD_CONTENT, "https://wire.example/story/3"))
    assert stamp(path) == [(SANITISER, sanitiser_stamp())]


def test_a_new_database_is_stamped_without_a_pass(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'feeder.db'}")
    store.close()
    assert store.markup_current and stamp(tmp_path / "feeder.db") == [(SANITISER, sanitiser_stamp())]


def test_trusted_markup_from_a_stamped_store_publishes_what_checking_it_would(tmp_path: Path) -> None:
    path = tmp_path / "feeder.db"
    store = Store(old_database(path))
    stories = tuple(store.recent_stories(10))
    store.close()
    feed = TopicFeed(TopicConfig("world", "World"), stories)
    config = make_config(tmp_path)
    checked = Publisher(config, SOURCES, RenderCache()).documents(feed)
    trusted = Publisher(config, SOURCES, RenderCache(), markup_trusted=True)
    assert trusted.documents(feed) == checked


def test_a_publisher_that_trusts_markup_does_not_sanitise_it(tmp_path: Path) -> None:
    feed = TopicFeed(TopicConfig("world", "World"), (story(1, article("wire", 1, content=CLEAN + "<hr/>")),))
    config = make_config(tmp_path)
    assert b"&lt;hr/&gt;" in Publisher(config, SOURCES, RenderCache(), markup_trusted=True).atom(feed)
    assert b"&lt;hr/&gt;" not in Publisher(config, SOURCES, RenderCache()).atom(feed)


def test_workers_starting_together_take_turns_to_re_sanitise(database_url: str) -> None:
    """Two workers opening a database with an old stamp at once: both start, the stamp ends current."""
    Store(database_url).close()
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE meta SET value = 'nh3 0.0.1 normalise 0' WHERE key = :key"), {"key": SANITISER})
    opened: list[bool] = []

    def open_store() -> None:
        store = Store(database_url)
        opened.append(store.markup_current)
        store.close()

    with engine.connect() as blocker:  # holds both workers at their turn until they are both waiting
        if blocker.dialect.name == "postgresql":
            blocker.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _INGEST_LOCK})
        else:
            blocker.exec_driver_sql("BEGIN IMMEDIATE")
        workers = [threading.Thread(target=open_store) for _ in range(2)]
        for worker in workers:
            worker.start()
        time.sleep(0.5)
        if blocker.dialect.name == "postgresql":
            blocker.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _INGEST_LOCK})
        else:
            blocker.exec_driver_sql("COMMIT")
        for worker in workers:
            worker.join()
    with engine.connect() as conn:
        assert list(conn.execute(text("SELECT key, value FROM meta"))) == [(SANITISER, sanitiser_stamp())]
    engine.dispose()
    assert opened == [True, True]
