"""Snapshots of the topic index: a restart reads only what changed, and chooses what a fresh process would."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from feeder.config import TopicConfig, load_config
from feeder.dedup import make_deduplicator
from feeder.fetch import Fetcher
from feeder.ingest import TOPICS_SNAPSHOT, Pipeline
from feeder.model import Article, Story
from feeder.store import Store
from feeder.topics import Curator, Searchable, WordIndex, candidates, select_stories
from feeder.topics.curate import TopicMatcher
from feeder.topics.snapshot import decode, encode
from tests.conftest import write_config
from tests.test_topics import NOW, TAGS, article, story, titles, topic

QUERIES = ["storm", '"winter storm"', "title:storm", "url:example.com/2", "/st.rm/", "author:doe", "lang:fr",
           "category:weather", "tag:uk storm", "-storm", "source:wire"]


def pool() -> list[Story]:
    return [
        story(article("Winter storm nears", "Snow and ice.", source="bbc", url="https://example.com/1",
                      author="Jane Doe", categories=("Weather",))),
        story(article("Storm passes", "A winter of storms.", source="wire", url="https://example.com/2",
                      language="fr")),
        story(article("Markets calm", "No storm here.", source="local", url="https://example.com/3")),
    ]


def choose(index: WordIndex, stories: list[Story]) -> list[list[str]]:
    found = candidates(stories, TAGS, index)
    return [titles(select_stories(TopicMatcher(topic(q), TAGS), found, NOW)) for q in QUERIES]


def unread(monkeypatch: pytest.MonkeyPatch) -> list[Searchable]:
    """The articles read from now on (their words)."""
    read: list[Searchable] = []
    word_set = Searchable.word_set

    def counted(doc: Searchable) -> set[bytes]:
        read.append(doc)
        return word_set(doc)

    monkeypatch.setattr(Searchable, "word_set", counted)
    return read


def test_a_restored_index_answers_as_the_one_saved_and_reads_nothing_again(monkeypatch: pytest.MonkeyPatch) -> None:
    stories = pool()
    index = WordIndex()
    answers = choose(index, stories)
    restored = WordIndex.from_snapshot(decode(encode(index.snapshot())))
    read = unread(monkeypatch)
    assert choose(restored, stories) == answers == choose(WordIndex(), stories)
    assert len(read) == len(stories)  # the fresh index only


@pytest.mark.parametrize("damage", [
    lambda data: data[:-1],  # truncated
    lambda data: data[:-5] + bytes([data[-5] ^ 1]) + data[-4:],  # one bit flipped
    lambda data: b"not a snapshot" + data,
    lambda data: data.replace(b'"fingerprint": "', b'"fingerprint": "0', 1),  # other code
    lambda data: b"",
])
def test_a_damaged_or_foreign_snapshot_reads_as_none(damage: object) -> None:
    data = encode(WordIndex().snapshot())
    assert decode(data) is not None
    assert decode(damage(data)) is None  # type: ignore[operator]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'feeder.db'}")
    yield store
    store.close()


def put(store: Store, *articles: Article) -> None:
    dedup = make_deduplicator(window=timedelta(days=60))  # old stories can be joined too
    store.load_dedup_window(dedup)
    for a in articles:
        store.ingest(a.source, [replace(a, content_hash=a.content_hash or f"{a.guid}:{a.summary}")], dedup, {}, NOW)


def old(title: str, summary: str = "", days: int = 20, source: str = "wire") -> Article:
    return article(title, summary, source=source, url=f"https://example.com/{title}", age=timedelta(days=days))


RECENT = 3  # stories a publish reads as the recent ones


def publish(curator: Curator, store: Store, topics: list[TopicConfig]) -> list[list[str]]:
    return [titles(c) for c in curator.curate(topics, store.recent_stories(RECENT), TAGS, NOW)]


def test_a_restart_chooses_what_a_fresh_process_chooses(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever changed while the daemon was down, each change deciding some topic's entries: an old
    article edited to match, a new article older than the recent ones, an article joining an old story
    (coverage), a topic's entry edited not to match (the next best is neither recent nor kept), a topic
    changed and one added."""
    put(store, old("Harbour reopens", days=25), old("Geyser erupts in Iceland", days=21),
        old("Lava flows", "An eruption.", days=18), old("Volcano ash cloud", days=15),
        old("Glacier melts faster", days=12), old("Volcano seen from space", days=10, source="bbc"),
        old("Alert in Hawaii", "An eruption is near.", days=9),
        *[article(f"Markets day {n}", source="bbc", url=f"https://example.com/m{n}", age=timedelta(hours=n))
          for n in range(1, 4)])
    geyser, volcano = topic("geyser OR glacier"), topic("volcano", rank="coverage", max_items=1)
    eruption, markets, changed = topic("eruption", max_items=1), topic("markets", max_items=2), topic("title:melts")
    curator = Curator(store)
    versions = store.article_versions()
    assert publish(curator, store, [geyser, volcano, eruption, markets, changed]) == [
        ["Glacier melts faster", "Geyser erupts in Iceland"], ["Volcano seen from space"], ["Alert in Hawaii"],
        ["Markets day 1", "Markets day 2"], ["Glacier melts faster"]]
    saved = encode(curator.snapshot(versions, TAGS))

    put(store, old("Harbour reopens", "A geyser appeared.", days=25),  # edited: now matches
        old("Ancient geyser field mapped", days=30),  # new, but older than the recent stories
        old("Volcano ash cloud", days=15, source="bbc"),  # joins the story: two outlets now
        old("Alert in Hawaii", "All clear.", days=9),  # a kept entry edited: no longer matches
        article("Markets day 0", source="bbc", url="https://example.com/m0", age=timedelta(minutes=5)))
    after = [geyser, volcano, eruption, markets, replace(changed, query="title:geyser"),
             replace(topic("ash"), slug="new")]

    fresh_read = unread(monkeypatch)
    fresh = publish(Curator(store), store, after)
    assert fresh == [["Glacier melts faster", "Geyser erupts in Iceland", "Harbour reopens",
                      "Ancient geyser field mapped"], ["Volcano ash cloud"], ["Lava flows"],
                     ["Markets day 0", "Markets day 1"], ["Geyser erupts in Iceland", "Ancient geyser field mapped"],
                     ["Volcano ash cloud"]]
    restarted = Curator(store)
    restarted.restore(decode(saved), store.article_versions(), TAGS)
    read = unread(monkeypatch)
    assert publish(restarted, store, after) == fresh
    # What is new or changed is read (no stale words); less than a fresh process reads. (A topic whose
    # entries changed searches again, and its finds may be read once more by the recent stories' index,
    # as when a running daemon's topic changes.)
    assert {"Harbour reopens", "Ancient geyser field mapped", "Volcano ash cloud", "Alert in Hawaii",
            "Markets day 0"} <= {doc.article.title for doc in read}
    assert len(read) < len(fresh_read)


