"""Keeping stored markup in the current sanitiser's shape, so that the publisher can trust it.

Normalise sanitises every summary and content at ingest; a database also holds rows an older sanitiser
wrote (another nh3, another policy). The ``meta`` table's "sanitiser" stamp names the sanitiser every stored
row went through. When a Store opens a database stamped otherwise (or unstamped with articles in it, as
every database before this table is), every summary and content is sanitised again, in one transaction,
and the stamp moved: the publisher can then skip its own per-entry check (``Store.markup_current``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from feeder import normalise, sanitised
from feeder.normalise import is_absolute_web_url, sanitise_html
from feeder.store.schema import articles, meta, sources

log = logging.getLogger("feeder.store")
SANITISER = "sanitiser"
_BATCH = 1000


def sanitiser_stamp() -> str:
    """The nh3 release and a digest of the code around it: all of normalise.py, not just sanitise_html,
    since its policy lives in module-level values (an unrelated edit costs one needless pass, never a stale
    row), and of sanitised.py, whose check lets markup past nh3."""
    code = Path(normalise.__file__).read_bytes() + Path(sanitised.__file__).read_bytes()
    return f"nh3 {version('nh3')} normalise {hashlib.blake2b(code, digest_size=8).hexdigest()}"


def sanitise_stored_markup(conn: Connection) -> None:
    """Bring every stored summary and content to the current sanitiser, once per sanitiser, in the caller's
    transaction (which must keep other writers out: ``Store`` takes its turn first)."""
    stamp = sanitiser_stamp()
    if conn.execute(select(meta.c.value).where(meta.c.key == SANITISER)).scalar() == stamp:
        return
    log.info("stored markup: re-sanitising every article for %s", stamp)
    changed = _sanitise_all(conn)
    conn.execute(delete(meta).where(meta.c.key == SANITISER))
    conn.execute(insert(meta).values(key=SANITISER, value=stamp))
    log.info("stored markup: %d articles changed", changed)


def _sanitise_all(conn: Connection) -> int:
    """Every article's summary and content through the current sanitiser, relative links resolved as at
    ingest (against the article, else its source's feed); the number of rows that changed."""
    feeds = {name: url for name, url in conn.execute(select(sources.c.name, sources.c.url))}
    columns = (articles.c.id, articles.c.source, articles.c.url, articles.c.summary, articles.c.content)
    changed, last = 0, 0
    while True:
        rows = conn.execute(select(*columns).where(articles.c.id > last).order_by(articles.c.id).limit(_BATCH)).all()
        if not rows:
            return changed
        last = rows[-1].id
        updates = _updates(rows, feeds)
        if updates:
            conn.execute(update(articles).where(articles.c.id == bindparam("row_id"))
                         .values(summary=bindparam("new_summary"), content=bindparam("new_content")), updates)
        changed += len(updates)


def _updates(rows: Sequence[Any], feeds: Mapping[str, str]) -> list[dict[str, object]]:
    updates: list[dict[str, object]] = []
    for row in rows:
        base = next((url for url in (row.url, feeds.get(row.source, "")) if is_absolute_web_url(url)), "")
        summary, content = sanitise_html(row.summary, base), sanitise_html(row.content, base)
        if (summary, content) != (row.summary, row.content):
            updates.append({"row_id": row.id, "new_summary": summary, "new_content": content})
    return updates
