"""Fits the headline-level merge model (``feeder.dedup.score.same_news``) on STS-B **train** only.

A logistic regression over the lexical evidence of a pair (rarity-weighted overlap, unmatched names,
unmatched share). Pairs whose numbers differ are left out of the fit; at decision time those and pairs
that each name something the other does not (``NAMES_VETO``) are never merged, here as in score.py. The decision
threshold maximises train F1. Prints the coefficients to paste into score.py, and train/dev quality.
Needs numpy (a test extra, not a runtime dependency).

Run from the repository root: ``python bench/fit_headline_model.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dedup_quality import NEGATIVE, POSITIVE, SAME_TIME, read_stsb

from feeder.dedup import Deduplicator, Headline
from feeder.dedup.score import NAMES_VETO, Evidence, features

STEPS, RATE = 20_000, 0.5


def pair_evidence(first: str, second: str) -> Evidence:
    dedup = Deduplicator()
    return dedup.evidence(second, dedup.add(1, Headline(first, SAME_TIME)))


def fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    weights = np.zeros(x.shape[1])
    for _ in range(STEPS):
        predicted = 1 / (1 + np.exp(-x @ weights))
        weights -= RATE * x.T @ (predicted - y) / len(y)
    return weights


def quality(merged: np.ndarray, positive: np.ndarray) -> tuple[float, float, float]:
    tp = float((merged & positive).sum())
    precision = tp / max(float(merged.sum()), 1.0)
    recall = tp / max(float(positive.sum()), 1.0)
    return precision, recall, 2 * precision * recall / max(precision + recall, 1e-9)


def main() -> int:
    pairs = [p for p in read_stsb() if not NEGATIVE <= p.score < POSITIVE]
    evidence = [pair_evidence(p.first, p.second) for p in pairs]
    x = np.array([[*features(e), 1.0] for e in evidence])
    numbers_differ = np.array([e.numbers_differ for e in evidence])
    vetoed = numbers_differ | np.array([e.names_differ >= NAMES_VETO for e in evidence])
    positive = np.array([p.score >= POSITIVE for p in pairs])
    train = np.array([p.split == "train" for p in pairs])
    fitted = train & ~numbers_differ
    weights = fit(x[fitted], positive[fitted].astype(float))
    z = x @ weights
    threshold = max(np.arange(-3, 3, 0.05), key=lambda t: quality((z >= t) & ~vetoed & train, positive & train)[2])
    print("coefficients (features..., bias):", [round(float(w), 3) for w in weights], "threshold", round(threshold, 2))
    for name, chosen in (("train", train), ("dev", ~train)):
        p, r, f1 = quality((z >= threshold) & ~vetoed & chosen, positive & chosen)
        print(f"{name:<6} P {p:.3f} R {r:.3f} F1 {f1:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
