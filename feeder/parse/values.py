"""Small conversions every parser needs: loose JSON values to text, plain text to ``<p>`` HTML."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

_BLANK_LINE = re.compile(r"\n\s*\n")


def text_value(value: object) -> str:
    """Strings stripped; numbers as text (ids are numbers in the wild, though specs say string); else ""."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def paragraphs_html(paragraphs: Iterable[str]) -> str:
    """One escaped ``<p>`` per non-empty paragraph, its whitespace collapsed."""
    cleaned = (" ".join(p.split()) for p in paragraphs)
    return "\n".join(f"<p>{html.escape(p, quote=False)}</p>" for p in cleaned if p)


def plain_text_html(text: str) -> str:
    """Plain text whose paragraphs are separated by blank lines, as ``<p>`` HTML."""
    return paragraphs_html(_BLANK_LINE.split(text))
