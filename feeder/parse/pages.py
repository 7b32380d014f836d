"""Web pages: the article links of a listing page, and the article of an article page (trafilatura).

trafilatura finds the main text well, but its title is often the page's first heading and its date an
estimate; the page's own metadata (JSON-LD, Dublin Core, Open Graph, <title>, <time>) says what the
publisher meant, so that is preferred for those fields.
"""

from __future__ import annotations

import codecs
import html
import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import trafilatura
from cssselect import SelectorError
from lxml import etree
from lxml import html as lxml_html

from feeder.model import RawEntry
from feeder.normalise import web_url
from feeder.parse.dates import parse_date
from feeder.parse.values import paragraphs_html

# Path words of pages that list or describe rather than report.
_NOT_ARTICLE_WORDS = frozenset(
    {"tag", "tags", "category", "categories", "author", "authors", "login", "log-in", "signin", "sign-in",
     "signup", "sign-up", "register", "logout", "about", "about-us", "contact", "contact-us", "privacy",
     "privacy-policy", "terms", "terms-of-service", "terms-of-use", "cookies", "cookie-policy", "search",
     "subscribe", "subscription", "account", "newsletter", "newsletters", "feed", "feeds", "rss", "page",
     "topic", "topics", "section", "sections", "user", "users", "profile", "help", "faq", "advertise",
     "careers", "jobs", "cart", "shop", "store", "donate", "label", "labels", "wp-login.php", "wp-admin",
     "comments", "share", "print", "amp-stories", "events", "people", "staff", "team", "sitemap",
     "series", "column", "columns", "columnist", "columnists", "index", "archive", "archives"}
)
_NON_PAGE_EXTENSIONS = re.compile(
    r"\.(?:jpe?g|png|gif|webp|svg|ico|css|js|json|xml|rss|atom|pdf|zip|gz|mp3|mp4|m4a|webm|mov|avi|doc|docx)$",
    re.IGNORECASE,
)
_DATE_IN_PATH = re.compile(r"(?:^|/)(?:19|20)\d\d(?:/|-)(?:0?[1-9]|1[0-2])(?:/|-|$)|(?:19|20)\d{6}")
_ID_IN_PATH = re.compile(r"(?:^|[/_.-])\d{5,}(?:$|[/_.-])|(?:^|[/-])[a-z]*\d+[a-z]\d+")
_SLUG_WORD = re.compile(r"[a-z\u00c0-\uffff]{2,}", re.IGNORECASE)
_BOILERPLATE_CONTAINERS = {"nav", "header", "footer", "aside"}


_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_CDATA = re.compile(r"^\s*(?:/\*\s*)?<!\[CDATA\[(?:\s*\*/)?|(?:/\*\s*)?\]\]>(?:\s*\*/)?\s*$")


# Labels that browsers (per the WHATWG Encoding standard) decode with a superset; pages rely on it.
_WHATWG_SUPERSETS = {
    "iso-8859-1": "cp1252", "latin-1": "cp1252", "latin1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252",
    "iso-8859-9": "cp1254", "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030",
    "shift_jis": "cp932", "sjis": "cp932", "euc-kr": "cp949", "big5": "big5hkscs", "tis-620": "cp874",
}


def html_encoding(body: bytes) -> str:
    """BOM, then UTF-8 if it decodes, then <meta charset>, else Windows-1252 (libxml2 guesses Latin-1)."""
    for bom, name in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if body.startswith(bom):
            return name
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        # Legacy-encoded text almost never decodes as UTF-8 by chance; mislabelled pages are common.
        return "utf-8"
    if declared := _CHARSET.search(body[:4096]):
        name = declared.group(1).decode("ascii").lower()
        try:
            codecs.lookup(name)
        except LookupError:
            pass
        else:
            return _WHATWG_SUPERSETS.get(name, name)
    return "cp1252"


def _parse_html(body: bytes, url: str) -> Any:
    # No network access for external entities or DTDs, even though HTML rarely asks for them.
    parser = lxml_html.HTMLParser(
        encoding=html_encoding(body), no_network=True, remove_comments=True, huge_tree=False
    )
    return lxml_html.document_fromstring(body, parser=parser, base_url=url)


