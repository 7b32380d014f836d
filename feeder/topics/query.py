"""The topic query language: text -> a tree that selects articles from an ``Index``.

    query   := or
    or      := and ("OR" and)*
    and     := unary (["AND"] unary)*          a space means AND
    unary   := ("NOT" | "-") unary | atom
    atom    := "(" or ")" | term
    term    := word | "phrase" | field ":" (word | "phrase") | /regex/

So NOT binds tightest, then AND, then OR: ``a OR b c`` is ``a OR (b AND c)``; ``NOT a b`` is
``(NOT a) AND b``. Operators are upper case; lower-case "and", "or", "not" are words.

Words match whole words of the title, summary and content, any case, accents folded (``war`` does not
match "warning"; ``kyiv`` matches "Kyïv"); a "phrase" matches those words in a row. Fields:

    title:, author:, category:   whole words / phrase within that field (one category at a time)
    source:                      the source's name, exactly (any case)
    tag:                         one of the source's tags, exactly (any case)
    lang:                        language code; ``lang:en`` also matches en-US, ``lang:en-us`` only that
    url:                         a substring of the canonical URL

``/regex/`` is a Python regex searched, case-insensitively, in the plain text of title, summary and content
as written (accents are not folded: ``/ky[iï]v/``). It tests articles one by one (about 10 µs each, once per
article version while the index is kept), so pair it with a word that narrows the search:
``kyiv /winter (storm|blackout)s?/``.
Against catastrophic backtracking a pattern is limited to 200 characters and may not nest repetition
(``(a+)+``, ``(\\w*\\s?)*``) or use backreferences; that rejects the classic exponential shapes, not every
slow pattern.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from feeder.topics.index import Bits, Index, Term
from feeder.topics.text import Searchable, fold, words

FIELDS = ("title", "author", "source", "tag", "category", "lang", "url")
MAX_REGEX = 200
MAX_NESTING = 50  # parentheses and NOTs: far beyond any real query, well within Python's recursion limit
KEYWORDS = ("AND", "OR", "NOT")


class QueryError(ValueError):
    """A query that cannot be parsed: where (1-based character position) and what was expected."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"at position {position}: {message}")
        self.message = message
        self.position = position


# -- the tree ----------------------------------------------------------------------------------------


class Node(ABC):
    """A part of a query: selects, among some articles of an index, those it matches."""

    def cost(self) -> int:
        """Rough price of select(): an AND runs its cheap parts first, so the dear ones see fewer articles."""
        return 1

    @abstractmethod
    def select(self, index: Index, within: Bits) -> Bits:
        """The article numbers among ``within`` that match."""

    def vocabulary(self) -> Iterator[Hashable]:
        """Terms and tests this node will ask the index for (so it keeps what it learnt about those, and
        only those)."""
        return iter(())

    @abstractmethod
    def describe(self) -> str:
        """The parsed structure, fully parenthesised: what tests and `feeder topics test` show."""


class Everything(Node):
    def select(self, index: Index, within: Bits) -> Bits:
        return within

    def describe(self) -> str:
        return "*"


@dataclass(frozen=True)
class Words(Node):
    """A word or a phrase anywhere in title, summary or content, or (``title:``) in the title."""

    term: Term

    def select(self, index: Index, within: Bits) -> Bits:
        return index.with_term(self.term) & within

    def vocabulary(self) -> Iterator[Hashable]:
        return iter((self.term,))

    def describe(self) -> str:
        words = self.term.words
        text = words[0] if len(words) == 1 and not self.term.in_title else f'"{" ".join(words)}"'
        return f"title:{text}" if self.term.in_title else text


@dataclass(frozen=True)
class InField(Node):
    """Whole words / a phrase within the author or one of the categories."""

    field: str
    terms: tuple[str, ...]

    def select(self, index: Index, within: Bits) -> Bits:
        return index.with_words_in(self.field, self.terms) & within

    def describe(self) -> str:
        return f'{self.field}:"{" ".join(self.terms)}"'


