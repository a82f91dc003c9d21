"""The launcher's last line of defence: a bug that escapes a callback costs the user one
line on stderr, not a traceback, and the event loop goes on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from launcher import event_loop


def test_an_escaped_exception_is_one_line_and_a_saved_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(event_loop, "ERROR_LOG", tmp_path / "errors.log")

    async def main() -> int:
        loop = asyncio.get_running_loop()
        after: asyncio.Future[None] = loop.create_future()
        loop.call_soon(lambda: 1 / 0)  # a bug in a callback
        loop.call_soon(after.set_result, None)  # runs after it, callbacks being in order
        await asyncio.wait_for(after, 5)
        return 7  # ... and the loop carried on

    assert event_loop.run_guarded(main()) == 7
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("[Internal error, please report it:")
    assert "ZeroDivisionError" in err[0] and str(tmp_path / "errors.log") in err[0]
    saved = (tmp_path / "errors.log").read_text()
    assert "Traceback (most recent call last)" in saved and "1 / 0" in saved
