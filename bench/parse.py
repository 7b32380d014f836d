"""Where parsing time goes, per farm feed: feedparser vs. the lxml fast path, and normalising.

    python bench/parse.py [--feeds 200]

Prints ms per feed for: feedparser alone (feeder's settings), the fast path alone, and normalising the
parsed entries.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from farm import build_feed

from feeder.parse.fast import parse_fast
from feeder.parse.feeds import parse_feed
from feeder.parse.worker import normalise_all


def per_feed_ms(work: Callable[[Any], object], items: list[Any]) -> float:
    started = time.perf_counter()
    for item in items:
        work(item)
    return (time.perf_counter() - started) / len(items) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=200)
    args = parser.parse_args()
    docs = [(f"http://127.0.0.1/feed/{i}", build_feed(i)) for i in range(args.feeds)]
    now = datetime.now(UTC)
    parsed = [(url, parse_feed(d.body, url, d.content_type)) for url, d in docs]
    entries = sum(len(p.entries) for _, p in parsed)
    print(f"{args.feeds} farm feeds, {entries} entries; ms per feed")
    feedparser_ms = per_feed_ms(lambda x: parse_feed(x[1].body, x[0], x[1].content_type), docs)
    fast_ms = per_feed_ms(lambda x: parse_fast(x[1].body, x[0], x[1].content_type), docs)
    print(f"  feedparser (sanitiser and URI resolution off)  {feedparser_ms:7.2f}")
    print(f"  lxml fast path                                 {fast_ms:7.2f}")
    normalise_ms = per_feed_ms(lambda x: normalise_all(x[1], "s", x[0], now), parsed)
    print(f"  normalise (nh3, URLs, dates, hash)             {normalise_ms:7.2f}")


if __name__ == "__main__":
    main()
