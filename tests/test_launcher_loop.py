"""launcher/event_loop.py: which event loop a mode runs on."""

from __future__ import annotations

import asyncio
import io
import os

import pytest

from launcher import event_loop


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_at_a_terminal_the_loop_is_asyncios(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", _Terminal())
    assert event_loop.loop_factory() is None


def test_without_a_terminal_the_loop_is_uvloops_when_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uvloop = pytest.importorskip("uvloop")
    monkeypatch.setattr("sys.stdin", io.StringIO())
    assert event_loop.loop_factory() is uvloop.new_event_loop


@pytest.mark.timeout(10)
def test_standard_descriptors_are_left_blocking(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("uvloop")
    monkeypatch.setattr("sys.stdin", io.StringIO())
    read, write = os.pipe()
    saved = os.dup(0)
    try:
        os.dup2(read, 0)

        async def watch() -> str:
            loop = asyncio.get_running_loop()
            loop.add_reader(0, lambda: None)  # uvloop makes what it watches non-blocking
            loop.remove_reader(0)
            return type(loop).__module__

        assert event_loop.run_guarded(watch()).startswith("uvloop")
        assert os.get_blocking(0)
    finally:
        os.dup2(saved, 0)
        for fd in (saved, read, write):
            os.close(fd)
