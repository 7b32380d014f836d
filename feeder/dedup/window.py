"""The window of recent headlines, stored compactly: flat arrays of ints, not an object per headline.

A headline is a slot: its story id, published time and a run of word codes in one flat array. A word
code is ``word id * 2 + is_name``; word ids are interned per window and freed when the last headline
using the word leaves, so memory follows the window and not the stream. Evicted slots are marked dead
(published = -inf) and the arrays are rebuilt once dead slots outnumber live ones: amortised O(1).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Iterator

from feeder.dedup.text import Token

_BUCKET_SECONDS = 3600  # eviction granularity: a headline leaves the window at most an hour late
_MIN_REBUILD = 1024  # below this many dead slots a rebuild costs more than it frees
DEAD = -math.inf


class Window:
    """Headlines in arrival order, an inverted index from word to slots, and live document frequencies."""

    def __init__(self, span_seconds: float) -> None:
        self.span = span_seconds
        self.newest = -math.inf
        self.live = 0
        self.vocab: dict[str, int] = {}  # stem -> word id, live words only
        self.stems: list[str] = []  # word id -> stem ("" when free)
        self.df = array("q")  # word id -> live headlines containing it
        self.postings: list[array[int] | None] = []  # word id -> seqs containing it, oldest first
        self._free: list[int] = []
        self.story = array("q")  # slot -> story id
        self.published = array("d")  # slot -> POSIX time, DEAD once evicted
        self._ends = array("q")  # slot -> end of its word codes in ``_codes``
        self._codes = array("q")
        self._base = 0  # seq of slot 0: seqs stay valid across rebuilds by renumbering all references
        self._buckets: dict[int, array[int]] = {}
        self.by_url: dict[int, int] = {}  # url digest -> seq
        # Told the old -> new seq of every live headline after a rebuild: lets an engine keep per-headline data.
        self.on_rebuild: Callable[[dict[int, int]], None] | None = None

    def __len__(self) -> int:
        return self.live

    # -- slots ------------------------------------------------------------------------------------

    def slot(self, seq: int) -> int:
        return seq - self._base

    def codes(self, seq: int) -> array[int]:
        slot = seq - self._base
        return self._codes[self._ends[slot - 1] if slot else 0 : self._ends[slot]]

    def alive_within(self, seq: int, when: float) -> bool:
        """Whether headline ``seq`` is live and within the window span of ``when``."""
        slot = seq - self._base
        return 0 <= slot < len(self.published) and abs(self.published[slot] - when) <= self.span

    # -- adding and evicting ----------------------------------------------------------------------

    def intern(self, stem: str) -> int:
        word = self.vocab.get(stem)
        if word is not None:
            return word
        if self._free:
            word = self._free.pop()
            self.stems[word] = stem
        else:
            word = len(self.stems)
            self.stems.append(stem)
            self.df.append(0)
            self.postings.append(None)
        self.vocab[stem] = word
        return word

    def append(self, story_id: int, published: float, tokens: tuple[Token, ...], url_digest: int | None) -> int:
        seq = self._base + len(self.story)
        for token in tokens:
            word = self.intern(token.stem)
            self._codes.append(word * 2 + token.is_name)
            self.df[word] += 1
            postings = self.postings[word]
            if postings is None:
                self.postings[word] = array("q", (seq,))
            else:
                postings.append(seq)
        self._ends.append(len(self._codes))
        self.story.append(story_id)
        self.published.append(published)
        self.live += 1
        if url_digest is not None:
            self.by_url[url_digest] = seq
        bucket = self._buckets.get(int(published // _BUCKET_SECONDS))
        if bucket is None:
            self._buckets[int(published // _BUCKET_SECONDS)] = array("q", (seq,))
        else:
            bucket.append(seq)
        return seq

    def evict_before(self, cutoff: float) -> Iterator[int]:
        """Kill every headline published before ``cutoff`` (by hour); yields each one's seq as it goes."""
        last = int(cutoff // _BUCKET_SECONDS)
        for bucket in [b for b in self._buckets if b < last]:
            for seq in self._buckets.pop(bucket):
                if self.published[seq - self._base] != DEAD:
                    yield seq
                    self._kill(seq)
        if len(self.story) - self.live > max(self.live, _MIN_REBUILD):
            self._rebuild()

    def _kill(self, seq: int) -> None:
        slot = seq - self._base
        self.published[slot] = DEAD
        self.live -= 1
        for code in self.codes(seq):
            word = code >> 1
            self.df[word] -= 1
            if not self.df[word]:
                del self.vocab[self.stems[word]]
                self.stems[word] = ""
                self.postings[word] = None
                self._free.append(word)

    def _rebuild(self) -> None:
        """Drop dead slots from every array and index; seqs are renumbered densely."""
        old_base, published = self._base, self.published
        keep = [slot for slot in range(len(published)) if published[slot] != DEAD]
        new_seq = {old_base + slot: self._base + len(self.story) + index for index, slot in enumerate(keep)}
        story, codes = self.story, [self.codes(old_base + slot) for slot in keep]
        self._base += len(self.story)
        self.story = array("q", (story[slot] for slot in keep))
        self.published = array("d", (published[slot] for slot in keep))
        self._codes = array("q")
        self._ends = array("q")
        self.postings = [None] * len(self.stems)
        for index, run in enumerate(codes):
            self._codes.extend(run)
            self._ends.append(len(self._codes))
            for code in run:
                postings = self.postings[code >> 1]
                if postings is None:
                    self.postings[code >> 1] = array("q", (self._base + index,))
                else:
                    postings.append(self._base + index)
        self._buckets = {
            bucket: kept
            for bucket, seqs in self._buckets.items()
            if (kept := array("q", (new_seq[s] for s in seqs if s in new_seq)))
        }
        self.by_url = {digest: new_seq[s] for digest, s in self.by_url.items() if s in new_seq}
        if self.on_rebuild is not None:
            self.on_rebuild(new_seq)
