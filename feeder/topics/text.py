"""Text as the query language sees it: folded (any case, no accents) and cut into whole words."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Hashable, Iterable
from functools import lru_cache
from itertools import filterfalse

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


# UTF-8 text to lower-case ASCII words: A-Z to a-z, and a space for every ASCII byte but letters, digits and "_"
# (what \w matches in ASCII). Bytes of other characters are kept: a token holding any is refolded by
# _odd_words(), case and all, so str.lower() (slow on non-ASCII text) is not needed.
_ASCII_BREAKS = bytes(
    byte if byte >= 0x80 else ord(chr(byte).lower()) if chr(byte).lower() in "abcdefghijklmnopqrstuvwxyz0123456789_"
    else 0x20 for byte in range(256))
_ODD_CACHE_SIZE = 100_000  # distinct non-ASCII tokens remembered; real text repeats them (names, curly quotes, dashes)
_odd_cache: dict[bytes, tuple[bytes, ...]] = {}


def word_set(text: str) -> set[bytes]:
    """``{w.encode() for w in words(text)}``, several times faster: the index reads every stored article.

    Most of a text is ASCII: UTF-8 and a byte table cut it into lower-case words in C. Only the few distinct
    tokens holding other characters (accents, typographic quotes, dashes, other scripts) go through fold()
    and the word regex, each once (remembered).
    """
    found = set(_split(text))
    odd = _odd(found) if not text.isascii() else ()
    if odd:
        found -= odd
        for token in odd:
            found.update(_odd_words(token))
    return found


def spaced_word_bytes(text: str) -> bytes:
    """``spaced(words(text)).encode()``, the fast way word_set() takes."""
    tokens = _split(text)
    odd = _odd(tokens) if not text.isascii() else ()
    if odd:
        folded = {token: b" ".join(_odd_words(token)) for token in odd}
        tokens = b" ".join(map(folded.get, tokens, tokens)).split()
    return b" " + b" ".join(tokens) + b" "


def holds_phrase(text: str, phrase: tuple[str, ...]) -> bool:
    """Whether the folded words of a text hold these words in a row: ``spaced(phrase) in spaced(words(text))``.

    Cutting a whole text into words is what costs; a regex over the lower-case bytes answers without it,
    except when the text holds non-ASCII characters (which could hide or break the phrase) and no plain
    ASCII occurrence was found.
    """
    split = _utf8(text).translate(_ASCII_BREAKS)
    pattern = _phrase_pattern(phrase)
    if pattern is not None:
        if pattern.search(split):
            return True
        if text.isascii():
            return False
    return spaced(phrase).encode() in spaced_word_bytes(text)


@lru_cache(maxsize=1024)
def _phrase_pattern(phrase: tuple[str, ...]) -> re.Pattern[bytes] | None:
    """The phrase's ASCII words as whole tokens of a _ASCII_BREAKS-translated text, separated only by
    breaks: a sure match. None when a word is not ASCII."""
    if not all(word.isascii() for word in phrase):
        return None
    return re.compile(rb"(?<![^ ])" + rb" +".join(re.escape(word.encode()) for word in phrase) + rb"(?![^ ])")


def _split(text: str) -> list[bytes]:
    """UTF-8 tokens, split at every ASCII byte that is not a word character, ASCII letters in lower case."""
    return _utf8(text).translate(_ASCII_BREAKS).split()


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")  # a lone surrogate in stored text must not stop the index


def _odd(tokens: Iterable[bytes]) -> set[bytes]:
    """The tokens holding non-ASCII bytes: the only ones that need folding (tested in C, not in a loop)."""
    return set(filterfalse(bytes.isascii, tokens))


def _odd_words(token: bytes) -> tuple[bytes, ...]:
    """The folded words of a token holding non-ASCII characters: none (a dash), one (Kyïv) or more (it\u2019s)."""
    found = _odd_cache.get(token)
    if found is None:
        if len(_odd_cache) >= _ODD_CACHE_SIZE:
            _odd_cache.clear()
        found = _odd_cache[token] = tuple(word.encode() for word in words(token.decode("utf-8", "surrogatepass")))
    return found


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

    __slots__ = ("_folded_url", "_text", "article", "tags")

    def __init__(self, article: Article, tags: tuple[str, ...] = ()) -> None:
        self.article = article
        self.tags = tags
        self._text: str | None = None
        self._folded_url: str | None = None

    def __repr__(self) -> str:
        return f"Searchable({self.article.source!r}, {self.article.guid!r})"

    @property
    def identity(self) -> Hashable:
        """Stands for the article's text: equal identities, equal words (so the index can remember them)."""
        a = self.article
        if a.content_hash:  # covers url, title, author, summary, content and categories
            return (a.source, a.guid, a.content_hash, a.language)
        return (a.source, a.guid, a.url, a.title, a.author, a.summary, a.content, a.categories, a.language)

    def _raw_text(self) -> str:
        a = self.article
        return f"{a.title}\n{_bare(a.summary)}\n{_bare(a.content)}"

    def word_set(self) -> set[bytes]:
        """The distinct folded words of title, summary and content (UTF-8): what the index keeps."""
        return word_set(self._raw_text())

    def holds_phrase(self, phrase: tuple[str, ...]) -> bool:
        """Whether title, summary and content hold these folded words in a row. Nothing is kept: the index
        asks once per article version, and only articles that hold all the phrase's words."""
        return holds_phrase(self._raw_text(), phrase)

    @property
    def text(self) -> str:
        """Title, summary and content as plain text, as written: what a /regex/ searches."""
        if self._text is None:
            a = self.article
            self._text = f"{a.title}\n{plain_text(a.summary)}\n{plain_text(a.content)}"
        return self._text

    @property
    def folded_url(self) -> str:
        if self._folded_url is None:
            self._folded_url = fold(self.article.url)
        return self._folded_url
