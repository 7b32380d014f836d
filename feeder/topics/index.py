"""Articles as queries search them: an inverted index of every folded word, kept from one publish to the next.

Each article version (see ``Searchable.identity``) gets a slot number when the index first reads it; a
publish then reads only the articles that are new or changed since the last one, whatever the topics ask
for, so adding or changing a topic reads nothing again. A word's postings are the slots that hold it.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence, Set
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain
from sys import getsizeof
from typing import NamedTuple, TypeVar

from feeder.topics.text import Searchable, fold_short, holds_phrase, spaced, spaced_words, word_set

NOWHERE: frozenset[int] = frozenset()
K = TypeVar("K")


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
class _Checked:
    """A phrase's answer for every slot up to ``upto``: phrases are checked in the articles that hold all
    their words, once per article version."""

    upto: int = -1
    slots: array[int] = field(default_factory=lambda: _slots())


class WordIndex:
    """Every distinct folded word of each article it has been shown: of title, summary and content
    together, and of the title alone (for ``title:``).

    Memory: four bytes per distinct word per article (``array('I')`` postings) plus one dictionary entry
    per article and per distinct word. Slots of articles that left the store stay in the postings until
    they outnumber the live ones; then the postings are compacted (every query intersects with the live
    articles, so stale slots never match).
    """

    def __init__(self) -> None:
        self._slots: dict[Hashable, int] = {}  # article identity -> slot
        self._postings: defaultdict[bytes, array[int]] = defaultdict(_slots)
        self._titles: defaultdict[bytes, array[int]] = defaultdict(_slots)  # the same, for titles alone
        # ("source" | "author" | "language" | "category", the value as written) -> slots
        self._fields: defaultdict[tuple[str, str], array[int]] = defaultdict(_slots)
        self._checked: dict[Term, _Checked] = {}
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
        """Drop the slots of forgotten articles from every postings list (and forget checked terms)."""
        live = set(self._slots.values())
        self._postings = defaultdict(_slots, _compacted(self._postings, live))
        self._titles = defaultdict(_slots, _compacted(self._titles, live))
        self._fields = defaultdict(_slots, _compacted(self._fields, live))
        self._checked.clear()
        self._stale = 0

    def with_word(self, word: str, in_title: bool = False) -> set[int]:
        """The slots (live or stale) whose text (or title) holds the word."""
        return set((self._titles if in_title else self._postings).get(word.encode(), ()))

    def by_field(self, field: str) -> dict[str, array[int]]:
        """Slots (live or stale) by the value of a field as written: "source", "author", "language" or
        "category" (one entry per category)."""
        return {value: slots for (name, value), slots in self._fields.items() if name == field}

    def with_checked(self, term: Term, live: Set[int], holds: Callable[[int], bool]) -> set[int]:
        """The slots (live or stale) that hold a phrase: ``holds(slot)`` answers for the live
        slots that hold all its words and were not checked before."""
        checked = self._checked.setdefault(term, _Checked())
        found = set(checked.slots)
        newer = self._holding_all(term, after=checked.upto) & live
        if newer:
            hits = sorted(filter(holds, newer))
            checked.slots.extend(hits)
            found.update(hits)
        checked.upto = self._next - 1  # every live slot up to here is now answered
        return found

    def forget_checked_except(self, terms: Set[Term]) -> None:
        """Drop what was remembered for phrases no topic asks for any more."""
        for term in self._checked.keys() - terms:
            del self._checked[term]

    def _holding_all(self, term: Term, after: int) -> set[int]:
        """The slots above ``after`` that hold all the term's words. Postings are in ascending order (slots
        are handed out in order), so the slots above are a tail, found by bisection."""
        where = self._titles if term.in_title else self._postings
        postings = [where.get(w.encode(), _slots()) for w in set(term.words)]
        tails = sorted((found[bisect_right(found, after):] for found in postings), key=len)
        holding = set(tails[0])
        for more in tails[1:]:
            holding.intersection_update(more)
        return holding

    def size_in_bytes(self) -> int:
        """What the index holds, roughly (containers and their keys; small ints are shared)."""
        postings = sum(getsizeof(word) + getsizeof(found) for word, found in
                       chain(self._postings.items(), self._titles.items()))
        checked = sum(getsizeof(c.slots) + 100 for c in self._checked.values())
        fields = sum(getsizeof(found) for found in self._fields.values())
        slots = getsizeof(self._slots) + sum(getsizeof(key) + 32 for key in self._slots)
        return getsizeof(self._postings) + getsizeof(self._titles) + postings + fields + checked + slots


class Index:
    """The stored articles of one publish, numbered by their slot in a WordIndex, with the lookups that let
    a query avoid testing each article in turn.

    Words (in the text or the title) cost one set operation; phrases read only the articles that hold all
    their words, and only once per article version when the WordIndex is kept between publishes. Fields with few
    distinct values (source, tag, language, author, category) are grouped by value on first use, so they too
    are answered without a test per article; only url: and /regex/ test articles one by one.
    """

    def __init__(self, docs: Sequence[Searchable], words: WordIndex | None = None,
                 forget_others: bool = True) -> None:
        self.words = words if words is not None else WordIndex()
        self.numbers = self.words.sync(docs, forget_others)  # each doc's number, in the order given
        self.docs = dict(zip(self.numbers, docs, strict=True))
        self.everything: frozenset[int] = frozenset(self.docs)
        self._found: dict[Term, frozenset[int]] = {}

    def __len__(self) -> int:
        return len(self.docs)

    def with_term(self, term: Term) -> frozenset[int]:
        found = self._found.get(term)
        if found is None:
            if term.checked:
                hits = self.words.with_checked(term, self.everything, self._holds(term))
            else:
                hits = self.words.with_word(term.words[0], term.in_title)
            found = self._found[term] = self.everything.intersection(hits)
        return found

    def _holds(self, term: Term) -> Callable[[int], bool]:
        docs, words = self.docs, term.words
        if term.in_title:
            return lambda number: holds_phrase(docs[number].article.title, words)
        return lambda number: docs[number].holds_phrase(words)

    def with_source(self, name: str) -> frozenset[int]:
        return self._by_source.get(fold_short(name), NOWHERE)

    def with_tag(self, tag: str) -> frozenset[int]:
        return self._by_tag.get(fold_short(tag), NOWHERE)

    def with_language(self, language: str) -> frozenset[int]:
        """'en' is any English ('en', 'en-us', 'en-gb'); 'en-us' is only that one."""
        wanted = fold_short(language).replace("_", "-")
        return _union(numbers for code, numbers in self._by_language.items()
                      if code == wanted or code.startswith(wanted + "-"))

    def with_words_in(self, field: str, words: tuple[str, ...]) -> frozenset[int]:
        """Whole words in a row in the author or one category: few distinct values, each tested once."""
        phrase = spaced(words)
        groups = self._by_author if field == "author" else self._by_category
        return _union(numbers for value, numbers in groups.items() if phrase in value)

    def scan(self, within: Set[int], test: Callable[[Searchable], bool]) -> set[int]:
        """The articles among ``within`` that pass a test no lookup can answer (url parts, regexes)."""
        docs = self.docs
        return {number for number in within if test(docs[number])}

    @cached_property
    def _by_source(self) -> dict[str, frozenset[int]]:
        return self._group("source")

    @cached_property
    def _by_tag(self) -> dict[str, frozenset[int]]:
        """A source's tags are the same for all its articles: grouped by source, then by tag."""
        tags_of = {doc.article.source: doc.tags for doc in self.docs.values()}
        by_tag: dict[str, list[frozenset[int]]] = {}
        for source, numbers in self._group("source", str).items():
            for tag in tags_of.get(source, ()):
                by_tag.setdefault(fold_short(tag), []).append(numbers)
        return {tag: _union(groups) for tag, groups in by_tag.items()}

    @cached_property
    def _by_author(self) -> dict[str, frozenset[int]]:
        return self._group("author", spaced_words)

    @cached_property
    def _by_category(self) -> dict[str, frozenset[int]]:
        return self._group("category", spaced_words)

    @cached_property
    def _by_language(self) -> dict[str, frozenset[int]]:
        return {code.replace("_", "-"): numbers for code, numbers in self._group("language").items()}

    def _group(self, field: str, normal: Callable[[str], str] = fold_short) -> dict[str, frozenset[int]]:
        """This publish's articles by the normalised value of a field."""
        groups: dict[str, set[int]] = {}
        for value, slots in self.words.by_field(field).items():
            groups.setdefault(normal(value), set()).update(slots)
        everything = self.everything
        found = {key: everything.intersection(slots) for key, slots in groups.items()}
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


def _union(sets: Iterable[frozenset[int]]) -> frozenset[int]:
    return frozenset().union(*sets)
