"""Articles as queries search them: an inverted index of every folded word, kept from one publish to the next.

Each article version (see ``Searchable.identity``) gets a slot number when the index first reads it; a
publish then reads only the articles that are new or changed since the last one, whatever the topics ask
for, so adding or changing a topic reads nothing again. A word's postings are the slots that hold it.

Sets of slots are bitsets: Python ints whose bit i stands for slot i. AND, OR and NOT of 100,000-bit ints
run in C in microseconds, where set algebra walks every element; a word's postings become a bitset once
and are remembered while the index only grows.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence, Set
from dataclasses import dataclass
from functools import cached_property, reduce
from itertools import chain, compress
from operator import or_
from sys import getsizeof
from typing import NamedTuple, TypeVar, cast

from feeder.topics.text import Searchable, fold_short, holds_phrase, spaced, spaced_words, word_set

Bits = int  # a set of slots: bit i set when slot i is in it
NOWHERE: Bits = 0
K = TypeVar("K")
# WordIndex.snapshot(): slots, postings, title postings, field postings (each list as array bytes), tested
# (key, key is a Term, tested, passed), converted (key, bits, count), next slot, stale count
Snapshot = tuple[dict[Hashable, int], dict[bytes, bytes], dict[bytes, bytes], dict[tuple[str, str], bytes],
                 list[tuple[Hashable, bool, Bits, Bits]], list[tuple[tuple[str, Hashable], Bits, int]], int, int]


class Term(NamedTuple):
    """What the index looks up: folded words in a row, anywhere in title/summary/content or in the title.

    A named tuple, not a dataclass: hashed millions of times per publish, and tuples hash in C.
    """

    words: tuple[str, ...]
    in_title: bool = False

    @property
    def checked(self) -> bool:
        """Whether the index must read articles to answer: a phrase (the index keeps no word order)."""
        return len(self.words) > 1


@dataclass
class _Tested:
    """The slots a test that no lookup answers (a phrase, a url part, a regex) was run on, and those that
    passed: its answer depends only on the article version, so each is tested once."""

    tested: Bits = NOWHERE
    passed: Bits = NOWHERE


@dataclass
class _Converted:
    """A postings list as a bitset, and how many of its entries that holds (postings only grow)."""

    bits: Bits = NOWHERE
    count: int = 0


class WordIndex:
    """Every distinct folded word of each article it has been shown: of title, summary and content
    together, and of the title alone (for ``title:``).

    Memory: four bytes per distinct word per article (``array('I')`` postings) plus one dictionary entry
    per article and per distinct word, and a bitset (one bit per slot) for each word, field value and test
    that queries ask for. Slots of articles that left the store stay in the postings until
    they outnumber the live ones; then the postings are compacted (every query intersects with the live
    articles, so stale slots never match).
    """

    def __init__(self) -> None:
        self._slots: dict[Hashable, int] = {}  # article identity -> slot
        self._postings: defaultdict[bytes, array[int]] = defaultdict(_slots)
        self._titles: defaultdict[bytes, array[int]] = defaultdict(_slots)  # the same, for titles alone
        # ("source" | "author" | "language" | "category", the value as written) -> slots
        self._fields: defaultdict[tuple[str, str], array[int]] = defaultdict(_slots)
        self._tested: dict[Hashable, _Tested] = {}  # Term (a phrase) or Node.test_key -> what it found
        self._converted: dict[tuple[str, Hashable], _Converted] = {}  # postings asked for, as bitsets
        self._next = 0
        self._stale = 0  # postings entries (articles) whose slot is no longer live, roughly

    def __len__(self) -> int:
        return len(self._slots)

    def sync(self, docs: Sequence[Searchable], forget_others: bool = True) -> list[int]:
        """Each article's slot, reading only those it has not seen; forgets the articles not given unless
        told not to (a search reading the store a part at a time: see keep_only)."""
        known = self._slots
        slots: dict[Hashable, int] = {} if forget_others else known
        numbers = []
        for doc in docs:
            identity = doc.identity
            slot = known.get(identity)
            if slot is None:
                slot = slots.get(identity)  # the same version twice in one publish: read once
                if slot is None:
                    slot = self._add(doc)
            slots[identity] = slot
            numbers.append(slot)
        if forget_others:
            self._stale += len(known.keys() - slots.keys())
            self._slots = slots
            self._compact_when_stale()
        return numbers

    def keep_only(self, identities: Set[Hashable]) -> None:
        """Forget every article but these (by ``Searchable.identity``)."""
        kept = {identity: slot for identity, slot in self._slots.items() if identity in identities}
        self._stale += len(self._slots) - len(kept)
        self._slots = kept
        self._compact_when_stale()

    def _compact_when_stale(self) -> None:
        if self._stale > max(len(self._slots), 1000):
            self._compact()

    def _add(self, doc: Searchable) -> int:
        slot = self._next
        self._next += 1
        postings = self._postings
        for word in doc.word_set():  # ~60 distinct words an article: this loop is most of the index's cost
            postings[word].append(slot)
        titles = self._titles
        for word in word_set(doc.article.title):
            titles[word].append(slot)
        a = doc.article
        for key in (("source", a.source), ("author", a.author), ("language", a.language),
                    *(("category", category) for category in a.categories)):
            self._fields[key].append(slot)
        return slot

    def _compact(self) -> None:
        """Drop the slots of forgotten articles from every postings list (and forget what was tested)."""
        live = set(self._slots.values())
        self._postings = defaultdict(_slots, _compacted(self._postings, live))
        self._titles = defaultdict(_slots, _compacted(self._titles, live))
        self._fields = defaultdict(_slots, _compacted(self._fields, live))
        self._tested.clear()
        self._converted.clear()  # their counts no longer match the shortened postings
        self._stale = 0

    def with_word(self, word: str, in_title: bool = False) -> Bits:
        """The slots (live or stale) whose text (or title) holds the word."""
        encoded = word.encode()
        where = self._titles if in_title else self._postings
        return self._bits(("title" if in_title else "text", encoded), where.get(encoded, ()))

    def by_field(self, field: str) -> dict[str, Bits]:
        """Slots (live or stale) by the value of a field as written: "source", "author", "language" or
        "category" (one entry per category)."""
        return {value: self._bits(("field", (name, value)), slots)
                for (name, value), slots in self._fields.items() if name == field}

    def _bits(self, key: tuple[str, Hashable], postings: Sequence[int]) -> Bits:
        """A postings list as a bitset, converting only the entries added since it was last asked for."""
        converted = self._converted.setdefault(key, _Converted())
        if converted.count < len(postings):
            converted.bits |= bits_of(postings[converted.count:])
            converted.count = len(postings)
        return converted.bits

    def with_checked(self, term: Term, live: Bits, holds: Callable[[int], bool]) -> Bits:
        """The live slots that hold a phrase: ``holds(slot)`` answers for those that hold all its words."""
        return self.passing(term, live & self._holding_all(term), holds)

    def passing(self, key: Hashable, within: Bits, test: Callable[[int], bool]) -> Bits:
        """The slots among ``within`` that pass a test, run only on those it was not run on before."""
        memo = self._tested.setdefault(key, _Tested())
        untested = within & ~memo.tested
        if untested:
            memo.passed |= bits_of(filter(test, slots_of(untested)))
            memo.tested |= untested
        return memo.passed & within

    def forget_checked_except(self, asked: Set[Hashable]) -> None:
        """Drop what was remembered for tests and words no topic asks for any more (``Query.vocabulary``)."""
        for key in self._tested.keys() - asked:
            del self._tested[key]
        words = {("title" if term.in_title else "text", word.encode())
                 for term in asked if isinstance(term, Term) for word in term.words}
        for key in [key for key in self._converted if key[0] != "field" and key not in words]:
            del self._converted[key]

    def snapshot(self) -> Snapshot:
        """What the index knows, as plain values that marshal can write (feeder.topics.snapshot)."""
        tested = [(tuple(key) if isinstance(key, Term) else key, isinstance(key, Term), memo.tested, memo.passed)
                  for key, memo in self._tested.items()]
        converted = [(key, memo.bits, memo.count) for key, memo in self._converted.items()]
        return (self._slots, _as_bytes(self._postings), _as_bytes(self._titles), _as_bytes(self._fields),
                tested, converted, self._next, self._stale)

    @classmethod
    def from_snapshot(cls, snapshot: Snapshot) -> WordIndex:
        """The index a snapshot() was taken of."""
        index = cls()
        slots, postings, titles, fields, tested, converted, index._next, index._stale = snapshot
        index._slots = slots
        index._postings = defaultdict(_slots, _as_arrays(postings))
        index._titles = defaultdict(_slots, _as_arrays(titles))
        index._fields = defaultdict(_slots, _as_arrays(fields))
        index._tested = {Term(*cast(tuple[tuple[str, ...], bool], key)) if is_term else key: _Tested(found, passed)
                         for key, is_term, found, passed in tested}
        index._converted = {key: _Converted(bits, count) for key, bits, count in converted}
        return index

    def _holding_all(self, term: Term) -> Bits:
        """The slots that hold all the term's words."""
        return reduce(int.__and__, (self.with_word(word, term.in_title) for word in set(term.words)))

    def size_in_bytes(self) -> int:
        """What the index holds, roughly (containers and their keys; small ints are shared)."""
        postings = sum(getsizeof(word) + getsizeof(found) for word, found in
                       chain(self._postings.items(), self._titles.items()))
        checked = sum(getsizeof(t.tested) + getsizeof(t.passed) + 100 for t in self._tested.values())
        converted = sum(getsizeof(c.bits) + 100 for c in self._converted.values())
        fields = sum(getsizeof(found) for found in self._fields.values())
        slots = getsizeof(self._slots) + sum(getsizeof(key) + 32 for key in self._slots)
        return (getsizeof(self._postings) + getsizeof(self._titles) + postings + fields + checked + converted
                + slots)


