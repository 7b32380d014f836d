"""The guard against running stale compiled modules (setup.py compiles some modules with mypyc)."""

from __future__ import annotations

import os
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

from feeder.compiled import compiled_sources, stale_sources, stale_warning


def _package(tmp_path: Path) -> Path:
    package = tmp_path / "feeder"
    (package / "dedup").mkdir(parents=True)
    for name in ("__init__.py", "dedup/__init__.py", "dedup/engine.py", "dedup/text.py"):
        (package / name).write_text("")
    return package


def _build(source: Path, age: float) -> Path:
    extension = source.with_name(source.stem + EXTENSION_SUFFIXES[0])
    extension.write_bytes(b"")
    moment = source.stat().st_mtime + age
    os.utime(extension, (moment, moment))
    return extension


def test_an_extension_built_after_its_source_is_current(tmp_path: Path) -> None:
    package = _package(tmp_path)
    engine = package / "dedup" / "engine.py"
    extension = _build(engine, age=10)
    assert compiled_sources(package) == {engine: extension}
    assert stale_sources(package) == []
    assert stale_warning(package) is None


def test_a_source_edited_after_the_build_is_named(tmp_path: Path) -> None:
    package = _package(tmp_path)
    _build(package / "dedup" / "engine.py", age=-10)
    _build(package / "dedup" / "text.py", age=10)
    assert stale_sources(package) == [package / "dedup" / "engine.py"]
    warning = stale_warning(package)
    assert warning is not None and warning.startswith("feeder/dedup/engine.py changed since compiled")


def test_this_install_runs_current_code() -> None:
    """An editable install whose sources changed since it was built would test old compiled code."""
    warning = stale_warning()
    if warning:
        pytest.fail(warning)
