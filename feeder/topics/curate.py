"""Curation: which stored stories each topic carries, in what order.

A story belongs to a topic when one of its articles (the canonical one or any duplicate) comes from the
topic's ``sources`` / ``tags`` (when it names any) and matches its query. Then: ``max_age`` (by the story's
first publication), ``min_outlets`` (distinct sources that ran it), ranking (``newest`` first, or
``coverage``: most outlets first, newest among equals), ``per_source_max`` (by the outlet of the
story's canonical article) and finally ``max_items``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import datetime

from feeder.config import TopicConfig
from feeder.model import Story
from feeder.topics.index import Index
from feeder.topics.query import Query, parse_query
from feeder.topics.text import Searchable

SourceTags = Mapping[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A story with its articles prepared for matching once, however many topics look at it."""

    story: Story
    docs: tuple[Searchable, ...]


class Pool(Sequence[Candidate]):
    """Candidate stories and one index over all their articles, shared by every topic of a publish."""

    def __init__(self, pool: Sequence[Candidate]) -> None:
        self.candidates = tuple(pool)
        docs: list[Searchable] = []
        self.story_of: list[int] = []  # article number in the index -> candidate number
        for number, candidate in enumerate(self.candidates):
            docs.extend(candidate.docs)
            self.story_of.extend([number] * len(candidate.docs))
        self.articles = Index(docs)

    def __len__(self) -> int:
        return len(self.candidates)

    def __getitem__(self, number: int) -> Candidate:  # type: ignore[override]
        return self.candidates[number]

    def __iter__(self) -> Iterator[Candidate]:
        return iter(self.candidates)

    def stories_of(self, articles: Set[int]) -> list[Story]:
        story_of = self.story_of
        return [self.candidates[n].story for n in {story_of[a] for a in articles}]


def candidates(stories: Sequence[Story], source_tags: SourceTags) -> Pool:
    return Pool([
        Candidate(story, tuple(Searchable(a, source_tags.get(a.source, ())) for a in story.articles))
        for story in stories
    ])


class TopicMatcher:
    """A topic compiled once: its query, and the sources/tags it draws from."""

    def __init__(self, topic: TopicConfig, source_tags: SourceTags) -> None:
        self.topic = topic
        self.source_tags = source_tags
        self.query: Query = parse_query(topic.query)

    def admitted(self, index: Index) -> Set[int]:
        """The articles from the topic's sources and tags (all of them when it names none)."""
        admitted: Set[int] = index.everything
        if self.topic.sources:
            admitted = _union(index.with_source(s) for s in self.topic.sources)
        if self.topic.tags:
            admitted = admitted & _union(index.with_tag(t) for t in self.topic.tags)
        return admitted

    def matching_articles(self, index: Index) -> Set[int]:
        return self.query.select(index, self.admitted(index))

    def matches(self, candidate: Candidate) -> bool:
        """Whether one story belongs (for one-off checks; a publish matches a whole Pool at once)."""
        return bool(self.matching_articles(Index(candidate.docs)))


def select_stories(matcher: TopicMatcher, pool: Sequence[Candidate], now: datetime) -> list[Story]:
    """The topic's entries, in feed order, within its limits."""
    if not isinstance(pool, Pool):
        pool = Pool(pool)
    topic = matcher.topic
    cutoff = now - topic.max_age if topic.max_age is not None else None
    chosen = [
        story for story in pool.stories_of(matcher.matching_articles(pool.articles))
        if (cutoff is None or story.first_published >= cutoff) and len(story.outlets) >= topic.min_outlets
    ]
    chosen.sort(key=lambda s: (s.first_published, s.id), reverse=True)
    if topic.rank == "coverage":
        chosen.sort(key=lambda s: len(s.outlets), reverse=True)  # stable: newest first among equals
    if topic.per_source_max > 0:
        chosen = _diversify(chosen, topic.per_source_max)
    return chosen[: topic.max_items]


def curate(topics: Sequence[TopicConfig], stories: Sequence[Story], source_tags: SourceTags,
           now: datetime) -> list[list[Story]]:
    """Every topic's entries from one set of stories: the articles are prepared and indexed once."""
    pool = candidates(stories, source_tags)
    matchers = [TopicMatcher(topic, source_tags) for topic in topics]
    pool.articles.prepare(word for m in matchers for word in m.query.vocabulary())
    return [select_stories(matcher, pool, now) for matcher in matchers]


def _union(sets: Iterator[frozenset[int]]) -> frozenset[int]:
    return frozenset().union(*sets)


def _diversify(stories: list[Story], per_source_max: int) -> list[Story]:
    taken: Counter[str] = Counter()
    kept = []
    for story in stories:
        source = story.article.source
        if taken[source] < per_source_max:
            taken[source] += 1
            kept.append(story)
    return kept
