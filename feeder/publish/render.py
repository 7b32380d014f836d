"""Entries and feed headers written straight as text, the way feedgen 0.9 + lxml serialise them.

Building an lxml tree through feedgen for every entry cost most of a cold publish (bench/publish.py); these
functions write the same bytes with a few string escapes. tests/test_publish_render.py keeps feedgen as the
reference: for many varied entries and feeds the output here is byte-identical to feedgen's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from functools import lru_cache
from json.encoder import encode_basestring
from typing import NamedTuple

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
XML_DECLARATION = "<?xml version='1.0' encoding='UTF-8'?>\n"
RSS_DOCS = "http://www.rssboard.org/rss-specification"


class EntryView(NamedTuple):
    """One story as its entry shows it, in any format: plain-text fields, sanitised HTML, UTC dates; every
    character one XML 1.0 can carry (the publisher strips the others).
    (A named tuple: a frozen dataclass's __init__ was a noticeable part of rendering 20,000 entries.)"""

    id: str
    title: str
    url: str  # the canonical article; "" when it has none
    author: str
    published: datetime
    updated: datetime
    related: tuple[tuple[str, str], ...]  # (url, outlet name), one per other outlet
    categories: tuple[str, ...]
    summary: str  # may be ""
    content: str  # never ""
    outlet_name: str
    outlet_page: str
    outlet_feed: str  # may be ""
    source_updated: datetime


@dataclass(frozen=True, slots=True)
class FeedHead:
    """The feed-level part of one topic's document; ``self_url`` is the URL this very document is served at."""

    id: str
    title: str
    subtitle: str
    author_name: str
    author_uri: str
    hub: str  # "" when there is none
    self_url: str
    page_url: str
    icon: str
    generator_uri: str
    generator_version: str
    updated: datetime


def xml_text(value: str) -> str:
    """Character data escaped as libxml2 writes it (a bare CR would be read back as LF)."""
    if "&" in value:
        value = value.replace("&", "&amp;")
    if "<" in value:
        value = value.replace("<", "&lt;")
    if ">" in value:
        value = value.replace(">", "&gt;")
    if "\r" in value:
        value = value.replace("\r", "&#13;")
    return value


def xml_attr(value: str) -> str:
    """An attribute value for double quotes, escaped as libxml2 writes it (whitespace kept as character
    references, since attribute normalisation would turn it into spaces)."""
    value = xml_text(value)
    if '"' in value:
        value = value.replace('"', "&quot;")
    if "\n" in value:
        value = value.replace("\n", "&#10;")
    if "\t" in value:
        value = value.replace("\t", "&#9;")
    return value


def json_markup(value: str) -> str:
    """``value`` as a JSON string, as encode_basestring writes it, for text XML can carry (what an EntryView
    holds: of the control characters only tab, LF and CR). For an entry's HTML: encode_basestring's loop over
    every character was a seventh of a cold publish's instructions, almost all of it on the HTML (callgrind,
    bench/publish.py data, 20 topics x 200 entries); replace finds the few characters to escape by memchr."""
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if '"' in value:
        value = value.replace('"', '\\"')
    if "\n" in value:
        value = value.replace("\n", "\\n")
    if "\r" in value:
        value = value.replace("\r", "\\r")
    if "\t" in value:
        value = value.replace("\t", "\\t")
    return f'"{value}"'


def atom_date(moment: datetime) -> str:
    return moment.isoformat()


def rss_date(moment: datetime, atom_written: str = "") -> str:
    """RFC 822 date with English names whatever the locale (feedgen switched to the C locale for this);
    written out for UTC, the publisher's only zone, as email.utils.format_datetime writes it, from the
    digits of its RFC 3339 text (``atom_written``: what atom_date wrote for it, when at hand)."""
    written = atom_written or atom_date(moment)
    if not written.endswith("+00:00"):  # isoformat writes a zero offset so, and only a zero one
        return format_datetime(moment)
    return f"{DAYS[moment.weekday()]}, {written[8:10]} {MONTHS[moment.month - 1]} {written[:4]} {written[11:19]} +0000"


def rfc3339(moment: datetime) -> str:
    """A UTC date as JSON Feed readers expect it."""
    return moment.isoformat().replace("+00:00", "Z")


def _same_date(moment: datetime, other: datetime, other_written: str) -> str:
    """``moment`` as Atom writes it, reusing ``other``'s text when they are the same (dates of an entry
    often are, and formatting one is a visible part of rendering)."""
    if moment == other and moment.tzinfo is other.tzinfo:
        return other_written
    return atom_date(moment)


class _Shared(NamedTuple):
    """What the three formats of one entry have in common, escaped or formatted once."""

    id: str
    title: str
    content: str
    summary: str
    updated: str  # RFC 3339, as Atom writes it
    published: str
    source_updated: str
    categories: tuple[str, str, str]  # as _categories writes them


def entry_formats(view: EntryView) -> tuple[bytes, bytes, bytes]:
    """One entry as an Atom <entry>, an RSS <item> (both indented to sit in their documents) and a compact
    JSON Feed item."""
    # Views and _Shared are unpacked rather than read field by field: reading a named tuple's field by name
    # is a generic attribute look-up, and an entry read some seventy.
    id_, title, _, _, published, updated, _, categories, summary, content, _, _, _, source_updated = view
    updated_text = atom_date(updated)
    published_text = _same_date(published, updated, updated_text)
    shared = _Shared(xml_text(id_), xml_text(title), xml_text(content), xml_text(summary), updated_text,
                     published_text, _same_date(source_updated, published, published_text), _categories(categories))
    return _atom_entry(view, shared), _rss_item(view, shared), _json_item(view, shared)


# Categories and outlet names recur from entry to entry (sections, the same few outlets): escaped once each.
@lru_cache(maxsize=4096)
def _categories(categories: tuple[str, ...]) -> tuple[str, str, str]:
    """An entry's categories as Atom, RSS and JSON Feed write them."""
    if not categories:
        return "", "", ""
    return ("".join([f'    <category term="{xml_attr(category)}"/>\n' for category in categories]),
            "".join([f"      <category>{xml_text(category)}</category>\n" for category in categories]),
            f',"tags":[{",".join(map(encode_basestring, categories))}]')


@lru_cache(maxsize=4096)
def _titled(title: str) -> str:
    return f' title="{xml_attr(title)}"' if title else ""


def _atom_entry(view: EntryView, shared: _Shared) -> bytes:
    _, _, url, author, _, _, related, _, summary, _, outlet_name, outlet_page, outlet_feed, _ = view
    id_, title, content, summary_text, updated, published, source_updated, (categories, _, _) = shared
    # The feed's author covers an entry without one.
    author_part = f"    <author>\n      <name>{xml_text(author)}</name>\n    </author>\n" if author else ""
    link = f'    <link href="{xml_attr(url)}" rel="alternate" type="text/html"/>\n' if url else ""
    related_links = "".join([f'    <link href="{xml_attr(other)}" rel="related" type="text/html"{_titled(name)}/>\n'
                             for other, name in related])
    summary_part = f'    <summary type="html">{summary_text}</summary>\n' if summary else ""
    # The source feed's own date is unknown for RSS; the article's is stable and no later than it.
    return (f"  <entry>\n    <id>{id_}</id>\n    <title>{title}</title>\n    <updated>{updated}</updated>\n"
            f'{author_part}    <content type="html">{content}</content>\n{link}{related_links}{summary_part}'
            f"{categories}    <published>{published}</published>\n"
            f"{_atom_source(outlet_name, outlet_page, outlet_feed)}"
            f"      <updated>{source_updated}</updated>\n    </source>\n  </entry>\n").encode()


# An outlet's parts of an entry are the same in each of its entries: escaped once per outlet, not per entry.
@lru_cache(maxsize=4096)
def _atom_source(name: str, page: str, feed: str) -> str:
    """An Atom <source> up to its <updated>. RFC 4287 4.2.11: the source feed's id and updated too (the W3C
    validator warns without them)."""
    title = f"      <title>{xml_text(name)}</title>\n" if name else ""
    self_link = f'      <link href="{xml_attr(feed)}" rel="self"/>\n' if feed else ""
    return (f"    <source>\n{title}"
            f'      <link href="{xml_attr(page)}" rel="alternate" type="text/html"/>\n'
            f"      <id>{xml_text(feed or page)}</id>\n{self_link}")


@lru_cache(maxsize=4096)
def _rss_source(name: str, page: str, feed: str) -> str:
    """An RSS <source>: its url names the source's feed."""
    return f'      <source url="{xml_attr(feed or page)}">{xml_text(name)}</source>\n'


def _rss_item(view: EntryView, shared: _Shared) -> bytes:
    _, _, url, _, published, _, _, _, summary, _, outlet_name, outlet_page, outlet_feed, _ = view
    id_, title, content, summary_text, _, published_text, _, (_, categories, _) = shared
    link = f"      <link>{xml_text(url)}</link>\n" if url else ""
    if summary:
        text = (f"      <description>{summary_text}</description>\n"
                f"      <content:encoded>{content}</content:encoded>\n")
    else:
        text = f"      <description>{content}</description>\n"
    return (f"    <item>\n      <title>{title}</title>\n{link}{text}"
            f'      <guid isPermaLink="false">{id_}</guid>\n{categories}'
            f"      <pubDate>{rss_date(published, published_text)}</pubDate>\n"
            f"{_rss_source(outlet_name, outlet_page, outlet_feed)}    </item>\n").encode()


def _json_item(view: EntryView, shared: _Shared) -> bytes:
    """Written out in the order and spelling json.dumps(ensure_ascii=False, separators=(",", ":")) gives
    the item's dict (tests/test_publish_render.py compares them): the strings go through its own encoder
    (the HTML through json_markup, which writes the same), but for the dates, which hold nothing it escapes."""
    text = encode_basestring
    id_, title, url, author, _, _, related, _, summary, content, _, _, _, _ = view
    *_, updated, published, _, (_, _, tags) = shared
    link = f',"url":{text(url)}' if url else ""
    summary_part = f',"summary":{json_markup(summary)}' if summary else ""
    others = ""
    if related:
        others = ",".join([f'{{"name":{text(name)},"url":{text(other)}}}' for other, name in related])
        others = f',"_feeder":{{"also_reported_by":[{others}]}}'
    return (f'{{"id":{text(id_)},"title":{text(title)},"content_html":{json_markup(content)},'
            f'"date_published":"{_z(published)}","date_modified":"{_z(updated)}",'
            f'"authors":[{{"name":{text(author)}}}]{link}{summary_part}{tags}{others}}}').encode()


def _z(rfc3339_date: str) -> str:
    return rfc3339_date.replace("+00:00", "Z")


def atom_head(head: FeedHead) -> bytes:
    """An Atom feed document up to its first entry."""
    hub = f'  <link href="{xml_attr(head.hub)}" rel="hub"/>\n' if head.hub else ""
    return (
        f'{XML_DECLARATION}<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">\n'
        f"  <id>{xml_text(head.id)}</id>\n  <title>{xml_text(head.title)}</title>\n"
        f"  <updated>{atom_date(head.updated)}</updated>\n"
        f"  <author>\n    <name>{xml_text(head.author_name)}</name>\n"
        f"    <uri>{xml_text(head.author_uri)}</uri>\n  </author>\n{hub}"
        f'  <link href="{xml_attr(head.self_url)}" rel="self" type="application/atom+xml"/>\n'
        f'  <link href="{xml_attr(head.page_url)}" rel="alternate" type="text/html"/>\n'
        f'  <generator uri="{xml_attr(head.generator_uri)}" version="{xml_attr(head.generator_version)}">'
        f"feeder</generator>\n  <icon>{xml_text(head.icon)}</icon>\n"
        f"  <subtitle>{xml_text(head.subtitle)}</subtitle>\n"
    ).encode()


ATOM_TAIL = b"</feed>\n"


def rss_head(head: FeedHead) -> bytes:
    """An RSS 2.0 document up to its first item. The hub sits beside the self atom:link, where WebSub
    subscribers look for it."""
    hub = f'    <atom:link href="{xml_attr(head.hub)}" rel="hub"/>\n' if head.hub else ""
    return (
        f'{XML_DECLARATION}<rss xmlns:atom="http://www.w3.org/2005/Atom" '
        f'xmlns:content="http://purl.org/rss/1.0/modules/content/" version="2.0">\n'
        f"  <channel>\n    <title>{xml_text(head.title)}</title>\n    <link>{xml_text(head.page_url)}</link>\n"
        f"    <description>{xml_text(head.subtitle)}</description>\n"
        f'    <atom:link href="{xml_attr(head.self_url)}" rel="self" type="application/rss+xml"/>\n{hub}'
        f"    <docs>{RSS_DOCS}</docs>\n    <generator>feeder</generator>\n    <language>en</language>\n"
        f"    <lastBuildDate>{rss_date(head.updated)}</lastBuildDate>\n"
    ).encode()


RSS_TAIL = b"  </channel>\n</rss>\n"
