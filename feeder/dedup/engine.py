"""The deduplication engine: a window of recent headlines, an inverted index over their words, and the
merge decision for each level.

Headline level compares the new headline with a few earlier ones sharing its rarest words (same news,
reworded). Story level compares it with the word profile of each candidate story: the sum of its
headlines' words, so that a story is recognised by what its coverage keeps naming ("Titanfall", "Mt.
Gox") even when no single earlier headline is a rewording.

Pure and in-memory: the store rebuilds the window from the database at start-up by calling ``add``.
"""

from __future__ import annotations

import hashlib
import math
from array import array
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from feeder.dedup.score import Evidence, compare, same_news
from feeder.dedup.text import Token, content_tokens
from feeder.dedup.window import Window

LEVELS = ("headline", "story")
_PROBE_TOKENS = 4  # a reworded headline keeps at least one of the new headline's four rarest words
_POSTINGS_SCAN = 64  # newest postings read per word: older ones of a very common word add nothing
_MAX_CANDIDATES = 16  # earlier headlines sharing most probe words, ranked again by all words shared
_MAX_COMPARED = 4  # of those, the ones sharing most words are compared in full
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


@dataclass(frozen=True, slots=True)
class Headline:
    title: str
    published: datetime
    url: str = ""
    summary: str = ""


def _stable_hash(text: str) -> int:
    """64-bit digest, the same in every process (``hash`` of a str is salted per process)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big") >> 1


class _Weights(dict[Token, float]):
    """Word weights memoised for one match: the window does not change while a match runs."""

    def __init__(self, dedup: Deduplicator) -> None:
        super().__init__()
        self._dedup = dedup

    def __missing__(self, token: Token) -> float:
        weight = self[token] = self._dedup.weigh(token)
        return weight


class _Profile:
    """A story's words: how many of its live headlines use each one."""

    __slots__ = ("counts", "newest", "size")

    def __init__(self) -> None:
        self.counts: Counter[int] = Counter()
        self.size = 0
        self.newest = -1  # seq of the story's newest headline