def test_a_restart_with_other_source_tags_searches_again(store: Store) -> None:
    put(store, old("Geyser erupts", source="local", days=20), old("Geyser rumbles", source="wire", days=21),
        article("Markets up", source="bbc"))
    uk = topic("tag:uk geyser")
    curator = Curator(store)
    versions = store.article_versions()
    assert publish(curator, store, [uk]) == [["Geyser erupts"]]
    saved = decode(encode(curator.snapshot(versions, TAGS)))
    retagged = {**TAGS, "local": ("world",), "wire": ("uk",)}
    restarted = Curator(store)
    restarted.restore(saved, store.article_versions(), retagged)
    assert [titles(c) for c in restarted.curate([uk], store.recent_stories(1), retagged, NOW)] == [["Geyser rumbles"]]


def test_a_restart_after_a_kept_entry_aged_out_searches_again(store: Store) -> None:
    """Ranked by coverage, the entry that ages out may have hidden a story ranked below it."""
    put(store, old("Storm floods towns", days=9), old("Storm floods towns", days=9, source="bbc"),
        old("Storm passes", days=5), *[article(f"Markets day {n}", source="bbc", url=f"https://example.com/m{n}",
                                               age=timedelta(hours=n)) for n in range(1, 4)])
    storms = topic("storm", rank="coverage", max_items=1, max_age=timedelta(days=10))
    curator = Curator(store)
    versions = store.article_versions()
    assert publish(curator, store, [storms]) == [["Storm floods towns"]]
    later = NOW + timedelta(days=2)
    restarted = Curator(store)
    restarted.restore(decode(encode(curator.snapshot(versions, TAGS))), store.article_versions(), TAGS)
    assert [titles(c) for c in restarted.curate([storms], store.recent_stories(RECENT), TAGS, later)] == [
        ["Storm passes"]]


def test_the_pipeline_saves_a_snapshot_and_the_next_start_reads_only_what_changed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(write_config(tmp_path, """
        [[source]]
        name = "wire"
        url = "http://127.0.0.1:9/wire"
        [[topic]]
        slug = "storms"
        title = "Storms"
        query = "storm"
    """))
    store = Store(config.database)
    try:
        put(store, *[article(f"Storm {n}", source="wire", url=f"https://example.com/{n}") for n in range(5)])

        def start() -> Pipeline:
            pipeline = Pipeline(config, store, Fetcher(config.fetch))
            pipeline.close()  # its executors are not needed to publish
            return pipeline

        first = start().topic_feeds(NOW)
        assert (config.state_dir / TOPICS_SNAPSHOT).is_file()
        put(store, article("Storm 9", "edited", source="wire", url="https://example.com/9"))
        read = unread(monkeypatch)
        assert [len(f.stories) for f in start().topic_feeds(NOW)] == [len(first[0].stories) + 1]
        assert [doc.article.title for doc in read] == ["Storm 9"]
        snapshot = config.state_dir / TOPICS_SNAPSHOT
        snapshot.write_bytes(snapshot.read_bytes()[:-10])  # damaged: everything is read again, nothing fails
        read.clear()
        assert [len(f.stories) for f in start().topic_feeds(NOW)] == [6]
        assert len(read) == 6
    finally:
        store.close()
