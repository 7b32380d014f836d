"""Text as the query language sees it: folded (any case, no accents) and cut into whole words."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property

from feeder.model import Article
from feeder.normalise import plain_text

_WORD = re.compile(r"\w+")
# The combining marks NFKD splits off Latin, Greek and Cyrillic letters (and a few more blocks). A regex over
# these ranges is ~20x faster than testing unicodedata.combining() character by character.
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# Letters NFKD does not decompose but that a reader types without the stroke.
_STROKES = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ð": "d", "ħ": "h", "\u0131": "i", "ŧ": "t",
                          "æ": "ae", "œ": "oe", "þ": "th"})


def fold(text: str) -> str:
    """Lower case, accents removed: 'Kyïv' and 'kyiv' are one word, 'Straße' and 'strasse' too."""
    if text.isascii():  # the common case, and 3x cheaper than casefold()
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return _COMBINING.sub("", decomposed).translate(_STROKES)


def words(text: str) -> tuple[str, ...]:
    """The folded whole words of a text, in order."""
    return tuple(_WORD.findall(fold(text)))


def spaced(terms: tuple[str, ...]) -> str:
    """Words joined with a space on each side, so `in` finds whole words and phrases only."""
    return f" {' '.join(terms)} "


@dataclass(frozen=True)
class Searchable:
    """One article prepared for matching: folded once, then matched against every topic.

    Only ``word_set`` is needed by most queries; everything else is computed the first time a query
    asks for it, and only for the articles that query still considers.
    """

    article: Article
    tags: tuple[str, ...] = ()

    @cached_property
    def text(self) -> str:
        """Title, summary and content as plain text: what words, phrases and regexes search."""
        a = self.article
        return f"{a.title}\n{plain_text(a.summary)}\n{plain_text(a.content)}"

    @cached_property
    def folded_text(self) -> str:
        return fold(self.text)

    @cached_property
    def word_set(self) -> frozenset[str]:
        return frozenset(_WORD.findall(self.folded_text))

    @cached_property
    def spaced_text(self) -> str:
        return spaced(tuple(_WORD.findall(self.folded_text)))

    @cached_property
    def spaced_title(self) -> str:
        return spaced(words(self.article.title))

    @cached_property
    def spaced_author(self) -> str:
        return spaced(words(self.article.author))

    @cached_property
    def spaced_categories(self) -> tuple[str, ...]:
        # One string per category: a phrase must not run from one category into the next.
        return tuple(spaced(words(c)) for c in self.article.categories)

    @cached_property
    def folded_url(self) -> str:
        return fold(self.article.url)

    @cached_property
    def folded_language(self) -> str:
        return fold(self.article.language).replace("_", "-")

    @cached_property
    def folded_source(self) -> str:
        return fold(self.article.source)

    @cached_property
    def folded_tags(self) -> frozenset[str]:
        return frozenset(fold(t) for t in self.tags)
