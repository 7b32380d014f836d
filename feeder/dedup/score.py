"""How alike two headlines are: the evidence a comparison finds (``Deduplicator._evidence`` computes it
over the window's interned words), and the headline-level decision made from it."""

from __future__ import annotations

from typing import NamedTuple

from rapidfuzz.distance import Levenshtein

_MIN_SOFT_LEN = 4  # shorter words differ in one letter too often ("kill"/"bill") to be variants
_SOFT_SIMILARITY = 0.8  # "Morsi"/"Mursi", "defence"/"defense", "Taliban"/"Taleban"
_MIN_STEM_LEN = 5  # "resign"/"resignation": a long enough word that starts another is its stem
_MAX_SUFFIX_GAP = 3  # "Syria"/"Syrian", "Egypt"/"Egyptian": a derived form of the same name


class Evidence(NamedTuple):  # a tuple: built for every candidate, and a frozen dataclass costs more
    """What a comparison of two headlines found; ``alike`` in [0, 1] is the rarity-weighted overlap."""

    alike: float
    numbers_differ: bool  # both state numbers and the numbers differ: different news ("$101" vs "$98")
    names_differ: float  # weight of names left unmatched on the side with fewer of them
    unmatched: float  # share of the weight left unmatched on the side with more left
    swapped: bool = False  # a short headline with a word replaced on each side: "Apple/Google shares fall"


def variants(a: str, b: str) -> bool:
    """Whether two word stems look like spellings or derived forms of one word."""
    if a[0] != b[0] or len(a) < _MIN_SOFT_LEN or len(b) < _MIN_SOFT_LEN or not (a.isalpha() and b.isalpha()):
        return False
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    if long.startswith(short) and (len(long) - len(short) <= _MAX_SUFFIX_GAP or len(short) >= _MIN_STEM_LEN):
        return True
    return Levenshtein.normalized_similarity(a, b, score_cutoff=_SOFT_SIMILARITY) >= _SOFT_SIMILARITY


def features(evidence: Evidence) -> list[float]:
    """What the headline-level model weighs (see ``bench/fit_headline_model.py``)."""
    return [evidence.alike, min(evidence.names_differ, 1.0), evidence.unmatched]


# Headline level: a logistic model fitted on STS-B train only by bench/fit_headline_model.py; the
# intercept includes the decision threshold (max train F1). Different numbers are vetoed outright.
_COEFFICIENTS = (8.236, -0.423, -3.016)  # alike, names_differ, unmatched
# Each side naming something the other does not ("visit UK" / "visit Australia") is different news too;
# STS-B alone weighs it lightly (few such pairs), so a clear clash is vetoed like numbers.
NAMES_VETO = 1.0  # about one rare name on each side
_INTERCEPT = -3.493 + 0.7  # fitted bias minus the fitted threshold


def same_news(evidence: Evidence) -> float:
    """Positive when two headlines are the same news reworded (headline level)."""
    if evidence.numbers_differ or evidence.swapped:
        return -1.0
    return headline_score(evidence.alike, evidence.names_differ, evidence.unmatched)


def headline_score(alike: float, names_differ: float, unmatched: float) -> float:
    """``same_news`` of evidence whose numbers agree and with no word swapped: the engine's hot path calls it
    without building an Evidence. The terms add up in ``features`` order, as ``sum`` did."""
    if names_differ >= NAMES_VETO:
        return -1.0
    alike_weight, names_weight, unmatched_weight = _COEFFICIENTS
    score = alike_weight * alike + names_weight * min(names_differ, 1.0) + unmatched_weight * unmatched
    return score + _INTERCEPT
