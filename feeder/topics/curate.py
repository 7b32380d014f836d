"""Curation: which stored stories each topic carries, in what order.

A story belongs to a topic when one of its articles (the canonical one or any duplicate) comes from the
topic's ``sources`` / ``tags`` (when it names any) and matches its query. Then: ``max_age`` (by the story's
first publication), ``min_outlets`` (distinct sources that ran it), ranking (``newest`` first, or
``coverage``: most outlets first, newest among equals), ``per_source_max`` (stories per outlet of the
canonical article) and finally ``max_items``.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any, Protocol

from feeder.config import TopicConfig
from feeder.model import Story
from feeder.topics.index import Bits, Index, WordIndex, slots_of, union
from feeder.topics.query import Query, parse_query
from feeder.topics.text import Searchable

SourceTags = Mapping[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A story with its articles prepared for matching once, however many topics look at it."""

    story: Story
    docs: tuple[Searchable, ...]


class Pool(Sequence[Candidate]):
    """Candidate stories, newest first, and one index over all their articles, shared by every topic.

    Being newest first, a candidate's number is its rank by recency: a topic's selection is sorted by
    sorting plain numbers, and ``max_age`` is a cut-off number.
    """

    def __init__(self, pool: Sequence[Candidate], words: WordIndex | None = None,
                 forget_others: bool = True) -> None:
        """``words``: the index kept from earlier publishes, so that only new or changed articles are read;
        it forgets the articles not in this pool unless told not to."""
        self.candidates = tuple(sorted(pool, key=lambda c: (c.story.first_published, c.story.id), reverse=True))
        docs: list[Searchable] = []
        story_numbers: list[int] = []
        for number, candidate in enumerate(self.candidates):
            docs.extend(candidate.docs)
            story_numbers.extend([number] * len(candidate.docs))
        self.articles = Index(docs, words, forget_others)
        # article number in the index -> candidate number: a list, read in C by itemgetter (stories_of)
        self.story_of = [0] * (max(self.articles.numbers, default=-1) + 1)
        for slot, story in zip(self.articles.numbers, story_numbers, strict=True):
            self.story_of[slot] = story
        self.outlets = [len(c.story.outlets) for c in self.candidates]
        self.canonical_source = [c.story.article.source for c in self.candidates]
        self._ages = [-c.story.first_published.timestamp() for c in self.candidates]  # ascending

    def __len__(self) -> int:
        return len(self.candidates)

    def __getitem__(self, number: int) -> Candidate:  # type: ignore[override]
        return self.candidates[number]

    def __iter__(self) -> Iterator[Candidate]:
        return iter(self.candidates)

    def stories_of(self, articles: Bits) -> list[int]:
        """The candidates those articles belong to, newest first."""
        slots = slots_of(articles)
        if len(slots) < 2:  # itemgetter() needs an item, and gives one item bare
            return [self.story_of[slot] for slot in slots]
        return sorted(set(itemgetter(*slots)(self.story_of)))

    def published_since(self, cutoff: datetime) -> int:
        """How many candidates (the first ones) were first published at or after the cut-off."""
        return bisect_right(self._ages, -cutoff.timestamp())


def candidates(stories: Sequence[Story], source_tags: SourceTags, words: WordIndex | None = None,
               forget_others: bool = True) -> Pool:
    return Pool([
        Candidate(story, tuple(Searchable(a, source_tags.get(a.source, ())) for a in story.articles))
        for story in stories
    ], words, forget_others)


class TopicMatcher:
    """A topic compiled once: its query, and the sources/tags it draws from."""

    def __init__(self, topic: TopicConfig, source_tags: SourceTags) -> None:
        self.topic = topic
        self.source_tags = source_tags
        self.query: Query = parse_query(topic.query)

    def admitted(self, index: Index) -> Bits:
        """The articles from the topic's sources and tags (all of them when it names none)."""
        admitted = index.everything
        if self.topic.sources:
            admitted = union(index.with_source(s) for s in self.topic.sources)
        if self.topic.tags:
            admitted = admitted & union(index.with_tag(t) for t in self.topic.tags)
        return admitted

    def matching_articles(self, index: Index) -> Bits:
        return self.query.select(index, self.admitted(index))

    def matches(self, candidate: Candidate) -> bool:
        """Whether one story belongs (for one-off checks; a publish matches a whole Pool at once)."""
        return bool(self.matching_articles(Index(candidate.docs)))


