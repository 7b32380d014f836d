"""`feeder sources import|export`: OPML in and out, the config's comments and order kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from feeder.cli import main
from feeder.config import load_config
from feeder.opml import read_opml

OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>My feeds</title></head><body>
  <outline text="World">
    <outline type="rss" text="Daily Wire" xmlUrl="http://127.0.0.1:9/wire.rss"/>
    <outline type="rss" text="Already here" xmlUrl="http://127.0.0.1:9/known.rss"/>
  </outline>
  <outline type="rss" title="Tech Times" text="tt" xmlUrl="http://127.0.0.1:9/tech.rss"/>
</body></opml>"""

CONFIG = """# my feeder config: this comment stays
[feeder]
state_dir = "state"

[[source]]
name = "known"  # so does this one
url = "http://127.0.0.1:9/known.rss"

[[topic]]
slug = "all"
title = "All"
"""


def test_import_appends_new_feeds_keeping_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    opml = tmp_path / "feeds.opml"
    opml.write_bytes(OPML)
    assert main(["sources", "import", str(opml), "--config", str(config)]) == 0
    assert "2 sources added" in capsys.readouterr().out
    text = config.read_text()
    assert text.startswith(CONFIG.split("[[topic]]")[0])  # comments and order untouched
    sources = load_config(config).sources
    assert [(s.name, s.url, s.tags) for s in sources] == [
        ("known", "http://127.0.0.1:9/known.rss", ()),
        ("daily-wire", "http://127.0.0.1:9/wire.rss", ("world",)),
        ("tech-times", "http://127.0.0.1:9/tech.rss", ()),
    ]
    assert main(["sources", "import", str(opml), "--config", str(config)]) == 0  # twice: nothing new
    assert "0 sources added" in capsys.readouterr().out


def test_export_round_trips(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    out = tmp_path / "out.opml"
    assert main(["sources", "export", "-o", str(out), "--config", str(config)]) == 0
    assert [f.url for f in read_opml(out.read_bytes())] == ["http://127.0.0.1:9/known.rss"]


def test_bad_opml_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    opml = tmp_path / "bad.opml"
    opml.write_bytes(b"<html>not opml</html>")
    assert main(["sources", "import", str(opml), "--config", str(config)]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "bad.opml" in error and "not OPML" in error
    assert config.read_text() == CONFIG
