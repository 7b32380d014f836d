"""Many articles numbered 0..n-1, with the lookups that let a query avoid testing each one in turn."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence, Set
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

from feeder.topics.text import Searchable, fold_short, spaced, spaced_words

NOWHERE: frozenset[int] = frozenset()


class Term(NamedTuple):
    """What the index looks up: folded words in a row, anywhere in title/summary/content or in the title.

    A named tuple, not a dataclass: hashed millions of times per publish, and tuples hash in C.
    """

    words: tuple[str, ...]
    in_title: bool = False


@dataclass
class Memo:
    """Which terms each article held, kept from one publish to the next: stored articles rarely change,
    so a publish reads only the new ones. Valid for one set of terms (the topics' queries); a hit is a
    term's position in ``sorted(terms)``."""

    terms: frozenset[Term] = frozenset()
    hits: dict[Hashable, tuple[int, ...]] = field(default_factory=dict)


class Index:
    """Built once per publish over every candidate article and shared by all topics.

    Word, phrase and title lookups cost one set operation instead of a test per article: ``prepare()``
    reads each article once for every term of every topic (so give it all the terms at once). Fields with
    few distinct values (source, tag, language, author, category) are grouped by value on first use, so
    they too are answered without a test per article; only url: and /regex/ test articles one by one.
    """

    def __init__(self, docs: Sequence[Searchable]) -> None:
        self.docs = tuple(docs)
        self.everything: frozenset[int] = frozenset(range(len(self.docs)))
        self._postings: dict[Term, frozenset[int]] = {}

    def __len__(self) -> int:
        return len(self.docs)

    def prepare(self, terms: Iterable[Term], memo: Memo | None = None) -> None:
        """Find many terms in one pass over the articles; with a memo, only in articles it has not seen."""
        missing = frozenset(terms) - self._postings.keys()
        if not missing:
            return
        if memo is None:
            memo = Memo()
        if memo.terms != missing:
            memo.terms, memo.hits = missing, {}
        ordered = sorted(missing)
        finder = _Finder(ordered)
        found: list[list[int]] = [[] for _ in ordered]
        remembered: dict[Hashable, tuple[int, ...]] = {}
        for number, doc in enumerate(self.docs):
            identity = doc.identity
            hits = memo.hits.get(identity)
            if hits is None:
                hits = finder.hits(doc)
            remembered[identity] = hits
            for position in hits:
                found[position].append(number)
        memo.hits = remembered  # forgets the articles that left the pool
        self._postings.update(zip(ordered, map(frozenset, found), strict=True))

    def with_term(self, term: Term) -> frozenset[int]:
        if term not in self._postings:
            self.prepare((term,))
        return self._postings[term]

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
        return _group((doc.article.source,) for doc in self.docs)

    @cached_property
    def _by_tag(self) -> dict[str, frozenset[int]]:
        return _group(doc.tags for doc in self.docs)

    @cached_property
    def _by_author(self) -> dict[str, frozenset[int]]:
        return _group(((doc.article.author,) for doc in self.docs), spaced_words)

    @cached_property
    def _by_category(self) -> dict[str, frozenset[int]]:
        return _group((doc.article.categories for doc in self.docs), spaced_words)

    @cached_property
    def _by_language(self) -> dict[str, frozenset[int]]:
        return {code.replace("_", "-"): numbers for code, numbers in
                _group((doc.article.language,) for doc in self.docs).items()}


class _Finder:
    """Which of a list of terms one article holds, by position: one word split per article, then set
    lookups; phrases and title terms are checked only in articles that hold all their words."""

    def __init__(self, terms: Sequence[Term]) -> None:
        self.terms = terms
        self.words: set[str] = set()
        self.by_first_word: dict[str, list[int]] = {}
        for position, term in enumerate(terms):
            self.words.update(term.words)
            self.by_first_word.setdefault(term.words[0], []).append(position)

    def hits(self, doc: Searchable) -> tuple[int, ...]:
        text_words = doc.text_words()
        present = self.words.intersection(text_words)
        if not present:
            return ()
        hits = []
        spaced_text = ""
        for word in present:
            for position in self.by_first_word.get(word, ()):
                term = self.terms[position]
                if len(term.words) > 1 and not present.issuperset(term.words):
                    continue
                if term.in_title:
                    if spaced(term.words) not in doc.spaced_title:
                        continue
                elif len(term.words) > 1:
                    spaced_text = spaced_text or spaced(text_words)
                    if spaced(term.words) not in spaced_text:
                        continue
                hits.append(position)
        return tuple(hits)


def _group(keys_per_doc: Iterable[tuple[str, ...]],
           normal: Callable[[str], str] = fold_short) -> dict[str, frozenset[int]]:
    """Article numbers by normalised key. Grouped by the raw keys first: few distinct ones, many articles."""
    by_raw: dict[tuple[str, ...], list[int]] = {}
    for number, keys in enumerate(keys_per_doc):
        by_raw.setdefault(keys, []).append(number)
    groups: dict[str, set[int]] = {}
    for keys, numbers in by_raw.items():
        for key in keys:
            groups.setdefault(normal(key), set()).update(numbers)
    return {key: frozenset(numbers) for key, numbers in groups.items()}


def _union(sets: Iterable[frozenset[int]]) -> frozenset[int]:
    return frozenset().union(*sets)
