"""The deduplication engine: a window of recent headlines, an inverted index over their words, and the
merge decision for each level.

Headline level compares the new headline with a few earlier ones sharing its rarest words (same news,
reworded). Story level compares it with the word profile of each candidate story: the sum of its
headlines' words, so that a story is recognised by what its coverage keeps naming ("Titanfall", "Mt.
Gox") even when no single earlier headline is a rewording.

Words are interned to small ints by the window; a match tokenises the new headline once (``_Query``)
and compares it with each candidate's word codes without building objects per candidate word.

Pure and in-memory: the store rebuilds the window from the database at start-up by calling ``add``.
"""

from __future__ import annotations

import hashlib
import math
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from mypy_extensions import mypyc_attr

from feeder.dedup.score import Evidence, headline_score, variants
from feeder.dedup.text import Words, content_words
from feeder.dedup.window import Window

LEVELS = ("headline", "story")
_PROBE_TOKENS = 4  # a reworded headline keeps at least one of the new headline's four rarest words
_MAX_CANDIDATES = 16  # earlier headlines sharing most probe words, ranked again by all words shared
_MAX_COMPARED = 4  # of those, the ones sharing most words are compared in full
_MAX_CODES = 1 << 20  # more words than any headline has: ranks candidates by words shared in one int
_STORY_PROBE_TOKENS = 6
_MAX_STORIES = 8  # candidate stories scored against their profile
# Story level: cosine between the new headline's weighted words and a story's profile (see module doc).
STORY_THRESHOLD = 0.15
STORY_YOUNG_EXTRA = 0.2  # raises the threshold by this / story size
_YOUNG_STORY = 2  # up to this many headlines a story's newest one can veto a join (names, numbers)
_DF_PRIOR = 50  # pseudo-documents: with few headlines seen every word counts as rare (pairs, cold start)
_NUMBER_BOOST = 1.5  # numbers and names carry the news ("Oil falls to $101" vs "$98")
_NAME_BOOST = 1.25
_MIN_RARITY = 0.05
_SOFT_CREDIT = 0.8  # a spelling variant counts a little less than the same word
# With fewer words in common than this, a word replaced on each side is most likely the subject itself
# ("Apple shares fall" / "Google shares fall"), which lower-case or Title Case headlines do not mark as a name.
_MIN_SHARED_WORDS = 3
_WORD_MASK = (1 << 32) - 1  # word ids are below 2**32


@dataclass(frozen=True, slots=True)
class Headline:
    title: str
    published: datetime
    url: str = ""
    summary: str = ""
    # The title's content_words, when already worked out: a parse worker tokenises them off the store's
    # thread, which a cold ingest keeps busiest (bench/ingest.py). None: tokenised here.
    words: Words | None = None

    def title_words(self) -> Words:
        return self.words if self.words is not None else content_words(self.title)


def _numbers_clash(numbers: set[int], words: Iterable[int], numeric: list[bool]) -> bool:
    """Both headlines state numbers and not the same ones: different news ("$101" vs "$98")."""
    theirs = {word for word in words if numeric[word]}
    return bool(theirs) and theirs != numbers


def _variant_among(stem: str, places: list[int], stems: list[str]) -> int:
    """The first of ``places`` whose stem is a spelling variant of ``stem`` (variants share a first letter),
    else -1."""
    first = stem[0]
    for at in places:
        if stems[at][0] == first and variants(stem, stems[at]):
            return at
    return -1


def _place(words: list[int], word: int) -> int:
    """Where ``word`` is in ``words`` (a headline's words, each once), else -1: a few ints, faster than a dict."""
    for at, other in enumerate(words):
        if other == word:
            return at
    return -1



