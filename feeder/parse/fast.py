"""A fast path for well-formed RSS 2.0 and Atom 1.0: lxml instead of feedparser, the same ``ParsedFeed``.

feedparser spends ~20 ms where this path spends ~2 ms on a farm feed (bench/parse.py). It reads the documents it
is sure about and returns None for everything else, which then goes to ``feeds.parse_feed``. "Sure"
means: UTF-8 (or plain ASCII), no DOCTYPE or entity declarations, well-formed XML, a known root, and
only elements whose effect on feedparser's result is modelled here. Wherever feedparser has a quirk
that reaches a ``RawEntry`` field, the quirk is reproduced (each is commented at the place it is
reproduced); dates, URI joining and the Windows-1252 table are feedparser's own functions, so they
cannot drift. ``tests/test_parse_fast.py`` checks the equivalence on feedparser's own test corpus and
on the bench farm.
"""

from __future__ import annotations

import calendar
import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from time import struct_time
from typing import Any

from feedparser.datetimes import _parse_date
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin, make_safe_absolute_uri
from lxml import etree

from feeder.model import ParsedFeed, RawEntry
from feeder.urls import is_plain_absolute_url

ATOM = "http://www.w3.org/2005/Atom"

# No network, no DTD, no entity expansion, no huge trees: the same hardening as any untrusted XML.
# Comments and processing instructions go: feedparser ignores them, and text around them then joins.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                          remove_comments=True, remove_pis=True, strip_cdata=True, recover=False)

# feedparser's namespace table (lower-cased URI -> the prefix its handlers are named with).
_KNOWN_NAMESPACES: dict[str, str] = {uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()}
# Every element name feedparser has a handler for; an element without one only adds a key we never read.
_HANDLED = frozenset(
    name.split("_", 2)[2] for name in dir(_FeedParserMixin) if name.startswith(("_start_", "_end_"))
)
_XML_DECLARATION_ENCODING = re.compile(rb'^<\?.*encoding=[\'"](.*?)[\'"].*\?>')
_HTML_TYPES = frozenset({"application/xhtml+xml", "text/html"})
_TEXT_TYPES = frozenset({"text/plain", "text/html"})
# feedparser.mixin._sync_author_detail: how it finds an e-mail address in "jdoe@example.com (John Doe)".
_EMAIL = re.compile(
    r"""(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))"""
    r"""([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?"""
)
_CHARACTER_REFERENCE_LIKE = re.compile("&([A-Za-z0-9_]+);")


class Unsupported(Exception):
    """Something this module does not model: the caller falls back to feedparser."""


