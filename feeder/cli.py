"""The commands. Each is a thin call into the stages."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from feeder import __version__
from feeder.compiled import stale_warning
from feeder.config import Config, ConfigError, load_config
from feeder.topics import QueryError, check_topics, parse_query

log = logging.getLogger("feeder")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _setup_logging(args.verbose)
    if stale := stale_warning():
        log.warning("%s", stale)
    try:
        config = load_config(Path(args.config))
        _check_queries(config)
    except ConfigError as exc:
        print(f"feeder: {exc}", file=sys.stderr)
        return 2
    result: int = args.func(config, args)
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="feeder", description="Many article sources in, a few curated, deduplicated topic feeds out."
    )
    parser.add_argument("--version", action="version", version=f"feeder {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=os.environ.get("FEEDER_CONFIG", "config.toml"),
                        help="config file (default: ./config.toml, or $FEEDER_CONFIG)")
    common.add_argument("-v", "--verbose", action="store_true", help="log every fetch, not only news")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", parents=[common], help="the daemon: fetch on schedule, publish, serve")
    run.set_defaults(func=_run)
    fetch = commands.add_parser("fetch", parents=[common], help="fetch sources, dedup and publish")
    fetch.add_argument("--once", action="store_true", required=True, help="one full cycle, then exit")
    fetch.set_defaults(func=_fetch_once)
    check = commands.add_parser("check", parents=[common], help="validate the config and topic queries")
    check.set_defaults(func=_check)
    status = commands.add_parser("status", parents=[common], help="per-source fetch state")
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    status.set_defaults(func=_status)
    topics = commands.add_parser("topics", parents=[common], help="inspect topics")
    topic_commands = topics.add_subparsers(dest="topics_command", required=True, metavar="SUBCOMMAND")
    test = topic_commands.add_parser("test", parents=[common], help="stored stories a query would match")
    test.add_argument("query")
    test.add_argument("--limit", type=int, default=20)
    test.set_defaults(func=_topics_test)
    listing = topic_commands.add_parser("list", parents=[common], help="each topic with its item count")
    listing.set_defaults(func=_topics_list)
    sources = commands.add_parser("sources", parents=[common], help="import or export sources as OPML")
    source_commands = sources.add_subparsers(dest="sources_command", required=True, metavar="SUBCOMMAND")
    importing = source_commands.add_parser("import", parents=[common], help="add an OPML file's feeds to the config")
    importing.add_argument("opml", type=Path)
    importing.set_defaults(func=_sources_import)
    exporting = source_commands.add_parser("export", parents=[common], help="write the sources as OPML")
    exporting.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    exporting.set_defaults(func=_sources_export)
    return parser


def _setup_logging(verbose: bool) -> None:
    # journald adds its own timestamps; a terminal user wants them.
    stamp = "" if os.environ.get("JOURNAL_STREAM") else "%(asctime)s "
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format=f"{stamp}%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("httpx", "httpcore", "apscheduler", "trafilatura", "uvicorn.error"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _check_queries(config: Config) -> None:
    """Topics' queries, sources and tags: a bad one fails every command, `check` included, in one line."""
    check_topics(config)


def _run(config: Config, _args: argparse.Namespace) -> int:
    from feeder.daemon import run

    run(config)
    return 0


def _fetch_once(config: Config, _args: argparse.Namespace) -> int:
    from feeder.fetch import Fetcher
    from feeder.ingest import Pipeline
    from feeder.store import Store

    async def cycle() -> None:
        store = Store(config.database)
        fetcher = Fetcher(config.fetch)
        pipeline = Pipeline(config, store, fetcher)
        try:
            outcomes = await pipeline.refresh_all()
            pipeline.publish()
        finally:
            await fetcher.aclose()
            pipeline.close()
            store.close()
        failed = [o for o in outcomes if o.outcome in ("error", "gone")]
        new = sum(o.new for o in outcomes)
        print(f"{len(outcomes)} sources, {new} new articles, {len(failed)} failed; "
              f"feeds in {config.public_dir}")

    asyncio.run(cycle())
    return 0


def _check(config: Config, _args: argparse.Namespace) -> int:
    print(f"{config.path}: ok ({len(config.sources)} sources, {len(config.topics)} topics, "
          f"database {config.database})")
    return 0


def _status(config: Config, args: argparse.Namespace) -> int:
    from feeder.status import source_status, status_table
    from feeder.store import Store

    store = Store(config.database)
    try:
        states = store.source_states()
    finally:
        store.close()
    records = [source_status(source, states.get(source.name)) for source in config.sources]
    print(json.dumps(records, indent=2) if args.json else status_table(records))
    return 0


def _sources_import(config: Config, args: argparse.Namespace) -> int:
    from feeder.opml import add_to_config, read_opml

    try:
        feeds = read_opml(args.opml.read_bytes())
        added = add_to_config(config.path, feeds)
    except (OSError, ValueError) as exc:  # ConfigError is a ValueError
        print(f"feeder: {args.opml}: {exc}", file=sys.stderr)
        return 2
    print(f"{len(added)} sources added to {config.path} ({len(feeds) - len(added)} already there)"
          + (f": {', '.join(added)}" if added else ""))
    return 0


def _sources_export(config: Config, args: argparse.Namespace) -> int:
    from feeder.opml import write_opml

    data = write_opml(config.sources, config.title)
    if args.output:
        args.output.write_bytes(data)
    else:
        sys.stdout.write(data.decode())
    return 0


def _topics_test(config: Config, args: argparse.Namespace) -> int:
    """The stored stories a query matches, newest first, as a topic with default settings would carry them."""
    from feeder.config import TopicConfig
    from feeder.ingest import STORY_POOL
    from feeder.store import Store
    from feeder.topics import Curator

    try:
        query = parse_query(args.query)
    except QueryError as exc:
        print(f"feeder: query {args.query!r}: {exc}", file=sys.stderr)
        return 2
    store = Store(config.database)
    try:
        stories = store.recent_stories(STORY_POOL)
        stored = store.counts()["stories"]
        # At most STORY_POOL matches are listed (memory); the store is searched whole, as a new topic's is.
        topic = TopicConfig(slug="test", title="test", query=args.query, max_items=max(min(stored, STORY_POOL), 1))
        chosen = Curator(store).curate([topic], stories, {s.name: s.tags for s in config.sources},
                                       datetime.now(UTC))[0]
    finally:
        store.close()
    shown = f"; the newest {args.limit} shown" if len(chosen) > args.limit else ""
    print(f"{query.describe()}: {len(chosen)} of {stored} stored stories match{shown}", file=sys.stderr)
    for story in chosen[: args.limit]:
        print(f"{story.first_published:%Y-%m-%d %H:%M}  {story.article.title}  [{', '.join(story.outlets)}]")
    return 0


def _topics_list(config: Config, _args: argparse.Namespace) -> int:
    """Each configured topic with the entries its published feed holds and when that feed last changed."""
    for topic in config.topics:
        path = config.public_dir / "topics" / f"{topic.slug}.json"
        try:
            items = len(json.loads(path.read_bytes()).get("items", []))
            updated = datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")
        except FileNotFoundError:
            items, updated = 0, "never (not published yet)"
        except (OSError, ValueError, AttributeError) as exc:  # a damaged file must not hide the other topics
            items, updated = 0, f"unreadable ({type(exc).__name__})"
        print(f"{topic.slug:20} {items:4d} items  updated {updated}  {topic.title}")
    return 0