@dataclass(frozen=True)
class Exact(Node):
    """source:, tag: and lang: — values compared whole, so the index answers from a table."""

    field: str
    value: str

    def select(self, index: Index, within: Bits) -> Bits:
        lookup = {"source": index.with_source, "tag": index.with_tag, "lang": index.with_language}[self.field]
        return lookup(self.value) & within

    def describe(self) -> str:
        return f'{self.field}:"{self.value}"'


@dataclass(frozen=True)
class UrlPart(Node):
    part: str

    def cost(self) -> int:
        return 3

    def select(self, index: Index, within: Bits) -> Bits:
        return index.scan(self.key, within, lambda doc: self.part in doc.folded_url)

    @property
    def key(self) -> Hashable:
        return ("url", self.part)

    def vocabulary(self) -> Iterator[Hashable]:
        return iter((self.key,))

    def describe(self) -> str:
        return f'url:"{self.part}"'


@dataclass(frozen=True)
class Pattern(Node):
    pattern: re.Pattern[str]

    def cost(self) -> int:
        return 10

    def select(self, index: Index, within: Bits) -> Bits:
        search = self.pattern.search
        return index.scan(self.key, within, lambda doc: search(doc.text) is not None)

    @property
    def key(self) -> Hashable:
        return ("regex", self.pattern.pattern)  # always compiled with the same flags

    def vocabulary(self) -> Iterator[Hashable]:
        return iter((self.key,))

    def describe(self) -> str:
        return f"/{self.pattern.pattern}/"


@dataclass(frozen=True)
class Not(Node):
    inner: Node

    def cost(self) -> int:
        return self.inner.cost() + 1

    def select(self, index: Index, within: Bits) -> Bits:
        return within & ~self.inner.select(index, within)

    def vocabulary(self) -> Iterator[Hashable]:
        return self.inner.vocabulary()

    def describe(self) -> str:
        return f"(NOT {self.inner.describe()})"


@dataclass(frozen=True)
class And(Node):
    parts: tuple[Node, ...]

    def cost(self) -> int:
        return min(p.cost() for p in self.parts)

    def select(self, index: Index, within: Bits) -> Bits:
        for part in sorted(self.parts, key=lambda p: p.cost()):
            if not within:
                break
            within = part.select(index, within)
        return within

    def vocabulary(self) -> Iterator[Hashable]:
        return (term for part in self.parts for term in part.vocabulary())

    def describe(self) -> str:
        return f"(AND {' '.join(p.describe() for p in self.parts)})"


@dataclass(frozen=True)
class Or(Node):
    options: tuple[Node, ...]

    def cost(self) -> int:
        return max(o.cost() for o in self.options)

    def select(self, index: Index, within: Bits) -> Bits:
        found: Bits = 0
        for option in sorted(self.options, key=lambda o: o.cost()):
            found |= option.select(index, within & ~found)  # what an earlier option took is not tested again
        return found

    def vocabulary(self) -> Iterator[Hashable]:
        return (term for option in self.options for term in option.vocabulary())

    def describe(self) -> str:
        return f"(OR {' '.join(o.describe() for o in self.options)})"


# -- the compiled query ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """A parsed query: select articles from an index, or test one article."""

    text: str
    root: Node

    def select(self, index: Index, within: Bits | None = None) -> Bits:
        return self.root.select(index, index.everything if within is None else within)

    def vocabulary(self) -> frozenset[Hashable]:
        return frozenset(self.root.vocabulary())

    def matches(self, doc: Searchable) -> bool:
        return bool(self.select(Index([doc])))

    def describe(self) -> str:
        return self.root.describe()


def parse_query(text: str) -> Query:
    """Compile a query; an empty query matches everything. Raises QueryError."""
    if not text.strip():
        return Query(text, Everything())
    return Query(text, _Parser(text).parse())


# -- lexing ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "(", ")", "AND", "OR", "NOT", "-", "term", "end"
    text: str  # as written, for messages
    position: int  # 1-based
    node: Node | None = None  # for a term: what it matches


_BARE_END = re.compile(r'[\s()"]')
_FIELD = re.compile(r"([A-Za-z]+):")


def _tokens(query: str) -> Iterator[Token]:
    """Tokens one at a time, so the parser reports the leftmost error whatever its kind."""
    at = 0
    while True:
        while at < len(query) and query[at].isspace():
            at += 1
        if at == len(query):
            yield Token("end", "the end of the query", at + 1)
            return
        token, at = _token(query, at)
        yield token


