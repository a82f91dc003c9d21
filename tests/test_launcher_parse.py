"""The command line's parse (launcher/command_line.py): an option that takes values takes
the next words whatever they look like; every mistake is one line that names it."""

from __future__ import annotations

import pytest

import ChatApp
from launcher.checks import UsageProblem
from launcher.command_line import OPTIONS, CommandLine, parse


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["-s", "5000"], CommandLine(server="5000")),
        (["--server=5000"], CommandLine(server="5000")),
        (["-s5000"], CommandLine(server="5000")),
        (["-c", "ann"], CommandLine(client=("ann", "", "", ""))),
        (["-d", "10.0.0.1", "5000"], CommandLine(desk=("10.0.0.1", "5000"))),
        (["-o", "-dan", "-v"], CommandLine(operator=("-dan", "", ""), verbose=True)),
        (
            ["-s", "5000", "--crisis-notice", "-call 112-", "--bind", "127.0.0.1"],
            CommandLine(server="5000", crisis_notice="-call 112-", bind="127.0.0.1"),
        ),
        (["-s", "1", "--keepalive=-1"], CommandLine(server="1", keepalive="-1")),
        (["-s", "1", "--no-desk-console"], CommandLine(server="1", desk_console=False)),
        (
            ["-s", "1", "--no-desk-console", "--desk-console"],
            CommandLine(server="1", desk_console=True),
        ),
        (["-s", "1", "-s", "2"], CommandLine(server="2")),  # the last one given counts
        (["--version"], CommandLine(version=True)),
        ([], CommandLine()),
    ],
)
def test_each_option_takes_its_words(argv: list[str], expected: CommandLine) -> None:
    assert parse(argv) == expected


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--foo"], "no such option: --foo (see --help)"),
        (["-vx"], "no such option: -vx (see --help)"),
        (["--bind"], "--bind needs ADDRESS (got none) (see --help)"),
        (["-s", "5000", "x"], "unexpected argument 'x' (see --help)"),
        (["-s", "5000", "--", "x"], "no such option: -- (see --help)"),
        (["--bell=yes"], "--bell takes no value (see --help)"),
        (["--server"], "--server needs PORT (got none)"),
    ],
)
def test_a_mistake_is_one_line_that_names_it(argv: list[str], said: str) -> None:
    with pytest.raises(UsageProblem) as raised:
        parse(argv)
    assert str(raised.value) == said


def test_every_option_is_a_field_of_the_command_line_and_in_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fields = set(CommandLine.__dataclass_fields__)
    assert {option.name for option in OPTIONS} == fields
    assert ChatApp.main(["--help"]) == 0
    shown = capsys.readouterr().out
    for option in OPTIONS:
        assert option.spellings[-1] in shown and option.help.split()[0] in shown


def test_help_anywhere_on_the_line_is_help_not_a_mistake(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert ChatApp.main(["--bind", "-h"]) == 0  # `-h` taken as help, not as the address
    assert "Usage: ChatApp [OPTIONS]" in capsys.readouterr().out
