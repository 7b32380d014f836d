"""What the store writer costs alone: farm feeds parsed up front, then stored into a fresh SQLite file.

    PYTHONPATH=. python bench/store.py [--feeds 800] [--batch 20]

Prints wall and CPU seconds for storing every feed one transaction each (Store.ingest) and several per
transaction (Store.ingest_many, as the pipeline's writer does with the sources that queue up), the CPU
spent in dedup.match, and the wall time spent inside the driver's COMMIT (which would wait for the disk
if a WAL checkpoint ran in it: the store runs checkpoints on a thread of its own); then CPU seconds for
saving one source state per transaction for each feed, first inserted, then updated (what the pipeline's
writer does when states arrive one at a time).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from farm import build_feed

from feeder.dedup import Deduplicator, Headline
from feeder.model import Article, SourceState
from feeder.parse.worker import parse_and_normalise
from feeder.store import Store


class TimedDeduplicator(Deduplicator):
    """The default engine with the CPU of its ``match`` counted: the compiled class's methods cannot be
    replaced on an instance, but it takes Python subclasses (for the semantic engine)."""

    def __init__(self) -> None:
        super().__init__()
        self.match_cpu = 0.0

    def match(self, headline: Headline) -> int | None:
        started = time.process_time()
        try:
            return super().match(headline)
        finally:
            self.match_cpu += time.process_time() - started


def timed_commits(store: Store, spent: list[float]) -> None:
    """Wall seconds inside the driver's COMMIT, where a checkpoint run by the commit would wait for the disk."""
    dialect = store.engine.dialect
    real = dialect.do_commit

    def do_commit(dbapi_connection: Any) -> None:
        started = time.perf_counter()
        try:
            real(dbapi_connection)
        finally:
            spent[0] += time.perf_counter() - started

    dialect.do_commit = do_commit  # type: ignore[method-assign]


def run(batches: list[tuple[str, list[Article]]], per_transaction: int, now: datetime) -> None:
    dedup = TimedDeduplicator()
    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{folder}/feeder.db")
        commit_wall = [0.0]
        timed_commits(store, commit_wall)
        started, cpu = time.perf_counter(), time.process_time()
        for at in range(0, len(batches), per_transaction):
            store.ingest_many(batches[at:at + per_transaction], dedup, {}, now)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        store.close()
    label = "one source per transaction" if per_transaction == 1 else f"{per_transaction} sources per transaction"
    print(f"  {label:<28} wall {wall:6.2f} s  CPU {cpu:6.2f} s  (dedup.match {dedup.match_cpu:5.2f} s, "
          f"the rest {cpu - dedup.match_cpu:5.2f} s; COMMIT wall {commit_wall[0]:5.2f} s)")


def save_states(count: int, now: datetime) -> None:
    states = [SourceState(f"farm-{n}", url=f"http://127.0.0.1/feed/{n}", etag=f'"farm-{n}-1"', last_attempt=now,
                          last_success=now, next_fetch=now + timedelta(minutes=30)) for n in range(count)]
    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{folder}/feeder.db")
        for label in ("inserted", "updated"):
            cpu = time.process_time()
            for state in states:
                store.save_source_state(state)
            print(f"  {count} source states {label}, one per transaction: CPU {time.process_time() - cpu:5.2f} s")
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=800)
    parser.add_argument("--batch", type=int, default=20)
    args = parser.parse_args()
    now = datetime.now(UTC)
    batches = []
    for number in range(args.feeds):
        document = build_feed(number)
        url = f"http://127.0.0.1/feed/{number}"
        _, articles = parse_and_normalise(document.body, url, document.content_type, f"farm-{number}", now)
        batches.append((f"farm-{number}", articles))
    print(f"storing {args.feeds} farm feeds ({sum(len(a) for _, a in batches)} articles) into a fresh SQLite file:")
    run(batches, 1, now)
    run(batches, args.batch, now)
    save_states(args.feeds, now)


if __name__ == "__main__":
    main()