def select_stories(matcher: TopicMatcher, pool: Sequence[Candidate], now: datetime) -> list[Story]:
    """The topic's entries, in feed order, within its limits."""
    if not isinstance(pool, Pool):
        pool = Pool(pool)
    topic = matcher.topic
    chosen = pool.stories_of(matcher.matching_articles(pool.articles))
    if topic.max_age is not None:
        chosen = chosen[: bisect_left(chosen, pool.published_since(now - topic.max_age))]
    if topic.min_outlets > 1:
        chosen = [n for n in chosen if pool.outlets[n] >= topic.min_outlets]
    if topic.rank == "coverage":
        chosen.sort(key=lambda n: -pool.outlets[n])  # stable: newest first among equals
    if topic.per_source_max > 0:
        chosen = _diversify(chosen, pool.canonical_source, topic.per_source_max, topic.max_items)
    return [pool.candidates[n].story for n in chosen[: topic.max_items]]


class StoredStories(Protocol):
    """What a Curator reads beyond the recent stories it is given: feeder.store.Store."""

    def story_ids(self, since: datetime | None = None) -> list[int]: ...

    def stories_by_id(self, ids: Iterable[int]) -> list[Story]: ...

    def article_versions(self) -> Versions: ...


# Every stored article's version: article id -> (story id, content hash), as Store.article_versions gives
Versions = dict[int, tuple[int, str]]


SEARCH_CHUNK = 5000  # stories read at a time when new topics search the whole store


class Curator:
    """Chooses every topic's entries at each publish. Between publishes it keeps the words of every article
    it was given, so a publish reads only articles that are new or changed since the last one, and a new or
    changed topic reads none of them again.

    With a store, topics are not limited to the recent stories a publish gives: a new or changed topic
    (and every topic after a start) searches every stored story within its ``max_age`` when its feed is
    not already full of recent stories, and each topic keeps its older entries from one publish to the next.
    """

    def __init__(self, store: StoredStories | None = None) -> None:
        self.words = WordIndex()  # the recent stories' articles
        self.older_words = WordIndex()  # the older stored articles, read when new topics search the store
        self.store = store
        self.kept: dict[TopicConfig, frozenset[int]] = {}  # each topic's entries at the last publish (ids)
        self._restored: dict[str, frozenset[int]] = {}  # kept, from a snapshot: by topic_key, until adopted
        self._changed: set[int] = set()  # stories changed since the snapshot's publish, until one publish

    def curate(self, topics: Sequence[TopicConfig], stories: Sequence[Story], source_tags: SourceTags,
               now: datetime) -> list[list[Story]]:
        matchers = [TopicMatcher(topic, source_tags) for topic in topics]
        self.words.forget_checked_except({term for m in matchers for term in m.query.vocabulary()})
        recent = {s.id for s in stories}  # the newest stored stories, when a store gives them
        self._adopt_restored(topics)
        if self.store is not None:
            stories = self._with_stored(self.store, stories, self._kept_ids(topics) | self._changed)
            self._changed = set()
            self._distrust_aged(topics, stories, now)
        pool = candidates(stories, source_tags, self.words)
        chosen = [select_stories(matcher, pool, now) for matcher in matchers]
        searching = [topic for topic, entries in zip(topics, chosen, strict=True)
                     if topic not in self.kept and _may_have_older_entries(topic, entries, recent)]
        if self.store is not None and searching:
            found = self._search_store(self.store, searching, stories, source_tags, now)
            if found:  # choose again among those too
                pool = candidates(self._with_stored(self.store, stories, found), source_tags, self.words)
                chosen = [select_stories(matcher, pool, now) for matcher in matchers]
        self.kept = {topic: frozenset(s.id for s in entries) for topic, entries in zip(topics, chosen, strict=True)}
        return chosen

    def snapshot(self, versions: Versions, source_tags: SourceTags) -> Any:
        """What this Curator knows, as plain values (feeder.topics.snapshot encodes them). ``versions``: the
        store's article versions, taken before the publish whose state this is, so that a restart can tell
        what changed since (restore)."""
        kept = [(topic_key(topic), sorted(ids)) for topic, ids in self.kept.items()]
        return (self.words.snapshot(), self.older_words.snapshot(), kept, versions, dict(source_tags))

    def restore(self, snapshot: Any, versions: Versions, source_tags: SourceTags) -> None:
        """Start from what an earlier process knew (``snapshot()``), given the store's versions now.

        The words are a cache keyed by article version: kept whatever changed. A topic's kept entries are
        its best of all only while nothing above them changed; so the stories changed (new, edited, joined,
        removed) since are read at the next publish as candidates, and a topic whose own entries changed,
        or all topics when the sources' tags did, search the store again as new topics do.
        """
        words, older_words, kept, saved_versions, saved_tags = snapshot
        self.words, self.older_words = WordIndex.from_snapshot(words), WordIndex.from_snapshot(older_words)
        changed = _changed_stories(saved_versions, versions)
        same_tags = saved_tags == {source: tuple(tags) for source, tags in source_tags.items()}
        self._restored = {key: frozenset(ids) for key, ids in kept if same_tags and changed.isdisjoint(ids)}
        self._changed = changed
        self.kept = {}

    def _adopt_restored(self, topics: Sequence[TopicConfig]) -> None:
        """Restored entries become kept for the topics still configured as they were (then forgotten)."""
        if self._restored:
            for topic in topics:
                ids = self._restored.get(topic_key(topic))
                if ids is not None:
                    self.kept[topic] = ids
            self._restored = {}

    def _distrust_aged(self, topics: Sequence[TopicConfig], stories: Sequence[Story], now: datetime) -> None:
        """A topic ranked by coverage whose kept entry aged past its max_age searches again: a story ranked
        below that entry may now be among its best, and be neither recent nor kept."""
        published = {s.id: s.first_published for s in stories}
        for topic in topics:
            if topic.rank == "coverage" and topic.max_age is not None and topic in self.kept:
                cutoff = now - topic.max_age
                if any(published.get(i, cutoff) < cutoff for i in self.kept[topic]):
                    del self.kept[topic]

    def _kept_ids(self, topics: Sequence[TopicConfig]) -> set[int]:
        """The stories the topics carried at the last publish (new topics: none)."""
        return set().union(*(self.kept[topic] for topic in topics if topic in self.kept))

    @staticmethod
    def _with_stored(store: StoredStories, stories: Sequence[Story], ids: set[int]) -> list[Story]:
        """The stories plus those of these ids that are not among them yet."""
        missing = ids.difference(s.id for s in stories)
        return [*stories, *store.stories_by_id(missing)] if missing else list(stories)

    def _search_store(self, store: StoredStories, topics: Sequence[TopicConfig], recent: Sequence[Story],
                      source_tags: SourceTags, now: datetime) -> set[int]:
        """The ids of the topics' entries among the stored stories older than the recent ones, read a chunk
        at a time (memory): a story among a topic's best of all is among the best of its chunk and those
        carried from earlier chunks, whatever the ranking, limits and per-source caps. The words of those
        older articles are kept too, so the next new topic reads them from the store but not again."""
        recent_ids = {s.id for s in recent}
        older = [i for i in store.story_ids(_horizon(topics, now)) if i not in recent_ids]
        matchers = [TopicMatcher(topic, source_tags) for topic in topics]
        self.older_words.forget_checked_except({term for m in matchers for term in m.query.vocabulary()})
        seen: set[Hashable] = set()
        best: dict[int, Story] = {}
        for start in range(0, len(older), SEARCH_CHUNK):
            pool = candidates([*store.stories_by_id(older[start:start + SEARCH_CHUNK]), *best.values()],
                              source_tags, self.older_words, forget_others=False)
            seen.update(doc.identity for candidate in pool for doc in candidate.docs)
            best = {s.id: s for matcher in matchers for s in select_stories(matcher, pool, now)}
        self.older_words.keep_only(seen)
        return set(best)


