"""Which build of ChatApp this process runs: the pure Python one, or the one whose modules on
a message's path were compiled by mypyc (setup.py; docs/ARCHITECTURE.md, "The compiled
build"). A compiled module is a C extension beside its source, and Python imports it first."""

from __future__ import annotations

from wire import codec


def build_name() -> str:
    """The build running: "compiled" when the codec was imported from a C extension, else
    "pure"."""
    return "pure" if codec.__file__.endswith(".py") else "compiled"
