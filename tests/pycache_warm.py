"""Filling the suite's bytecode cache once, before the test workers start (see
`tests.conftest._cache_bytecode_outside_the_tree`).

With a PYCACHEPREFIX, Python looks for every module's bytecode under the prefix alone: the
files pip compiled beside the installed packages, and the standard library's, are not read.
In a new clone (a new path, so a new mirror under the prefix) every module was compiled from
source by each of the five test workers and by each of the first ChatApp processes they
started, all at once: 1-2 CPU-seconds apiece, the first run's extra half minute. Here one
process imports, once, what those processes import (the product's modules and, through
them, the standard library and the packages they use; the test tools), and so compiles each
module once; the others then find it cached.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

#: The product's packages and the test tools the workers load: all their modules are
#: imported (and so compiled, with whatever they import).
PACKAGES = ("wire", "secure", "net", "disk", "terminal", "peer", "registry", "launcher")
TOOLS = ("pytest", "xdist", "hypothesis", "hypothesis.stateful", "pexpect", "pyte")

#: What the warming process runs: every module of PACKAGES, then TOOLS. A module that
#: fails to import (an optional dependency missing) is passed over: the tests say so.
_SCRIPT = f"""
import contextlib, importlib, pkgutil
for package in {PACKAGES!r}:
    with contextlib.suppress(Exception):
        for info in pkgutil.walk_packages(importlib.import_module(package).__path__, package + "."):
            with contextlib.suppress(Exception):
                importlib.import_module(info.name)
for tool in {TOOLS!r} + ("ChatApp",):
    with contextlib.suppress(Exception):
        importlib.import_module(tool)
"""


def mirror(prefix: Path, source: Path) -> Path:
    """Where Python caches, under `prefix`, the bytecode of the sources in folder `source`."""
    return prefix / source.resolve().relative_to(source.resolve().anchor)


def warm(prefix: Path, root: Path, timeout: float = 120.0) -> bool:
    """Compile into the cache at `prefix` what the suite's processes import, if this
    project (at `root`) has never been cached there (once per clone: later runs find its
    mirror, and Python checks each cached file against its source anyway). Returns whether
    it ran. A failure costs nothing but the time: each process compiles what it misses."""
    if mirror(prefix, root).exists():
        return False
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(prefix)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        subprocess.run(
            [sys.executable, "-c", _SCRIPT],
            cwd=root,
            env=env,
            timeout=timeout,
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return True
