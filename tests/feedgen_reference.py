"""The reference the fast renderer (feeder/publish/render.py) is held to: how the publisher rendered with
feedgen 0.9 + lxml until the renderer replaced it. Test-only; kept as it was, so that a differential test
catches any byte the renderer writes differently."""

from __future__ import annotations

import json
from datetime import datetime

from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator
from lxml import etree

from feeder.publish.render import EntryView, FeedHead

RSS_NAMESPACES = {"atom": "http://www.w3.org/2005/Atom", "content": "http://purl.org/rss/1.0/modules/content/"}


def atom_entry(view: EntryView) -> bytes:
    return _fragment(_complete_source(_feed_entry(view).atom_entry(), view), level=1)


def rss_item(view: EntryView) -> bytes:
    return _rss_fragment(_feed_entry(view).rss_entry())


def atom_document(head: FeedHead, entries: list[EntryView]) -> bytes:
    document, tail = _split_once(bytes(_generator(head, "atom").atom_str(pretty=True)), b"</feed>")
    return document + b"".join(atom_entry(v) for v in entries) + b"</feed>" + tail


def rss_document(head: FeedHead, entries: list[EntryView]) -> bytes:
    document, tail = _split_once(_rss_header(head), b"  </channel>")
    return document + b"".join(rss_item(v) for v in entries) + b"  </channel>" + tail


def _rss_header(head: FeedHead) -> bytes:
    header = bytes(_generator(head, "rss").rss_str(pretty=True))
    if not head.hub:
        return header
    # feedgen writes only the self atom:link into RSS; WebSub subscribers look for the hub beside it.
    root = etree.fromstring(header, etree.XMLParser(remove_blank_text=True))
    self_link = root.find(f"channel/{{{RSS_NAMESPACES['atom']}}}link[@rel='self']")
    assert self_link is not None, "feedgen wrote no self link"
    self_link.addnext(etree.Element(f"{{{RSS_NAMESPACES['atom']}}}link", href=head.hub, rel="hub"))
    with_hub: bytes = etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8")
    return with_hub


def _generator(head: FeedHead, fmt: str) -> FeedGenerator:
    generator = FeedGenerator()
    generator.id(head.id)
    generator.title(head.title)
    generator.subtitle(head.subtitle)
    generator.author({"name": head.author_name, "uri": head.author_uri})
    if head.hub:
        generator.link(href=head.hub, rel="hub")
    media = {"atom": "application/atom+xml", "rss": "application/rss+xml"}[fmt]
    generator.link(href=head.self_url, rel="self", type=media)
    # Last: feedgen takes the RSS channel <link> from the last link it was given.
    generator.link(href=head.page_url, rel="alternate", type="text/html")
    generator.icon(head.icon)
    generator.generator("feeder", head.generator_version, head.generator_uri)
    generator.language("en")
    generator.updated(head.updated)
    return generator


def _feed_entry(view: EntryView) -> FeedEntry:
    entry = FeedEntry()
    entry.id(view.id)
    entry.guid(view.id, permalink=False)
    entry.title(view.title)
    entry.updated(view.updated)
    entry.published(view.published)
    if view.url:
        entry.link(href=view.url, rel="alternate", type="text/html")
    for url, outlet_name in view.related:
        entry.link(href=url, rel="related", type="text/html", title=outlet_name)
    entry.author({"name": view.author})
    if view.summary:
        entry.summary(view.summary, type="html")
    entry.content(view.content, type="html")
    for category in view.categories:
        entry.category(term=category)
    entry.source(url=view.outlet_feed or view.outlet_page, title=view.outlet_name)
    return entry


def _fragment(element: etree._Element, level: int) -> bytes:
    etree.indent(element, space="  ", level=level)
    element.tail = None
    serialised: bytes = etree.tostring(element, encoding="UTF-8", xml_declaration=False)
    return b"  " * level + serialised + b"\n"


def _complete_source(entry: etree._Element, view: EntryView) -> etree._Element:
    source = entry.find("source")
    link = source.find("link") if source is not None else None
    assert source is not None and link is not None, "feedgen wrote no atom:source link"
    link.attrib.update({"href": view.outlet_page, "rel": "alternate", "type": "text/html"})
    etree.SubElement(source, "id").text = view.outlet_feed or view.outlet_page
    if view.outlet_feed:
        etree.SubElement(source, "link", href=view.outlet_feed, rel="self")
    etree.SubElement(source, "updated").text = view.source_updated.isoformat()
    return entry


def _rss_fragment(item: etree._Element) -> bytes:
    channel = etree.Element("channel", nsmap=RSS_NAMESPACES)
    channel.append(item)
    data = _fragment(item, level=2)
    start = data.index(b"<item")
    return data[:start] + b"<item>" + data[data.index(b">", start) + 1:]


def _split_once(document: bytes, marker: bytes) -> tuple[bytes, bytes]:
    head, found, tail = document.rpartition(marker)
    if not found:
        raise ValueError(f"feedgen output has no {marker!r}")
    return head, tail


def json_item(view: EntryView) -> str:
    """The JSON Feed item as a dict through json.dumps, as the publisher wrote it before writing it out."""
    def rfc3339(moment: datetime) -> str:
        return moment.isoformat().replace("+00:00", "Z")

    item: dict[str, object] = {
        "id": view.id,
        "title": view.title,
        "content_html": view.content,
        "date_published": rfc3339(view.published),
        "date_modified": rfc3339(view.updated),
        "authors": [{"name": view.author}],
    }
    if view.url:
        item["url"] = view.url
    if view.summary:
        item["summary"] = view.summary
    if view.categories:
        item["tags"] = list(view.categories)
    if view.related:
        item["_feeder"] = {"also_reported_by": [{"name": name, "url": url} for url, name in view.related]}
    return json.dumps(item, ensure_ascii=False, separators=(",", ":"))
