"""Merge quality of feeder.dedup on real headlines, for each level.

STS-B headline pairs (human-scored 0-5): precision/recall/F1 of "merge" with pairs scored >= 4.0 as
positives and < 3.0 as negatives (pairs in between are not counted). Each pair uses a fresh
Deduplicator: add headline1 as story 1, match headline2, same published time.

UCI News Aggregator part 1: the headlines replayed as one stream in TIMESTAMP order (title, published
and URL only; URLs differ across outlets anyway), clusters compared with the STORY labels: pairwise
precision/recall, B-cubed precision/recall/F1, and the reduction ratio (stories / headlines).

Run from the repository root: ``python bench/dedup_quality.py``.
"""

from __future__ import annotations

import csv
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feeder.dedup import Deduplicator, Headline, headline_key

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "headlines"
STSB = DATA / "stsb-headlines-train-dev.tsv"
UCI = DATA / "uci-news-aggregator-part1.csv"
LEVELS = ("headline", "story")
POSITIVE, NEGATIVE = 4.0, 3.0  # score >= 4.0: same story reworded; < 3.0: different story
SAME_TIME = datetime(2014, 3, 10, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Pair:
    split: str
    score: float
    first: str
    second: str


@dataclass(frozen=True, slots=True)
class Counts:
    true_pos: int
    false_pos: int
    false_neg: int

    @property
    def precision(self) -> float:
        return self.true_pos / (self.true_pos + self.false_pos) if self.true_pos + self.false_pos else 1.0

    @property
    def recall(self) -> float:
        return self.true_pos / (self.true_pos + self.false_neg) if self.true_pos + self.false_neg else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def read_stsb(path: Path = STSB) -> list[Pair]:
    """Pairs from the STS-B headlines file (train and dev), middle-scored pairs included."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [Pair(r["split"], float(r["score"]), r["headline1"], r["headline2"]) for r in rows]


def pair_merges(first: str, second: str, level: str) -> bool:
    dedup = Deduplicator(level=level)
    dedup.add(1, Headline(first, SAME_TIME))
    return dedup.match(Headline(second, SAME_TIME)) == 1


def stsb_counts(pairs: Iterable[Pair], level: str) -> Counts:
    tp = fp = fn = 0
    for pair in pairs:
        if NEGATIVE <= pair.score < POSITIVE:
            continue
        merged = pair_merges(pair.first, pair.second, level)
        positive = pair.score >= POSITIVE
        tp += merged and positive
        fp += merged and not positive
        fn += positive and not merged
    return Counts(tp, fp, fn)


@dataclass(frozen=True, slots=True)
class Article:
    title: str
    url: str
    story: str
    published: datetime


def read_uci(path: Path = UCI) -> list[Article]:
    """The UCI headlines in stream order: TIMESTAMP, then ID for ties."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda r: (int(r["TIMESTAMP"]), int(r["ID"])))
    return [
        Article(r["TITLE"], r["URL"], r["STORY"], datetime.fromtimestamp(int(r["TIMESTAMP"]) / 1000, UTC))
        for r in rows
    ]


def replay(articles: Iterable[Article], dedup: Deduplicator) -> list[int]:
    """Story id per article, as the store would assign them (any engine)."""
    assigned: list[int] = []
    stories = 0
    for article in articles:
        headline = Headline(article.title, article.published, url=article.url)
        story = dedup.match(headline)
        if story is None:
            stories += 1
            story = stories
        dedup.add(story, headline)
        assigned.append(story)
    return assigned


def _pairs(sizes: Iterable[int]) -> int:
    return sum(n * (n - 1) // 2 for n in sizes)


@dataclass(frozen=True, slots=True)
class Clustering:
    pair_precision: float
    pair_recall: float
    b3_precision: float
    b3_recall: float
    reduction: float

    @property
    def b3_f1(self) -> float:
        p, r = self.b3_precision, self.b3_recall
        return 2 * p * r / (p + r) if p + r else 0.0


def score_clustering(predicted: list[int], gold: list[str]) -> Clustering:
    cells = Counter(zip(predicted, gold, strict=True))
    pred_sizes, gold_sizes = Counter(predicted), Counter(gold)
    together = _pairs(cells.values())
    n = len(gold)
    b3_p = sum(c * c / pred_sizes[p] for (p, _), c in cells.items()) / n
    b3_r = sum(c * c / gold_sizes[g] for (_, g), c in cells.items()) / n
    return Clustering(
        pair_precision=together / max(_pairs(pred_sizes.values()), 1),
        pair_recall=together / max(_pairs(gold_sizes.values()), 1),
        b3_precision=b3_p,
        b3_recall=b3_r,
        reduction=len(pred_sizes) / n,
    )


def _rows_stsb(pairs: list[Pair]) -> Iterator[str]:
    yield f"{'STS-B pairs':<14}{'level':<10}{'split':<7}{'pairs':>6}{'P':>8}{'R':>8}{'F1':>8}"
    for level in LEVELS:
        for split in ("train", "dev", "all"):
            chosen = [p for p in pairs if split in ("all", p.split)]
            counted = sum(not NEGATIVE <= p.score < POSITIVE for p in chosen)
            c = stsb_counts(chosen, level)
            yield f"{'':<14}{level:<10}{split:<7}{counted:>6}{c.precision:>8.3f}{c.recall:>8.3f}{c.f1:>8.3f}"


def _rows_uci(articles: list[Article]) -> Iterator[str]:
    gold = [a.story for a in articles]
    yield (
        f"{'UCI stream':<14}{'level':<10}{'pair-P':>8}{'pair-R':>8}{'B3-P':>8}{'B3-R':>8}{'B3-F1':>8}"
        f"{'stories/headlines':>19}{'s':>7}"
    )
    for level in LEVELS:
        started = time.perf_counter()
        c = score_clustering(replay(articles, Deduplicator(level=level)), gold)
        took = time.perf_counter() - started
        yield (
            f"{'':<14}{level:<10}{c.pair_precision:>8.3f}{c.pair_recall:>8.3f}{c.b3_precision:>8.3f}"
            f"{c.b3_recall:>8.3f}{c.b3_f1:>8.3f}{c.reduction:>19.3f}{took:>7.2f}"
        )
    stories = len(set(gold))
    yield f"{'':<14}(gold: {stories} stories in {len(gold)} headlines, ratio {stories / len(gold):.3f})"
    yield from _label_noise(articles, gold)


def _label_noise(articles: list[Article], gold: list[str]) -> Iterator[str]:
    """How noisy the labels are: identical normalised titles that carry different STORY labels."""
    keys: dict[str, int] = {}
    grouped = [keys.setdefault(headline_key(a.title), len(keys)) for a in articles]
    pairs = _pairs(Counter(grouped).values())
    wrong = pairs - _pairs(Counter(zip(grouped, gold, strict=True)).values())
    split = sum(len(labels) > 1 for labels in _labels_per_group(grouped, gold).values())
    yield (
        f"{'':<14}(label noise: merging only identical headline_key titles gives {pairs} pairs, {wrong} across"
        f" labels in {split} groups: pair-P {(pairs - wrong) / max(pairs, 1):.3f})"
    )


def _labels_per_group(grouped: list[int], gold: list[str]) -> dict[int, set[str]]:
    labels: dict[int, set[str]] = {}
    for group, label in zip(grouped, gold, strict=True):
        labels.setdefault(group, set()).add(label)
    return labels


def main() -> int:
    if not STSB.exists() or not UCI.exists():
        print(f"data not found under {DATA.resolve()}", file=sys.stderr)
        return 1
    for line in _rows_stsb(read_stsb()):
        print(line)
    print()
    for line in _rows_uci(read_uci()):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
