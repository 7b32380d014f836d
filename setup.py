"""Compiles feeder's hottest pure-Python modules with mypyc when feeder is installed: the dedup engine (the
store thread's work) and the publisher (rendering every entry in three formats).

The modules stay ordinary, type-checked Python (``mypy --strict`` is what makes them compilable); the
build adds a C extension beside each, which Python imports instead. bench/dedup_speed.py and
bench/publish.py print what this buys. ``FEEDER_PURE_PYTHON=1 pip install ...`` skips it, and a machine
without a C compiler gets the pure-Python modules with a warning from the build (the extensions are
optional).
"""

from __future__ import annotations

import os

from setuptools import Extension, setup

COMPILED = [
    "feeder/dedup/engine.py",
    "feeder/dedup/score.py",
    "feeder/dedup/text.py",
    "feeder/dedup/window.py",
    "feeder/publish/__init__.py",
    "feeder/publish/render.py",
]


def compiled_extensions() -> list[Extension]:
    if os.environ.get("FEEDER_PURE_PYTHON"):
        return []
    from mypyc.build import mypycify

    # The build environment holds no runtime dependencies: their types do not change the compiled code.
    extensions = mypycify(["--ignore-missing-imports", "--follow-imports=silent", *COMPILED], opt_level="3")
    for extension in extensions:
        extension.optional = True  # a failed compile leaves the pure-Python module in place
    return extensions


setup(ext_modules=compiled_extensions())
