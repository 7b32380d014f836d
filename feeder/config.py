"""config.toml -> frozen, typed config objects. Every error names the key it is about."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from feeder import __version__

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
SOURCE_KINDS = ("feed", "files", "sitemap", "page")
DEDUP_LEVELS = ("headline", "story")
DEDUP_ENGINES = ("lexical", "semantic")
RANKINGS = ("newest", "coverage")
T = TypeVar("T")


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True, slots=True)
class SourceConfig:
    name: str
    kind: str = "feed"
    url: str = ""
    path: Path | None = None
    title: str = ""
    tags: tuple[str, ...] = ()
    interval: timedelta | None = None  # None: [fetch] interval
    priority: int = 0
    links: str = ""  # CSS selector for article links on a `page` source
    max_articles: int = 30
    full_text: bool = False


@dataclass(frozen=True, slots=True)
class TopicConfig:
    slug: str
    title: str
    query: str = ""
    sources: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    max_items: int = 50
    max_age: timedelta | None = None
    min_outlets: int = 1
    per_source_max: int = 0  # 0: no limit
    rank: str = "newest"


@dataclass(frozen=True, slots=True)
class FetchConfig:
    interval: timedelta = timedelta(minutes=30)
    timeout: timedelta = timedelta(seconds=30)
    max_bytes: int = 16 * 1024 * 1024
    concurrency: int = 50
    per_host: int = 4
    user_agent: str = f"feeder/{__version__} (+https://github.com/feeder/feeder)"


@dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    websub_hub: str = ""


@dataclass(frozen=True, slots=True)
class DedupConfig:
    level: str = "headline"
    window: timedelta = timedelta(hours=48)
    engine: str = "lexical"


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    base_url: str
    state_dir: Path
    database: str
    keep: timedelta | None = None
    title: str = "feeder"
    server: ServerConfig = field(default_factory=ServerConfig)
    fetch: FetchConfig = field(default_factory=FetchConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    sources: tuple[SourceConfig, ...] = ()
    topics: tuple[TopicConfig, ...] = ()

    @property
    def public_dir(self) -> Path:
        return self.state_dir / "public"

    def source(self, name: str) -> SourceConfig | None:
        return next((s for s in self.sources if s.name == name), None)

    def interval_of(self, source: SourceConfig) -> timedelta:
        return source.interval or self.fetch.interval


def parse_duration(text: str) -> timedelta:
    """'90s', '15m', '2h', '1d', '1w' -> timedelta."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration like '90s', '15m', '2h' or '1d'")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def load_config(path: Path) -> Config:
    """Read and validate a config file; raises ConfigError naming the key on any problem."""
    path = path.resolve()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return _build(path, data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


class _Table:
    """A TOML table read with its dotted name, so that every error can say which key is wrong."""

    def __init__(self, name: str, data: Any) -> None:
        if not isinstance(data, dict):
            raise ConfigError(f"{name}: must be a table")
        self.name = name
        self.data: dict[str, Any] = data
        self.read: set[str] = set()

    def key(self, key: str) -> str:
        return f"{self.name}.{key}" if self.name else key

    def get(self, key: str, kind: type[T], default: T) -> T:
        self.read.add(key)
        value = self.data.get(key, default)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigError(f"{self.key(key)}: must be {_kind_name(kind)}, not {value!r}")
        return value

    def convert(self, key: str, default: T, conv: Callable[[Any], T]) -> T:
        self.read.add(key)
        if key not in self.data:
            return default
        try:
            return conv(self.data[key])
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{self.key(key)}: {exc}") from None

    def strings(self, key: str) -> tuple[str, ...]:
        values = self.get(key, list, [])
        if not all(isinstance(v, str) for v in values):
            raise ConfigError(f"{self.key(key)}: must be a list of strings")
        return tuple(values)

    def positive(self, key: str, default: int) -> int:
        value = self.get(key, int, default)
        if value < 1:
            raise ConfigError(f"{self.key(key)}: must be at least 1, not {value}")
        return value

    def table(self, key: str) -> _Table:
        self.read.add(key)
        return _Table(self.key(key), self.data.get(key, {}))

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.read)
        if unknown:
            raise ConfigError(f"{self.key(unknown[0])}: unknown key")


def _kind_name(kind: type) -> str:
    return {str: "a string", int: "an integer", bool: "true or false", list: "a list",
            float: "a number"}.get(kind, kind.__name__)


def _duration(value: Any) -> timedelta:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a duration like '90s', '15m', '2h' or '1d'")
    duration = parse_duration(value)
    if duration <= timedelta(0):
        raise ValueError("must be longer than zero")
    return duration


def _build(path: Path, data: dict[str, Any]) -> Config:
    root = _Table("", data)
    feeder = root.table("feeder")
    server = _server(root.table("server"))
    state_dir = (path.parent / feeder.get("state_dir", str, "var")).resolve()
    config = Config(
        path=path,
        base_url=feeder.get("base_url", str, "").rstrip("/") or f"http://{server.host}:{server.port}",
        state_dir=state_dir,
        database=_database(feeder, path.parent),
        keep=feeder.convert("keep", None, _duration),
        title=feeder.get("title", str, "feeder"),
        server=server,
        fetch=_fetch(root.table("fetch")),
        dedup=_dedup(root.table("dedup")),
        sources=_sources(root, path.parent),
        topics=_topics(root),
    )
    feeder.finish()
    root.finish()
    return config


