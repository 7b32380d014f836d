"""Plain-text dumps of news pages: headline, byline, dateline, highlights and body, minus page furniture.

A dump is what a browser's "save as text" or a scraper leaves: the words of the page in reading order,
with the site's furniture (banner ids, image placeholders, photo captions, promo lines) mixed in. The
rules below recognise each kind of furniture by its shape, not by one site's wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from feeder.model import RawEntry
from feeder.parse.dates import parse_date
from feeder.parse.values import paragraphs_html

# Offsets in seconds. CST is read as US Central (the more common use in English-language news).
TIMEZONE_OFFSETS: dict[str, int] = {
    "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "BST": 3600, "IST": 19800, "WEST": 3600,
    "CET": 3600, "CEST": 7200, "EET": 7200, "EEST": 10800, "MSK": 10800,
    "EST": -18000, "EDT": -14400, "CST": -21600, "CDT": -18000, "MST": -25200, "MDT": -21600,
    "PST": -28800, "PDT": -25200, "AKST": -32400, "AKDT": -28800, "HST": -36000,
    "AST": -14400, "ADT": -10800, "NST": -12600, "NDT": -9000,
    "PKT": 18000, "NPT": 20700, "BDT": 21600, "ICT": 25200, "WIB": 25200, "SGT": 28800, "HKT": 28800,
    "PHT": 28800, "AWST": 28800, "JST": 32400, "KST": 32400, "ACST": 34200, "AEST": 36000,
    "AEDT": 39600, "NZST": 43200, "NZDT": 46800, "SAST": 7200, "WAT": 3600, "CAT": 7200, "EAT": 10800,
    "GST": 14400,
}

_BULLET = re.compile(r"^\s*(?:[-*•·▪●\u2013]|\d{1,2}[.)])\s+")
# Single-token ids a page template leaves behind: ugc_banner, ad_slot_2, TOP_NAV.
_BANNER_ID = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+$")
_FURNITURE_WORDS = frozenset(
    {"advertisement", "advertisements", "sponsored", "ad", "ads", "promoted", "skip to content",
     "skip to main content", "share", "share this article", "share this", "comments", "loading...",
     "loading", "listen to this article", "follow us", "subscribe"}
)
_IMAGE_PLACEHOLDER = re.compile(
    r"^\[?\(?(?:(?:main|hero|lead|lede|featured|top|cover|article|inline|story)\s+)?"
    r"(?:img|image|photo|picture|pic|figure|thumbnail|video|gallery|graphic)(?:\s*\d+)?\)?\]?$"
    r"|^\[(?:image|photo|picture|img|video)\b[^\]]*\]$"
    r"|^\S+\.(?:jpe?g|png|gif|webp|avif|svg)$",
    re.IGNORECASE,
)
# A credit at the end of a caption: "... Photograph:(AFP)", "... Photo: Reuters", "Image credit: Getty".
_CAPTION_CREDIT = re.compile(
    r"\b(?:photograph|photo|image|picture|pic|file photo|photo credit|image credit|credit|courtesy|"
    r"source)s?\s*(?:credit)?\s*[:|]\s*\(?(?-i:[A-Z])[^.!?]{0,60}\)?\s*$",
    re.IGNORECASE,
)
_AGENCY_CREDIT = re.compile(
    r"\((?:reuters|afp|ap|ap photo|pti|ani|ians|epa|getty|getty images|bloomberg|xinhua|dpa|"
    r"file|file photo|representational image|representative image|twitter|instagram)"
    r"(?:[/ ][^)]{0,40})?\)\s*$",
    re.IGNORECASE,
)
# "Home > World > Europe", "News | UK": navigation trails of short parts.
_BREADCRUMB = re.compile(r"^[\w&'-]+(?: [\w&'-]+){0,2}(?:\s+[>»/|]\s+[\w&'-]+(?: [\w&'-]+){0,2})+$")
_HIGHLIGHTS_HEADER = re.compile(
    r"^(?:story highlights|highlights|key points|key takeaways|the big picture|in brief|in short|"
    r"at a glance|quick read|summary|tl;?dr)\s*:?$",
    re.IGNORECASE,
)
_PROMO = re.compile(
    r"^(?:watch|also watch|also read|read more|read also|read|also see|see also|related|related news|"
    r"recommended|listen|must read|don't miss|trending|more from|click here|sign up|subscribe|"
    r"follow us|download the app|get the app|catch all the|explore more)"
    r"(?:\s+(?:also|more|here|now|this))?\s*[|:\u2013\u2014>»-]",
    re.IGNORECASE,
)
# "New DelhiUpdated: Jan 27, 2022, 08:39 PM IST": the place name is often glued to the keyword.
_DATELINE = re.compile(
    r"(?P<kind>last updated|updated|first published|published|posted|modified|edited)"
    r"(?:\s+(?:on|at))?\s*[:|-]?\s*(?P<when>.+)$",
    re.IGNORECASE,
)
_BYLINE = re.compile(r"^(?:by|written by|words by|reported by|author|authors|reporter)\s*[:|]?\s+(.+)$",
                     re.IGNORECASE)
_LEADING_PLACE = re.compile(r"^[^\W\d][\w .'-]{1,40},\s*")
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
_RELATIVE_DATE = re.compile(r"\b(?:ago|today|yesterday|tomorrow|just now)\b", re.IGNORECASE)
_URL_LINE = re.compile(r"^https?://\S+$")
_SENTENCE_END = re.compile(r"[.!?…:;\"\u201d\u2019')\]]$")


@dataclass
class _Dump:
    """What has been recognised so far, while walking the dump's lines in reading order."""

    title: str = ""
    author: str = ""
    link: str = ""
    published: datetime | None = None
    updated: datetime | None = None
    highlights: list[list[str]] = field(default_factory=list)
    paragraphs: list[list[str]] = field(default_factory=list)
    in_highlights: bool = False
    bulleted: bool = False  # the highlights are a bullet list, not a paragraph
    body_started: bool = False


