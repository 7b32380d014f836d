"""Text as the query language sees it: folded (any case, no accents) and cut into whole words."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Hashable
from functools import lru_cache

from feeder.model import Article
from feeder.normalise import plain_text

_WORD = re.compile(r"\w+")
_TAG = re.compile(r"<[^>]*>")
# The combining marks NFKD splits off Latin, Greek and Cyrillic letters (and a few more blocks). A regex over
# these ranges runs in C, where testing unicodedata.combining() runs a Python call per character.
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# Letters NFKD does not decompose but that a reader types without the stroke. Replaced through a regex:
# str.translate() with a dict is slow on non-ASCII text, and these letters are rare.
_STROKES = {"ø": "o", "ł": "l", "đ": "d", "ð": "d", "ħ": "h", "\u0131": "i", "ŧ": "t", "æ": "ae", "œ": "oe",
            "þ": "th"}
_STROKE = re.compile(f"[{''.join(_STROKES)}]")


def fold(text: str) -> str:
    """Lower case, accents removed: 'Kyïv' and 'kyiv' are one word, 'Straße' and 'strasse' too."""
    if text.isascii():  # the common case: nothing to decompose, and lower() is all casefold() would do
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return _STROKE.sub(lambda m: _STROKES[m.group()], _COMBINING.sub("", decomposed))


@lru_cache(maxsize=65536)
def fold_short(text: str) -> str:
    """fold() for the short values many articles share: source names, tags, languages, authors."""
    return fold(text)


def words(text: str) -> tuple[str, ...]:
    """The folded whole words of a text, in order."""
    return tuple(_WORD.findall(fold(text)))


def spaced(terms: tuple[str, ...] | list[str]) -> str:
    """Words joined with a space on each side, so `in` finds whole words and phrases only."""
    return f" {' '.join(terms)} "


@lru_cache(maxsize=65536)
def spaced_words(text: str) -> str:
    """spaced(words(text)), remembered: authors and categories repeat across thousands of articles."""
    return spaced(words(text))


def _bare(markup: str) -> str:
    """Markup to words, without plain_text()'s whitespace tidying, which word splitting does not need."""
    if "<" in markup:
        markup = _TAG.sub(" ", markup)
    return html.unescape(markup) if "&" in markup else markup


class Searchable:
    """One article as queries see it. What it derives is computed when first asked for, and only for what a
    query needs: most queries are answered from the index, which reads ``text_words()`` once per article.

    A plain class with slots, not a dataclass: a publish makes one per stored article, so they must be cheap.
    """

    __slots__ = ("_folded_url", "_spaced_title", "_text", "article", "tags")

    def __init__(self, article: Article, tags: tuple[str, ...] = ()) -> None:
        self.article = article
        self.tags = tags
        self._text: str | None = None
        self._spaced_title: str | None = None
        self._folded_url: str | None = None

    def __repr__(self) -> str:
        return f"Searchable({self.article.source!r}, {self.article.guid!r})"

    @property
    def identity(self) -> Hashable:
        """Stands for the article's text: equal identities, equal words (so the index can remember them)."""
        a = self.article
        if a.content_hash:  # covers title, summary and content
            return (a.source, a.guid, a.content_hash)
        return (a.source, a.guid, a.title, a.summary, a.content)

    def text_words(self) -> list[str]:
        """The folded words of title, summary and content, in order; not kept (the index keeps what matters)."""
        a = self.article
        return _WORD.findall(fold(f"{a.title}\n{_bare(a.summary)}\n{_bare(a.content)}"))

    @property
    def text(self) -> str:
        """Title, summary and content as plain text, as written: what a /regex/ searches."""
        if self._text is None:
            a = self.article
            self._text = f"{a.title}\n{plain_text(a.summary)}\n{plain_text(a.content)}"
        return self._text

    @property
    def spaced_title(self) -> str:
        if self._spaced_title is None:
            self._spaced_title = spaced(words(self.article.title))
        return self._spaced_title

    @property
    def folded_url(self) -> str:
        if self._folded_url is None:
            self._folded_url = fold(self.article.url)
        return self._folded_url
