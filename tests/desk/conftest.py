"""What the help desk's end-to-end tests share: a standalone desk, and the people and
operators they start, stopped after each test (tests/desk/desk_procs.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from desk_procs import DeskWorld

from registry.core.desk import persons


@pytest.fixture
def world(tmp_path: Path) -> Iterator[DeskWorld]:
    """A desk with its default crisis notice (a test that needs its own makes a world of its
    own)."""
    desk = DeskWorld(tmp_path)
    try:
        yield desk
    finally:
        desk.close()


@pytest.fixture(autouse=True)
def _cheap_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Work asked of a join in these tests costs at most 8 bits (a few hundred hashes),
    so that a test of hundreds of joins takes no minutes; what the desk really asks is
    tests/desk/test_desk_work.py's."""
    real = persons.work_bits
    monkeypatch.setattr(persons, "work_bits", lambda waiting: min(real(waiting), 8))