def find_article_links(
    body: bytes, base_url: str, selector: str | None = None, limit: int = 30
) -> list[str]:
    """Article URLs of a listing page, absolute and canonical, de-duplicated, in page order.

    With ``selector`` (CSS), the matched links (or links inside matched elements) are taken as they are;
    without it, same-site links whose path looks like an article's. An invalid selector raises
    ``ValueError``.
    """
    if not body.strip():
        return []
    try:
        doc = _parse_html(body, base_url)
    except (etree.ParserError, ValueError):
        return []
    base = _document_base(doc, base_url)
    anchors = _selected_anchors(doc, selector) if selector else _content_anchors(doc)
    links: dict[str, None] = {}
    listing = web_url(base_url)
    for anchor in anchors:
        url = web_url(str(anchor.get("href", "")), base)
        if not url or url == listing:
            continue
        if selector or is_article_url(url, base_url, " ".join(anchor.text_content().split())):
            links.setdefault(url)
        if len(links) >= limit:
            break
    return list(links)


def _document_base(doc: Any, page_url: str) -> str:
    """A <base href> changes what relative links mean (it may itself be relative)."""
    for base in doc.iter("base"):
        if href := str(base.get("href") or "").strip():
            return urljoin(page_url, href)
    return page_url


def _selected_anchors(doc: Any, selector: str) -> Iterator[Any]:
    try:
        elements = doc.cssselect(selector)
    except SelectorError as exc:  # a configuration mistake: say so rather than find nothing
        raise ValueError(f"invalid CSS selector {selector!r}: {exc}") from exc
    for element in elements:
        if element.tag == "a" and element.get("href"):
            yield element
        else:
            yield from element.iterfind(".//a[@href]")


def _content_anchors(doc: Any) -> Iterator[Any]:
    """Links outside navigation, header, footer and sidebars (those link to sections, not stories)."""
    for anchor in doc.iterfind(".//a[@href]"):
        if not any(a.tag in _BOILERPLATE_CONTAINERS for a in anchor.iterancestors()):
            yield anchor


def is_article_url(url: str, site_url: str, anchor_text: str = "") -> bool:
    """Same site, and a path shaped like an article's: dated, numbered, or a long slug of words.

    Section pages have slugs too ("science-and-environment", "the-high-end"), but short ones, and
    their links read like labels; a story's link usually reads like a headline.
    """
    parts, site = urlsplit(url), urlsplit(site_url)
    if not _same_site(parts.hostname or "", site.hostname or ""):
        return False
    segments = [s for s in parts.path.lower().split("/") if s]
    if not segments or _NON_PAGE_EXTENSIONS.search(parts.path):
        return False
    if any(s in _NOT_ARTICLE_WORDS for s in segments):
        return False
    slug = re.sub(r"\.[a-z]{2,5}$", "", max(segments, key=len))
    slug_words = len(_SLUG_WORD.findall(slug)) if re.search(r"[-_]", slug) else 0
    score = 2 if _DATE_IN_PATH.search(parts.path) else 0
    score += 2 if _ID_IN_PATH.search(parts.path.lower()) else 0
    score += 2 if slug_words >= 5 else 1 if slug_words >= 3 else 0
    score += 1 if len(anchor_text.split()) >= 4 else 0
    return score >= 2


def _same_site(host: str, site: str) -> bool:
    """One registrable domain: www.example.com, news.example.com and example.com are one site."""
    return bool(host) and _registrable_domain(host) == _registrable_domain(site)


def _registrable_domain(host: str) -> str:
    """example.com from a.b.example.com; bbc.co.uk from www.bbc.co.uk (no public-suffix list: a
    2-letter country code after a short second level, like co.uk or com.au, counts as one suffix)."""
    labels = host.lower().rstrip(".").split(".")
    keep = 3 if len(labels) >= 3 and len(labels[-1]) == 2 and len(labels[-2]) <= 3 else 2
    return ".".join(labels[-keep:])