def _most_shared(recent: list[list[int]]) -> list[int]:
    """Seqs found in the posting lists of the probe words, most lists first, then newest first.

    A rewording shares two of the rarest words; a short headline (one probe word) needs only one. Seqs
    are unique within a list (a headline's words are), so counting a seq's lists is counting shared probe
    words: all lists sorted newest first as one (in C), each run of one seq is its count, and each count's
    seqs come out newest first (the order ``sorted`` of ``count << 63 | seq`` gave).
    """
    if len(recent) == 1:
        return list(reversed(recent[0]))  # postings are oldest first
    merged: list[int] = []
    for seqs in recent:
        merged.extend(seqs)
    merged.sort(reverse=True)
    by_count: list[list[int]] = [[] for _ in range(len(recent) + 1)]
    at, size = 0, len(merged)
    while at < size:
        seq = merged[at]
        end = at + 1
        while end < size and merged[end] == seq:
            end += 1
        if end - at > 1:
            by_count[end - at].append(seq)
        at = end
    found: list[int] = []
    for count in range(len(recent), 1, -1):
        found.extend(by_count[count])
    return found


def _count_in(codes: list[int], words: list[int]) -> int:
    """How many of ``codes`` have their word in ``words`` (a few ints: searched, not hashed)."""
    count = 0
    for code in codes:
        if _place(words, code >> 1) >= 0:
            count += 1
    return count


@lru_cache(maxsize=256)  # the store calls match then add with the same URL
def url_digest(text: str) -> int:
    """64-bit digest, the same in every process (``hash`` of a str is salted per process)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big") >> 1


class _Weights:
    """Weights of window words for one match: the window does not change while a match runs.

    A word weighs its rarity in the window, raised for numbers and names. Words are passed as codes
    (``word id * 2 + is_name``: the name flag changes the weight). Rarities are memoised by df in lists
    the window keeps across matches, each entry stamped with the headline count it was worked out for:
    most words share a few small dfs, and a weight is then a few list reads and a product.
    """

    __slots__ = ("_df", "_log_total", "_memo", "_memo_total", "_numeric", "_total")

    def __init__(self, window: Window) -> None:
        self._df, self._numeric = window.df, window.numeric
        self._total = window.live + _DF_PRIOR
        self._log_total = math.log(self._total)
        self._memo, self._memo_total = window.rarity_memo, window.rarity_memo_total

    def of_codes(self, codes: list[int]) -> list[float]:
        df, numeric = self._df, self._numeric
        found: list[float] = []
        for code in codes:  # weigh() inlined: this runs for every word of every candidate
            word = code >> 1
            found.append(self.rarity(df[word]) * (_NUMBER_BOOST if numeric[word] else _NAME_BOOST if code & 1 else 1.0))
        return found

    def rarity(self, df: int) -> float:
        """Rarity of a word seen in ``df`` headlines, in (0, 1] (1 for unseen words); memoised."""
        memo, stamps, total = self._memo, self._memo_total, self._total
        if df < len(memo) and stamps[df] == total:
            return memo[df]
        rarity = max(math.log(total / (df + 1)) / self._log_total, _MIN_RARITY)
        if df >= len(memo):
            grow = df + 1 - len(memo)
            memo.extend([0.0] * grow)
            stamps.extend([-1] * grow)
        memo[df], stamps[df] = rarity, total
        return rarity

    def weigh(self, df: int, numeric: int, name: int) -> float:
        """A word's rarity times its boost."""
        return self.rarity(df) * (_NUMBER_BOOST if numeric else _NAME_BOOST if name else 1.0)


class _Query:
    """The headline being matched, as every comparison reads it: word ids, flags and weights, once."""

    __slots__ = ("_total", "_weights", "codes", "names", "numbers", "numeric", "stems", "weigh", "words")

    def __init__(self, title_words: Words, window: Window) -> None:
        self.weigh = _Weights(window)  # shared with the candidates' words for this match
        self.stems, self.names, self.numeric = stems, names, numeric = title_words
        if not len(stems) == len(names) == len(numeric):
            raise ValueError("a headline's words, name flags and number flags differ in length")
        vocab = window.vocab
        self.words: list[int] = []
        self.codes: list[int] = []  # of the known words
        self.numbers: set[int] = set()
        for at, stem in enumerate(stems):
            # Unknown words get distinct negative ids: they cannot equal a window word, but may be a variant.
            word = vocab.get(stem, -1 - at)
            self.words.append(word)
            if word >= 0:
                self.codes.append(word * 2 + 1 if names[at] else word * 2)
            if numeric[at]:
                self.numbers.add(word)
        self._weights: list[float] | None = None
        self._total = 0.0

    @property
    def weights(self) -> list[float]:
        """Weight of each word, in order; weighed on first use (most headlines meet no candidate)."""
        if self._weights is None:
            known = self.weigh.of_codes(self.codes)
            weights: list[float] = []
            total = 0.0  # summed in word order, as ``sum`` does
            next_known = 0
            for at, word in enumerate(self.words):
                if word >= 0:
                    weight = known[next_known]
                    next_known += 1
                else:
                    weight = self.weigh.weigh(0, self.numeric[at], self.names[at])
                weights.append(weight)
                total += weight
            self._weights, self._total = weights, total
        return self._weights

    @property
    def total(self) -> float:
        """Sum of the words' weights."""
        return self._total if self._weights is not None else sum(self.weights)


