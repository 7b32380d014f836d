"""The deduplication engine: a window of recent headlines, an inverted index over their rarer words, and
the merge decision for each level.

Pure and in-memory: the store rebuilds the window from the database at start-up by calling ``add``.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from feeder.dedup.score import Evidence, compare
from feeder.dedup.text import Token, content_tokens

LEVELS = ("headline", "story")
_PROBE_TOKENS = 4  # a reworded headline keeps at least one of the new headline's four rarest words
_POSTINGS_SCAN = 64  # newest postings read per word: older ones of a very common word add nothing
_MAX_CANDIDATES = 16  # earlier headlines sharing most probe words, ranked again by words shared
_MAX_COMPARED = 4  # of those, the ones sharing most words are compared in full
# Decision thresholds on the rarity-weighted overlap, tuned on STS-B train (headline) and on the UCI
# stream (story); a name left unmatched on both sides ("visit UK" / "visit Australia") counts against.
HEADLINE_THRESHOLD = 0.55
HEADLINE_NAME_PENALTY = 0.2
STORY_THRESHOLD = 0.35
STORY_NAME_PENALTY = 0.5
STORY_PROBE_HITS = 1  # another angle on a story may share just one rare word (a name)
STORY_MAX_COMPARED = 8
_DF_PRIOR = 50  # pseudo-documents: with few headlines seen every word counts as rare (pairs, cold start)
_NUMBER_BOOST = 1.5  # numbers and names carry the news ("Oil falls to $101" vs "$98")
_NAME_BOOST = 1.25
_BUCKET_SECONDS = 3600  # eviction granularity: items leave the window at most an hour late


@dataclass(frozen=True, slots=True)
class Headline:
    title: str
    published: datetime
    url: str = ""
    summary: str = ""


@dataclass(slots=True)
class _Entry:
    """One headline in the window; tokens are interned so entries share them."""

    story_id: int
    published: float
    tokens: tuple[Token, ...]


class _Weights(dict[Token, float]):
    """Word weights memoised for one match: the window does not change while a match runs."""

    def __init__(self, weigh: Callable[[Token], float]) -> None:
        super().__init__()
        self._weigh = weigh

    def __missing__(self, token: Token) -> float:
        weight = self[token] = self._weigh(token)
        return weight


def _stable_hash(text: str) -> int:
    """64-bit digest, the same in every process (``hash`` of a str is salted per process)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


