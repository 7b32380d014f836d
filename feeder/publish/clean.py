"""Recognising HTML that the sanitiser would hand back unchanged, without running it.

Normalise sanitised every summary and content at ingest; the publisher sanitises again (the store may hold
rows from an older sanitiser), and nh3 was a third of a cold publish (bench/publish.py). Markup in the
plain shape nh3 itself writes, in a conservative subset of HTML, is passed through as it is:
``is_sanitised(markup)`` promises ``sanitise_html(markup, base) == markup`` for every http(s) base, and
tests/test_publish_clean.py holds it to that against nh3. Anything else (attributes it does not know,
relative or odd URLs, tags the HTML parser would restructure, entities nh3 rewrites) goes to nh3.
"""

from __future__ import annotations

import re

# An ampersand that does not start an entity nh3 writes, in text or (only &amp; is let through) in an attribute.
_ENTITY = re.compile("&(?!(?:amp|lt|gt|nbsp);)")
# An absolute http(s) URL as nh3 writes it in an attribute, which the sanitiser's resolver leaves as it is
# (normalise._joins_to_itself, tested to agree): ASCII, a host, no brackets or whitespace, none of the
# endings urlparse drops. Written as one pattern with its tag because a tag per link was most of the time.
_URL_CHAR = "[A-Za-z0-9\\-._~:/?#@!$'()*+,;=%]|&amp;"
_URL = f"(https?://[A-Za-z0-9\\-._~:@!$'()*+,=%](?:{_URL_CHAR})*)"
_LINK = re.compile(f'a href="{_URL}"(?: title="[^"&]*")? rel="noopener noreferrer"')
_IMAGE = re.compile(f'img src="{_URL}"(?: alt="[^"&]*")?')

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


def is_sanitised(markup: str) -> bool:
    """True only when the sanitiser would return ``markup`` unchanged (so it is safe as it stands)."""
    if markup != markup.strip() or not _printable(markup):
        return False
    pieces = markup.split("<")
    # Each piece after the first is a tag, its ">" and text: one ">" per piece means none in the text.
    if markup.count(">") != len(pieces) - 1 or _ENTITY.search(markup) is not None:
        return False
    open_tags: list[str] = []
    for piece in pieces[1:]:
        tag, found, _ = piece.partition(">")
        if not found:
            return False
        closed = _CLOSING.get(tag)
        if closed is not None:
            if not open_tags or open_tags.pop() != closed:
                return False
            continue
        name = tag if tag in _PLAIN_OPENING else _element_with_url(tag)
        if name is None or not _may_contain(open_tags, name):
            return False
        if name not in _VOID:
            open_tags.append(name)
    return not open_tags


def _printable(markup: str) -> bool:
    """No character but newline and tab that str.isprintable refuses. That refuses what nh3 rewrites or
    drops (controls, CR, which the HTML parser makes LF, a raw no-break space, a byte order mark) and more
    (format characters, other spaces): those rarer texts go to nh3."""
    return markup.isprintable() or markup.replace("\n", " ").replace("\t", " ").isprintable()


def _element_with_url(tag: str) -> str | None:
    """``a`` or ``img`` for a tag (without its brackets) in the shape nh3 writes; None for anything else."""
    for name, shape in (("a", _LINK), ("img", _IMAGE)):
        found = shape.fullmatch(tag)
        if found is not None:
            return name if _survives_urlparse(found[1]) else None
    return None


def _survives_urlparse(url: str) -> bool:
    """None of the endings urlparse + urlunparse drop (an empty query, fragment or ;params)."""
    return url[-1] not in "?#;" and "?#" not in url and ";?" not in url and ";#" not in url


def _may_contain(open_tags: list[str], child: str) -> bool:
    """Nothing the HTML parser would move: no block inside a paragraph, heading or phrasing element, no link
    inside a link, list items directly in lists only."""
    parent = open_tags[-1] if open_tags else ""
    if child == "li":
        return parent in _LISTS
    if parent in _LISTS:
        return False
    if child == "a" and "a" in open_tags:
        return False
    if parent in _PHRASING or parent in _PHRASING_HOLDERS:
        return child in _PHRASING or child in ("br", "img")
    return True  # the top level or a block container
