"""RawEntry -> Article: UTC dates, canonical URLs, sanitised HTML, plain-text titles. Pure functions."""

from __future__ import annotations

import hashlib
import html
import re
import threading
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

import nh3

from feeder.model import Article, RawEntry
from feeder.parse.dates import to_utc
from feeder.sanitised import is_sanitised
from feeder.urls import is_plain_absolute_url

# Parameters that only say who sent the reader; removing them makes one article one URL.
_TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "yclid", "_hsenc", "_hsmi",
     "ref_src", "cmpid", "ocid", "spm", "mkt_tok", "vero_id", "wt_mc", "icid"}
)
_TRACKING_PREFIXES = ("utm_", "pk_", "ga_", "at_")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_C0_FORBIDDEN = bytes(set(range(0x20)) - {0x09, 0x0A, 0x0D})  # the part of _XML_FORBIDDEN below U+0080
# Only things shaped like tags or comments: "x < y and y > z" is text, not a tag.
_TAG = re.compile(r"<!--.*?-->|</?[A-Za-z][^<>]*>", re.DOTALL)
_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.DOTALL | re.IGNORECASE)
_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]{1,31});")
# A published date this far ahead of the fetch is a publisher's error, not a scheduled article.
FUTURE_TOLERANCE = timedelta(hours=1)
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}$")


def canonical_url(url: str, base: str = "") -> str:
    """Absolute http(s) URL with lower-case scheme/host, no default port, fragment or tracking parameters."""
    return _canonical(url, base)[0]


def web_url(url: str, base: str = "") -> str:
    """``canonical_url`` of an http(s) link; "" for anything else (javascript:, data:, file: ...)."""
    if not url.strip():
        return ""
    canonical, scheme = _canonical(url, base)
    return canonical if scheme in _DEFAULT_PORTS else ""


def is_absolute_web_url(url: str) -> bool:
    """An http(s) URL with a host, which relative links can be resolved against."""
    return url.startswith(("http://", "https://")) and url.split("/", 3)[2] != ""


