"""Sitemaps: ``<urlset>`` (plain or Google News) and ``<sitemapindex>``, read with a hardened lxml parser."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urljoin

from lxml import etree

from feeder.model import ParsedFeed, RawEntry
from feeder.parse.dates import parse_date


def _hardened_parser() -> etree.XMLParser:
    # No DTD loading, no entity expansion (billion laughs / XXE), no network, bounded tree size.
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
        remove_comments=True, remove_pis=True, recover=True,
    )


def parse_sitemap(body: bytes, url: str) -> ParsedFeed:
    """A urlset becomes entries (news title/date when present); an index lists its children."""
    try:
        root = etree.fromstring(body, parser=_hardened_parser())
    except etree.XMLSyntaxError as exc:
        return ParsedFeed(problem=f"not a sitemap: {str(exc)[:160]}")
    if root is None:
        return ParsedFeed(problem="not a sitemap: empty or unreadable XML")
    kind = etree.QName(root).localname
    if kind == "sitemapindex":
        children = _unique(urljoin(url, loc) for loc in _locs(root, "sitemap"))
        return ParsedFeed(link=url, children=children, problem="" if children else "empty sitemap index")
    if kind != "urlset":
        return ParsedFeed(problem=f"not a sitemap: root element is <{kind}>")
    entries = tuple(_url_entry(node, url) for node in _children(root, "url") if _first(node, "loc"))
    return ParsedFeed(link=url, entries=entries, problem="" if entries else "sitemap lists no URLs")


def _url_entry(node: etree._Element, base: str) -> RawEntry:
    link = urljoin(base, _first(node, "loc"))
    news = _child(node, "news")
    publication = _child(news, "publication") if news is not None else None
    keywords = _first(news, "keywords") if news is not None else ""
    published = parse_date(_first(news, "publication_date")) if news is not None else None
    lastmod = parse_date(_first(node, "lastmod"))
    return RawEntry(
        title=_first(news, "title") if news is not None else "",
        link=link,
        guid=link,
        published=published or lastmod,
        updated=lastmod,
        categories=tuple(k.strip() for k in keywords.split(",") if k.strip()),
        language=_first(publication, "language") if publication is not None else "",
    )


def _children(node: etree._Element, name: str) -> list[etree._Element]:
    """Direct children by local name: sitemaps appear with, without and with wrong namespaces."""
    return [c for c in node if isinstance(c.tag, str) and etree.QName(c).localname == name]


def _child(node: etree._Element, name: str) -> etree._Element | None:
    found = _children(node, name)
    return found[0] if found else None


def _first(node: etree._Element | None, name: str) -> str:
    child = _child(node, name) if node is not None else None
    return " ".join((child.text or "").split()) if child is not None else ""


def _locs(root: etree._Element, name: str) -> list[str]:
    return [loc for node in _children(root, name) if (loc := _first(node, "loc"))]


def _unique(urls: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(urls))
