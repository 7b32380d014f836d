"""Headline deduplication: decides which stored story, if any, a new article belongs to.

Pure and in-memory: the store rebuilds the window from the database at start-up by calling ``add``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Headline:
    title: str
    published: datetime
    url: str = ""
    summary: str = ""


_NON_WORD = re.compile(r"[^\w$%€£.]+")


def headline_key(title: str) -> str:
    folded = unicodedata.normalize("NFKC", title).casefold()
    return " ".join(_NON_WORD.sub(" ", folded).split())


class Deduplicator:
    """Exact-headline and same-URL matching within a window on published times."""

    def __init__(self, level: str = "headline", window: timedelta = timedelta(hours=48)) -> None:
        self.level = level
        self.window = window
        self._by_key: dict[str, tuple[int, datetime]] = {}
        self._by_url: dict[str, tuple[int, datetime]] = {}

    def match(self, headline: Headline) -> int | None:
        for index, key in ((self._by_url, headline.url), (self._by_key, headline_key(headline.title))):
            hit = index.get(key) if key else None
            if hit and abs(hit[1] - headline.published) <= self.window:
                return hit[0]
        return None

    def add(self, story_id: int, headline: Headline) -> None:
        if headline.url:
            self._by_url.setdefault(headline.url, (story_id, headline.published))
        key = headline_key(headline.title)
        if key:
            self._by_key.setdefault(key, (story_id, headline.published))


__all__ = ["Deduplicator", "Headline", "headline_key"]