class Index:
    """The stored articles of one publish, numbered by their slot in a WordIndex, with the lookups that let
    a query avoid testing each article in turn.

    Words (in the text or the title) cost one bitset operation; phrases read only the articles that hold all
    their words, and only once per article version when the WordIndex is kept between publishes. Fields with few
    distinct values (source, tag, language, author, category) are grouped by value on first use, so they too
    are answered without a test per article; only url: and /regex/ test articles one by one (each article
    version once, as phrases).
    """

    def __init__(self, docs: Sequence[Searchable], words: WordIndex | None = None,
                 forget_others: bool = True) -> None:
        self.words = words if words is not None else WordIndex()
        self.numbers = self.words.sync(docs, forget_others)  # each doc's number, in the order given
        self.docs = dict(zip(self.numbers, docs, strict=True))
        self.everything: Bits = bits_of(self.numbers)
        self._found: dict[Term, Bits] = {}

    def __len__(self) -> int:
        return len(self.docs)

    def with_term(self, term: Term) -> Bits:
        found = self._found.get(term)
        if found is None:
            if term.checked:
                hits = self.words.with_checked(term, self.everything, self._holds(term))
            else:
                hits = self.words.with_word(term.words[0], term.in_title)
            found = self._found[term] = self.everything & hits
        return found

    def _holds(self, term: Term) -> Callable[[int], bool]:
        docs, words = self.docs, term.words
        if term.in_title:
            return lambda number: holds_phrase(docs[number].article.title, words)
        return lambda number: docs[number].holds_phrase(words)

    def with_source(self, name: str) -> Bits:
        return self._by_source.get(fold_short(name), NOWHERE)

    def with_tag(self, tag: str) -> Bits:
        return self._by_tag.get(fold_short(tag), NOWHERE)

    def with_language(self, language: str) -> Bits:
        """'en' is any English ('en', 'en-us', 'en-gb'); 'en-us' is only that one."""
        wanted = fold_short(language).replace("_", "-")
        return union(numbers for code, numbers in self._by_language.items()
                      if code == wanted or code.startswith(wanted + "-"))

    def with_words_in(self, field: str, words: tuple[str, ...]) -> Bits:
        """Whole words in a row in the author or one category: few distinct values, each tested once."""
        phrase = spaced(words)
        groups = self._by_author if field == "author" else self._by_category
        return union(numbers for value, numbers in groups.items() if phrase in value)

    def scan(self, key: Hashable, within: Bits, test: Callable[[Searchable], bool]) -> Bits:
        """The articles among ``within`` that pass a test no lookup can answer (url parts, regexes), each
        article version tested once for a ``key`` that stands for the test."""
        docs = self.docs
        return self.words.passing(key, within, lambda number: test(docs[number]))

    @cached_property
    def _by_source(self) -> dict[str, Bits]:
        return self._group("source")

    @cached_property
    def _by_tag(self) -> dict[str, Bits]:
        """A source's tags are the same for all its articles: grouped by source, then by tag."""
        tags_of = {doc.article.source: doc.tags for doc in self.docs.values()}
        by_tag: dict[str, list[Bits]] = {}
        for source, numbers in self._group("source", str).items():
            for tag in tags_of.get(source, ()):
                by_tag.setdefault(fold_short(tag), []).append(numbers)
        return {tag: union(groups) for tag, groups in by_tag.items()}

    @cached_property
    def _by_author(self) -> dict[str, Bits]:
        return self._group("author", spaced_words)

    @cached_property
    def _by_category(self) -> dict[str, Bits]:
        return self._group("category", spaced_words)

    @cached_property
    def _by_language(self) -> dict[str, Bits]:
        return {code.replace("_", "-"): numbers for code, numbers in self._group("language").items()}

    def _group(self, field: str, normal: Callable[[str], str] = fold_short) -> dict[str, Bits]:
        """This publish's articles by the normalised value of a field."""
        groups: dict[str, Bits] = {}
        for value, slots in self.words.by_field(field).items():
            key = normal(value)
            groups[key] = groups.get(key, NOWHERE) | slots
        everything = self.everything
        found = {key: everything & slots for key, slots in groups.items()}
        return {key: numbers for key, numbers in found.items() if numbers}


