"""Where parsing time goes, per farm feed: feedparser vs. the lxml fast path, and normalising.

    python bench/parse.py [--feeds 200]

Prints ms per feed for: feedparser alone (feeder's settings), the fast path alone, and normalising the
parsed entries; what sanitising costs per HTML document (as normalise does it, by nh3 alone, and the
forbidden-character check); and the size of a parse worker's pickled result and the time to pickle and
unpickle it per article.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from farm import build_feed

from feeder.normalise import sanitise_html, sanitise_with_nh3, strip_xml_forbidden
from feeder.parse.fast import parse_fast
from feeder.parse.feeds import parse_feed
from feeder.parse.worker import normalise_all, title_words


def per_feed_ms(work: Callable[[Any], object], items: list[Any]) -> float:
    started = time.perf_counter()
    for item in items:
        work(item)
    return (time.perf_counter() - started) / len(items) * 1000


def per_item_us(work: Callable[[Any], object], items: list[Any]) -> float:
    return per_feed_ms(work, items) * 1000


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
    html = [(text, url) for url, p in parsed for e in p.entries for text in (e.summary, e.content) if text]
    average = sum(len(t) for t, _ in html) // len(html)
    as_stored = per_item_us(lambda x: sanitise_html(*x), html)
    by_nh3 = per_item_us(lambda x: sanitise_with_nh3(*x), html)
    print(f"sanitise_html: {as_stored:.0f} us per HTML document ({average} characters on average); "
          f"nh3 alone {by_nh3:.0f} us")
    forbidden = per_item_us(lambda x: strip_xml_forbidden(x[0]), html)
    print(f"  of which strip_xml_forbidden: {forbidden:.1f} us per document")
    results = [(p, normalise_all(p, "s", url, now)) for url, p in parsed]
    whole = sum(len(pickle.dumps(r, pickle.HIGHEST_PROTOCOL)) for r in results) / len(results) / 1024
    lean = sum(len(pickle.dumps((replace(p, entries=()), a), pickle.HIGHEST_PROTOCOL)) for p, a in results)
    print(f"a parse worker's pickled result per feed: {lean / len(results) / 1024:.0f} KB, articles only "
          f"(what feeder sends); {whole:.0f} KB with the raw entries too")
    # What read_feed returns: the feed's own fields, its articles and their titles' words.
    returned = [(replace(p, entries=()), a, title_words(a)) for p, a in results]
    sent = [pickle.dumps(r, pickle.HIGHEST_PROTOCOL) for r in returned]
    articles = [len(a) for _, a in results]
    dumps_us = per_item_us(lambda r: pickle.dumps(r, pickle.HIGHEST_PROTOCOL), returned) * len(returned)
    loads_us = per_item_us(pickle.loads, sent) * len(sent)
    print(f"  pickling {dumps_us / sum(articles):.1f} us, unpickling {loads_us / sum(articles):.1f} us per article")


if __name__ == "__main__":
    main()