def _canonical(url: str, base: str) -> tuple[str, str]:
    """``canonical_url`` and its scheme, lower case (web_url needs it, and splitting a URL is not free)."""
    url = url.strip()
    # A plain absolute link needs no base: urljoin would split and rebuild it (a tenth of normalising a farm
    # entry) only to give it back.
    if base and not is_plain_absolute_url(url):
        url = urljoin(base, url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return url, scheme
    host = parts.hostname.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    # Filter the raw "k=v" pieces rather than re-encoding: "a=b%20c" must not turn into "a=b+c".
    pieces = (piece for piece in parts.query.split("&") if piece)
    query = "&".join(p for p in pieces if not _is_tracking(unquote_plus(p.split("=")[0])))
    return urlunsplit((scheme, netloc, parts.path or "/", query, "")), scheme


def _is_tracking(param: str) -> bool:
    name = param.lower()
    return name in _TRACKING_PARAMS or name.startswith(_TRACKING_PREFIXES)


def strip_xml_forbidden(text: str) -> str:
    """Remove characters XML 1.0 cannot carry (feedgen and every XML writer reject them)."""
    try:
        encoded = text.encode()  # a lone surrogate raises
    except UnicodeEncodeError:
        return _XML_FORBIDDEN.sub("", text)
    # Most text has none: deleting bytes in C says so about four times quicker than the regex's scan of
    # every character (bench/parse.py: 9.8 against 2.2 us per 3.2 KB farm document).
    if len(encoded.translate(None, _C0_FORBIDDEN)) == len(encoded) and "\ufffe" not in text and "\uffff" not in text:
        return text
    return _XML_FORBIDDEN.sub("", text)


def plain_text(markup: str) -> str:
    """Tags (and script/style bodies) removed, entities decoded, whitespace collapsed."""
    text = html.unescape(_TAG.sub(" ", _SCRIPT_OR_STYLE.sub(" ", markup)))
    if _ENTITY.search(text):
        # Double-escaped by the publisher ("AT&amp;amp;T"): one more decode, and tags it revealed go too.
        text = html.unescape(_TAG.sub(" ", _SCRIPT_OR_STYLE.sub(" ", text)))
    return " ".join(text.split())


def sanitise_html(markup: str, base_url: str = "") -> str:
    """Safe HTML: no script, style, event handler or javascript: URL; relative links made absolute.

    Markup that is already what nh3 would write, once its plain links get the rel nh3 adds, is taken as it
    is: checking that costs half of nh3 on the bench farm's articles (bench/parse.py: 32 against 63 us;
    nh3 was half of a parse worker's time in a cold ingest), and tests/test_sanitised.py holds the two ways
    to the same output."""
    if not markup:
        return ""
    shaped = _LINK_WITHOUT_REL.sub(_with_rel, markup.strip(_HTML_SPACE))  # not str.strip's: no-break space is text
    if is_sanitised(shaped):
        return shaped
    return sanitise_with_nh3(markup, base_url)


# A link with nothing but an address, which nh3 gives its rel (is_sanitised then checks the address).
_LINK_WITHOUT_REL = re.compile('<a href="([^"<>]*+)">')


def _with_rel(link: re.Match[str]) -> str:
    # A function, not a template string: Python 3.11 expands a template per match in Python, twice as slow.
    return f'<a href="{link[1]}" rel="noopener noreferrer">'


_HTML_SPACE = " \t\n\r\f"


def sanitise_with_nh3(markup: str, base_url: str = "") -> str:
    """``sanitise_html`` always by nh3, for every shape of markup."""
    if not markup:
        return ""
    if not base_url:
        return _PASSING_RELATIVE.clean(strip_xml_forbidden(markup)).strip()
    _relative_base.url = base_url
    return _RESOLVING_RELATIVE.clean(strip_xml_forbidden(markup)).strip()


def _resolve_relative(url: str) -> str | None:
    try:
        return urljoin(_relative_base.url, url.strip())
    except ValueError:  # a base urljoin rejects: no link rather than a wrong one
        return None


# nh3's defaults without `cite`: nh3 resolves relative href and src only, a reader never shows a cite,
# and a published feed must carry no relative URL.
_ALLOWED_ATTRIBUTES = {tag: names - {"cite"} for tag, names in nh3.ALLOWED_ATTRIBUTES.items()}


class _RelativeBase(threading.local):
    """The base URL of the document being sanitised on this thread (nh3 calls back on the caller's thread)."""

    url = ""


_relative_base = _RelativeBase()
# Two cleaners built once: nh3.clean builds one from its options on every call (bench/parse.py: sanitise_html
# went from 91 to 57 us per farm document with this and strip_xml_forbidden's check). The base is per article,
# so the resolving one's callback reads it from _relative_base; it runs for relative URLs only, not for
# every attribute as an attribute_filter would.
_CLEANER_OPTIONS: dict[str, Any] = {"attributes": _ALLOWED_ATTRIBUTES, "url_schemes": {"http", "https", "mailto"},
                                    "link_rel": "noopener noreferrer"}
_PASSING_RELATIVE = nh3.Cleaner(**_CLEANER_OPTIONS)
_RESOLVING_RELATIVE = nh3.Cleaner(**_CLEANER_OPTIONS, url_relative=_resolve_relative)


def clean_language(tag: str) -> str:
    """BCP 47-ish: "EN_us " -> "en-US"; anything that is not a language tag -> ""."""
    parts = tag.strip().replace("_", "-").split("-")
    if not _LANGUAGE.match(parts[0]):
        return ""
    subtags = [parts[0].lower()]
    for part in parts[1:3]:
        if not part.isalnum():
            break
        subtags.append(part.upper() if len(part) == 2 else part.title() if len(part) == 4 else part.lower())
    return "-".join(subtags)


def to_article(
    entry: RawEntry, source: str, feed_url: str, fetched_at: datetime, default_language: str = ""
) -> Article:
    """Normalise one entry. ``fetched_at`` stands in for a missing date and replaces a future one."""
    fetched_at = to_utc(fetched_at)
    url = web_url(entry.link, entry.base or feed_url)
    published, updated = _dates(entry, fetched_at)
    # Relative references in content: the xml:base in force there, else the article, else the feed.
    base = entry.base or url or feed_url
    summary = sanitise_html(entry.summary, base)
    # Atom content with no summary arrives as both (feedparser copies it): sanitise it once.
    content = summary if entry.content == entry.summary else sanitise_html(entry.content, base)
    if content == summary:
        summary = ""
    title = strip_xml_forbidden(plain_text(entry.title)) or plain_text(summary or content)[:120] or url
    author = strip_xml_forbidden(plain_text(entry.author))
    categories = _categories(entry.categories)
    return Article(
        source=source,
        guid=strip_xml_forbidden(entry.guid.strip()) or url or title,
        url=url,
        title=title,
        published=published,
        updated=updated,
        author=author,
        summary=summary,
        content=content,
        categories=categories,
        language=clean_language(entry.language) or clean_language(default_language),
        content_hash=_content_hash(url, title, author, summary, content, categories, published),
    )


def _dates(entry: RawEntry, fetched_at: datetime) -> tuple[datetime, datetime]:
    """(published, updated) in UTC. Missing -> first seen; beyond the tolerance ahead -> first seen."""
    latest = fetched_at + FUTURE_TOLERANCE
    published = _utc_or_none(entry.published) or _utc_or_none(entry.updated) or fetched_at
    if published > latest:
        published = fetched_at
    updated = _utc_or_none(entry.updated) or published
    if updated > latest:
        updated = fetched_at
    return published, max(updated, published)


def _utc_or_none(when: datetime | None) -> datetime | None:
    return to_utc(when) if when is not None else None


def _categories(categories: tuple[str, ...]) -> tuple[str, ...]:
    """Plain-text labels, first spelling kept, duplicates differing only in case dropped."""
    seen: dict[str, str] = {}
    for raw in categories:
        label = strip_xml_forbidden(plain_text(raw))
        if label and label.casefold() not in seen:
            seen[label.casefold()] = label
    return tuple(seen.values())


def _content_hash(url: str, title: str, author: str, summary: str, content: str, categories: tuple[str, ...],
                  published: datetime) -> str:
    """What tells an edited article from an unchanged one (the store compares it; the topic index keys on it)."""
    digest = hashlib.blake2b(digest_size=16)
    for part in (url, title, author, summary, content, "\x1f".join(categories), published.isoformat()):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()