class _Pairing:
    """Which words of a query and a window headline pair up; weighed only if no veto rules the pair out.

    A native class, not a tuple: one is built per candidate, and a NamedTuple's ``__new__`` is interpreted.
    """

    __slots__ = ("exact", "left_rest", "lefts", "right_rest", "right_words", "rights", "swapped")

    def __init__(
        self, right_words: list[int], lefts: list[int], rights: list[int], exact: int, left_rest: list[int],
        right_rest: list[int], swapped: bool,
    ) -> None:
        self.right_words = right_words  # the window headline's word ids, in order
        # pairs: lefts[k] (place in the query) with rights[k] (place on the right): exact pairs, then variants
        self.lefts, self.rights = lefts, rights
        self.exact = exact  # how many of the pairs are the same word
        self.left_rest = left_rest  # places of the query's words left unpaired
        self.right_rest = right_rest
        self.swapped = swapped  # a short headline with a word replaced on each side (see ``_MIN_SHARED_WORDS``)


class _Profile:
    """A story's words: how many of its live headlines use each one."""

    __slots__ = ("counts", "newest", "size")

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}  # word id -> headlines using it (a dict: compiled code iterates it natively)
        self.size = 0
        self.newest = -1  # seq of the story's newest headline


@mypyc_attr(allow_interpreted_subclasses=True)  # the semantic engine extends it (setup.py compiles this)
class Deduplicator:
    """Decides which story in the window, if any, a new headline belongs to."""

    def __init__(self, level: str = "headline", window: timedelta = timedelta(hours=48)) -> None:
        if level not in LEVELS:
            raise ValueError(f"dedup level must be one of {', '.join(LEVELS)}, not {level!r}")
        self.level = level
        self.window = window
        self._items = Window(window.total_seconds())
        self._items.on_rebuild = self._renumbered
        self._profiles: dict[int, _Profile] = {}  # story level only
        # Story level: word id -> the query's weight of it while a story match runs, else 0.0 (grows with the
        # vocabulary): a list read per profile word instead of a dict probe with a boxed int.
        self._marks: list[float] = []

    # -- public interface -------------------------------------------------------------------------

    def match(self, headline: Headline) -> int | None:
        published = headline.published.timestamp()
        items = self._items
        if headline.url:
            seq = items.urls.get(url_digest(headline.url))
            if seq is not None and items.alive_within(seq, published):
                return items.story[items.slot(seq)]
        query = self._query(headline.title_words())
        found = self._best_headline_match(query, published)
        if found is not None or self.level == "headline":
            return found
        return self._best_story_match(query, published)

    def add(self, story_id: int, headline: Headline) -> int:
        """Puts a headline in the window as part of ``story_id``; returns its seq there."""
        published = headline.published.timestamp()
        items = self._items
        digest = url_digest(headline.url) if headline.url else None
        seq = items.append(story_id, published, headline.title_words(), digest)
        self._added(seq, headline)
        if self.level == "story":
            profile = self._profiles.get(story_id)
            if profile is None:
                profile = self._profiles[story_id] = _Profile()
            profile.size += 1
            profile.newest = seq
            counts = profile.counts
            for code in items.code_list(seq):  # as Counter.update counts: new words last
                counts[code >> 1] = counts.get(code >> 1, 0) + 1
        if published > items.newest:
            items.newest = published
            cutoff = published - items.span  # the span is window.total_seconds()
            if items.evicts_before(cutoff):
                self._evict(cutoff)
        return seq

    def evidence(self, title: str, seq: int) -> Evidence:
        """How a headline compares with the window's headline ``seq`` (for fitting and explaining decisions)."""
        return self._evidence(self._query(content_words(title)), seq)

    def __len__(self) -> int:
        """Headlines currently in the window."""
        return len(self._items)

    def _added(self, seq: int, headline: Headline) -> None:
        """Called for each headline added, before eviction: a subclass keeps per-headline data here."""

    def _renumbered(self, new_seq: dict[int, int]) -> None:
        """The window dropped its evicted headlines and renumbered the rest: follow the seqs kept here.

        A subclass keeping per-headline data extends this. (A story's newest headline must stay found, or
        the young-story veto would lapse after a compaction, which a restarted window does not have.)
        """
        for profile in self._profiles.values():
            profile.newest = new_seq.get(profile.newest, -1)

    def _query(self, words: Words) -> _Query:
        return _Query(words, self._items)

    # -- headline level ---------------------------------------------------------------------------

    def _probes(self, query: _Query, count: int) -> list[int]:
        """Word ids of the new headline's rarest known words."""
        df = self._items.df
        # (df, word) as one int, sorted in C: word ids are below 2**32
        ranked = sorted([df[word] << 32 | word for word in query.words if word >= 0])
        return [key & _WORD_MASK for key in ranked[:count]]

    def _candidates(self, query: _Query, published: float) -> list[int]:
        """Seqs of earlier live headlines sharing the most of the new headline's rarest words."""
        return self._ranked(query, published)[0]

    def _ranked(self, query: _Query, published: float) -> tuple[list[int], list[list[int]]]:
        """``_candidates``, and the word codes of each when the ranking read them (else none)."""
        items = self._items
        recent = [items.recent(word) for word in self._probes(query, _PROBE_TOKENS)]
        base, stamps, span = items.base, items.published, items.span
        found: list[int] = []
        for seq in _most_shared(recent):
            if abs(stamps[seq - base] - published) <= span:  # alive (the dead are stamped -inf) and in span
                found.append(seq)
                if len(found) == _MAX_CANDIDATES:
                    break
        # Re-rank by all words shared (the query's words under either name flag); the sort is stable, so
        # ties keep their (deterministic) order.
        if len(found) < 2:
            return found, []
        # A candidate's words are distinct, so the codes it shares are its words among the query's.
        codes = [items.code_list(seq) for seq in found]
        ranked = sorted([(_MAX_CODES - _count_in(codes[at], query.words)) << 8 | at for at in range(len(found))])
        kept = [key & 0xFF for key in ranked[:_MAX_COMPARED]]  # places in ``found``: by words shared, then place
        return [found[at] for at in kept], [codes[at] for at in kept]

    def _best_headline_match(self, query: _Query, published: float) -> int | None:
        items = self._items
        candidates, code_lists = self._ranked(query, published)
        stories = [items.story[seq - items.base] for seq in candidates]
        numeric = items.numeric
        best_score, best_story, found = 0.0, 0, False
        for at, seq in enumerate(candidates):
            if found and stories[at:].count(best_story) == len(stories) - at:
                break  # the rest are in the best story so far: whatever they score, it stays the match
            codes = code_lists[at] if code_lists else items.code_list(seq)
            right_words = [code >> 1 for code in codes]
            if query.numbers and _numbers_clash(query.numbers, right_words, numeric):
                continue  # vetoed whatever else the two share: the full comparison would be wasted
            pairing = self._pairing(query, right_words)
            if pairing.swapped:
                continue  # vetoed too, and known before any word is weighed (a fifth of all comparisons)
            # Neither veto applies, so same_news of the evidence is headline_score of its overlap.
            alike, names_differ, unmatched, _ = self._overlap(query, codes, pairing)
            score = headline_score(alike, names_differ, unmatched)
            if score > 0 and (not found or score > best_score):
                best_score, best_story, found = score, stories[at], True
        return best_story if found else None

    def _evidence(self, query: _Query, seq: int) -> Evidence:
        """Evidence on whether the query and the window's headline ``seq`` report the same news."""
        codes = self._items.code_list(seq)
        return self._weighed(query, codes, self._pairing(query, [code >> 1 for code in codes]))

    def _pairing(self, query: _Query, right_words: list[int]) -> _Pairing:
        """How the query's words pair up with ``right_words`` (a window headline's word ids, in order).

        Words pair up one-to-one: the same word first, then spelling variants (greedily, in word order).
        """
        left_numeric = query.numeric
        paired = [False] * len(right_words)
        lefts: list[int] = []  # pairs: place on the left ...
        rights: list[int] = []  # ... and on the right
        left_rest: list[int] = []  # places of the query's words left unpaired
        shared_words = 0  # pairs other than numbers
        for at, word in enumerate(query.words):
            other = _place(right_words, word)  # unknown words (negative ids) are never found
            if other < 0:
                left_rest.append(at)
            else:
                paired[other] = True
                lefts.append(at)
                rights.append(other)
                if not left_numeric[at]:
                    shared_words += 1
        exact = len(lefts)
        right_rest = [at for at in range(len(right_words)) if not paired[at]]  # in place order
        if left_rest and right_rest:
            stems = self._items.stems
            right_stems = [stems[word] for word in right_words]
            firsts = {right_stems[at][0] for at in right_rest}  # a cheap test before the search
            still_left: list[int] = []
            for at in left_rest:
                stem = query.stems[at]
                other = (
                    _variant_among(stem, right_rest, right_stems)
                    if stem[0] in firsts and not left_numeric[at]
                    else -1
                )
                if other < 0:
                    still_left.append(at)
                else:
                    right_rest.remove(other)
                    lefts.append(at)
                    rights.append(other)
                    shared_words += 1
            left_rest = still_left
        swapped = bool(left_rest and right_rest) and shared_words < _MIN_SHARED_WORDS
        return _Pairing(right_words, lefts, rights, exact, left_rest, right_rest, swapped)

    def _weighed(self, query: _Query, codes: list[int], pairing: _Pairing) -> Evidence:
        """The evidence of a pairing, rarity-weighted (see ``_overlap``)."""
        alike, names_differ, unmatched, weighed = self._overlap(query, codes, pairing)
        if not weighed:
            return Evidence(0.0, False, 0.0, 1.0)
        items = self._items
        numbers_differ = bool(query.numbers) and _numbers_clash(query.numbers, pairing.right_words, items.numeric)
        return Evidence(alike, numbers_differ, names_differ, unmatched, pairing.swapped)

    def _overlap(self, query: _Query, codes: list[int], pairing: _Pairing) -> tuple[float, float, float, bool]:
        """Evidence's alike, names_differ and unmatched of a pairing, and whether both sides weigh anything
        (if not: 0, 0, 1). Sums run in the query's word order (exact pairs, then variants), one float at a
        time as ``sum`` adds them, so a pair scores the same whichever way it is built."""
        right_weights = query.weigh.of_codes(codes)
        left_weights = query.weights
        left_total = query.total
        right_total = 0.0
        for weight in right_weights:
            right_total += weight
        if not left_total or not right_total:
            return 0.0, 0.0, 1.0, False
        lefts, rights, exact = pairing.lefts, pairing.rights, pairing.exact
        shared = 0.0
        for k in range(len(lefts)):
            term = math.sqrt(left_weights[lefts[k]] * right_weights[rights[k]])
            shared += term if k < exact else _SOFT_CREDIT * term
        names = query.names
        left_names = left_rest_total = 0.0
        for at in pairing.left_rest:
            left_rest_total += left_weights[at]
            if names[at]:
                left_names += left_weights[at]
        right_names = right_rest_total = 0.0
        for at in pairing.right_rest:
            right_rest_total += right_weights[at]
            if codes[at] & 1:
                right_names += right_weights[at]
        return (
            shared / math.sqrt(left_total * right_total),
            min(left_names, right_names),
            max(left_rest_total / left_total, right_rest_total / right_total),
            True,
        )

    # -- story level ------------------------------------------------------------------------------

    def _candidate_stories(self, query: _Query, published: float) -> list[int]:
        items = self._items
        base, stamps, span, story_of = items.base, items.published, items.span, items.story
        hits: dict[int, int] = {}  # story -> probe words it was found with, in order of first finding
        for word in self._probes(query, _STORY_PROBE_TOKENS):  # alive_within inlined, as in _candidates
            recent = items.recent(word)
            for story in {story_of[seq - base] for seq in recent if abs(stamps[seq - base] - published) <= span}:
                hits[story] = hits.get(story, 0) + 1
        # Most hits first, ties in order of finding (what Counter.most_common gave), as one int per story.
        ranked = sorted([(_MAX_CODES - count) << 32 | at for at, count in enumerate(hits.values())])
        stories = list(hits)
        return [stories[key & _WORD_MASK] for key in ranked[:_MAX_STORIES]]

    def _best_story_match(self, query: _Query, published: float) -> int | None:
        vector = dict(zip(query.words, query.weights, strict=True))
        norm = math.sqrt(sum(w * w for w in vector.values()))
        if not norm:
            return None
        best: tuple[float, int] | None = None
        marks = self._marks
        if len(marks) < len(self._items.stems):
            marks.extend([0.0] * (len(self._items.stems) - len(marks)))
        known = [word for word in vector if word >= 0]  # the words a profile can hold
        for word in known:
            marks[word] = vector[word]  # weights are positive
        try:
            for story in self._candidate_stories(query, published):
                profile = self._profiles[story]
                if self._numbers_clash(query, profile) or self._young_and_clashing(query, profile):
                    continue
                # A story of one or two headlines is no topic yet: it must look like a rewording to join.
                score = self._profile_cosine(marks, profile, query.weigh) / norm - STORY_YOUNG_EXTRA / profile.size
                if score >= STORY_THRESHOLD and (best is None or score > best[0]):
                    best = (score, story)
        finally:
            for word in known:
                marks[word] = 0.0
        return best[1] if best else None

    def _young_and_clashing(self, query: _Query, profile: _Profile) -> bool:
        """A story of one or two headlines is vetoed like a pair: "visit UK" is not "visit Australia"."""
        if profile.size > _YOUNG_STORY or not self._items.alive_within(profile.newest, self._items.newest):
            return False
        evidence = self._evidence(query, profile.newest)
        return evidence.numbers_differ or evidence.names_differ > 0

    def _numbers_clash(self, query: _Query, profile: _Profile) -> bool:
        """The headline states numbers and most of the story states others: "kills 11" vs "kills seven"."""
        known = {word for word in query.numbers if word >= 0}
        if not query.numbers or known & profile.counts.keys():
            return False
        numeric = self._items.numeric
        told = sum(count for word, count in profile.counts.items() if numeric[word])
        return told * 2 >= profile.size

    def _profile_cosine(self, marks: list[float], profile: _Profile, weigh: _Weights) -> float:
        """Dot product of the headline vector (``marks``: its weight by word id, 0.0 for words it lacks) with
        the unit-length rarity-weighted profile."""
        df = self._items.df
        dot = square = 0.0
        for word, count in profile.counts.items():  # the hot loop of story level: a few list reads per word
            value = weigh.rarity(df[word]) * count
            square += value * value
            weight = marks[word]
            if weight > 0.0:
                dot += value * weight
        return dot / math.sqrt(square) if square else 0.0

    # -- eviction ---------------------------------------------------------------------------------

    def _evict(self, cutoff: float) -> None:
        items = self._items
        for seq in items.evict_before(cutoff):
            if self.level == "story":
                self._forget_in_profile(items.story[items.slot(seq)], items.codes(seq))

    def _forget_in_profile(self, story: int, codes: array[int]) -> None:
        profile = self._profiles[story]
        profile.size -= 1
        if not profile.size:
            del self._profiles[story]
            return
        for code in codes:
            word = code >> 1
            profile.counts[word] -= 1
            if not profile.counts[word]:
                del profile.counts[word]


__all__ = ["Deduplicator", "Evidence", "Headline"]
