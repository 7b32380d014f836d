"""RawEntry -> Article: UTC dates, canonical URLs, sanitised HTML, plain-text titles. Pure functions."""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import nh3

from feeder.model import Article, RawEntry

# Parameters that only say who sent the reader; removing them makes one article one URL.
_TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "yclid", "_hsenc", "_hsmi",
     "ref_src", "cmpid", "ocid", "spm", "mkt_tok", "vero_id", "wt_mc", "icid"}
)
_TRACKING_PREFIXES = ("utm_", "pk_", "ga_", "at_")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_TAG = re.compile(r"<[^>]*>")
# A published date this far ahead of the fetch is a publisher's error, not a scheduled article.
FUTURE_TOLERANCE = timedelta(hours=1)


def canonical_url(url: str, base: str = "") -> str:
    """Absolute http(s) URL with lower-case scheme/host, no default port, fragment or tracking parameters."""
    url = url.strip()
    if base:
        url = urljoin(base, url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return url
    host = parts.hostname.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    )
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def _is_tracking(param: str) -> bool:
    name = param.lower()
    return name in _TRACKING_PARAMS or name.startswith(_TRACKING_PREFIXES)


def strip_xml_forbidden(text: str) -> str:
    """Remove characters XML 1.0 cannot carry (feedgen and every XML writer reject them)."""
    return _XML_FORBIDDEN.sub("", text)


def plain_text(markup: str) -> str:
    """Tags removed, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(_TAG.sub(" ", markup)).split())


def sanitise_html(markup: str, base_url: str = "") -> str:
    """Safe HTML: no script, style, event handler or javascript: URL; relative links made absolute."""
    if not markup:
        return ""
    clean = nh3.clean(
        strip_xml_forbidden(markup),
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
        attribute_filter=_absolute_urls(base_url) if base_url else None,
    )
    return clean.strip()


def _absolute_urls(base_url: str) -> Callable[[str, str, str], str]:
    def resolve(_tag: str, attribute: str, value: str) -> str:
        if attribute in ("href", "src") and value:
            return urljoin(base_url, value)
        return value

    return resolve


def to_article(
    entry: RawEntry, source: str, feed_url: str, fetched_at: datetime, default_language: str = ""
) -> Article:
    """Normalise one entry. ``fetched_at`` stands in for a missing date and caps a future one."""
    url = canonical_url(entry.link, feed_url) if entry.link else ""
    published = entry.published or entry.updated or fetched_at
    published = min(published, fetched_at + FUTURE_TOLERANCE)
    updated = max(min(entry.updated or published, fetched_at + FUTURE_TOLERANCE), published)
    base = url or feed_url
    summary = sanitise_html(entry.summary, base)
    content = sanitise_html(entry.content, base)
    if content == summary:
        summary = ""
    title = strip_xml_forbidden(plain_text(entry.title)) or plain_text(summary)[:120] or url
    article = Article(
        source=source,
        guid=entry.guid or url or title,
        url=url,
        title=title,
        published=published,
        updated=updated,
        author=strip_xml_forbidden(plain_text(entry.author)),
        summary=summary,
        content=content,
        categories=tuple(dict.fromkeys(strip_xml_forbidden(c.strip()) for c in entry.categories if c.strip())),
        language=(entry.language or default_language).strip()[:16],
    )
    return _with_hash(article)


def _with_hash(article: Article) -> Article:
    digest = hashlib.blake2b(digest_size=16)
    for part in (article.url, article.title, article.author, article.summary, article.content,
                 "\x1f".join(article.categories), article.published.isoformat()):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return replace(article, content_hash=digest.hexdigest())
