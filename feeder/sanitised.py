"""Recognising HTML that the sanitiser would hand back unchanged, without running it.

nh3 was the largest part of a cold publish (bench/publish.py) and half of a parse worker's time in a cold
ingest (bench/ingest.py). Markup in the plain shape nh3 itself writes, in a conservative subset of HTML, is
passed through as it is: by normalise, at ingest, once its plain links have the rel nh3 adds, and by the
publisher, which sanitises stored markup again (the store may hold rows from an older sanitiser).
``is_sanitised(markup)`` promises ``sanitise_with_nh3(markup, base) == markup`` for every http(s) base, and
tests/test_sanitised.py holds it to that against nh3. Anything else (attributes it does not know,
relative or odd URLs, tags the HTML parser would restructure, entities nh3 rewrites) goes to nh3.

Two checks: one pattern for the usual article (paragraphs of text, links and inline markup), run by sre's C
loop; a tag-by-tag Python walk for other shapes, slower but still a fraction of nh3.
"""

from __future__ import annotations

import re

_ENTITY = re.compile("&(?!(?:amp|lt|gt|nbsp);)")  # an ampersand nh3 would not leave as it is
# An absolute http(s) URL as nh3 writes it in an attribute, which the URL parser nh3 uses accepts (else it
# drops the attribute) and the sanitiser leaves as it is (it resolves relative URLs only). The host is
# a plain lower-case DNS name (no IP address, punycode, user or escapes, which that parser may refuse or
# rewrite), the port at most four digits, and no bracket, quote or whitespace anywhere.
_HOST = "(?:(?!xn--)[a-z0-9-]++\\.)*+(?!xn--)[a-z][a-z0-9-]*+(?::[0-9]{1,4})?"
_URL = f"https?://{_HOST}(?:[/?#](?:[A-Za-z0-9\\-._~:/?#@!$'()*+,;=%]++|&amp;)*+)?"
# The same without any of the endings urlparse + urlunparse drop (an empty query, fragment or ;params),
# by being stricter: no ";", and no "?" or "#" before another "#" or at the end. (Stricter than today's
# sanitiser needs, which no longer passes absolute URLs through urljoin: a conservative check stays safe.)
_STRICT_PATH = "(?:[A-Za-z0-9\\-._~:/@!$'()*+,=%]++|[?#](?![#\"])|&amp;)*+"
_STRICT_URL = f"https?://{_HOST}(?:(?:/|[?#](?![#\"])){_STRICT_PATH})?"
_ATTRIBUTE_TEXT = '(?:[^"&<>]++|&(?:amp|quot|nbsp);)*+'  # the entities nh3 writes in attribute values
_LINK_TAG = f'<a href="{{url}}"(?: title="{_ATTRIBUTE_TEXT}")? rel="noopener noreferrer">'
_IMAGE_TAG = f'<img src="{{url}}"(?: alt="{_ATTRIBUTE_TEXT}")?>'
_LINK = re.compile(_LINK_TAG.format(url=f"({_URL})"))
_IMAGE = re.compile(_IMAGE_TAG.format(url=f"({_URL})"))

# Block containers hold blocks or phrasing; paragraphs and headings phrasing only; lists only items.
_CONTAINERS = frozenset({"div", "blockquote", "li", "figure", "figcaption"})
_PHRASING_HOLDERS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6"})
_LISTS = frozenset({"ul", "ol"})
_PHRASING = frozenset({"a", "abbr", "b", "cite", "code", "del", "em", "i", "ins", "mark", "q", "s", "small", "span",
                       "strong", "sub", "sup", "u"})
_VOID = frozenset({"br", "hr", "img"})
_ELEMENTS = _CONTAINERS | _PHRASING_HOLDERS | _LISTS | _PHRASING
_CLOSING = {f"/{name}": name for name in _ELEMENTS}
_PLAIN_OPENING = frozenset(_ELEMENTS - {"a"} | {"br", "hr"})
_TAG = re.compile("<([^<>]*)>")


