"""Which of feeder's modules are compiled (setup.py builds them with mypyc), and whether any is stale.

An editable install (``pip install -e .``) builds the extensions beside their sources, and Python imports
an extension before the ``.py`` of the same name: after an edit or a ``git checkout`` the old compiled code
would go on running until the next install. ``stale_warning`` says so.
"""

from __future__ import annotations

from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def compiled_sources(package: Path = PACKAGE) -> dict[Path, Path]:
    """Each source under ``package`` with an extension built beside it: source -> extension."""
    found = {}
    for suffix in EXTENSION_SUFFIXES:
        for extension in package.rglob(f"*{suffix}"):
            found[extension.with_name(extension.name[: -len(suffix)] + ".py")] = extension
    return {source: extension for source, extension in found.items() if source.exists()}


def stale_sources(package: Path = PACKAGE) -> list[Path]:
    """Sources changed since their extension was built: Python still imports the extension."""
    return sorted(
        source
        for source, extension in compiled_sources(package).items()
        if source.stat().st_mtime > extension.stat().st_mtime
    )


def stale_warning(package: Path = PACKAGE) -> str | None:
    """One line for the log when compiled modules are older than their sources, else None."""
    stale = stale_sources(package)
    if not stale:
        return None
    names = ", ".join(str(source.relative_to(package.parent)) for source in stale)
    return (
        f"{names} changed since compiled: the old code runs until you reinstall (pip install -e .), "
        "or reinstall with FEEDER_PURE_PYTHON=1 to run the sources as they are"
    )