def _compacted(postings: dict[K, array[int]], live: Set[int]) -> dict[K, array[int]]:
    """The postings without the slots that are not live (and without the lists left empty)."""
    compacted = {}
    for key, slots in postings.items():
        kept = array("I", filter(live.__contains__, slots))
        if kept:
            compacted[key] = kept
    return compacted


def _slots() -> array[int]:
    return array("I")


def _as_bytes(postings: dict[K, array[int]]) -> dict[K, bytes]:
    return {key: slots.tobytes() for key, slots in postings.items()}


def _as_arrays(postings: dict[K, bytes]) -> dict[K, array[int]]:
    return {key: array("I", slots) for key, slots in postings.items()}


def union(sets: Iterable[Bits]) -> Bits:
    return reduce(or_, sets, NOWHERE)


# Bitsets are built and read through their binary digits, one byte each, so that the work per slot is one
# byte store (building) or is done in C (reading): setting bits one at a time in an int copies it each time.
_DIGITS = bytes.maketrans(b"01", b"\x00\x01")


def bits_of(slots: Iterable[int]) -> Bits:
    """The bitset of these slots."""
    slots = slots if isinstance(slots, Sequence) else list(slots)
    if not slots:
        return NOWHERE
    digits = bytearray(b"0") * (max(slots) + 1)  # from slot 0 even for a tail: zeros cost next to nothing
    for slot in slots:
        digits[slot] = 0x31  # "1"
    return int(digits[::-1], 2)


# 0, 1, 2... up to the highest slot asked for and a quarter more: compress() over a list makes no int per
# slot, as over a range does; the price is ~36 bytes a slot (~4.5 MB for 100,000 articles).
_numbers: list[int] = []


def slots_of(bits: Bits) -> list[int]:
    """The slots of a bitset, ascending."""
    digits = bin(bits)[:1:-1].encode().translate(_DIGITS)  # one byte per slot, lowest first
    if len(_numbers) < len(digits):
        _numbers.extend(range(len(_numbers), len(digits) + len(digits) // 4))
    return list(compress(_numbers, digits))
