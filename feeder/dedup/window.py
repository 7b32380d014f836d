"""The window of recent headlines, stored compactly: flat arrays of ints, not an object per headline.

A headline is a slot: its story id, published time, URL digest and a run of word codes in one flat
array. A word code is ``word id * 2 + is_name``; word ids are interned per window and freed when the last
headline using the word leaves, so memory follows the window and not the stream. Evicted slots are marked
dead (published = -inf) and the arrays are rebuilt once dead slots outnumber live ones: amortised O(1).

A headline's seq (``slot + base``) names it for as long as it lives: a rebuild renumbers the live ones
and tells ``on_rebuild`` how, so that holders of seqs can follow.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Iterator, Sequence

from feeder.dedup.text import Words

_BUCKET_SECONDS = 3600  # eviction granularity: a headline leaves the window at most an hour late
_MIN_REBUILD = 1024  # below this many dead slots a rebuild costs more than it frees
POSTINGS_KEPT = 64  # newest postings kept per word: retrieval reads no more (older ones of a common word add nothing)
DEAD = -math.inf
NO_URL = -1  # URL digests are 63-bit, never negative


class UrlIndex:
    """URL digest -> seq of the newest headline added with that URL.

    Open addressing over one flat array of seqs (0 = empty slot, else seq + 1); the digests themselves
    live in the window's per-slot array. A dict of boxed ints would cost ~100 bytes a headline, this ~24.
    """

    def __init__(self, digest_of: Callable[[int], int], capacity: int = 1024) -> None:
        self._digest_of = digest_of  # seq -> URL digest of that headline
        self._table = array("q", bytes(8 * capacity))
        self._used = 0

    def get(self, digest: int) -> int | None:
        table, mask = self._table, len(self._table) - 1
        index = digest & mask
        while entry := table[index]:
            if self._digest_of(entry - 1) == digest:
                return entry - 1
            index = (index + 1) & mask
        return None

    def put(self, digest: int, seq: int) -> None:
        """Points ``digest`` at ``seq``: a later headline with a known URL replaces the earlier one."""
        if 2 * (self._used + 1) > len(self._table):
            self._grow(2 * len(self._table))
        table, mask = self._table, len(self._table) - 1
        index = digest & mask
        while entry := table[index]:
            if self._digest_of(entry - 1) == digest:
                table[index] = seq + 1
                return
            index = (index + 1) & mask
        table[index] = seq + 1
        self._used += 1

    def seqs(self) -> list[int]:
        return [entry - 1 for entry in self._table if entry]

    def _grow(self, capacity: int) -> None:
        self.reset(self.seqs(), capacity)

    def reset(self, seqs: Sequence[int], capacity: int) -> None:
        """Holds exactly ``seqs`` (distinct digests each), in a table of at least ``capacity`` entries."""
        size = 1024
        while size < max(capacity, 2 * len(seqs) + 2):
            size *= 2
        self._table = array("q", bytes(8 * size))
        self._used = 0
        for seq in seqs:
            self.put(self._digest_of(seq), seq)


class Window:
    """Headlines in arrival order, an inverted index from word to slots, and live document frequencies."""

    def __init__(self, span_seconds: float) -> None:
        self.span = span_seconds
        self.newest = -math.inf
        self.live = 0
        self.vocab: dict[str, int] = {}  # stem -> word id, live words only
        self.stems: list[str] = []  # word id -> stem ("" when free)
        # Lists, not arrays: compiled code reads a list's items without boxing them (and the flags and the
        # small counts of most words are shared objects, so a list costs no more than an int64 array).
        self.numeric: list[bool] = []  # word id -> whether the word is a number
        self.df: list[int] = []  # word id -> live headlines containing it
        # The engine's memo of rarities: df -> rarity, and the live + prior count it was worked out for.
        self.rarity_memo: list[float] = []
        self.rarity_memo_total: list[int] = []
        # word id -> newest seqs containing it, oldest first: a lone seq as a plain int (most words are in one
        # headline, and an int costs half what the smallest array does)
        self.postings: list[array[int] | int | None] = []
        self._free: list[int] = []
        self.story = array("q")  # slot -> story id
        self.published = array("d")  # slot -> POSIX time, DEAD once evicted
        self._url_digest = array("q")  # slot -> URL digest, NO_URL when none
        self._ends = array("i")  # slot -> end of its word codes in ``_codes``
        self._codes = array("i")
        self._base = 0  # seq of slot 0: seqs stay valid across rebuilds by renumbering all references
        self._buckets: dict[int, array[int]] = {}  # hour published -> seqs
        self._evicted_below = -math.inf  # hour buckets below this one are gone
        self.urls = UrlIndex(lambda seq: self._url_digest[seq - self._base])
        # Told the old -> new seq of every live headline after a rebuild: lets an engine keep per-headline data.
        self.on_rebuild: Callable[[dict[int, int]], None] | None = None

    def __len__(self) -> int:
        return self.live

    # -- slots ------------------------------------------------------------------------------------

    @property
    def base(self) -> int:
        """Seq of slot 0."""
        return self._base

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

    def intern(self, stem: str, number: bool) -> int:
        word = self.vocab.get(stem)
        if word is not None:
            return word
        if self._free:
            word = self._free.pop()
            self.stems[word] = stem
            self.numeric[word] = number
        else:
            word = len(self.stems)
            self.stems.append(stem)
            self.numeric.append(number)
            self.df.append(0)
            self.postings.append(None)
        self.vocab[stem] = word
        return word

    def append(self, story_id: int, published: float, words: Words, url_digest: int | None) -> int:
        """Adds a headline (its content words); returns its seq."""
        seq = self._base + len(self.story)
        stems, names, numbers = words
        if not len(stems) == len(names) == len(numbers):
            raise ValueError("a headline's words, name flags and number flags differ in length")
        df, vocab = self.df, self.vocab
        run: list[int] = []  # the headline's word codes, added to ``_codes`` in one call
        for at, stem in enumerate(stems):
            word = vocab.get(stem)
            if word is None:
                word = self.intern(stem, numbers[at])
            run.append(word * 2 + 1 if names[at] else word * 2)
            df[word] += 1
            self._post(word, seq)
        self._codes.extend(run)
        self._ends.append(len(self._codes))
        self.story.append(story_id)
        self.published.append(published)
        self.live += 1
        self._url_digest.append(NO_URL if url_digest is None else url_digest)
        if url_digest is not None:
            self.urls.put(url_digest, seq)
        hour = int(published // _BUCKET_SECONDS)
        if hour < self._evicted_below:  # a late arrival from an hour already evicted: the next call takes it
            self._evicted_below = float(hour)
        bucket = self._buckets.get(hour)
        if bucket is None:
            self._buckets[hour] = array("q", (seq,))
        else:
            bucket.append(seq)
        return seq

    def code_list(self, seq: int) -> list[int]:
        """``codes(seq)`` as a list: compiled code reads a list's ints without boxing each one."""
        slot = seq - self._base
        return self._codes[self._ends[slot - 1] if slot else 0 : self._ends[slot]].tolist()

    def recent(self, word: int) -> list[int]:
        """Seqs of the newest headlines containing ``word`` (at most ``POSTINGS_KEPT``), oldest first."""
        postings = self.postings[word]
        if postings is None:
            return []
        if isinstance(postings, int):
            return [postings]
        return postings[-POSTINGS_KEPT:].tolist()

    def _post(self, word: int, seq: int) -> None:
        postings = self.postings[word]
        if postings is None:
            self.postings[word] = seq
            return
        if isinstance(postings, int):
            self.postings[word] = array("q", (postings, seq))
            return
        postings.append(seq)
        if len(postings) >= 2 * POSTINGS_KEPT:  # trimmed in halves: amortised O(1), never below what is read
            del postings[:POSTINGS_KEPT]

    def evicts_before(self, cutoff: float) -> bool:
        """Whether ``evict_before(cutoff)`` has anything to do: checked before making its generator."""
        return int(cutoff // _BUCKET_SECONDS) > self._evicted_below

    def evict_before(self, cutoff: float) -> Iterator[int]:
        """Kill every headline published before ``cutoff`` (by hour); yields each one's seq as it goes."""
        last = int(cutoff // _BUCKET_SECONDS)
        if last <= self._evicted_below:  # nothing new to evict since the last call: the common case
            return
        self._evicted_below = float(last)
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
        df = self.df
        for code in self.code_list(seq):
            word = code >> 1
            df[word] -= 1
            if not df[word]:
                del self.vocab[self.stems[word]]
                self.stems[word] = ""
                self.postings[word] = None
                self._free.append(word)

    def _rebuild(self) -> None:
        """Drop dead slots from every array and index; seqs are renumbered densely."""
        old_base, published = self._base, self.published
        keep = [slot for slot in range(len(published)) if published[slot] != DEAD]
        new_seq = {old_base + slot: self._base + len(self.story) + index for index, slot in enumerate(keep)}
        story, digests, codes = self.story, self._url_digest, [self.codes(old_base + slot) for slot in keep]
        url_seqs = [new_seq[seq] for seq in self.urls.seqs() if seq in new_seq]
        self._base += len(self.story)
        self.story = array("q", (story[slot] for slot in keep))
        self.published = array("d", (published[slot] for slot in keep))
        self._url_digest = array("q", (digests[slot] for slot in keep))
        self._codes = array("i")
        self._ends = array("i")
        self.postings = [None] * len(self.stems)
        for index, run in enumerate(codes):
            self._codes.extend(run)
            self._ends.append(len(self._codes))
            for code in run:
                self._post(code >> 1, self._base + index)
        self._buckets = {
            bucket: kept
            for bucket, seqs in self._buckets.items()
            if (kept := array("q", (new_seq[s] for s in seqs if s in new_seq)))
        }
        self.urls.reset(url_seqs, 2 * len(keep))
        if self.on_rebuild is not None:
            self.on_rebuild(new_seq)
