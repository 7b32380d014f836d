"""Headline deduplication: decides which stored story, if any, a new article belongs to."""

from datetime import timedelta

from feeder.dedup.engine import Deduplicator, Headline
from feeder.dedup.text import headline_key

ENGINES = ("lexical", "semantic")


def make_deduplicator(
    level: str = "headline", window: timedelta = timedelta(hours=48), engine: str = "lexical"
) -> Deduplicator:
    """The deduplicator for ``[dedup] engine``; "semantic" needs the extra ``feeder[semantic]``."""
    if engine == "lexical":
        return Deduplicator(level, window)
    if engine == "semantic":
        from feeder.dedup.semantic import SemanticDeduplicator  # imports torch: only when chosen

        return SemanticDeduplicator(level, window)
    raise ValueError(f"dedup engine must be one of {', '.join(ENGINES)}, not {engine!r}")


__all__ = ["ENGINES", "Deduplicator", "Headline", "headline_key", "make_deduplicator"]
