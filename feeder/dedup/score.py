"""How alike two headlines are: token overlap weighted by rarity, with names and numbers checked apart."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from feeder.dedup.text import Token

Weights = Mapping[Token, float]  # how much each word says about which news this is

_MIN_SOFT_LEN = 4  # shorter words differ in one letter too often ("kill"/"bill") to be variants
_SOFT_SIMILARITY = 0.8  # "Morsi"/"Mursi", "defence"/"defense", "Taliban"/"Taleban"
_SOFT_CREDIT = 0.8  # a spelling variant counts a little less than the same word
_MIN_STEM_LEN = 5  # "resign"/"resignation": a long enough word that starts another is its stem
_MAX_SUFFIX_GAP = 3
# With fewer words in common than this, a word replaced on each side is most likely the subject itself
# ("Apple shares fall" / "Google shares fall"), which lower-case or Title Case headlines do not mark as a name.
_MIN_SHARED_WORDS = 3  # "Syria"/"Syrian", "Egypt"/"Egyptian": a derived form of the same name


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a comparison of two headlines found; ``alike`` in [0, 1] is the rarity-weighted overlap."""

    alike: float
    numbers_differ: bool  # both state numbers and the numbers differ: different news ("$101" vs "$98")
    number_missing: bool  # one states a number the other lacks
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


Pairing = tuple[list[tuple[Token, Token, float]], list[Token], list[Token]]  # (pairs, left over, left over)


def _pair_up(left: tuple[Token, ...], right: tuple[Token, ...]) -> Pairing:
    """Greedy one-to-one matching: exact stems first, then spelling variants (in token order)."""
    right_by_stem = {t.stem: t for t in right}
    pairs: list[tuple[Token, Token, float]] = []
    left_rest: list[Token] = []
    for token in left:
        other = right_by_stem.pop(token.stem, None)
        if other is None:
            left_rest.append(token)
        else:
            pairs.append((token, other, 1.0))
    right_rest = list(right_by_stem.values())
    still_left: list[Token] = []
    for token in left_rest:
        found = next((o for o in right_rest if not token.is_number and variants(token.stem, o.stem)), None)
        if found is None:
            still_left.append(token)
        else:
            right_rest.remove(found)
            pairs.append((token, found, _SOFT_CREDIT))
    return pairs, still_left, right_rest


def compare(left: tuple[Token, ...], right: tuple[Token, ...], weights: Weights) -> Evidence:
    """Evidence on whether two tokenised headlines report the same news."""
    pairs, left_rest, right_rest = _pair_up(left, right)
    left_total = sum([weights[t] for t in left])
    right_total = sum([weights[t] for t in right])
    if not left_total or not right_total:
        return Evidence(0.0, False, False, 0.0, 1.0)
    shared = sum([credit * math.sqrt(weights[a] * weights[b]) for a, b, credit in pairs])
    left_numbers = {t.stem for t in left if t.is_number}
    right_numbers = {t.stem for t in right if t.is_number}
    names_left = sum([weights[t] for t in left_rest if t.is_name])
    names_right = sum([weights[t] for t in right_rest if t.is_name])
    return Evidence(
        alike=shared / math.sqrt(left_total * right_total),
        numbers_differ=bool(left_numbers and right_numbers and left_numbers != right_numbers),
        number_missing=left_numbers != right_numbers,
        names_differ=min(names_left, names_right),
        unmatched=max(
            sum([weights[t] for t in left_rest]) / left_total,
            sum([weights[t] for t in right_rest]) / right_total,
        ),
        swapped=bool(left_rest and right_rest) and sum(1 for a, _b, _c in pairs if not a.is_number) < _MIN_SHARED_WORDS,
    )



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
    if evidence.numbers_differ or evidence.swapped or evidence.names_differ >= NAMES_VETO:
        return -1.0
    return sum(c * f for c, f in zip(_COEFFICIENTS, features(evidence), strict=True)) + _INTERCEPT