def parse_text_dump(text: str) -> RawEntry:
    """Read a plain-text page dump into one entry; summary and content are simple ``<p>`` HTML."""
    dump = _Dump()
    for block in _blocks(text):
        _read_block(dump, block)
    return RawEntry(
        title=dump.title,
        link=dump.link,
        published=dump.published,
        updated=dump.updated,
        author=dump.author,
        summary=paragraphs_html(" ".join(p) for p in dump.highlights),
        content=paragraphs_html(" ".join(p) for p in dump.paragraphs),
    )


def _blocks(text: str) -> list[list[str]]:
    """Blank-line separated blocks of stripped lines (a line of only spaces counts as blank)."""
    blocks: list[list[str]] = [[]]
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "").split("\n"):
        line = " ".join(raw.split())
        if line:
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def _read_block(dump: _Dump, block: list[str]) -> None:
    # Highlights run to the end of their block, or on through blocks that are all bullets.
    if dump.in_highlights and dump.highlights and not all(_BULLET.match(line) for line in block):
        dump.in_highlights = False
    paragraph: list[str] = []
    for line in block:
        if _read_header_line(dump, line):
            continue
        if dump.in_highlights and _read_highlight(dump, line):
            continue
        if paragraph and _ends_paragraph(paragraph[-1]):
            dump.paragraphs.append(paragraph)
            paragraph = []
        paragraph.append(line)
        dump.body_started = True
    if paragraph:
        dump.paragraphs.append(paragraph)


def _read_highlight(dump: _Dump, line: str) -> bool:
    """Bullets are one highlight each; a plain highlight is one paragraph (wrapped lines joined).

    False once a plain paragraph has ended: in dumps without blank lines the body follows directly.
    """
    if _BULLET.match(line):
        dump.highlights.append([_BULLET.sub("", line)])
        dump.bulleted = True
        return True
    last = dump.highlights[-1] if dump.highlights else None
    if last is None:
        dump.highlights.append([line])
        return True
    if not dump.bulleted and not _SENTENCE_END.search(last[-1]) and len(dump.highlights) == 1:
        last.append(line)
        return True
    dump.in_highlights = False
    return False


def _ends_paragraph(line: str) -> bool:
    """Dumps with one paragraph per line and no blank lines: a long line ending a sentence ends one."""
    return len(line) > 60 and bool(_SENTENCE_END.search(line))


