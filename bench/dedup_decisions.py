"""Every merge decision of the lexical engine on the bench data, hashed: proof that a speed change changed none.

Replays the 100,000-headline stream of bench/dedup_speed.py and the UCI stream, and matches every STS-B pair,
at each level; prints one digest per run. ``--save FILE`` keeps the decisions, ``--compare FILE`` says which
runs differ from a saved file and where first.

Run from the repository root: ``python bench/dedup_decisions.py [--save FILE | --compare FILE]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dedup_quality import LEVELS, Article, pair_merges, read_stsb, read_uci, replay
from dedup_speed import synthesise

from feeder.dedup import Deduplicator

Decisions = dict[str, list[int]]


def decisions(count: int) -> Decisions:
    stream = [Article(h.title, h.url, "", h.published) for h in synthesise(count)]
    found: Decisions = {}
    for level in LEVELS:
        found[f"stream-{level}"] = replay(stream, Deduplicator(level=level))
        found[f"uci-{level}"] = replay(read_uci(), Deduplicator(level=level))
        found[f"stsb-{level}"] = [int(pair_merges(p.first, p.second, level)) for p in read_stsb()]
    return found


def digest(values: list[int]) -> str:
    return hashlib.blake2b(json.dumps(values).encode(), digest_size=8).hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=100_000, help="headlines in the synthesised stream")
    parser.add_argument("--save", type=Path, help="write the decisions to this JSON file")
    parser.add_argument("--compare", type=Path, help="compare with decisions saved earlier")
    args = parser.parse_args()
    found = decisions(args.count)
    for run, values in found.items():
        print(f"{run:<18}{len(values):>8} decisions  {digest(values)}")
    if args.save:
        args.save.write_text(json.dumps(found))
    if args.compare:
        saved: Decisions = json.loads(args.compare.read_text())
        differing = [run for run in found if saved.get(run) != found[run]]
        for run in differing:
            old = saved.get(run, [])
            first = next((i for i, (a, b) in enumerate(zip(old, found[run], strict=False)) if a != b), None)
            print(f"{run}: differs (first at item {first}; {len(old)} decisions saved)")
        print("identical" if not differing else f"{len(differing)} of {len(found)} runs differ")
        return 1 if differing else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
