"""Topic settings that load_config cannot judge alone: queries, and sources/tags that must exist."""

from __future__ import annotations

from feeder.config import Config, ConfigError
from feeder.topics.query import QueryError, parse_query


def check_topics(config: Config) -> None:
    """Raise ConfigError, one line naming the topic, for the first topic that cannot work as written."""
    names = {source.name for source in config.sources}
    tags = {tag for source in config.sources for tag in source.tags}
    for index, topic in enumerate(config.topics):
        where = f"{config.path}: topic[{index}]"
        try:
            parse_query(topic.query)
        except QueryError as exc:
            raise ConfigError(f"{where}.query ({topic.slug}): {exc}") from None
        unknown = [name for name in topic.sources if name not in names]
        if unknown:
            raise ConfigError(f"{where}.sources ({topic.slug}): no source is named {unknown[0]!r}")
        untagged = [tag for tag in topic.tags if tag not in tags]
        if untagged:
            raise ConfigError(f"{where}.tags ({topic.slug}): no source has the tag {untagged[0]!r}")
        if topic.per_source_max < 0:
            raise ConfigError(f"{where}.per_source_max ({topic.slug}): must be 0 (no limit) or more")
