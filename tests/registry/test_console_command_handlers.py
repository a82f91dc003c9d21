"""Every command of the registry console has its handler and its place in `help`: each
word the console takes as its own (registry.adapter.console_commands.COMMANDS) is carried out, and
`help` shows each."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from registry.adapter.console_commands import COMMANDS, HELP, LOG_COMMAND
from registry.adapter.server import RegistryServer
from registry.core.table import Record
from wire.messages import NO_REASON

pytestmark = pytest.mark.timeout(10)

#: The commands `help` shows: the first word of each line that starts one (the command,
#: maybe a word after it, then the column of what it does).
SHOWN = {m[1] for line in HELP if (m := re.match(r"  (\S+)(?: \S+)?\s{2,}", line))}
#: Words the console takes without `help` showing them: `help` itself, and `exit` (`quit`).
UNSHOWN = {"help", "exit"}


def test_help_shows_every_console_command() -> None:
    assert set(COMMANDS) - UNSHOWN <= SHOWN
    # and the rest it shows are the console's own `.log` and the help desk's `.help`
    others = SHOWN - set(COMMANDS)
    assert others == {LOG_COMMAND, ".help"}


@pytest.mark.parametrize("word", sorted(set(COMMANDS)))
def test_every_console_command_is_carried_out(word: str, tmp_path: Path) -> None:
    printed: list[str] = []

    async def typed() -> bool:
        server = RegistryServer(data_dir=tmp_path, listen=("127.0.0.1", 0), out=printed.append)
        server.console.line(f"{word}\n")
        try:  # a command that stops the registry: it stops at once
            await asyncio.wait_for(server.run(), 0.01)
            stopped = True
        except TimeoutError:
            stopped = False
        await server.close()
        return stopped

    stopped = asyncio.run(typed())
    assert stopped or printed, word
    assert not any("unknown command" in line for line in printed), (word, printed)


def test_desk_shows_the_waiting_room_and_takes_nothing_more(tmp_path: Path) -> None:
    printed: list[str] = []

    async def typed() -> None:
        server = RegistryServer(data_dir=tmp_path, listen=("127.0.0.1", 0), out=printed.append)
        server.console.line("desk\n")
        server.console.line("desk now\n")
        await asyncio.sleep(0)
        await server.close()

    asyncio.run(typed())
    assert [line for line in printed if "waiting room" in line or "usage" in line] == [
        "  [The waiting room is empty.]",
        "  usage: desk   (it takes nothing more)",
    ]


def test_who_lists_each_name_with_its_away_mark(tmp_path: Path) -> None:
    server = RegistryServer(data_dir=tmp_path, listen=("127.0.0.1", 0), out=lambda line: None)
    records = server.core.table.records
    for name, away in (("ann", "lunch"), ("bob", NO_REASON), ("cy", "")):
        records[name] = Record(name, "127.0.0.1", 6001, True, "t" * 32, away=away)
    rows = COMMANDS["who"].run(server, "")
    assert [row.split("waiting")[1] for row in rows] == ["  (away: lunch)", "  (away)", ""]
