"""The registry console's input (registry_console.py): lines ended however a terminal ends
them, and what was typed while the registry started, on a real pseudo-terminal."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import select
import termios
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pytest

from registry.adapter.console_commands import is_registry_command
from registry.adapter.registry_console import typed_ahead
from registry.adapter.server import RegistryServer
from terminal.typed_ahead import LineSplitter

pytestmark = pytest.mark.timeout(10)


def test_a_carriage_return_ends_a_line_as_a_newline_does() -> None:
    splitter = LineSplitter()
    assert splitter.feed("release alice\rwho\n") == ["release alice", "who"]
    assert splitter.feed("stats\r\nrooms\n") == ["stats", "rooms"]
    assert splitter.feed("rel") == [] and splitter.pending == "rel"
    assert splitter.feed("ease bob\n") == ["release bob"]


def test_a_carriage_return_then_a_newline_in_the_next_piece_is_one_line_end() -> None:
    splitter = LineSplitter()
    assert splitter.feed("who\r") == ["who"]
    assert splitter.feed("\nstats\n") == ["stats"]  # no empty line between
    assert splitter.feed("\n") == [""]  # an empty line of its own is kept


def test_an_unfinished_line_already_read_begins_the_next() -> None:
    assert LineSplitter("rele").feed("ase alice\n") == ["release alice"]


@contextlib.contextmanager
def terminal() -> Iterator[tuple[int, TextIO]]:
    """A pseudo-terminal: the end a person types into, and the registry's standard input."""
    typist, tty = os.openpty()
    stdin = open(tty, encoding="utf-8", closefd=True)  # noqa: SIM115
    try:
        yield typist, stdin
    finally:
        # the typist's end first: a thread reading the terminal then sees it end (and lets
        # go of the reader, which closing it would otherwise wait for)
        os.close(typist)
        stdin.close()


def typed_while_the_shell_was_raw(typist: int, tty: int, text: bytes) -> None:
    """`text` typed while the shell's line editor had the terminal in raw mode (Enter a
    carriage return), which the shell left unread, then the terminal back in line mode."""
    modes = termios.tcgetattr(tty)
    raw = [*modes[:6], list(modes[6])]
    raw[0] = modes[0] & ~termios.ICRNL
    raw[3] = modes[3] & ~(termios.ICANON | termios.ECHO)
    termios.tcsetattr(tty, termios.TCSANOW, raw)
    os.write(typist, text)
    readable, _, _ = select.select([tty], [], [], 5)  # arrived: raw mode reads what comes
    assert readable
    termios.tcsetattr(tty, termios.TCSANOW, modes)


def test_what_waits_in_the_terminal_is_taken_finished_or_not() -> None:
    with terminal() as (typist, stdin):
        typed_while_the_shell_was_raw(typist, stdin.fileno(), b"release alice\rwho\n")
        os.write(typist, b"sta")  # being typed as the registry becomes ready
        assert typed_ahead(stdin) == (["release alice", "who"], "sta")
        modes = termios.tcgetattr(stdin.fileno())
        assert modes[3] & termios.ICANON  # line mode is back
        assert typed_ahead(stdin) == ([], "")  # nothing more waits


def test_nothing_is_taken_from_what_is_no_terminal() -> None:
    assert typed_ahead(io.StringIO("release alice\n")) == ([], "")


def test_a_line_typed_ahead_in_the_shell_is_carried_out_when_the_registry_is_ready(
    tmp_path: Path,
) -> None:
    """`ChatApp -s ...` Enter, `release alice` Enter typed in one burst: the second line
    reached the terminal with a carriage return for Enter and was never carried out."""
    printed: list[str] = []

    async def scenario(typist: int, stdin: TextIO) -> None:
        answered = asyncio.Event()

        def out(line: str) -> None:
            printed.append(line)
            if "refusals and failed checks" in line:  # the last line of stats
                answered.set()

        server = RegistryServer(data_dir=tmp_path, listen=("127.0.0.1", 0), out=out)
        await server.start()
        typed_while_the_shell_was_raw(typist, stdin.fileno(), b"release alice\rrooms\r")
        server.console.read(stdin)
        for _ in range(3):
            await asyncio.sleep(0)  # the log lines are written at the end of the pass
        os.write(typist, b"stats\n")  # then a line typed as usual
        await answered.wait()
        await server.close()

    with terminal() as (typist, stdin):
        asyncio.run(scenario(typist, stdin))
    said = [line.split(" ", 1)[-1] if line[:2].isdigit() else line for line in printed]
    start = said.index("Typed as the registry started, carried out now: release alice")
    assert said[start:] == [
        "Typed as the registry started, carried out now: release alice",
        "no name alice to release",  # the log line comes before what was typed next
        "Typed as the registry started, carried out now: rooms",
        "  no rooms",
        "  bad datagrams 0, bad frames 0, frames too slow 0, flood drops 0, table version 0",
        "  datagrams that did not open 0, connections over the memory budget 0, "
        "registrations asked to wait 0",
        "  refusals and failed checks 0, of 0 kinds (each logged once per 10 s with a count)",
    ]


def test_a_desk_command_on_a_console_off_the_desk_is_answered(tmp_path: Path) -> None:
    printed: list[str] = []

    async def scenario() -> None:
        server = RegistryServer(data_dir=tmp_path, listen=("127.0.0.1", 0), out=printed.append)
        await server.start()
        server.console.line(".room")
        await server.close()

    asyncio.run(scenario())
    assert any(
        line.startswith("  .room is a help-desk command, and this console does not serve")
        for line in printed
    ), printed


def test_registry_commands_are_known_with_or_without_their_slash() -> None:
    for line in ("who", "/WHO -l", "release bob", "  stats  ", "/quit now"):
        assert is_registry_command(line), line
    for line in ("", "   ", "hello Dana", "whoever you are", ".end", "/nick x"):
        assert not is_registry_command(line), line
