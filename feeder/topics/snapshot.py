"""Snapshots: what a Curator knows, as bytes to keep in a file across restarts, so that a start reads again
only the articles that are new or changed since (bench/topics.py, "after a restart" rows).

A snapshot is a cache that never changes an answer: the index finds an article by its version
(``Searchable.identity``), so a stale entry is never looked up. The bytes are trusted only when their header
matches this format, this Python (marshal's format, the Unicode tables fold() uses) and this code (tokenising,
the index's layout, what a url: or /regex/ test reads), and the payload matches its digest: anything else
(a damaged, truncated or older file) reads as None, and the caller starts from nothing.

marshal, not pickle: it builds only plain values (no code runs while reading), and is quicker.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import sys
import unicodedata
from array import array
from functools import cache
from importlib import import_module
from pathlib import Path
from typing import Any

MAGIC = b"feeder-topics-snapshot\n"
FORMAT = 1
_DIGEST = 32
# tokenising, the index's layout, what url: and /regex/ tests read, what the Curator keeps
_CODE = ("feeder.topics.text", "feeder.topics.index", "feeder.topics.query", "feeder.topics.curate",
         "feeder.normalise")


@cache
def fingerprint() -> str:
    """What must be equal for a snapshot's words and tests to be those this process would find."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{FORMAT} {sys.version} {unicodedata.unidata_version} {marshal.version} {sys.byteorder} "
                  f"{array('I').itemsize}".encode())
    for module in _CODE:
        digest.update(Path(str(import_module(module).__file__)).read_bytes())
    return digest.hexdigest()


def encode(value: Any) -> bytes:
    """A header line, then the value as marshal writes it."""
    payload = marshal.dumps(value)
    header = {"fingerprint": fingerprint(), "digest": _digest(payload), "size": len(payload)}
    return MAGIC + json.dumps(header).encode() + b"\n" + payload


def decode(data: bytes) -> Any | None:
    """The value encoded, or None when these bytes cannot be trusted to be one this process encoded."""
    if not data.startswith(MAGIC):
        return None
    line_end = data.find(b"\n", len(MAGIC))
    try:
        header = json.loads(data[len(MAGIC):line_end])
    except ValueError:
        return None
    payload = memoryview(data)[line_end + 1:]
    if (not isinstance(header, dict) or header.get("fingerprint") != fingerprint()
            or header.get("size") != len(payload) or header.get("digest") != _digest(payload)):
        return None
    return marshal.loads(payload)


def _digest(payload: bytes | memoryview) -> str:
    return hashlib.blake2b(payload, digest_size=_DIGEST).hexdigest()