def _token(query: str, at: int) -> tuple[Token, int]:
    char = query[at]
    if char in "()":
        return Token(char, char, at + 1), at + 1
    if char == '"':
        phrase, end = _quoted(query, at)
        return Token("term", query[at:end], at + 1, Words(Term(_terms(phrase, query[at:end], at)))), end
    if char == "/":
        return _regex(query, at)
    if char == "-":
        if at + 1 == len(query) or query[at + 1].isspace() or query[at + 1] == ")":
            raise QueryError("expected a term right after '-'", at + 2)
        return Token("-", "-", at + 1), at + 1
    field = _FIELD.match(query, at)
    if field:
        return _field(query, at, field.group(1), field.end())
    end = _bare_end(query, at)
    word = query[at:end]
    if word in KEYWORDS:
        return Token(word, word, at + 1), end
    return Token("term", word, at + 1, Words(Term(_terms(word, word, at)))), end


def _bare_end(query: str, at: int) -> int:
    stop = _BARE_END.search(query, at)
    return stop.start() if stop else len(query)


def _quoted(query: str, at: int) -> tuple[str, int]:
    """The phrase opening at ``at`` and where it ends (after its closing quote)."""
    close = query.find('"', at + 1)
    if close < 0:
        raise QueryError('unclosed phrase: expected a closing "', at + 1)
    return query[at + 1:close], close + 1


def _terms(text: str, written: str, at: int) -> tuple[str, ...]:
    terms = words(text)
    if not terms:
        what = "empty phrase" if not text.strip() else f"{written!r} has no letters or digits"
        raise QueryError(f"{what}: expected a word or phrase to search for", at + 1)
    return terms


def _field(query: str, at: int, name: str, value_at: int) -> tuple[Token, int]:
    field = name.lower()
    if field not in FIELDS:
        raise QueryError(f"unknown field {name!r}: expected one of {', '.join(FIELDS)} "
                         f'(to search for {name}: itself, put it in quotes)', at + 1)
    if value_at < len(query) and query[value_at] == '"':
        value, end = _quoted(query, value_at)
    else:
        end = _bare_end(query, value_at)
        value = query[value_at:end]
    written = query[at:end]
    if not value.strip():
        raise QueryError(f'expected a word or "phrase" after {name}:', value_at + 1)
    return Token("term", written, at + 1, _field_node(field, value, written, value_at)), end


def _field_node(field: str, value: str, written: str, value_at: int) -> Node:
    if field == "title":
        return Words(Term(_terms(value, written, value_at), in_title=True))
    if field in ("author", "category"):
        return InField(field, _terms(value, written, value_at))
    if field == "url":
        return UrlPart(fold(value.strip()))
    return Exact(field, value.strip())


def _regex(query: str, at: int) -> tuple[Token, int]:
    end = at + 1
    while end < len(query) and query[end] != "/":
        end += 2 if query[end] == "\\" else 1  # an escaped / does not close the regex
    if end >= len(query):
        raise QueryError("unclosed regex: expected a closing /", at + 1)
    source = query[at + 1:end]
    return Token("term", query[at:end + 1], at + 1, Pattern(_compile(source, at + 2))), end + 1


def _compile(source: str, position: int) -> re.Pattern[str]:
    """A regex checked for the shapes that backtrack exponentially; ``position`` is where it starts."""
    if not source:
        raise QueryError("empty regex: expected a pattern between the slashes", position)
    if len(source) > MAX_REGEX:
        raise QueryError(f"regex longer than {MAX_REGEX} characters", position)
    try:
        pattern = re.compile(source, re.IGNORECASE)  # an escaped \/ is a plain / to Python's re too
    except re.error as exc:
        raise QueryError(f"bad regex: {exc.msg}", position + (exc.pos or 0)) from None
    danger = _dangerous(source)
    if danger:
        raise QueryError(f"regex {danger}, which can take exponential time; simplify it", position)
    return pattern


