"""Many articles numbered 0..n-1, with the lookups that let a query avoid testing each one in turn."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence, Set
from functools import cached_property

from feeder.topics.text import Searchable, fold


class Index:
    """Built once per publish over every candidate article and shared by all topics.

    A word query costs one set lookup instead of one test per article: ``prepare()`` finds the articles
    holding each word of every topic in a single pass, intersecting each article's word set with the
    topics' vocabulary (a few hundred words), which is far cheaper than indexing every word of every article.
    """

    def __init__(self, docs: Sequence[Searchable]) -> None:
        self.docs = tuple(docs)
        self.everything: frozenset[int] = frozenset(range(len(self.docs)))
        self._postings: dict[str, frozenset[int]] = {}

    def __len__(self) -> int:
        return len(self.docs)

    def prepare(self, vocabulary: Iterable[str]) -> None:
        """Look up many words in one pass over the articles."""
        missing = set(vocabulary) - self._postings.keys()
        if not missing:
            return
        found: dict[str, list[int]] = {word: [] for word in missing}
        for number, doc in enumerate(self.docs):
            for word in doc.word_set & missing:
                found[word].append(number)
        self._postings.update((word, frozenset(numbers)) for word, numbers in found.items())

    def with_word(self, word: str) -> frozenset[int]:
        """Articles whose title, summary or content holds the (folded) word."""
        if word not in self._postings:
            self.prepare((word,))
        return self._postings[word]

    def with_source(self, name: str) -> frozenset[int]:
        return self._by_source.get(fold(name), frozenset())

    def with_tag(self, tag: str) -> frozenset[int]:
        return self._by_tag.get(fold(tag), frozenset())

    def with_language(self, language: str) -> frozenset[int]:
        """'en' is any English ('en', 'en-us', 'en-gb'); 'en-us' is only that one."""
        wanted = fold(language).replace("_", "-")
        found: set[int] = set()
        for code, numbers in self._by_language.items():
            if code == wanted or code.startswith(wanted + "-"):
                found |= numbers
        return frozenset(found)

    def scan(self, within: Set[int], test: Callable[[Searchable], bool]) -> set[int]:
        """The articles among ``within`` that pass a test no lookup can answer (url parts, regexes)."""
        docs = self.docs
        return {number for number in within if test(docs[number])}

    @cached_property
    def _by_source(self) -> dict[str, frozenset[int]]:
        return _group((doc.folded_source,) for doc in self.docs)

    @cached_property
    def _by_tag(self) -> dict[str, frozenset[int]]:
        return _group(doc.folded_tags for doc in self.docs)

    @cached_property
    def _by_language(self) -> dict[str, frozenset[int]]:
        return _group((doc.folded_language,) for doc in self.docs)


def _group(keys_per_doc: Iterable[Iterable[str]]) -> dict[str, frozenset[int]]:
    groups: dict[str, set[int]] = {}
    for number, keys in enumerate(keys_per_doc):
        for key in keys:
            groups.setdefault(key, set()).add(number)
    return {key: frozenset(numbers) for key, numbers in groups.items()}
