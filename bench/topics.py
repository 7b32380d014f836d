"""What matching costs: 100 topics against 100,000 stored articles, synthesised in memory.

    PYTHONPATH=. python bench/topics.py [--articles N] [--topics N]

Times what Curator.curate does at each publish, in two steps: wrap the stored stories for matching and index
the words of the articles not seen before (the Curator keeps every article's words between publishes), then
match the topics. Four publishes: the first after a start (every article read), then one with the same
articles, one where 1% changed, and one where 10 topics were replaced (no article read again); then the first
publish after a restart that finds the index's snapshot (reading the file timed too). Prints the index's size
too.
Wall and CPU time are both shown: on a shared machine wall time includes waiting for a core.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from feeder.config import TopicConfig
from feeder.ingest import STORY_POOL
from feeder.model import Article, Story
from feeder.topics import Curator, TopicMatcher, WordIndex, candidates, select_stories
from feeder.topics.snapshot import decode, encode

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SOURCES = [f"outlet-{n}" for n in range(40)]
TAGS = {name: (("world",) if n % 2 else ("uk",)) + (("business",) if n % 5 == 0 else ()) for n, name in
        enumerate(SOURCES)}
PLACES = ["Kyïv", "Ukraine", "Russia", "Paris", "Berlin", "Zürich", "São Paulo", "Málaga", "Gaza", "Israel",
          "Washington", "Beijing", "Taiwan", "London", "Brussels", "Warsaw", "Delhi", "Tokyo", "Nairobi", "Lagos",
          "Canberra", "Ottawa", "Mexico", "Brazil", "Iran", "Syria", "Sudan", "Kraków", "Łódź", "Reykjavík"]
SUBJECTS = ["election", "inflation", "central bank", "interest rates", "climate summit", "wildfires",
            "floods", "heatwave", "energy prices", "gas pipeline", "ceasefire", "peace talks", "drone strike",
            "trade deal", "tariffs", "strike", "football", "Champions League", "Olympics", "tennis", "AI model",
            "chip shortage", "vaccine", "hospital waiting lists", "housing market", "stock market", "oil price",
            "cyber attack", "data breach", "space launch", "earthquake", "storm", "budget", "pensions"]
VERBS = ["hits", "faces", "warns of", "prepares for", "rejects", "backs", "delays", "announces", "rules out",
         "braces for", "cuts", "raises", "condemns", "welcomes", "investigates", "reports", "ends", "plans"]
ACTORS = ["Government", "Prime minister", "President", "Minister", "Opposition", "Court", "Police", "Unions",
          "Regulator", "Scientists", "Investors", "Voters", "Officials", "Parliament", "UN", "EU", "NATO"]
FILLER = ["the", "a", "of", "to", "in", "and", "for", "on", "with", "as", "by", "at", "from", "that", "this",
          "after", "over", "more", "than", "said", "year", "new", "people", "week", "last", "first", "two",
          "could", "would", "also", "about", "since", "before", "under", "while", "during", "against",
          "country", "city", "report", "data", "officials", "according", "statement", "expected", "month",
          "support", "plan", "talks", "warning", "warned", "war", "workers", "market", "prices", "growth",
          "policy", "public", "service", "local", "national", "international", "economy", "security", "health",
          "leaders", "agreement", "decision", "analysis"]


def headline(rng: random.Random) -> str:
    return f"{rng.choice(PLACES)}: {rng.choice(ACTORS)} {rng.choice(VERBS)} {rng.choice(SUBJECTS)}"


def summary(rng: random.Random, title: str) -> str:
    sentences = [title + "."]
    while sum(len(s) for s in sentences) < 500:
        words = rng.choices(FILLER, k=rng.randint(8, 16))
        words[rng.randrange(len(words))] = rng.choice(PLACES + SUBJECTS)
        sentences.append(" ".join(words).capitalize() + ".")
    return "<p>" + " ".join(sentences) + "</p>"


def synthesise(count: int, seed: int = 7) -> list[Story]:
    """``count`` articles in stories of one to four outlets, newest first, over thirty days."""
    rng = random.Random(seed)
    stories: list[Story] = []
    made = 0
    while made < count:
        title = headline(rng)
        published = NOW - timedelta(minutes=rng.randrange(30 * 24 * 60))
        outlets = rng.sample(SOURCES, min(rng.choice((1, 1, 1, 2, 2, 3, 4)), count - made))
        articles = tuple(
            Article(source=source, guid=f"{source}/{made + n}", url=f"https://{source}.example/{made + n}",
                    title=title if n == 0 else f"{title} — {source}", published=published, updated=published,
                    author=rng.choice(("Jane Doe", "Ana Núñez", "Li Wei", "")),
                    summary=summary(rng, title), categories=(rng.choice(("World", "Business", "Sport")),),
                    language=rng.choice(("en", "en-GB", "en-US", "fr", "de")),
                    content_hash=f"{rng.getrandbits(128):032x}")  # stored articles always have one
            for n, source in enumerate(outlets)
        )
        made += len(articles)
        stories.append(Story(len(stories) + 1, f"s{len(stories)}", published, published, articles))
    stories.sort(key=lambda s: s.first_published, reverse=True)
    return stories


def topics(count: int, seed: int = 11) -> list[TopicConfig]:
    """A realistic mix: word lists, phrases, exclusions, every field, and two regexes."""
    rng = random.Random(seed)
    shapes: list[Callable[[], str]] = [
        lambda: f"{_term(rng)} OR {_term(rng)} OR {_term(rng)}",
        lambda: f'"{rng.choice(SUBJECTS)}" {rng.choice(PLACES)}',
        lambda: f"{_term(rng)} -{rng.choice(FILLER)}",
        lambda: f"title:{_word(rng.choice(PLACES))} ({_term(rng)} OR {_term(rng)})",
        lambda: f"{_term(rng)} lang:en",
        lambda: f"tag:world {_term(rng)} NOT source:{rng.choice(SOURCES)}",
        lambda: f'author:"jane doe" {_term(rng)}',
        lambda: f"category:business ({_term(rng)} OR {_term(rng)})",
        lambda: f"url:outlet-1 {_term(rng)}",
        lambda: f'{_term(rng)} -"{rng.choice(SUBJECTS)}"',
    ]
    regex = rf"/{_word(rng.choice(SUBJECTS))}\s+\w+/ {_term(rng)}"  # "for the rare case": 2 topics in 100
    made = []
    for n in range(count):
        settings: dict[str, object] = {}
        if n % 7 == 0:
            settings["min_outlets"] = 2
        if n % 5 == 0:
            settings["rank"] = "coverage"
        if n % 3 == 0:
            settings["per_source_max"] = 3
        if n % 4 == 0:
            settings["max_age"] = timedelta(days=7)
        query = regex if n % 50 == 9 else shapes[n % len(shapes)]()
        made.append(TopicConfig(slug=f"t{n}", title=f"T{n}", query=query,
                                **settings))  # type: ignore[arg-type]
    return made


def _word(text: str) -> str:
    return text.split()[0]


def _term(rng: random.Random) -> str:
    return _word(rng.choice(PLACES + SUBJECTS))


T = TypeVar("T")


@dataclass(frozen=True)
class Took:
    wall: float
    cpu: float  # this process only: the machine is shared, so wall time alone overstates the cost

    def __add__(self, other: Took) -> Took:
        return Took(self.wall + other.wall, self.cpu + other.cpu)

    def __str__(self) -> str:
        return f"{self.wall:6.2f} s wall {self.cpu:6.2f} s cpu"


def timed(func: Callable[[], T]) -> tuple[T, Took]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = func()
    return result, Took(time.perf_counter() - wall, time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--topics", type=int, default=100)
    args = parser.parse_args()
    stories = synthesise(args.articles)
    configs = topics(args.topics)
    gc.freeze()  # what the daemon holds long-term is not garbage: keep the collector off it while timing

    words = WordIndex()
    articles = sum(len(s.articles) for s in stories)
    print(f"{articles} articles in {len(stories)} stories, {len(configs)} topics, words kept between "
          "publishes (Curator)")
    changed_topics = configs[10:] + topics(10, seed=12)
    rounds = [("first publish (reads every article)", stories, configs),
              ("next publish (same articles, fresh objects)", stories, configs),
              ("next publish (1% of articles new or changed)", _changed(stories, every=100), configs),
              ("next publish (10 topics replaced)", _changed(stories, every=100), changed_topics)]
    for name, stored, chosen_topics in rounds:
        print(name)
        rss = _rss()
        chosen, index, match = _publish(_fresh(stored), chosen_topics, words)
        print(f"  wrap and index new articles:  {index}")
        print(f"  match {len(chosen_topics)} topics:              {match}   "
              f"({sum(len(c) for c in chosen)} entries)")
        print(f"  total:                        {index + match}   goal < 2 s")
        print(f"  index: {words.size_in_bytes() / 1e6:.0f} MB for {len(words)} articles "
              f"(RSS {rss / 1e6:.0f} -> {_rss() / 1e6:.0f} MB)")
    _after_a_restart(words, stories, configs)
    _search_the_store(stories, configs)


def _after_a_restart(words: WordIndex, stories: list[Story], configs: list[TopicConfig]) -> None:
    """The daemon's next start: the index from its snapshot file (read and checked: timed), then a publish."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "topics.snapshot"
        _, saved = timed(lambda: path.write_bytes(encode(words.snapshot())))
        print(f"first publish after a restart (index persisted: {path.stat().st_size / 1e6:.0f} MB, "
              f"written in {saved})")
        restored, load = timed(lambda: WordIndex.from_snapshot(_read(path)))
    chosen, index, match = _publish(_fresh(stories), configs, restored)
    print(f"  read the snapshot:            {load}")
    print(f"  wrap and index new articles:  {index}")
    print(f"  match {len(configs)} topics:              {match}   ({sum(len(c) for c in chosen)} entries)")
    print(f"  total:                        {load + index + match}   goal < 2 s")