def _dangerous(source: str) -> str:
    """Why the pattern risks catastrophic backtracking, or "" when it looks safe."""
    try:
        import re._parser as sre  # type: ignore[import-not-found]  # the stdlib's own regex parser
    except ImportError:  # pragma: no cover - a Python without it only loses this check
        return ""
    return _danger_in(sre.parse(source), sre, repeated=False)


def _danger_in(items: Any, sre: Any, repeated: bool) -> str:
    for op, arg in items:
        if op is sre.GROUPREF or op is sre.GROUPREF_EXISTS:
            return "uses a backreference"
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, high, inner = arg
            if repeated and high != low:
                return "nests repetition inside repetition"
            found = _danger_in(inner, sre, repeated or high != low)
        elif op is sre.SUBPATTERN:
            found = _danger_in(arg[-1], sre, repeated)
        elif op is sre.BRANCH:
            found = next((d for branch in arg[1] if (d := _danger_in(branch, sre, repeated))), "")
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            found = _danger_in(arg[1], sre, repeated)
        else:
            found = ""
        if found:
            return found
    return ""


# -- parsing -----------------------------------------------------------------------------------------


class _Parser:
    """Recursive descent over the grammar in the module docstring, one token of lookahead."""

    def __init__(self, query: str) -> None:
        self.tokens = _tokens(query)
        self.current = next(self.tokens)
        self.previous: Token | None = None
        self.parens = 0  # parentheses open: a ')' outside any is stray, not a missing term
        self.depth = 0  # parentheses and NOTs open

    def advance(self) -> Token:
        token = self.current
        self.previous = token
        if token.kind != "end":
            self.current = next(self.tokens)
        return token

    def parse(self) -> Node:
        node = self.parse_or()
        if self.current.kind == ")":
            raise _stray(self.current)
        return node

    def parse_or(self) -> Node:
        options = [self.parse_and()]
        while self.current.kind == "OR":
            self.advance()
            options.append(self.parse_and())
        return options[0] if len(options) == 1 else Or(_flatten(Or, options))

    def parse_and(self) -> Node:
        parts = [self.parse_unary()]
        while self.current.kind not in ("OR", ")", "end"):
            if self.current.kind == "AND":
                self.advance()
            parts.append(self.parse_unary())
        return parts[0] if len(parts) == 1 else And(_flatten(And, parts))

    def parse_unary(self) -> Node:
        if self.current.kind in ("NOT", "-"):
            with self.nested(self.current.position):
                self.advance()
                return Not(self.parse_unary())
        return self.parse_atom()

    @contextmanager
    def nested(self, position: int) -> Iterator[None]:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise QueryError(f"nested more than {MAX_NESTING} deep", position)
        try:
            yield
        finally:
            self.depth -= 1

    def parse_atom(self) -> Node:
        token = self.current
        if token.kind == "term":
            self.advance()
            assert token.node is not None
            return token.node
        if token.kind == "(":
            self.advance()
            if self.current.kind == ")":
                raise QueryError("empty parentheses: expected a term", self.current.position)
            self.parens += 1
            with self.nested(token.position):
                inner = self.parse_or()
            self.parens -= 1
            if self.current.kind != ")":
                raise QueryError(f"expected ')' to close the '(' at position {token.position}",
                                 self.current.position)
            self.advance()
            return inner
        if token.kind == ")" and not self.parens:
            raise _stray(token)
        raise QueryError(f"expected a term{self._after()}, found {_found(token)}", token.position)

    def _after(self) -> str:
        previous = self.previous
        if previous is None:
            return ""
        return f" after {previous.text!r}" if previous.kind in ("AND", "OR", "NOT", "-", "(") else ""


def _stray(token: Token) -> QueryError:
    return QueryError("unexpected ')': no '(' to close", token.position)


def _found(token: Token) -> str:
    return token.text if token.kind == "end" else repr(token.text)


def _flatten(kind: Callable[..., Node], nodes: list[Node]) -> tuple[Node, ...]:
    """(a AND (b AND c)) is (a AND b AND c): one level is enough and orders its parts by cost."""
    flat: list[Node] = []
    for node in nodes:
        if isinstance(node, And) and kind is And:
            flat.extend(node.parts)
        elif isinstance(node, Or) and kind is Or:
            flat.extend(node.options)
        else:
            flat.append(node)
    return tuple(flat)