def curate(topics: Sequence[TopicConfig], stories: Sequence[Story], source_tags: SourceTags,
           now: datetime) -> list[list[Story]]:
    """Every topic's entries from one set of stories: the articles are read and indexed once for all."""
    return Curator().curate(topics, stories, source_tags, now)


def topic_key(topic: TopicConfig) -> str:
    """A topic as a snapshot names it: its repr names every setting's value (strings, numbers, tuples of
    strings, a timedelta), so keys are equal exactly when the topics are."""
    return repr(topic)


def _changed_stories(saved: Versions, now: Versions) -> set[int]:
    """The stories with an article added, edited, moved or removed between two sets of versions."""
    changed = {version[0] for article, version in now.items() if saved.get(article) != version}
    changed.update(version[0] for article, version in saved.items() if now.get(article) != version)
    return changed


def _may_have_older_entries(topic: TopicConfig, entries: list[Story], recent: set[int]) -> bool:
    """Whether stories older than the recent ones could be among a topic's entries: not when its feed is
    newest first and already full of recent stories."""
    return topic.rank != "newest" or len(entries) < topic.max_items or not recent.issuperset(s.id for s in entries)


def _horizon(topics: Sequence[TopicConfig], now: datetime) -> datetime | None:
    """The oldest first publication any of the topics accepts (None: no limit)."""
    ages = [topic.max_age for topic in topics]
    return None if not ages or None in ages else now - max(age for age in ages if age is not None)


def _diversify(chosen: list[int], source_of: list[str], per_source_max: int, enough: int) -> list[int]:
    taken: Counter[str] = Counter()
    kept = []
    for number in chosen:
        source = source_of[number]
        if taken[source] < per_source_max:
            taken[source] += 1
            kept.append(number)
            if len(kept) == enough:
                break
    return kept
