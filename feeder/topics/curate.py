"""Curation: query match, source/tag restriction, age, coverage, diversity and ranking."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from feeder.config import TopicConfig
from feeder.model import Article, Story
from feeder.topics.query import Predicate, Searchable, parse_query


class TopicMatcher:
    """A topic compiled once: answers whether a story belongs to it."""

    def __init__(self, topic: TopicConfig, source_tags: Mapping[str, tuple[str, ...]]) -> None:
        self.topic = topic
        self.source_tags = source_tags
        self.predicate: Predicate = parse_query(topic.query)

    def admits(self, article: Article) -> bool:
        topic = self.topic
        if topic.sources and article.source not in topic.sources:
            return False
        tags = self.source_tags.get(article.source, ())
        return not topic.tags or any(tag in tags for tag in topic.tags)

    def matches(self, candidate: Candidate) -> bool:
        """A story matches when its canonical article or any duplicate does."""
        return any(self.admits(doc.article) and self.predicate(doc) for doc in candidate.docs)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A story with its articles prepared for matching once, however many topics look at it."""

    story: Story
    docs: tuple[Searchable, ...]


def candidates(stories: Sequence[Story], source_tags: Mapping[str, tuple[str, ...]]) -> list[Candidate]:
    return [
        Candidate(story, tuple(Searchable(a, source_tags.get(a.source, ())) for a in story.articles))
        for story in stories
    ]


def select_stories(matcher: TopicMatcher, pool: Sequence[Candidate], now: datetime) -> list[Story]:
    """The topic's entries, in feed order, within its limits."""
    topic = matcher.topic
    chosen = [
        c.story for c in pool
        if (topic.max_age is None or c.story.first_published >= now - topic.max_age)
        and len(c.story.outlets) >= topic.min_outlets
        and matcher.matches(c)
    ]
    chosen.sort(key=lambda s: (s.first_published, s.id), reverse=True)
    if topic.rank == "coverage":
        chosen.sort(key=lambda s: len(s.outlets), reverse=True)
    if topic.per_source_max:
        chosen = _diversify(chosen, topic.per_source_max)
    return chosen[: topic.max_items]


def _diversify(stories: list[Story], per_source_max: int) -> list[Story]:
    taken: Counter[str] = Counter()
    kept = []
    for story in stories:
        source = story.article.source
        if taken[source] < per_source_max:
            taken[source] += 1
            kept.append(story)
    return kept
