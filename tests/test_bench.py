"""The bench scripts still run (on tiny inputs): a script that rots is a number nobody can rerun.

Only that they run and print their rows; what they measure is for the notes, not for tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

RUNS = {
    "store": (["bench/store.py", "--feeds", "4", "--batch", "2"], "sources per transaction"),
    "parse": (["bench/parse.py", "--feeds", "4"], "sanitise_html"),
    "publish": (["bench/publish.py", "--topics", "2", "--entries", "3", "--no-serving"], "restart"),
    "topics": (["bench/topics.py", "--articles", "300", "--topics", "3"], ""),
    "dedup_speed": (["bench/dedup_speed.py", "--count", "300"], "headlines/s"),
    "ingest": (["bench/ingest.py", "--feeds", "6", "--skip-reader"], "feeder cold / floor"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RUNS))
def test_bench_script_runs(name: str) -> None:
    args, expected = RUNS[name]
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert expected in done.stdout, done.stdout[-2000:]