def extract_article(body: bytes, url: str) -> RawEntry | None:
    """The article of a page: title, author, date, language, main text as ``<p>`` HTML, description.

    None when the page holds neither a title nor any main text.
    """
    if not body.strip():
        return None
    try:
        doc = _parse_html(body, url)
    except (etree.ParserError, ValueError):
        return None
    meta = PageMetadata.read(doc)
    extracted = trafilatura.bare_extraction(
        doc, url=url, with_metadata=True, include_comments=False, include_tables=True,
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    found: Any = extracted if extracted is not None else None
    text = str(getattr(found, "text", "") or "")
    title = meta.title or str(getattr(found, "title", "") or "")
    if not title and not text:
        return None
    published = meta.published or parse_date(getattr(found, "date", None))
    return RawEntry(
        title=title,
        link=web_url(meta.canonical, url) or url,
        guid=web_url(meta.canonical, url) or url,
        published=published,
        updated=meta.modified,
        author=meta.author or str(getattr(found, "author", "") or ""),
        summary=html.escape(meta.description or str(getattr(found, "description", "") or ""), quote=False),
        content=_paragraphs(text, title),
        categories=meta.keywords or tuple(getattr(found, "tags", None) or ()),
        language=meta.language or str(getattr(found, "language", "") or ""),
        base=url,
    )


def _paragraphs(text: str, title: str) -> str:
    """One ``<p>`` per line of trafilatura's text; a first line repeating the headline (the <h1>) goes."""
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    if lines and lines[0].casefold() == " ".join(title.split()).casefold():
        lines = lines[1:]
    return paragraphs_html(lines)


class PageMetadata:
    """What a page says about itself, strongest source first for each field."""

    # Order: structured data, then Dublin Core, then social cards, then generic tags.
    _TITLE_KEYS = ("dc:title", "dcterm:title", "dcterms:title", "og:title", "twitter:title",
                   "parsely-title", "sailthru:title", "title", "headline")
    _AUTHOR_KEYS = ("dc:creator", "dcterm:creator", "dcterms:creator", "author", "article:author",
                    "parsely-author", "sailthru:author", "byl")
    _PUBLISHED_KEYS = ("article:published_time", "og:article:published_time", "datepublished",
                       "dc:date:issued", "dcterms:issued", "dc:date", "dcterms:date", "dcterms:created",
                       "parsely-pub-date", "sailthru:date", "pubdate", "publishdate", "date",
                       "article:published")
    _MODIFIED_KEYS = ("article:modified_time", "og:updated_time", "datemodified", "dcterms:modified",
                      "last-modified")
    _DESCRIPTION_KEYS = ("dc:description", "dcterm:description", "dcterms:description", "og:description",
                         "description", "twitter:description")

    def __init__(self) -> None:
        self.title = ""
        self.author = ""
        self.description = ""
        self.canonical = ""
        self.language = ""
        self.published: datetime | None = None
        self.modified: datetime | None = None
        self.keywords: tuple[str, ...] = ()

    @classmethod
    def read(cls, doc: Any) -> PageMetadata:
        meta = cls()
        tags = _meta_tags(doc)
        ld = _json_ld_article(doc)
        meta.title = _clean(_ld_title(ld, _document_title(doc)) or _first_of(tags, cls._TITLE_KEYS)
                            or _document_title(doc))
        meta.author = _clean(_ld_author(ld.get("author")) or _first_of(tags, cls._AUTHOR_KEYS))
        meta.description = _clean(_ld_text(ld.get("description")) or _first_of(tags, cls._DESCRIPTION_KEYS))
        meta.published = (parse_date(_ld_text(ld.get("datePublished")))
                          or parse_date(_first_of(tags, cls._PUBLISHED_KEYS))
                          or _time_element(doc))
        meta.modified = (parse_date(_ld_text(ld.get("dateModified")))
                         or parse_date(_first_of(tags, cls._MODIFIED_KEYS)))
        meta.canonical = _canonical_link(doc) or _first_of(tags, ("og:url",))
        meta.language = _clean(doc.get("lang") or doc.get("{http://www.w3.org/XML/1998/namespace}lang")
                               or _first_of(tags, ("content-language", "dc.language", "og:locale")))
        keywords = _ld_text(ld.get("keywords")) or _first_of(tags, ("news_keywords", "keywords"))
        meta.keywords = tuple(k.strip() for k in keywords.split(",") if k.strip())[:20]
        return meta


def _meta_tags(doc: Any) -> dict[str, str]:
    """<meta name|property|itemprop|http-equiv=... content=...>, keys lower-cased, first one wins."""
    found: dict[str, str] = {}
    metas = [m for m in doc.iter("meta") if (m.get("content") or "").strip()]
    # RDFa "property" is the more deliberate declaration, so it wins over "name" for the same key.
    for attribute in ("property", "name", "itemprop", "http-equiv"):
        for element in metas:
            # "property" may hold several space-separated names (RDFa); "dc.title" means "dc:title".
            for key in (element.get(attribute) or "").lower().replace(".", ":").split():
                found.setdefault(key, element.get("content").strip())
    return found


def _first_of(tags: dict[str, str], keys: tuple[str, ...]) -> str:
    return next((tags[k] for k in keys if tags.get(k)), "")


def _document_title(doc: Any) -> str:
    title = doc.find(".//title")
    return str(title.text_content()) if title is not None else ""


def _canonical_link(doc: Any) -> str:
    for link in doc.iterfind(".//link[@rel]"):
        if "canonical" in (link.get("rel") or "").lower().split():
            return str(link.get("href") or "")
    return ""


def _time_element(doc: Any) -> datetime | None:
    """The first <time datetime> inside the article, else in the page (not in navigation or footers)."""
    for element in doc.xpath("//article//time[@datetime] | //time[@datetime]"):
        when = parse_date(element.get("datetime"))
        if when is not None:
            return when
    return None


_ARTICLE_TYPES = {"article", "newsarticle", "blogposting", "reportagenewsarticle", "analysisnewsarticle",
                  "opinionnewsarticle", "reviewnewsarticle", "backgroundnewsarticle", "techarticle",
                  "scholarlyarticle", "report", "liveblogposting", "posting", "socialmediaposting"}


def _json_ld_article(doc: Any) -> dict[str, Any]:
    """The first JSON-LD object of an article type (looking inside @graph and lists)."""
    for script in doc.iterfind(".//script[@type]"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        try:
            data = json.loads(_CDATA.sub("", script.text or ""))
        except ValueError:
            continue
        for node in _ld_nodes(data):
            types = node.get("@type")
            names = types if isinstance(types, list) else [types]
            if any(isinstance(t, str) and t.lower() in _ARTICLE_TYPES for t in names):
                return node
    return {}


def _ld_nodes(data: object) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _ld_nodes(item)
    elif isinstance(data, dict):
        yield data
        yield from _ld_nodes(data.get("@graph"))
        main = data.get("mainEntity")
        if isinstance(main, dict):
            yield main


def _ld_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ", ".join(v for v in value if isinstance(v, str))
    return ""


def _ld_title(ld: dict[str, Any], page_title: str) -> str:
    """headline; but name when the page's <title> starts with name and does not contain headline.

    (Some sites, Wikipedia among them, put a one-line description into ``headline``; others put the
    site's name into ``name``, which the <title> then ends with rather than starts with.)
    """
    headline, name = _clean(_ld_text(ld.get("headline"))), _clean(_ld_text(ld.get("name")))
    if headline and name and headline != name:
        page = _clean(page_title).casefold()
        if page.startswith(name.casefold()) and headline.casefold() not in page:
            return name
    return headline or name


def _ld_author(value: object) -> str:
    people = value if isinstance(value, list) else [value]
    names = [p if isinstance(p, str) else _ld_text(p.get("name")) if isinstance(p, dict) else ""
             for p in people]
    return ", ".join(dict.fromkeys(n.strip() for n in names if n and n.strip()))


def _clean(text: str) -> str:
    return " ".join(html.unescape(text).split())