class Deduplicator:
    """Decides which story in the window, if any, a new headline belongs to."""

    def __init__(self, level: str = "headline", window: timedelta = timedelta(hours=48)) -> None:
        if level not in LEVELS:
            raise ValueError(f"dedup level must be one of {', '.join(LEVELS)}, not {level!r}")
        self.level = level
        self.window = window
        self._probe_hits_needed = 2 if level == "headline" else STORY_PROBE_HITS
        self._max_compared = _MAX_COMPARED if level == "headline" else STORY_MAX_COMPARED
        self._entries: dict[int, _Entry] = {}
        self._postings: dict[str, list[int]] = {}
        self._df: Counter[str] = Counter()
        self._interned: dict[Token, Token] = {}
        self._by_url: dict[int, int] = {}
        self._buckets: dict[int, list[int]] = {}
        self._next_seq = 0
        self._newest = -math.inf
        self._dead_postings = 0

    # -- public interface -------------------------------------------------------------------------

    def match(self, headline: Headline) -> int | None:
        published = headline.published.timestamp()
        if headline.url:
            seq = self._by_url.get(_stable_hash(headline.url))
            entry = self._entries.get(seq) if seq is not None else None
            if entry is not None and abs(entry.published - published) <= self.window.total_seconds():
                return entry.story_id
        tokens = content_tokens(headline.title)
        candidates = self._candidates(tokens, published)
        if self.level == "headline":
            return self._best_headline_match(tokens, candidates)
        return self._best_story_match(tokens, candidates)

    def add(self, story_id: int, headline: Headline) -> None:
        published = headline.published.timestamp()
        seq = self._next_seq
        self._next_seq += 1
        tokens = tuple(self._interned.setdefault(t, t) for t in content_tokens(headline.title))
        self._entries[seq] = _Entry(story_id, published, tokens)
        for token in tokens:
            self._df[token.stem] += 1
            self._postings.setdefault(token.stem, []).append(seq)
        if headline.url:
            self._by_url[_stable_hash(headline.url)] = seq
        self._buckets.setdefault(int(published // _BUCKET_SECONDS), []).append(seq)
        if published > self._newest:
            self._newest = published
            self._evict()

    def __len__(self) -> int:
        """Headlines currently in the window."""
        return len(self._entries)

    # -- weighting --------------------------------------------------------------------------------

    def weigh(self, token: Token) -> float:
        """Rarity of a word in the window (1 for unseen words), raised for numbers and names."""
        total = len(self._entries) + _DF_PRIOR
        rarity = math.log(total / (self._df[token.stem] + 1)) / math.log(total)
        boost = _NUMBER_BOOST if token.is_number else _NAME_BOOST if token.is_name else 1.0
        return max(rarity, 0.05) * boost

    # -- candidates and decisions -----------------------------------------------------------------

    def _candidates(self, tokens: tuple[Token, ...], published: float) -> list[_Entry]:
        """Earlier headlines in the window sharing the most of the new headline's rarest words."""
        df = self._df
        known = [t.stem for t in tokens if t.stem in df]  # words never seen cannot find anything
        probes = sorted(known, key=lambda stem: (df[stem], stem))[:_PROBE_TOKENS]
        hits: Counter[int] = Counter()
        for stem in probes:
            hits.update(self._postings[stem][-_POSTINGS_SCAN:])
        # A rewording shares two of the rarest words; short headlines (one or two words) need only one.
        needed = min(self._probe_hits_needed, len(probes))
        horizon = self.window.total_seconds()
        found: list[_Entry] = []
        for _, seq in sorted([(-count, -seq) for seq, count in hits.items() if count >= needed]):
            entry = self._entries.get(-seq)
            if entry is not None and abs(entry.published - published) <= horizon:
                found.append(entry)
                if len(found) == _MAX_CANDIDATES:
                    break
        stems = {t.stem for t in tokens}
        # Re-rank by all words shared; sort is stable, so ties keep their (deterministic) order.
        found.sort(key=lambda e: -len(stems.intersection([t.stem for t in e.tokens])))
        return found[: self._max_compared]


    def _best_headline_match(self, tokens: tuple[Token, ...], candidates: list[_Entry]) -> int | None:
        best: tuple[float, int] | None = None
        weights = _Weights(self.weigh)
        for entry in candidates:
            score = same_news(compare(tokens, entry.tokens, weights))
            if score > 0 and (best is None or score > best[0]):
                best = (score, entry.story_id)
        return best[1] if best else None

    def _best_story_match(self, tokens: tuple[Token, ...], candidates: list[_Entry]) -> int | None:
        best: tuple[float, int] | None = None
        weights = _Weights(self.weigh)
        for entry in candidates:
            score = same_story(compare(tokens, entry.tokens, weights))
            if score > 0 and (best is None or score > best[0]):
                best = (score, entry.story_id)
        return best[1] if best else None

    # -- eviction ---------------------------------------------------------------------------------

    def _evict(self) -> None:
        cutoff = int((self._newest - self.window.total_seconds()) // _BUCKET_SECONDS)
        for bucket in [b for b in self._buckets if b < cutoff]:
            for seq in self._buckets.pop(bucket):
                self._forget(seq)
        if self._dead_postings > len(self._entries) * 4:
            self._compact_postings()

    def _forget(self, seq: int) -> None:
        entry = self._entries.pop(seq)
        for token in entry.tokens:
            self._dead_postings += 1
            self._df[token.stem] -= 1
            if not self._df[token.stem]:
                del self._df[token.stem]
                self._interned.pop(token, None)

    def _compact_postings(self) -> None:
        """Drop evicted headlines from the index; amortised, so each add stays O(1) on average."""
        live = self._entries
        self._postings = {
            stem: kept for stem, seqs in self._postings.items() if (kept := [s for s in seqs if s in live])
        }
        self._by_url = {h: s for h, s in self._by_url.items() if s in live}
        self._dead_postings = 0


def same_news(evidence: Evidence) -> float:
    """Positive when two headlines are the same news reworded (headline level)."""
    if evidence.numbers_differ:
        return -1.0
    return evidence.alike - HEADLINE_THRESHOLD - HEADLINE_NAME_PENALTY * min(evidence.names_differ, 1.0)


def same_story(evidence: Evidence) -> float:
    """Positive when two headlines cover the same event (story level)."""
    if evidence.numbers_differ:
        return -1.0
    return evidence.alike - STORY_THRESHOLD - STORY_NAME_PENALTY * min(evidence.names_differ, 1.0)
