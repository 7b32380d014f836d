"""The topic query language: text -> a predicate over articles.

    query   := or
    or      := and ("OR" and)*
    and     := unary (["AND"] unary)*          a space means AND
    unary   := ("NOT" | "-") unary | atom
    atom    := "(" or ")" | [field ":"] (word | "phrase") | /regex/

Words match whole words in title, summary and content, any case, accents folded.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from feeder.model import Article
from feeder.normalise import plain_text

FIELDS = ("title", "author", "source", "tag", "category", "lang", "url")
_WORD = re.compile(r"\w+")
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<lparen>\() | (?P<rparen>\)) |
        (?P<regex>/(?:[^/\\]|\\.)+/) |
        (?P<field>[a-z]+):(?=\S) |
        (?P<phrase>"[^"]*"?) |
        (?P<minus>-(?=\S)) |
        (?P<word>[^\s()"]+)
    )""",
    re.VERBOSE,
)


class QueryError(ValueError):
    """A query that cannot be parsed: says where (1-based character position) and what was expected."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"at position {position}: {message}")
        self.position = position


def fold(text: str) -> str:
    """Lower case, accents removed: 'Kyïv' and 'kyiv' are one word."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(fold(text)))


@dataclass(frozen=True)
class Searchable:
    """An article as the query language sees it; folded once, matched against many topics."""

    article: Article
    tags: tuple[str, ...] = ()

    @cached_property
    def text_words(self) -> tuple[str, ...]:
        a = self.article
        return words(f"{a.title}\n{plain_text(a.summary)}\n{plain_text(a.content)}")

    @cached_property
    def text_word_set(self) -> frozenset[str]:
        return frozenset(self.text_words)

    @cached_property
    def joined(self) -> str:
        return f" {' '.join(self.text_words)} "

    def field(self, name: str) -> str:
        a = self.article
        values = {
            "title": a.title, "author": a.author, "source": a.source, "tag": " ".join(self.tags),
            "category": " ".join(a.categories), "lang": a.language, "url": a.url,
        }
        return values[name]

    @cached_property
    def raw_text(self) -> str:
        a = self.article
        return f"{a.title}\n{plain_text(a.summary)}\n{plain_text(a.content)}"


Predicate = Callable[[Searchable], bool]


def parse_query(query: str) -> Predicate:
    """Compile a query; an empty query matches everything. Raises QueryError."""
    if not query.strip():
        return lambda _doc: True
    return _Parser(query).parse()


def _match_words(terms: tuple[str, ...], field: str | None) -> Predicate:
    if not terms:
        return lambda _doc: False
    if field is None:
        if len(terms) == 1:
            return lambda doc: terms[0] in doc.text_word_set
        phrase = f" {' '.join(terms)} "
        return lambda doc: phrase in doc.joined
    if field == "url":
        needle = " ".join(terms)
        return lambda doc: needle in fold(doc.article.url)
    phrase = f" {' '.join(terms)} "
    return lambda doc: phrase in f" {' '.join(words(doc.field(field)))} "


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = self._lex(query)
        self.index = 0

    def _lex(self, query: str) -> list[tuple[str, str, int]]:
        tokens: list[tuple[str, str, int]] = []
        position = 0
        while position < len(query):
            if query[position:].strip() == "":
                break
            match = _TOKEN.match(query, position)
            if match is None or match.lastgroup is None:
                raise QueryError("unexpected character", position + 1)
            kind, value = match.lastgroup, match.group(match.lastgroup)
            start = match.start(kind) + 1
            if kind == "phrase" and (len(value) < 2 or not value.endswith('"')):
                raise QueryError('a phrase needs a closing "', start)
            if kind == "word" and value in ("AND", "OR", "NOT"):
                kind = value
            tokens.append((kind, value, start))
            position = match.end()
        return tokens

    def peek(self) -> tuple[str, str, int]:
        if self.index < len(self.tokens):
            return self.tokens[self.index]
        return ("end", "", len(self.query) + 1)

    def take(self) -> tuple[str, str, int]:
        token = self.peek()
        self.index += 1
        return token

    def parse(self) -> Predicate:
        predicate = self.parse_or()
        kind, _value, position = self.peek()
        if kind != "end":
            raise QueryError("unexpected ')'" if kind == "rparen" else f"unexpected {kind}", position)
        return predicate

    def parse_or(self) -> Predicate:
        options = [self.parse_and()]
        while self.peek()[0] == "OR":
            self.take()
            options.append(self.parse_and())
        if len(options) == 1:
            return options[0]
        return lambda doc: any(p(doc) for p in options)

    def parse_and(self) -> Predicate:
        parts = [self.parse_unary()]
        while self.peek()[0] not in ("OR", "rparen", "end"):
            if self.peek()[0] == "AND":
                self.take()
            parts.append(self.parse_unary())
        if len(parts) == 1:
            return parts[0]
        return lambda doc: all(p(doc) for p in parts)

    def parse_unary(self) -> Predicate:
        if self.peek()[0] in ("NOT", "minus"):
            self.take()
            inner = self.parse_unary()
            return lambda doc: not inner(doc)
        return self.parse_atom()

    def parse_atom(self) -> Predicate:
        kind, value, position = self.take()
        if kind == "lparen":
            inner = self.parse_or()
            if self.take()[0] != "rparen":
                raise QueryError("expected ')'", self.tokens[self.index - 1][2] if self.index <= len(
                    self.tokens) else len(self.query) + 1)
            return inner
        if kind == "field":
            return self.parse_field(value, position)
        if kind == "regex":
            return self._regex(value, position)
        if kind in ("word", "phrase"):
            return _match_words(words(value), None)
        expected = "a word, phrase, field or '('"
        found = "end of query" if kind == "end" else repr(value)
        raise QueryError(f"expected {expected}, found {found}", position)

    def parse_field(self, name: str, position: int) -> Predicate:
        if name not in FIELDS:
            raise QueryError(f"unknown field {name!r}; fields are {', '.join(FIELDS)}", position)
        kind, value, value_position = self.take()
        if kind not in ("word", "phrase", "AND", "OR", "NOT"):
            raise QueryError(f"expected a word or phrase after {name}:", value_position)
        terms = words(value) if name != "url" else (fold(value.strip('"')),)
        return _match_words(terms, name)

    @staticmethod
    def _regex(value: str, position: int) -> Predicate:
        try:
            pattern = re.compile(value[1:-1], re.IGNORECASE)
        except re.error as exc:
            raise QueryError(f"bad regex: {exc}", position) from None
        return lambda doc: pattern.search(doc.raw_text) is not None