def _read_header_line(dump: _Dump, line: str) -> bool:
    """Consume furniture and header lines (title, byline, dateline); True when the line is used up."""
    if is_furniture(line):
        return True
    if _HIGHLIGHTS_HEADER.match(line):
        # Before the body it introduces the summary; inside the body it is only a sub-heading.
        dump.in_highlights = not dump.body_started
        return True
    if not dump.body_started and _read_dateline(dump, line):
        return True
    if not dump.title or _replaces_label_title(dump, line):
        dump.title = line
        return True
    if dump.body_started or dump.in_highlights:
        return False
    if not dump.link and _URL_LINE.match(line):
        dump.link = line
        return True
    if not dump.author and (author := _byline(line)):
        dump.author = author
        return True
    # Before the body, a short line that is no sentence is a label (outlet, section, place), not text.
    return len(line.split()) < 8 and not _SENTENCE_END.search(line)


def _replaces_label_title(dump: _Dump, line: str) -> bool:
    """A one- or two-word first line ("World", "Opinion") is a section label when a real headline follows."""
    return (
        len(dump.title.split()) < 3
        and len(line.split()) >= 3
        and not (dump.author or dump.published or dump.body_started or dump.in_highlights)
        and not _byline(line)
        and len(line) < 300
    )


def is_furniture(line: str) -> bool:
    """Page furniture: template ids, image placeholders, photo captions, promo and share lines."""
    lowered = line.lower().strip(" .:|")
    return bool(
        lowered in _FURNITURE_WORDS
        or _BANNER_ID.match(line)
        or _IMAGE_PLACEHOLDER.match(line)
        or (len(line) < 300 and (_CAPTION_CREDIT.search(line) or _AGENCY_CREDIT.search(line)))
        or _PROMO.match(line)
        or _BREADCRUMB.match(line)
    )


def _byline(line: str) -> str:
    """The author named by a header line: "By Jane Doe", or a short name-like line such as "WION Web Team"."""
    for part in re.split(r"\s+[|·•]\s+", line):
        if match := _BYLINE.match(part):
            return match.group(1).strip(" ,|")
    words = line.split()
    looks_like_name = (
        1 <= len(words) <= 6
        and not _SENTENCE_END.search(line)
        and not any(ch.isdigit() for ch in line)
        and all(w[0].isupper() or w.lower() in {"and", "of", "de", "van", "von", "&"} for w in words)
    )
    return line if looks_like_name else ""


def _read_dateline(dump: _Dump, line: str) -> bool:
    """A "Published: … | Updated: …" line (possibly glued to a place or byline), or a bare date line."""
    found = False
    for part in re.split(r"\s+[|·•]\s+|\s*;\s*", line):
        match = _DATELINE.search(part)
        if match and (when := parse_loose_date(match.group("when"))):
            found = True
            if match.group("kind").lower() in {"last updated", "updated", "modified", "edited"}:
                dump.updated = when
            else:
                dump.published = when
            prefix = part[: match.start()].strip()
            if not dump.author and prefix and (author := _byline(prefix)) and author.startswith("By"):
                dump.author = author
        elif (bare := _bare_date(part)) is not None:
            found = True
            dump.published = dump.published or bare
    if found and dump.updated and not dump.published:
        # A page that shows only "Updated:" was first published then as far as the reader can tell.
        dump.published = dump.updated
    return found


def _bare_date(text: str) -> datetime | None:
    """A short line that is nothing but a date and time, e.g. "January 5, 2024 3:04 PM EST"."""
    if len(text) > 60 or len(text.split()) > 9:
        return None
    # "Brussels, 20.12.2023 06:15 CET": a place name may lead the date.
    return parse_loose_date(text, fuzzy=False) or parse_loose_date(_LEADING_PLACE.sub("", text), fuzzy=False)


def parse_loose_date(text: str, fuzzy: bool = True) -> datetime | None:
    """A human-written date with an optional timezone abbreviation, as UTC; naive times count as UTC."""
    text = text.strip().strip("|").strip()
    text = re.sub(r"\b(\d{1,2})\.(\d{2})\s*(am|pm)\b", r"\1:\2 \3", text, flags=re.IGNORECASE)
    # A date without a year, or a relative one, would be guessed relative to today: not a date we know.
    if not _YEAR.search(text) or _RELATIVE_DATE.search(text):
        return None
    return parse_date(text, tzinfos=TIMEZONE_OFFSETS, fuzzy=fuzzy)
