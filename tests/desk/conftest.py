"""What the help desk's end-to-end tests share: a standalone desk, and the people and
operators they start, stopped after each test (tests/desk/desk_procs.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from desk_procs import DeskWorld


@pytest.fixture
def world(tmp_path: Path) -> Iterator[DeskWorld]:
    """A desk with its default crisis notice (a test that needs its own makes a world of its
    own)."""
    desk = DeskWorld(tmp_path)
    try:
        yield desk
    finally:
        desk.close()