def parse_fast(body: bytes, url: str, content_type: str = "") -> ParsedFeed | None:
    """The ``ParsedFeed`` that ``feeds.parse_feed`` would return, or None when unsure."""
    if not _plain_utf8(body, content_type):
        return None
    try:
        root = etree.fromstring(body, _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None
    try:
        names = _Names.of(root, body)
        if root.tag == "rss":  # any version: feedparser reads 0.9x, 2.x and unversioned RSS alike
            return _Reader(names, url).rss(root)
        if root.tag == f"{{{ATOM}}}feed":
            return _Reader(names, url).atom(root)
    except Unsupported:
        return None
    return None


# -- what may be read at all ---------------------------------------------------------------------------


def _plain_utf8(body: bytes, content_type: str) -> bool:
    """True when feedparser would decode the bytes exactly as lxml does: UTF-8, no DTD, no entities.

    feedparser picks the encoding from the HTTP charset, then the XML declaration, then defaults
    that depend on the media type (RFC 3023: us-ascii for text/*, iso-8859-1 with no type at all);
    lxml reads the declaration only. Accepted: every choice is UTF-8, or the bytes are ASCII.
    """
    head = body[:4096]
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        return False
    if body[:2] in (b"\xfe\xff", b"\xff\xfe") or body[:1] in (b"\x00", b"\x4c"):
        return False  # UTF-16/32 or EBCDIC
    declared = _XML_DECLARATION_ENCODING.match(body.removeprefix(b"\xef\xbb\xbf")[:200])
    xml_encoding = declared.group(1).decode("ascii", "replace").lower() if declared else ""
    if xml_encoding not in ("", "utf-8", "utf8"):
        return False
    charset = _charset(content_type)
    if charset in ("utf-8", "utf8"):
        return True
    if charset:
        return False
    mime = content_type.split(";")[0].strip().lower()
    if mime.startswith("text/") or not mime:
        return body.isascii()
    return True


def _charset(content_type: str) -> str:
    for chunk in content_type.split(";")[1:]:
        key, _, value = chunk.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip("\"'").lower()
    return ""


@dataclass(frozen=True, slots=True)
class _Names:
    """Element names as feedparser spells them: "title", "dc_creator", "content_encoded" ...

    feedparser maps each namespace URI it knows to a fixed prefix and keeps the document's prefix
    for the others. A document that binds one known prefix to another known namespace makes
    feedparser remap names in ways not modelled here; so does a namespace declared below the root.
    """

    prefixes: dict[str, str]  # namespace URI -> feedparser's prefix ("" for RSS/Atom themselves)

    @staticmethod
    def of(root: Any, body: bytes) -> _Names:
        declared: dict[str | None, str] = root.nsmap
        # The root's nsmap is what the root declares; any other "xmlns" in the bytes (a declaration
        # further down, or the word in escaped content) sends the document to feedparser.
        if body.count(b"xmlns") != len(declared):
            raise Unsupported("namespace declared below the root")
        prefixes: dict[str, str] = {}
        remapped: dict[str | None, str] = {}
        for doc_prefix, uri in declared.items():
            known = _known_prefix(uri)
            if known is not None:
                remapped[doc_prefix] = known
                prefixes[uri] = known
            elif doc_prefix is None:
                raise Unsupported("an unknown default namespace")
            else:
                prefixes[uri] = doc_prefix
        if any(remapped.get(p, p) != p for p in prefixes.values() if p):
            raise Unsupported("a known prefix bound to another namespace")
        return _Names(prefixes)

    def name(self, tag: str) -> str:
        if tag[0] != "{":
            return tag.lower()
        uri, local = tag[1:].split("}", 1)
        prefix = self.prefixes.get(uri)
        if prefix is None:
            raise Unsupported(f"namespace {uri}")
        return f"{prefix}_{local.lower()}" if prefix else local.lower()


def _known_prefix(uri: str) -> str | None:
    lowered = uri.lower()
    if "backend.userland.com/rss" in lowered:
        return ""
    return _KNOWN_NAMESPACES.get(lowered)


# -- text as feedparser's pop() leaves it --------------------------------------------------------------


def _text(element: Any) -> str:
    """The element's character data; child elements are markup feedparser treats specially."""
    if len(element):
        raise Unsupported(f"markup inside <{element.tag}>")
    return element.text or ""


def _fix(text: str) -> str:
    """feedparser's pop() for a text element: strip, undo UTF-8-read-as-Latin-1, map C1 to Windows-1252."""
    text = text.strip()
    if text.isascii():
        return text
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        text = text.encode("iso-8859-1").decode("utf-8")
    return text.translate(_cp1252)


def _attributes(element: Any) -> dict[str, str]:
    """Attribute names lower-cased, ``rel`` and ``type`` values too, as feedparser's strict parser does."""
    found: dict[str, str] = {}
    for key, value in element.attrib.items():
        if key[0] == "{":
            # _StrictFeedParser.startElementNS: "prefix:name" for a known namespace, the bare name else.
            uri, local = key[1:].split("}", 1)
            prefix = _known_prefix(uri)
            key = f"{prefix}:{local}" if prefix else local
        key = key.lower()
        found[key] = value.lower() if key in ("rel", "type") else value
    return found


def _content_type(value: str) -> str:
    value = value.lower()
    return {"text": "text/plain", "plain": "text/plain", "html": "text/html",
            "xhtml": "application/xhtml+xml"}.get(value, value)


@lru_cache(maxsize=4096)
def _join(base: str, uri: str) -> str:
    if is_plain_absolute_url(uri):  # what feedparser's join gives back as it is: a fifth of parsing a farm feed
        return uri
    return str(_urljoin(base, uri))


@lru_cache(maxsize=4096)
def _safe_base(parent: str, declared: str) -> str:
    """feedparser.mixin.unknown_starttag: the base URI in force inside an element."""
    if parent:
        return str(make_safe_absolute_uri(parent, declared) or parent)
    return str(_urljoin(parent, declared))


@lru_cache(maxsize=4096)
def _date(text: str) -> datetime | None:
    """feedparser's own date parsing, then feeds._utc: identical by construction."""
    parsed: struct_time | None = _parse_date(text)
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


@dataclass(slots=True)
class _Scope:
    """xml:base and xml:lang in force at an element."""

    base: str
    lang: str | None

    def enter(self, element: Any) -> _Scope:
        if not element.attrib:
            # An element without attributes inherits both; the base is re-joined with itself as
            # feedparser does, which only changes a URI the first time (cached, so cheap).
            return _Scope(_safe_base(self.base, self.base) if self.base else self.base, self.lang)
        attributes = _attributes(element)
        declared = attributes.get("xml:base", attributes.get("base")) or self.base
        lang = attributes.get("xml:lang", attributes.get("lang"))
        if lang == "":
            lang = None
        elif lang is None:
            lang = self.lang
        return _Scope(_safe_base(self.base, declared), lang)


# -- one entry, replaying feedparser's handlers in document order ----------------------------------------


@dataclass(slots=True)
class _Entry:
    title: str = ""
    title_locked: bool = False  # a non-empty title was read: later ones at the same depth are ignored
    link: str | None = None
    guid: str = ""
    guidislink: bool | None = None
    published: datetime | None = None
    updated: datetime | None = None
    author: str | None = None
    authors: list[dict[str, str]] = field(default_factory=list)
    author_detail: dict[str, str] | None = None
    summary: str | None = None
    summary_detail: dict[str, str] | None = None
    contents: list[dict[str, str]] = field(default_factory=list)
    has_content: bool = False
    tags: list[tuple[str | None, str | None, str | None]] = field(default_factory=list)

    def raw(self, document_url: str) -> RawEntry:
        body = self.contents[0] if self.contents else {}
        detail = self.summary_detail or {}
        link = self.link or ""
        if not link and self.guidislink:
            link = self.guid
        base_detail = body or detail
        base = base_detail.get("base", "") if base_detail else ""
        return RawEntry(
            title=self.title,
            link=link,
            guid=self.guid,
            published=self.published,
            updated=self.updated,
            author=self._author_text(),
            summary=self.summary or "",
            content=body.get("value", ""),
            categories=tuple(term for term, _, _ in self.tags if term),
            language=body.get("language") or detail.get("language") or "",
            base="" if base == document_url else base,
        )

    def _author_text(self) -> str:
        names = [a.get("name", "").strip() for a in self.authors]
        names = [n for n in names if n]
        if names:
            return ", ".join(dict.fromkeys(names))
        detail = self.author_detail or {}
        return detail.get("name") or self.author or ""

    # feedparser.mixin._sync_author_detail, literally: it runs before a name or e-mail is stored.
    def sync_author(self) -> None:
        detail = self.authors[-1] if self.authors else {}
        if detail:
            name, email = detail.get("name"), detail.get("email")
            if name and email:
                self.author = f"{name} ({email})"
            elif name or email:
                self.author = name or email
            return
        author, email = self.author, None
        if not author:
            return
        match = _EMAIL.search(author)
        if match:
            email = match.group(0)
            author = author.replace(email, "").replace("()", "").replace("<>", "").replace("&lt;&gt;", "")
            author = author.strip()
            if author and author[0] == "(":
                author = author[1:]
            if author and author[-1] == ")":
                author = author[:-1]
            author = author.strip()
        if author or email:
            if self.author_detail is None:
                self.author_detail = detail
            if not self.authors:
                self.authors.append(detail)  # context.setdefault('authors', [detail]) in effect
        if author:
            detail["name"] = author
        if email:
            detail["email"] = email

    def save_author(self, key: str, value: str) -> None:
        if self.author_detail is None:
            self.author_detail = {}
        self.author_detail[key] = value
        self.sync_author()
        if not self.authors:
            self.authors.append({})
        self.authors[-1][key] = value

    def add_tag(self, term: str | None, scheme: str | None, label: str | None) -> None:
        if not term and not scheme and not label:
            return
        value = (term, scheme, label)
        if value not in self.tags:
            self.tags.append(value)


class _Reader:
    def __init__(self, names: _Names, url: str) -> None:
        self.names = names
        self.url = url
        # feedparser: make_safe_absolute_uri(href, content-location) with no href is the location itself.
        self.document = _Scope(str(make_safe_absolute_uri("", url) or ""), None)

    # -- RSS 2.0 ---------------------------------------------------------------------------------

    def rss(self, root: Any) -> ParsedFeed:
        scope = self.document.enter(root)
        if len(root) != 1 or root[0].tag != "channel":
            raise Unsupported("not exactly one channel")
        channel = root[0]
        in_channel = scope.enter(channel)
        feed = _FeedMeta(language=_language(scope))
        entries = []
        for child in channel:
            name = self.names.name(child.tag)
            inner = in_channel.enter(child)
            if name == "item":
                feed.title_locked = False  # _start_item resets feedparser's title depth
                entries.append(self._entry(child, inner, _RSS_ITEM))
            elif name == "title":
                _check_text_type(child)
                feed.title_from(_fix(_text(child)))
            elif name == "link":
                self._feed_link(feed, child, inner)
            elif name in ("language", "dc_language"):
                feed.language = _fix(_text(child))  # feedparser keeps the last one
            else:
                self._feed_other(feed, name, child, inner)
        return feed.parsed(tuple(e.raw(self.url) for e in entries))

    def atom(self, root: Any) -> ParsedFeed:
        scope = self.document.enter(root)
        feed = _FeedMeta(language=_language(scope))
        entries = []
        for child in root:
            name = self.names.name(child.tag)
            inner = scope.enter(child)
            if name == "entry":
                feed.title_locked = False
                entries.append(self._entry(child, inner, _ATOM_ENTRY))
            elif name == "title":
                _check_text_type(child)
                feed.title_from(_fix(_text(child)))
            elif name == "link":
                self._feed_link(feed, child, inner)
            else:
                self._feed_other(feed, name, child, inner)
        return feed.parsed(tuple(e.raw(self.url) for e in entries))

    def _feed_link(self, feed: _FeedMeta, child: Any, scope: _Scope) -> None:
        attributes = _attributes(child)
        if _has_href(attributes):
            if len(child) or (child.text or "").strip():
                raise Unsupported("link with both href and text")
            href = _alternate_href(attributes, scope)
            if href is not None:
                feed.link = href
            return
        # feedparser.mixin.pop for a feed-level link: joined, then "&x;" -> "&x".
        text = _text(child).strip()
        text = _fix(_join(scope.base, text) if text else text)
        feed.link = _CHARACTER_REFERENCE_LIKE.sub(r"&\g<1>", text)

    def _feed_other(self, feed: _FeedMeta, name: str, child: Any, scope: _Scope) -> None:
        if name in ("image", "textinput"):
            # Their title and link go to feed.image / feed.textinput; the title depth is reset.
            feed.title_locked = False
            for part in child:
                if self.names.name(part.tag) not in _IMAGE_CHILDREN:
                    raise Unsupported(f"<{part.tag}> in <{name}>")
                _text(part)
        elif name in ("id", "guid"):
            # _end_guid at feed level: a permalink id becomes the feed's link unless one was read.
            is_link = _attributes(child).get("ispermalink", "true") == "true"
            text = _text(child).strip()
            if is_link and feed.link is None:
                feed.link = _fix(_join(scope.base, text) if text else text)
        elif name in _FEED_DANGEROUS:
            raise Unsupported(f"feed-level <{name}>")
        else:
            for descendant in child.iterdescendants():
                if self.names.name(descendant.tag) in _FEED_DANGEROUS:
                    raise Unsupported(f"<{descendant.tag}> in feed-level <{name}>")

    def _entry(self, element: Any, scope: _Scope, handlers: dict[str, Handler]) -> _Entry:
        entry = _Entry()
        for child in element:
            name = self.names.name(child.tag)
            handler = handlers.get(name)
            if handler is not None:
                handler(self, entry, child, scope.enter(child))
            elif not self._inert_in_entry(name, child):
                raise Unsupported(f"<{name}> in an entry")
        return entry

    def _inert_in_entry(self, name: str, element: Any) -> bool:
        """No feedparser handler (or only one that writes fields we never read), nor below it."""
        if name in _HANDLED and name not in _ENTRY_HARMLESS:
            return False
        return all(
            (n := self.names.name(d.tag)) not in _HANDLED or n in _ENTRY_HARMLESS for d in element.iterdescendants()
        )

    # -- handlers shared by RSS items and Atom entries ---------------------------------------------

    def title(self, entry: _Entry, child: Any, scope: _Scope) -> None:
        _check_text_type(child)
        if entry.title_locked:
            return
        entry.title = _fix(_text(child))
        entry.title_locked = bool(entry.title)

    def rss_link(self, entry: _Entry, child: Any, scope: _Scope) -> None:
        if child.attrib and _has_href(_attributes(child)):
            self.atom_link(entry, child, scope)
            return
        text = _text(child).strip()
        text = _fix(_join(scope.base, text) if text else text)
        # feedparser.mixin.pop: "?a=1&amp;b=2" read as an unknown entity reference; it undoes that.
        text = text.replace("&amp;", "&")
        entry.link = _CHARACTER_REFERENCE_LIKE.sub(r"&\g<1>", text)

    def atom_link(self, entry: _Entry, child: Any, scope: _Scope) -> None:
        attributes = _attributes(child)
        if not _has_href(attributes) or len(child) or (child.text or "").strip():
            raise Unsupported("link without href, or with text")
        href = _alternate_href(attributes, scope)
        if href is not None:
            entry.link = href

    def guid(self, entry: _Entry, child: Any, scope: _Scope) -> None:
        attributes = _attributes(child)
        # Only the exact value "true" (or no attribute) makes a guid a permalink; Atom's id counts too.
        is_link = attributes.get("ispermalink", "true") == "true"
        text = _text(child).strip()
        if text and is_link:
            text = _join(scope.base, text)
        entry.guid = _fix(text)
        if entry.guidislink is None:
            entry.guidislink = is_link and entry.link is None
        if is_link and entry.link is None:
            entry.link = entry.guid

    def published(self, entry: _Entry, child: Any, scope: _Scope) -> None:
        entry.published = _date(_fix(_text(child)))

    def updated(self, entry: _Entry, child: Any, scope: _Scope) -> None:
        entry.updated = _date(_fix(_text(child)))

    def description(self, entry: _Entry, child: Any, scope: _Scope) -> None:
        """RSS <description>: the summary; a second one (after no content) is content."""
        if entry.summary is not None and not entry.has_content:
            self._content(entry, child, scope, "text/plain")
            return
        self._summary(entry, child, scope, "text/html")

    def atom_summary(self, entry: _Entry, child: Any, scope: _Scope) -> None:
        if entry.summary is not None and not entry.has_content:
            self._content(entry, child, scope, "text/plain")
            return
        self._summary(entry, child, scope, "text/plain")

    def atom_content(self, entry: _Entry, child: Any, scope: _Scope) -> None:
        self._content(entry, child, scope, "text/plain")

    def content_encoded(self, entry: _Entry, child: Any, scope: _Scope) -> None:
        self._content(entry, child, scope, "text/html")

    def _summary(self, entry: _Entry, child: Any, scope: _Scope, default_type: str) -> None:
        kind = _check_text_type(child, default_type)
        value = _fix(_text(child))
        entry.summary = value
        entry.summary_detail = {"type": kind, "language": _language(scope), "base": scope.base, "value": value}

    def _content(self, entry: _Entry, child: Any, scope: _Scope, default_type: str) -> None:
        entry.has_content = True
        kind = _check_text_type(child, default_type)
        value = _fix(_text(child))
        entry.contents.append({"type": kind, "language": _language(scope), "base": scope.base, "value": value})
        if kind in _TEXT_TYPES and entry.summary is None:
            entry.summary = value  # _end_content: _save('summary', value) (setdefault, no detail)

    def rss_author(self, entry: _Entry, child: Any, scope: _Scope) -> None:
        """<author>, <dc:creator>: text ("jdoe@example.com (John Doe)") or Atom's name/email/uri."""
        entry.authors.append({})
        direct = child.text or ""
        for part in child:
            part_name = self.names.name(part.tag)
            text = _text(part)
            direct += part.tail or ""
            if part_name == "name":
                entry.save_author("name", text.strip())
            elif part_name == "email":
                entry.save_author("email", text.strip())
            elif part_name in ("uri", "url", "homepage"):
                entry.save_author("href", _join(scope.enter(part).base, text.strip()) if text.strip() else "")
            else:
                raise Unsupported(f"author <{part_name}>")
        entry.author = _fix(direct)
        entry.sync_author()

    def category(self, entry: _Entry, child: Any, scope: _Scope) -> None:
        attributes = _attributes(child)
        entry.add_tag(attributes.get("term"), attributes.get("scheme", attributes.get("domain")),
                      attributes.get("label"))
        value = _fix(_text(child))
        if not value:
            return
        if entry.tags and not entry.tags[-1][0]:
            _, scheme, label = entry.tags[-1]
            entry.tags[-1] = (value, scheme, label)
        else:
            entry.add_tag(value, None, None)

    def source(self, entry: _Entry, child: Any, scope: _Scope) -> None:
        _text(child)  # an RSS <source url="...">name</source>; one with markup is not modelled
        entry.title_locked = False  # feedparser resets its title depth on <source>


Handler = Callable[[_Reader, _Entry, Any, _Scope], None]

_RSS_ITEM: dict[str, Handler] = {
    "title": _Reader.title, "link": _Reader.rss_link, "guid": _Reader.guid, "pubdate": _Reader.published,
    "dc_date": _Reader.updated, "description": _Reader.description, "content_encoded": _Reader.content_encoded,
    "author": _Reader.rss_author, "dc_creator": _Reader.rss_author, "category": _Reader.category,
    "dc_subject": _Reader.category, "source": _Reader.source,
}
_ATOM_ENTRY: dict[str, Handler] = {
    "title": _Reader.title, "link": _Reader.atom_link, "id": _Reader.guid, "published": _Reader.published,
    "updated": _Reader.updated, "summary": _Reader.atom_summary, "content": _Reader.atom_content,
    "author": _Reader.rss_author, "category": _Reader.category,
}
# Handlers that, inside an entry, only write keys feeds.py never reads (links, media_*, subtitle ...).
_ENTRY_HARMLESS = frozenset({
    "enclosure", "comments", "media_content", "media_thumbnail", "media_credit", "media_rating",
    "media_restriction", "media_license", "media_player", "itunes_image", "itunes_subtitle", "rights",
    "copyright", "contributor", "dc_contributor", "name", "email", "uri", "url", "homepage",
})
# Feed-level elements that may write the feed's title, link or language, start or shape entries
# (hasContent outlives the channel's children), or carry content: everything else there is inert.
_FEED_DANGEROUS = frozenset({
    "title", "dc_title", "media_title", "link", "language", "dc_language", "item", "entry", "source",
    "channel", "feed", "rss", "image", "textinput", "id", "guid", "summary", "itunes_summary", "content",
    "content_encoded", "fullitem", "body", "xhtml_body", "newlocation",
})
_IMAGE_CHILDREN = frozenset({"title", "link", "url", "width", "height", "description", "name"})


@dataclass(slots=True)
class _FeedMeta:
    title: str = ""
    title_locked: bool = False
    link: str | None = None
    language: str = ""

    def title_from(self, value: str) -> None:
        if self.title_locked:
            return
        self.title = value
        self.title_locked = bool(value)

    def parsed(self, entries: tuple[RawEntry, ...]) -> ParsedFeed:
        if not entries:
            raise Unsupported("no entries: feedparser words the problem")  # and it is cheap then
        return ParsedFeed(title=self.title, link=self.link or "", language=self.language, entries=entries)


def _language(scope: _Scope) -> str:
    """xml:lang in force, "_" -> "-" as feedparser's push_content and root handling do."""
    return scope.lang.replace("_", "-") if scope.lang else ""


def _has_href(attributes: dict[str, str]) -> bool:
    """feedparser.mixin._enforce_href: a non-empty url/uri/href, or an href attribute at all."""
    return bool(attributes.get("url", attributes.get("uri", attributes.get("href")))) or "href" in attributes


def _alternate_href(attributes: dict[str, str], scope: _Scope) -> str | None:
    """feedparser.mixin._start_link: the joined href of an alternate HTML link, else None."""
    href = attributes.get("url", attributes.get("uri", attributes.get("href"))) or attributes.get("href", "")
    href = _join(scope.base, href)
    rel = attributes.get("rel", "alternate")
    kind = attributes.get("type", "application/atom+xml" if rel == "self" else "text/html")
    return href if rel == "alternate" and _content_type(kind) in _HTML_TYPES else None


def _check_text_type(element: Any, default: str = "text/plain") -> str:
    """The content type feedparser would record; anything but text or escaped HTML is not modelled."""
    attributes = element.attrib
    if not attributes:
        return default
    lowered = _attributes(element)
    if lowered.get("mode") or "src" in lowered:
        raise Unsupported("mode or src attribute")
    kind = _content_type(lowered.get("type", default))
    if kind not in _TEXT_TYPES:
        raise Unsupported(f"content type {kind}")
    return kind