def _search_the_store(stories: list[Story], configs: list[TopicConfig]) -> None:
    """The daemon reads only the newest STORY_POOL stories at each publish; new topics search all of them."""
    store = _Stored(stories)
    curator = Curator(store)
    recent = stories[:STORY_POOL]
    print(f"with a store: publishes read the newest {STORY_POOL} stories, new topics search all (the store is "
          "in memory here, its reads timed: new objects, as a database gives, but no SQL)")
    rounds = [(f"first publish ({len(configs)} new topics search the store)", configs),
              ("next publish (same topics)", configs),
              ("next publish (one new topic, ranked by coverage: it searches the store)",
               [*configs, TopicConfig(slug="new", title="New", query="reykjavik", rank="coverage")])]
    for name, chosen_topics in rounds:
        chosen, took = timed(partial(curator.curate, chosen_topics, _fresh(recent), TAGS, NOW))
        print(f"  {name}: {took}   ({sum(len(c) for c in chosen)} entries)")
    print(f"  index: {(curator.words.size_in_bytes() + curator.older_words.size_in_bytes()) / 1e6:.0f} MB for "
          f"{len(curator.words) + len(curator.older_words)} articles")
    _restart_with_a_store(store, curator, recent, rounds[-1][1])


def _restart_with_a_store(store: _Stored, curator: Curator, recent: list[Story], configs: list[TopicConfig]) -> None:
    """The daemon's next start with the snapshot Pipeline writes: words and each topic's entries."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "topics.snapshot"
        _, saved = timed(lambda: path.write_bytes(encode(curator.snapshot(store.article_versions(), TAGS))))
        restarted = Curator(store)
        _, load = timed(lambda: restarted.restore(_read(path), store.article_versions(), TAGS))
        size = path.stat().st_size
    chosen, took = timed(partial(restarted.curate, configs, _fresh(recent), TAGS, NOW))
    print(f"  first publish after a restart (words and entries persisted: {size / 1e6:.0f} MB, written in "
          f"{saved}; none of the {len(configs)} topics new):")
    print(f"    read the snapshot and the store's versions: {load}")
    print(f"    publish:                                    {took}   ({sum(len(c) for c in chosen)} entries)")
    print(f"    total:                                      {load + took}   goal < 2 s")


class _Stored:
    """The synthesised stories as feeder.topics.StoredStories, with fresh objects as a database gives."""

    def __init__(self, stories: list[Story]) -> None:
        self.stories = {s.id: s for s in stories}
        self.newest_first = [s.id for s in stories]
        articles = ((s.id, a.content_hash) for s in stories for a in s.articles)
        self.versions = dict(enumerate(articles))

    def article_versions(self) -> dict[int, tuple[int, str]]:
        return dict(self.versions)  # what the database would give: a new dict each time

    def story_ids(self, since: datetime | None = None) -> list[int]:
        return [i for i in self.newest_first if since is None or self.stories[i].first_published >= since]

    def stories_by_id(self, ids: Iterable[int]) -> list[Story]:
        found = [self.stories[i] for i in set(ids) if i in self.stories]
        return _fresh(sorted(found, key=lambda s: (s.first_published, s.id), reverse=True))


def _publish(stories: list[Story], configs: list[TopicConfig], words: WordIndex) -> tuple[list[list[Story]], Took,
                                                                                         Took]:
    """What Curator.curate does, timed step by step."""
    pool, index = timed(lambda: candidates(stories, TAGS, words))
    matchers = [TopicMatcher(t, TAGS) for t in configs]
    words.forget_checked_except({term for m in matchers for term in m.query.vocabulary()})
    chosen, match = timed(lambda: [select_stories(m, pool, NOW) for m in matchers])
    return chosen, index, match


def _read(path: Path) -> Any:
    snapshot = decode(path.read_bytes())
    assert snapshot is not None, "a snapshot this process wrote must read back"
    return snapshot


def _rss() -> int:
    """Resident memory now, in bytes (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _changed(stories: list[Story], every: int) -> list[Story]:
    """The same stories with one article in ``every`` edited (a new content hash: the memo cannot help)."""
    count = 0

    def edit(article: Article) -> Article:
        nonlocal count
        count += 1
        return replace(article, content_hash="edited" + article.content_hash) if count % every == 0 else article

    return [replace(s, articles=tuple(edit(a) for a in s.articles)) for s in stories]


def _fresh(stories: list[Story]) -> list[Story]:
    """New objects, as the store gives at each publish: nothing cached on the old ones can help."""
    return [replace(s, articles=tuple(replace(a) for a in s.articles)) for s in stories]


if __name__ == "__main__":
    main()
