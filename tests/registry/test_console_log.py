"""`.log off` and `.log on` on the registry's console: log lines hidden from a screen, never
from a file or a pipe, and errors shown whatever was chosen."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from registry.adapter.server import RegistryServer
from registry.adapter.settings import RegistrySettings

pytestmark = pytest.mark.timeout(10)


def console(tmp_path: Path, *, log_on_screen: bool, lines: list[str]) -> list[str]:
    """What the registry's console shows as `lines` are typed there, a log line written
    after each (the last of them an error)."""
    printed: list[str] = []

    async def scenario() -> None:
        server = RegistryServer(
            data_dir=tmp_path,
            listen=("127.0.0.1", 0),
            out=printed.append,
            settings=RegistrySettings(log_on_screen=log_on_screen),
        )
        await server.start()
        printed.clear()
        for number, line in enumerate(lines):
            server.console.line(line)
            server.log(f"logged after line {number}")
            await asyncio.sleep(0)  # the log is written at the end of the pass
        server.log("ERROR storing data: disk full")
        await server.close()

    asyncio.run(scenario())
    return [line.split(" ", 1)[1] if line[:2].isdigit() else line for line in printed]


def test_log_off_hides_log_lines_from_the_screen_but_not_errors(tmp_path: Path) -> None:
    shown = console(tmp_path, log_on_screen=True, lines=[".log off", "rooms", ".LOG ON"])
    assert shown == [
        "  log lines are hidden from this console now (errors still show); .log on shows them",
        "  no rooms",  # the console's own answers still show
        "  log lines are shown again; 2 lines hidden meanwhile",
        "logged after line 2",
        "ERROR storing data: disk full",
    ]


def test_errors_show_while_the_log_is_hidden(tmp_path: Path) -> None:
    shown = console(tmp_path, log_on_screen=True, lines=[".log off"])
    assert shown[-1] == "ERROR storing data: disk full"
    assert "logged after line 0" not in shown


def test_a_log_that_goes_to_a_file_or_a_pipe_is_never_hidden(tmp_path: Path) -> None:
    shown = console(tmp_path, log_on_screen=False, lines=[".log off"])
    assert shown[:2] == [
        "  the log goes to a file or a pipe here, not to a screen: it is not hidden",
        "logged after line 0",
    ]


def test_log_says_how_it_is_used(tmp_path: Path) -> None:
    shown = console(tmp_path, log_on_screen=True, lines=[".log", ".log on", ".log maybe"])
    assert shown[0].startswith("  usage: .log off | .log on")
    assert "  log lines are shown on this console already" in shown
    assert shown.count(shown[0]) == 2
