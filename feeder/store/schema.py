"""Tables. SQLAlchemy Core, so that the same schema serves SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out (SQLite keeps no zone and returns naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        # process_bind_param and SQLite's own DATETIME formatting in one step, one call per value: a cold
        # ingest binds three dates per article (bench/store.py times the writer).
        def to_text(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError("naive datetime given to the store")
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

        return to_text

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

sources = Table(
    "sources",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("url", Text, nullable=False, default=""),
    Column("title", Text, nullable=False, default=""),
    Column("link", Text, nullable=False, default=""),
    Column("etag", Text, nullable=False, default=""),
    Column("last_modified", Text, nullable=False, default=""),
    Column("last_attempt", UTCDateTime),
    Column("last_success", UTCDateTime),
    Column("status", Integer, nullable=False, default=0),
    Column("error", Text, nullable=False, default=""),
    Column("failures", Integer, nullable=False, default=0),
    Column("next_fetch", UTCDateTime),
    Column("entries_seen", Integer, nullable=False, default=0),
    Column("gone", Boolean, nullable=False, default=False),
    Column("redirect_to", Text, nullable=False, default=""),
    Column("config_url", Text, nullable=False, default=""),
    Index("ix_sources_next_fetch", "next_fetch"),
)

stories = Table(
    "stories",
    metadata,
    Column("id", Integer, primary_key=True),
    # Derived from the first article's source and guid: stable across databases, restarts and crashes.
    Column("uid", String(32), nullable=False, unique=True),
    Column("canonical_id", Integer, nullable=True),
    Column("first_published", UTCDateTime, nullable=False),
    Column("updated", UTCDateTime, nullable=False),
    Index("ix_stories_first_published", "first_published"),
)

articles = Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(100), nullable=False),
    Column("guid", Text, nullable=False),
    Column("url", Text, nullable=False, default=""),
    Column("title", Text, nullable=False),
    Column("author", Text, nullable=False, default=""),
    Column("summary", Text, nullable=False, default=""),
    Column("content", Text, nullable=False, default=""),
    Column("categories", Text, nullable=False, default=""),  # joined by \x1f
    Column("language", String(16), nullable=False, default=""),
    Column("published", UTCDateTime, nullable=False),
    Column("updated", UTCDateTime, nullable=False),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("content_hash", String(32), nullable=False),
    Column("story_id", Integer, ForeignKey("stories.id"), nullable=False),
    UniqueConstraint("source", "guid", name="uq_articles_source_guid"),
    Index("ix_articles_story", "story_id"),
    Index("ix_articles_published", "published"),
)

# Facts about the database as a whole, by key: "sanitiser" names the sanitiser that every stored summary
# and content went through (feeder/store/migrate.py).
meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