def _database(feeder: _Table, config_dir: Path) -> str:
    url = feeder.get("database", str, "")
    if not url:
        state_dir = (config_dir / feeder.get("state_dir", str, "var")).resolve()
        return f"sqlite:///{state_dir / 'feeder.db'}"
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite:///:memory:":
        return prefix + str((config_dir / url[len(prefix):]).resolve())  # relative to the config file
    if "://" not in url:
        raise ConfigError(f"{feeder.key('database')}: {url!r} is not a database URL like sqlite:///var/feeder.db")
    return url


def _server(table: _Table) -> ServerConfig:
    port = table.get("port", int, 8080)
    if not 0 <= port <= 65535:
        raise ConfigError(f"{table.key('port')}: {port} is not a TCP port")
    server = ServerConfig(host=table.get("host", str, "127.0.0.1"), port=port,
                          websub_hub=table.get("websub_hub", str, ""))
    table.finish()
    return server


def _fetch(table: _Table) -> FetchConfig:
    default = FetchConfig()
    fetch = FetchConfig(
        interval=table.convert("interval", default.interval, _duration),
        timeout=table.convert("timeout", default.timeout, _duration),
        max_bytes=table.positive("max_bytes", default.max_bytes),
        concurrency=table.positive("concurrency", default.concurrency),
        per_host=table.positive("per_host", default.per_host),
        user_agent=table.get("user_agent", str, default.user_agent),
    )
    table.finish()
    return fetch


def _dedup(table: _Table) -> DedupConfig:
    level = table.get("level", str, "headline")
    if level not in DEDUP_LEVELS:
        raise ConfigError(f"{table.key('level')}: must be one of {', '.join(DEDUP_LEVELS)}, not {level!r}")
    engine = table.get("engine", str, "lexical")
    if engine not in DEDUP_ENGINES:
        raise ConfigError(f"{table.key('engine')}: must be one of {', '.join(DEDUP_ENGINES)}, not {engine!r}")
    if engine == "semantic":
        from feeder.dedup.semantic import missing_extra  # finds the packages without importing torch

        if (missing := missing_extra()) is not None:
            raise ConfigError(missing)
    dedup = DedupConfig(level=level, window=table.convert("window", timedelta(hours=48), _duration), engine=engine)
    table.finish()
    return dedup


def _array(root: _Table, key: str) -> list[_Table]:
    items = root.get(key, list, [])
    return [_Table(f"{key}[{i}]", item) for i, item in enumerate(items)]


def _sources(root: _Table, config_dir: Path) -> tuple[SourceConfig, ...]:
    sources = [_source(table, config_dir) for table in _array(root, "source")]
    _unique(sources, "source", "name")
    return tuple(sources)


def _source(table: _Table, config_dir: Path) -> SourceConfig:
    name = _slug(table, "name")
    kind = table.get("kind", str, "feed")
    if kind not in SOURCE_KINDS:
        raise ConfigError(f"{table.key('kind')}: must be one of {', '.join(SOURCE_KINDS)}, not {kind!r}")
    url = table.get("url", str, "")
    raw_path = table.get("path", str, "")
    if kind == "files":
        if not raw_path:
            raise ConfigError(f"{table.key('path')}: a files source needs a folder path")
    elif not url.lower().startswith(("http://", "https://")):
        raise ConfigError(f"{table.key('url')}: a {kind} source needs an http(s) URL, not {url!r}")
    source = SourceConfig(
        name=name,
        kind=kind,
        url=url,
        path=(config_dir / raw_path).resolve() if raw_path else None,
        title=table.get("title", str, ""),
        tags=table.strings("tags"),
        interval=table.convert("interval", None, _duration),
        priority=table.get("priority", int, 0),
        links=table.get("links", str, ""),
        max_articles=table.positive("max_articles", 30),
        full_text=table.get("full_text", bool, False),
    )
    table.finish()
    return source


def _topics(root: _Table) -> tuple[TopicConfig, ...]:
    topics = [_topic(table) for table in _array(root, "topic")]
    _unique(topics, "topic", "slug")
    return tuple(topics)


def _topic(table: _Table) -> TopicConfig:
    slug = _slug(table, "slug")
    rank = table.get("rank", str, "newest")
    if rank not in RANKINGS:
        raise ConfigError(f"{table.key('rank')}: must be one of {', '.join(RANKINGS)}, not {rank!r}")
    topic = TopicConfig(
        slug=slug,
        title=table.get("title", str, slug),
        query=table.get("query", str, ""),
        sources=table.strings("sources"),
        tags=table.strings("tags"),
        max_items=table.positive("max_items", 50),
        max_age=table.convert("max_age", None, _duration),
        min_outlets=table.positive("min_outlets", 1),
        per_source_max=table.get("per_source_max", int, 0),
        rank=rank,
    )
    table.finish()
    return topic


def _slug(table: _Table, key: str) -> str:
    value = table.get(key, str, "")
    if not SLUG.match(value):
        raise ConfigError(f"{table.key(key)}: {value!r} must be lower-case letters, digits and '-'")
    return value


def _unique(items: list[Any], section: str, key: str) -> None:
    seen: set[str] = set()
    for index, item in enumerate(items):
        value = getattr(item, key)
        if value in seen:
            raise ConfigError(f"{section}[{index}].{key}: {value!r} is used twice")
        seen.add(value)
