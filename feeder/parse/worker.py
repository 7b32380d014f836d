"""What a parse worker runs: pure CPU work, bytes in, articles out.

A lean module on purpose: a spawned worker process imports only what the functions it runs import
(parsing and normalising, not the store, the publisher or HTTP: tests/test_ingest.py checks that;
bench/ingest.py prints the workers' peak RSS).
"""

from __future__ import annotations

import signal
from dataclasses import replace
from datetime import datetime

from feeder.dedup.text import Words, content_words
from feeder.model import Article, ParsedFeed
from feeder.normalise import to_article
from feeder.parse import parse_document


def parse_and_normalise(body: bytes, url: str, content_type: str, source: str,
                        fetched_at: datetime) -> tuple[ParsedFeed, list[Article]]:
    """The CPU part of a refresh: pure, so it can run in any worker.

    Returns the feed's own fields (title, link, problem) without its raw entries: only their articles
    cross back from a parse worker (bench/parse.py prints the pickled size of both)."""
    parsed = parse_document(body, url, content_type)
    # A truncated document leaves feedparser with empty husks of entries: nothing to store or publish.
    readable = tuple(e for e in parsed.entries if e.title or e.link or e.guid or e.summary or e.content)
    if len(readable) < len(parsed.entries):
        problem = parsed.problem or f"{len(parsed.entries) - len(readable)} unreadable entries dropped"
        parsed = replace(parsed, entries=readable, problem=problem)
    return replace(parsed, entries=()), normalise_all(parsed, source, url, fetched_at)


def read_feed(body: bytes, url: str, content_type: str, source: str,
              fetched_at: datetime) -> tuple[ParsedFeed, list[Article], dict[str, Words]]:
    """``parse_and_normalise``, and each title's words as deduplication compares them: tokenised here,
    the store's thread, the busiest part of a cold ingest (bench/ingest.py), need not."""
    parsed, articles = parse_and_normalise(body, url, content_type, source, fetched_at)
    return parsed, articles, title_words(articles)


def title_words(articles: list[Article]) -> dict[str, Words]:
    return {article.title: content_words(article.title) for article in articles}


def leave_signals_to_the_parent() -> None:
    """Ctrl-C and SIGTERM reach the whole process group; the daemon decides when workers stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def normalise_all(parsed: ParsedFeed, source: str, url: str, fetched_at: datetime) -> list[Article]:
    return [to_article(entry, source, url, fetched_at, parsed.language) for entry in parsed.entries]