def _paragraphs() -> re.Pattern[str]:
    """Paragraphs or headings of text with inline markup one deep and links holding text or inline markup:
    a shape the HTML parser keeps as it is. Text is any run without "<": the caller has checked entities
    and that no ">" is left outside a tag (a run sre scans far quicker than a character class). Each
    element is spelt out rather than matched by a
    backreference (sre mishandles capturing groups inside possessive repeats: a SystemError on 3.11), and
    each "<" is matched once before the alternatives, which sre then tells apart by their first letter."""
    inline = "|".join(f"{name}>[^<]*+</{name}>" for name in sorted(_PHRASING - {"a"}))
    image = _IMAGE_TAG.format(url=_STRICT_URL)[1:]
    link = f"{_LINK_TAG.format(url=_STRICT_URL)[1:]}(?:[^<]++|<(?:{inline}))*+</a>"
    body = f"(?:[^<]++|<(?:br>|{image}|{inline}|{link}))*+"
    blocks = "|".join(f"{name}>{body}</{name}>" for name in sorted(_PHRASING_HOLDERS))
    return re.compile(f"(?:<(?:{blocks})\\s*+)++")


_PARAGRAPHS = _paragraphs()


def _children(parent: str) -> frozenset[str]:
    """What may open directly inside ``parent`` without the HTML parser moving anything: no block inside a
    paragraph, heading or phrasing element, list items directly in lists only (and, checked apart, no link
    inside a link)."""
    if parent in _LISTS:
        return frozenset({"li"})
    if parent in _PHRASING or parent in _PHRASING_HOLDERS:
        return _PHRASING | {"br", "img"}
    return _ELEMENTS - {"li"} | _VOID  # the top level or a block container


_CHILDREN = {name: _children(name) for name in _ELEMENTS}
_TOP_LEVEL = _children("")


def is_sanitised(markup: str) -> bool:
    """True only when the sanitiser would return ``markup`` unchanged (so it is safe as it stands)."""
    if markup != markup.strip() or not _printable(markup) or not _plain_text_between_tags(markup):
        return False
    return _PARAGRAPHS.fullmatch(markup) is not None or _nests_plainly(markup)


def _plain_text_between_tags(markup: str) -> bool:
    """Only entities nh3 writes, and (given tags that hold one "<" and one ">" each, as every tag the
    checks accept does) no ">" outside a tag: str.count and a literal search are C-speed scans."""
    return markup.count("<") == markup.count(">") and _ENTITY.search(markup) is None


def _printable(markup: str) -> bool:
    """No character but newline and tab that str.isprintable refuses. That refuses what nh3 rewrites or
    drops (controls, CR, which the HTML parser makes LF, a raw no-break space, a byte order mark) and more
    (format characters, other spaces): those rarer texts go to nh3."""
    if markup.isascii():  # a C check; then deleting bytes is one C pass over the text
        return len(markup.encode().translate(None, _ASCII_CONTROLS)) == len(markup)
    return markup.isprintable() or markup.replace("\n", " ").replace("\t", " ").isprintable()


_ASCII_CONTROLS = bytes([*range(0x09), *range(0x0B, 0x20), 0x7F])  # all isprintable refuses in ASCII, less tab, LF


def _nests_plainly(markup: str) -> bool:
    """Tag by tag: tags in the shape nh3 writes, nested so that the HTML parser moves nothing (the caller
    has checked the text between them)."""
    tags = _TAG.findall(markup)
    if markup.count("<") != len(tags):
        return False  # a "<" in the text
    open_tags: list[str] = []
    allowed = _TOP_LEVEL
    for tag in tags:
        closed = _CLOSING.get(tag)
        if closed is not None:
            if not open_tags or open_tags.pop() != closed:
                return False
            allowed = _CHILDREN[open_tags[-1]] if open_tags else _TOP_LEVEL
            continue
        name = tag if tag in _PLAIN_OPENING else _element_with_url(tag)
        if name is None or name not in allowed or (name == "a" and "a" in open_tags):
            return False
        if name not in _VOID:
            open_tags.append(name)
            allowed = _CHILDREN[name]
    return not open_tags


def _element_with_url(tag: str) -> str | None:
    """``a`` or ``img`` for a tag (without its brackets) in the shape nh3 writes; None for anything else."""
    for name, shape in (("a", _LINK), ("img", _IMAGE)):
        found = shape.fullmatch(f"<{tag}>")
        if found is not None:
            return name if _survives_urlparse(found[1]) else None
    return None


def _survives_urlparse(url: str) -> bool:
    """None of the endings urlparse + urlunparse drop (an empty query, fragment or ;params)."""
    return url[-1] not in "?#;" and "?#" not in url and ";?" not in url and ";#" not in url