class Deduplicator:
    """Decides which story in the window, if any, a new headline belongs to."""

    def __init__(self, level: str = "headline", window: timedelta = timedelta(hours=48)) -> None:
        if level not in LEVELS:
            raise ValueError(f"dedup level must be one of {', '.join(LEVELS)}, not {level!r}")
        self.level = level
        self.window = window
        self._items = Window(window.total_seconds())
        self._profiles: dict[int, _Profile] = {}  # story level only

    # -- public interface -------------------------------------------------------------------------

    def match(self, headline: Headline) -> int | None:
        published = headline.published.timestamp()
        items = self._items
        if headline.url:
            seq = items.by_url.get(_stable_hash(headline.url))
            if seq is not None and items.alive_within(seq, published):
                return items.story[items.slot(seq)]
        tokens = content_tokens(headline.title)
        weights = _Weights(self)
        found = self._best_headline_match(tokens, published, weights)
        if found is not None or self.level == "headline":
            return found
        return self._best_story_match(tokens, published, weights)

    def add(self, story_id: int, headline: Headline) -> None:
        published = headline.published.timestamp()
        tokens = content_tokens(headline.title)
        items = self._items
        seq = items.append(story_id, published, tokens, _stable_hash(headline.url) if headline.url else None)
        self._added(seq, headline)
        if self.level == "story":
            profile = self._profiles.get(story_id)
            if profile is None:
                profile = self._profiles[story_id] = _Profile()
            profile.size += 1
            profile.newest = seq
            profile.counts.update(items.vocab[t.stem] for t in tokens)
        if published > items.newest:
            items.newest = published
            self._evict(published - self.window.total_seconds())

    def __len__(self) -> int:
        """Headlines currently in the window."""
        return len(self._items)

    def _added(self, seq: int, headline: Headline) -> None:
        """Called for each headline added, before eviction: a subclass keeps per-headline data here."""

    # -- weighting --------------------------------------------------------------------------------

    def rarity(self, stem: str) -> float:
        """How rare a word is in the window, in (0, 1]: 1 for unseen words."""
        items = self._items
        total = items.live + _DF_PRIOR
        word = items.vocab.get(stem)
        df = items.df[word] if word is not None else 0
        return max(math.log(total / (df + 1)) / math.log(total), _MIN_RARITY)

    def weigh(self, token: Token) -> float:
        """Rarity of a word in the window, raised for numbers and names."""
        boost = _NUMBER_BOOST if token.is_number else _NAME_BOOST if token.is_name else 1.0
        return self.rarity(token.stem) * boost

    # -- headline level ---------------------------------------------------------------------------

    def _probes(self, tokens: tuple[Token, ...], count: int) -> list[int]:
        """Word ids of the new headline's rarest known words."""
        items = self._items
        known = [word for t in tokens if (word := items.vocab.get(t.stem)) is not None]
        return sorted(known, key=lambda word: (items.df[word], word))[:count]

    def _candidates(self, tokens: tuple[Token, ...], published: float) -> list[int]:
        """Seqs of earlier live headlines sharing the most of the new headline's rarest words."""
        items = self._items
        probes = self._probes(tokens, _PROBE_TOKENS)
        hits: Counter[int] = Counter()
        for word in probes:
            postings = items.postings[word]
            if postings is not None:
                hits.update(postings[-_POSTINGS_SCAN:])
        # A rewording shares two of the rarest words; short headlines (one or two words) need only one.
        needed = min(2, len(probes))
        found: list[int] = []
        for _, seq in sorted([(-count, -seq) for seq, count in hits.items() if count >= needed]):
            if items.alive_within(-seq, published):
                found.append(-seq)
                if len(found) == _MAX_CANDIDATES:
                    break
        # Re-rank by all words shared; sort is stable, so ties keep their (deterministic) order.
        words = {items.vocab.get(t.stem, -1) for t in tokens}
        found.sort(key=lambda seq: -sum((code >> 1) in words for code in items.codes(seq)))
        return found[:_MAX_COMPARED]

    def _tokens_of(self, seq: int) -> tuple[Token, ...]:
        stems = self._items.stems
        codes = self._items.codes(seq)
        return tuple(Token(stem, stem[0].isdigit(), bool(code & 1)) for code in codes if (stem := stems[code >> 1]))

    def _best_headline_match(self, tokens: tuple[Token, ...], published: float, weights: _Weights) -> int | None:
        best: tuple[float, int] | None = None
        for seq in self._candidates(tokens, published):
            score = same_news(compare(tokens, self._tokens_of(seq), weights))
            if score > 0 and (best is None or score > best[0]):
                best = (score, self._items.story[self._items.slot(seq)])
        return best[1] if best else None

    # -- story level ------------------------------------------------------------------------------

    def _candidate_stories(self, tokens: tuple[Token, ...], published: float) -> list[int]:
        items = self._items
        hits: Counter[int] = Counter()
        for word in self._probes(tokens, _STORY_PROBE_TOKENS):
            postings = items.postings[word]
            if postings is None:
                continue
            recent = postings[-_POSTINGS_SCAN:]
            hits.update({items.story[items.slot(s)] for s in recent if items.alive_within(s, published)})
        return [story for story, _ in hits.most_common(_MAX_STORIES)]

    def _best_story_match(self, tokens: tuple[Token, ...], published: float, weights: _Weights) -> int | None:
        vector = {self._items.vocab.get(t.stem, -1 - i): weights[t] for i, t in enumerate(tokens)}
        norm = math.sqrt(sum(w * w for w in vector.values()))
        if not norm:
            return None
        best: tuple[float, int] | None = None
        for story in self._candidate_stories(tokens, published):
            profile = self._profiles[story]
            if self._numbers_clash(tokens, profile) or self._young_and_clashing(tokens, profile, weights):
                continue
            # A story of one or two headlines is no topic yet: it must look like a rewording to join.
            score = self._profile_cosine(vector, profile) / norm - STORY_YOUNG_EXTRA / profile.size
            if score >= STORY_THRESHOLD and (best is None or score > best[0]):
                best = (score, story)
        return best[1] if best else None

    def _young_and_clashing(self, tokens: tuple[Token, ...], profile: _Profile, weights: _Weights) -> bool:
        """A story of one or two headlines is vetoed like a pair: "visit UK" is not "visit Australia"."""
        if profile.size > _YOUNG_STORY or not self._items.alive_within(profile.newest, self._items.newest):
            return False
        evidence = compare(tokens, self._tokens_of(profile.newest), weights)
        return evidence.numbers_differ or evidence.names_differ > 0

    def _numbers_clash(self, tokens: tuple[Token, ...], profile: _Profile) -> bool:
        """The headline states numbers and most of the story states others: "kills 11" vs "kills seven"."""
        numbers = {word for t in tokens if t.is_number and (word := self._items.vocab.get(t.stem, -1)) >= 0}
        if not any(t.is_number for t in tokens) or numbers & profile.counts.keys():
            return False
        stems = self._items.stems
        told = sum(count for word, count in profile.counts.items() if stems[word][:1].isdigit())
        return told * 2 >= profile.size

    def _profile_cosine(self, vector: dict[int, float], profile: _Profile) -> float:
        """Dot product of the headline vector with the unit-length rarity-weighted profile."""
        items = self._items
        total = items.live + _DF_PRIOR
        log_total = math.log(total)
        dot = square = 0.0
        for word, count in profile.counts.items():
            value = count * max(math.log(total / (items.df[word] + 1)) / log_total, _MIN_RARITY)
            square += value * value
            if word in vector:
                dot += value * vector[word]
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
