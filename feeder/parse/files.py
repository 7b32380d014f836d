"""A local folder as a source: ``.txt`` page dumps, ``.html`` pages and ``.json`` article objects.

One unreadable file must not hide the others: it is named in ``ParsedFeed.problem`` and skipped.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from feeder.model import ParsedFeed, RawEntry
from feeder.parse.dates import parse_date
from feeder.parse.pages import extract_article
from feeder.parse.text import parse_text_dump
from feeder.parse.values import plain_text_html, text_value

# A larger "article" is a mistake (a database dump, a video): report it rather than read it into memory.
MAX_FILE_BYTES = 20 * 1024 * 1024
_MARKUP = re.compile(r"</?[A-Za-z][^<>]*>")


class UnreadableFile(Exception):
    """A file that is there but holds no article we can read; the message says why."""


def read_folder(folder: Path) -> ParsedFeed:
    """Every supported file under ``folder`` (recursively, hidden files skipped), in path order.

    Files of other kinds are ignored silently (a README beside the articles is not an error).
    """
    if not folder.is_dir():
        return ParsedFeed(problem=f"{folder}: not a readable folder")
    entries: list[RawEntry] = []
    problems: list[str] = []
    for path in sorted(p for p in folder.rglob("*") if _is_candidate(p, folder)):
        relative = path.relative_to(folder).as_posix()
        try:
            entries.extend(_read_file(path, relative))
        except (OSError, UnreadableFile) as exc:
            problems.append(f"{relative}: {_reason(exc)}")
    return ParsedFeed(
        title=folder.name,
        link=folder.resolve().as_uri(),
        entries=tuple(entries),
        problem="\n".join(problems),
    )


def _is_candidate(path: Path, folder: Path) -> bool:
    parts = path.relative_to(folder).parts
    return (
        path.suffix.lower() in _READERS
        and not any(part.startswith(".") for part in parts)
        and path.is_file()
    )


def _read_file(path: Path, relative: str) -> list[RawEntry]:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise UnreadableFile(f"too large ({size} bytes, limit {MAX_FILE_BYTES})")
    body = path.read_bytes()
    if not body.strip():
        raise UnreadableFile("empty file")
    entries = _READERS[path.suffix.lower()](body, path)
    # guid: stable per file, so the same file is the same article on every pass; content hash
    # (downstream) tells whether it changed.
    guid = f"file:{relative}"
    if len(entries) == 1:
        return [dataclasses.replace(entries[0], guid=guid)]
    return [dataclasses.replace(e, guid=f"{guid}#{i}") for i, e in enumerate(entries)]


def _read_text(body: bytes, _path: Path) -> list[RawEntry]:
    if b"\x00" in body[:8192]:
        raise UnreadableFile("binary data, not text")
    entry = parse_text_dump(_decode_text(body))
    if not entry.title or not entry.content:
        raise UnreadableFile("no headline and body found in the text")
    return [entry]


def _decode_text(body: bytes) -> str:
    for encoding in ("utf-8-sig", "utf-16") if body[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig",):
        try:
            return body.decode(encoding)
        except UnicodeDecodeError:
            continue
    # Not UTF-8: Windows-1252 decodes every byte; for a text dump that is the likeliest legacy encoding.
    return body.decode("cp1252", errors="replace")


def _read_html(body: bytes, path: Path) -> list[RawEntry]:
    if b"<" not in body[:65536]:
        raise UnreadableFile("no HTML markup")
    entry = extract_article(body, path.resolve().as_uri())
    if entry is None or not entry.content:
        raise UnreadableFile("no article text found in the page")
    # The file:// URI stood in for the page's address; a page's own canonical http(s) URL is kept.
    if entry.link.startswith("file:"):
        entry = dataclasses.replace(entry, link="")
    return [entry]


def _read_json(body: bytes, _path: Path) -> list[RawEntry]:
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise UnreadableFile(f"invalid JSON ({exc})") from exc
    objects = data if isinstance(data, list) else [data]
    if not objects or not all(isinstance(o, dict) for o in objects):
        raise UnreadableFile("expected an article object or a list of them")
    entries = [_json_article(o) for o in objects]
    if not any(e.title or e.content for e in entries):
        raise UnreadableFile("no object has a title or content")
    return [e for e in entries if e.title or e.content]


def _json_article(obj: dict[str, Any]) -> RawEntry:
    """{title, url, published, author, content} plus the optional summary, updated, id, tags, language."""
    tags = obj.get("categories", obj.get("tags"))
    author = obj.get("author")
    return RawEntry(
        title=text_value(obj.get("title")),
        link=text_value(obj.get("url") or obj.get("link")),
        guid=text_value(obj.get("id") or obj.get("guid")),
        published=parse_date(obj.get("published") or obj.get("date")),
        updated=parse_date(obj.get("updated")),
        author=text_value(author.get("name")) if isinstance(author, dict) else text_value(author),
        summary=text_value(obj.get("summary") or obj.get("description")),
        content=_as_html(text_value(obj.get("content") or obj.get("content_html") or obj.get("text"))),
        categories=tuple(text_value(t) for t in tags if text_value(t)) if isinstance(tags, list) else (),
        language=text_value(obj.get("language") or obj.get("lang")),
    )


def _as_html(content: str) -> str:
    """Plain-text content becomes paragraphs; content that already has markup is left as it is."""
    return content if _MARKUP.search(content) else plain_text_html(content)


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return " ".join(str(exc).split())[:200]


_READERS: dict[str, Callable[[bytes, Path], list[RawEntry]]] = {
    ".txt": _read_text,
    ".html": _read_html,
    ".htm": _read_html,
    ".json": _read_json,
}
