"""Every command of the help desk's clients has its handler and its place in their help:
the operator's (wire/desk/commands.py) and the person's (peer/core/desk/person.py)."""

from __future__ import annotations

import re

import pytest

from peer.core.desk.typed import PERSON_HELP, QUITS, WAITING_COMMANDS
from tests.desk.person_harness import shown, waiting
from wire.desk.commands import OPERATOR_HELP, is_operator_command, parse_operator_line

#: A command named in help: a dot, then a word (not `..text`, a line that starts with '.').
COMMAND = re.compile(r"(?<![.\w])\.[a-z]+\b")


def _named(lines: tuple[str, ...]) -> set[str]:
    return {word for line in lines for word in COMMAND.findall(line)}


OPERATOR_COMMANDS = _named(OPERATOR_HELP)


def test_the_operators_help_names_its_commands() -> None:
    assert {".room", ".end", ".serve", ".first", ".help", ".quit"} <= OPERATOR_COMMANDS


@pytest.mark.parametrize("command", sorted(OPERATOR_COMMANDS | {".exit"}))
def test_every_operator_command_is_carried_out(command: str) -> None:
    parsed = parse_operator_line(f"{command} 1", lambda: "o-1", (1,), "s-1")
    assert parsed.message is not None or parsed.quit or parsed.lines, command
    assert not any("Unknown command" in line for line in parsed.lines), command


def test_the_desk_commands_the_registry_console_routes_are_the_operators() -> None:
    routed = {c for c in OPERATOR_COMMANDS if is_operator_command(c)}
    # .quit on the registry console is its own (it goes off duty by `.serve none`)
    assert routed == OPERATOR_COMMANDS - {".quit"}


def test_the_persons_help_names_only_its_commands() -> None:
    assert _named(PERSON_HELP) <= WAITING_COMMANDS | set(QUITS)
    assert WAITING_COMMANDS - {".help"} <= _named(PERSON_HELP)


@pytest.mark.parametrize("command", sorted(WAITING_COMMANDS | set(QUITS)))
def test_every_command_of_a_waiting_person_is_carried_out(command: str) -> None:
    out = waiting().typed(command, 1.0)
    assert out and not any("Unknown command" in line for line in shown(out)), command
