"""`feeder sources import|export`: subscriptions in and out as OPML, the config file edited in place.

Import keeps the config file as the user wrote it (comments, order, formatting) by editing it with
tomlkit, and refuses to write a file that `load_config` would reject.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

import tomlkit
from lxml import etree

from feeder.config import ConfigError, SourceConfig, load_config

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    url: str
    title: str = ""
    tags: tuple[str, ...] = ()  # the folders (parent outlines) it sits in


def read_opml(data: bytes) -> list[OpmlFeed]:
    """Every outline with an xmlUrl, in document order; folders become tags. Raises ValueError."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"not OPML: {exc}") from None
    body = root.find("body")
    if root.tag != "opml" or body is None:
        raise ValueError("not OPML: no <opml><body>")
    return list(_outlines(body, ()))


def _outlines(parent: etree._Element, folders: tuple[str, ...]) -> list[OpmlFeed]:
    feeds = []
    for outline in parent.iterchildren("outline"):
        label = (outline.get("title") or outline.get("text") or "").strip()
        url = (outline.get("xmlUrl") or "").strip()
        if url:
            feeds.append(OpmlFeed(url, label, folders))
        feeds.extend(_outlines(outline, folders + ((_slug(label),) if label and not url else ())))
    return feeds


def write_opml(sources: Sequence[SourceConfig], title: str) -> bytes:
    """The config's web sources as OPML 2.0 (a `files` source has no URL to subscribe to)."""
    lines = [
        f'    <outline type="rss" text={quoteattr(s.title or s.name)} title={quoteattr(s.title or s.name)} '
        f'xmlUrl={quoteattr(s.url)}' + (f" category={quoteattr(','.join(s.tags))}" if s.tags else "") + "/>"
        for s in sources
        if s.url
    ]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">\n'
        f"  <head>\n    <title>{quoteattr(title)[1:-1]} sources</title>\n  </head>\n  <body>\n"
        + "\n".join(lines)
        + "\n  </body>\n</opml>\n"
    ).encode()


def add_to_config(config_path: Path, feeds: Sequence[OpmlFeed]) -> list[str]:
    """Append a [[source]] per feed not configured yet; returns the names added. Raises ConfigError."""
    config = load_config(config_path)
    document = tomlkit.parse(config_path.read_text(encoding="utf-8"))
    taken = {s.name for s in config.sources}
    known_urls = {s.url for s in config.sources}
    added = []
    for feed in feeds:
        if feed.url in known_urls:
            continue
        name = _unique(_slug(feed.title) or _slug(feed.url.split("//")[-1]) or "source", taken)
        table = tomlkit.table()
        table.add("name", name)
        table.add("url", feed.url)
        if feed.title:
            table.add("title", feed.title)
        if feed.tags:
            table.add("tags", list(feed.tags))
        document.setdefault("source", tomlkit.aot()).append(table)
        taken.add(name)
        known_urls.add(feed.url)
        added.append(name)
    if added:
        _replace_checked(config_path, tomlkit.dumps(document))
    return added


def _replace_checked(path: Path, text: str) -> None:
    """Write the new config beside the old one, check it loads, then swap it in."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".toml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        load_config(Path(temp))
        os.chmod(temp, path.stat().st_mode & 0o777)
        os.replace(temp, path)
    except ConfigError as exc:
        Path(temp).unlink(missing_ok=True)
        raise ConfigError(f"the imported sources would make an invalid config: {exc}") from None
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return _NOT_SLUG.sub("-", folded).strip("-")[:60].strip("-")


def _unique(name: str, taken: set[str]) -> str:
    candidate, number = name, 2
    while candidate in taken:
        candidate, number = f"{name}-{number}", number + 1
    return candidate
