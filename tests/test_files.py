"""A folder source: .txt dumps, .html pages, .json objects; a broken file is named, the rest still read."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from feeder.normalise import to_article
from feeder.parse.files import read_folder

FETCHED = datetime(2026, 1, 1, tzinfo=UTC)

DUMP = """Council approves new cycle lanes

By Sam Lee
Published: 3 March 2024 10:00 GMT

The city council approved a network of protected cycle lanes on Tuesday after a long debate.
"""

PAGE = b"""<html lang="en"><head><title>Harbour reopens after repairs - Port News</title>
<meta property="og:title" content="Harbour reopens after repairs">
<meta property="article:published_time" content="2024-03-04T09:30:00Z"></head>
<body><article><p>The harbour reopened on Monday after six months of repairs to the sea wall, officials said,
and the first ferries arrived in the afternoon.</p></article></body></html>"""


def _folder(tmp_path: Path) -> Path:
    (tmp_path / "dump.txt").write_text(DUMP, encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "page.html").write_bytes(PAGE)
    (tmp_path / "item.json").write_text(json.dumps({
        "title": "Library extends hours", "url": "https://city.example/news/library-hours?fbclid=abc",
        "published": "2024-03-05T08:00:00+01:00", "author": "Ann Bell",
        "content": "The library will open on Sundays.\n\nFrom April on.",
    }), encoding="utf-8")
    (tmp_path / "broken.json").write_text('{"title": "half', encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "README.md").write_text("not an article", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text(DUMP, encoding="utf-8")
    return tmp_path


def test_folder_reads_good_files_and_names_broken_ones(tmp_path: Path) -> None:
    feed = read_folder(_folder(tmp_path))
    by_guid = {e.guid: e for e in feed.entries}
    assert sorted(by_guid) == ["file:dump.txt", "file:item.json", "file:sub/page.html"]
    problems = feed.problem.splitlines()
    assert len(problems) == 2
    assert problems[0].startswith("broken.json: invalid JSON")
    assert problems[1] == "empty.txt: empty file"

    dump = to_article(by_guid["file:dump.txt"], "folder", feed.link, FETCHED)
    assert (dump.title, dump.author) == ("Council approves new cycle lanes", "Sam Lee")
    assert dump.published == datetime(2024, 3, 3, 10, tzinfo=UTC) and dump.url == ""

    page = to_article(by_guid["file:sub/page.html"], "folder", feed.link, FETCHED)
    assert page.title == "Harbour reopens after repairs" and page.language == "en"
    assert page.published == datetime(2024, 3, 4, 9, 30, tzinfo=UTC)
    assert page.url == ""  # a file:// address is not republished
    assert "harbour reopened on Monday" in page.content

    item = to_article(by_guid["file:item.json"], "folder", feed.link, FETCHED)
    assert item.url == "https://city.example/news/library-hours"
    assert item.published == datetime(2024, 3, 5, 7, tzinfo=UTC) and item.author == "Ann Bell"
    assert item.content == "<p>The library will open on Sundays.</p>\n<p>From April on.</p>"


def test_reading_twice_gives_the_same_entries(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    assert read_folder(folder) == read_folder(folder)


def test_missing_folder_is_a_problem_not_an_exception(tmp_path: Path) -> None:
    feed = read_folder(tmp_path / "nope")
    assert not feed.entries and "not a readable folder" in feed.problem


def test_json_list_and_binary_text(tmp_path: Path) -> None:
    items = [{"title": "One"}, {"title": "Two", "content": "<b>x</b>"}]
    (tmp_path / "many.json").write_text(json.dumps(items))
    (tmp_path / "blob.txt").write_bytes(b"\x00\x01\x02binary")
    feed = read_folder(tmp_path)
    assert [e.guid for e in feed.entries] == ["file:many.json#0", "file:many.json#1"]
    assert feed.entries[1].content == "<b>x</b>"
    assert feed.problem == "blob.txt: binary data, not text"
