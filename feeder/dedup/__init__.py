"""Headline deduplication: decides which stored story, if any, a new article belongs to."""

from feeder.dedup.engine import Deduplicator, Headline
from feeder.dedup.text import headline_key

__all__ = ["Deduplicator", "Headline", "headline_key"]
