"""The shipped unit passes `systemd-analyze verify` without a word and is hardened (exposure <= 2.0)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

UNIT = REPO / "systemd" / "feeder.service"
pytestmark = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")


def _unit_for_this_machine(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this checkout's feeder, which verify checks for existence."""
    feeder = Path(sys.executable).with_name("feeder")
    if not feeder.exists():
        pytest.skip(f"{feeder} is absent: install the package (pip install -e .) first")
    unit = tmp_path / "feeder.service"
    unit.write_text(UNIT.read_text().replace("/opt/feeder/bin/feeder", str(feeder)))
    return unit


def test_unit_verifies_without_warnings(tmp_path: Path) -> None:
    unit = _unit_for_this_machine(tmp_path)
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stdout.strip() and not done.stderr.strip(), done.stderr


def test_unit_exposure_is_at_most_two(tmp_path: Path) -> None:
    unit = _unit_for_this_machine(tmp_path)
    done = subprocess.run(["systemd-analyze", "security", "--offline=yes", str(unit)], capture_output=True,
                          text=True, timeout=60)
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout)
    assert match, done.stdout + done.stderr
    assert float(match.group(1)) <= 2.0


def test_unit_has_the_service_contract() -> None:
    text = UNIT.read_text()
    for line in ("Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "WatchdogSec=", "DynamicUser=yes",
                 "StateDirectory=feeder", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
                 "NoNewPrivileges=yes", "RestrictAddressFamilies=", "SystemCallFilter=@system-service",
                 "CapabilityBoundingSet=\n"):
        assert line in text, line
