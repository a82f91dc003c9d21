"""The registry's console on a real terminal (a pty): what its first lines say, a prompt that
lines from the help desk and the log never break, `.log off`, and the keys that end it.

The registry runs under pexpect and its output goes through pyte, a terminal emulator, so
the tests read the screen an administrator would see. A person asking for help is a real
`ChatApp -d`, driven through pipes. Every wait is on the screen or a line, with a deadline.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from tests.desk.desk_procs import ROOT, Proc
from tests.e2e.harness import free_port
from tests.e2e.terminal_peers import Terminal
from tests.fork_server import interpreter_settings

pytestmark = pytest.mark.timeout(40)

#: A log line on the screen: it starts with the time it was written.
LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d ")


class Desk:
    """A registry on a terminal, and the people who ask its help desk for help."""

    def __init__(self, tmp: Path, *options: str) -> None:
        self.tmp = tmp
        self.port = str(free_port())
        self.env = {
            **interpreter_settings(),  # as the other tests' processes: one fork server
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp),
            "NO_COLOR": "1",
            "TERM": "xterm",
            # pyte does not answer prompt_toolkit's cursor position requests
            "PROMPT_TOOLKIT_NO_CPR": "1",
        }
        argv = [
            sys.executable, str(ROOT / "ChatApp.py"), "-s", self.port, "--bind", "127.0.0.1",
            "--data-dir", str(tmp / "registry"), "--plain", *options,
        ]  # fmt: skip
        self.screen = Terminal(argv, self.env, rows=40)
        self.people: list[Proc] = []

    def person(self, name: str, phone: str = "+44 7700 900123") -> Proc:
        """`ChatApp -d` for `name`, through the form (topic 5: no description asked)."""
        args = [str(ROOT / "ChatApp.py"), "-d", "127.0.0.1", self.port]
        env = self.env | {"CHATAPP_DATA_DIR": str(self.tmp / "people" / name)}
        person = Proc(args, env, name)
        self.people.append(person)
        person.send(name, phone, "5")
        return person

    def rows(self) -> list[str]:
        return self.screen.lines()

    def close(self) -> None:
        for person in self.people:
            person.stop()
        self.screen.close()


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    world = Desk(tmp_path)
    try:
        yield world
    finally:
        world.close()


def at_the_prompt(desk: Desk, prompt: str = "registry>") -> None:
    desk.screen.wait(f"the prompt {prompt!r}", lambda rows: rows[-1] == prompt)


def test_the_first_lines_say_the_console_serves_at_the_desk_and_how_to_stop_it(
    desk: Desk,
) -> None:
    at_the_prompt(desk)
    rows = desk.rows()
    said = "\n".join(rows)
    assert "This console is the help desk's operator admin, as it runs on a terminal" in said
    assert ".serve none stops that" in said and "--no-desk-console starts" in said
    assert ".log off hides the log lines here" in said
    # said before the console goes on duty, not after
    on_duty = next(i for i, row in enumerate(rows) if "[On duty as admin" in row)
    assert any("operator admin" in row for row in rows[:on_duty]), rows


def test_a_half_typed_line_survives_a_log_line_and_a_line_from_the_desk(desk: Desk) -> None:
    at_the_prompt(desk)
    nora = desk.person("Nora")
    nora.expect("talking to admin")
    at_the_prompt(desk, "to Nora>")
    desk.screen.type("sorry, one mo")
    at_the_prompt(desk, "to Nora> sorry, one mo")
    desk.person("Omar", "+44 7700 900456")  # his joining is logged
    nora.send("I feel")
    desk.screen.wait(
        "Nora's line and the log above the half-typed line",
        lambda rows: (
            "desk: Nora: I feel" in rows
            and any(LOG_LINE.match(row) and "joined" in row for row in rows[-6:])
            and rows[-1] == "to Nora> sorry, one mo"
        ),
    )
    rows = desk.rows()
    assert not any("one mo" in row for row in rows[:-1]), rows  # nowhere but in the prompt
    desk.screen.type("ment please\r")
    nora.expect("admin: sorry, one moment please")
    # the screen arrives in chunks: a fresh prompt may show before the line above it is drawn
    desk.screen.wait(
        "the sent line kept above a fresh prompt",
        lambda rows: rows[-1] == "to Nora>" and "to Nora> sorry, one moment please" in rows,
    )


def test_a_line_begun_before_a_person_was_handed_over_goes_back_to_the_prompt(desk: Desk) -> None:
    # begun for the registry while the console served nobody, finished once Nora was
    # handed over: held, not sent to her as text, and put back; Enter then sends it
    at_the_prompt(desk)
    desk.screen.type("who is on")
    at_the_prompt(desk, "registry> who is on")
    nora = desk.person("Nora")
    nora.expect("talking to admin")
    desk.screen.type("line\r")
    desk.screen.wait(
        "the line held",
        lambda rows: any("Not sent: you began this line before Nora was handed" in r for r in rows),
    )
    at_the_prompt(desk, "to Nora> who is online")
    desk.screen.type("\r")
    nora.expect("admin: who is online")
    assert not any("who is online" in line for line in nora.everything[:-1]), nora.everything


def test_a_line_begun_after_the_next_person_was_shown_reaches_them(desk: Desk) -> None:
    # typed at once after Omar was handed over, as Nora left: it is Omar's, not held
    at_the_prompt(desk)
    nora = desk.person("Nora")
    nora.expect("talking to admin")
    omar = desk.person("Omar", "+44 7700 900456")
    omar.expect("waiting")
    nora.send(".quit")
    at_the_prompt(desk, "to Omar>")
    desk.screen.type("hello Omar\r")
    omar.expect("admin: hello Omar")
    assert not any("Not sent" in row for row in desk.rows()), desk.rows()


def test_log_off_hides_the_log_lines_and_log_on_says_how_many(desk: Desk) -> None:
    at_the_prompt(desk)
    desk.screen.type(".log off\r")
    desk.screen.wait("log off", lambda rows: any("log lines are hidden" in r for r in rows))
    nora = desk.person("Nora")
    nora.expect("talking to admin")
    nora.send("hello")
    desk.screen.wait("Nora's line", lambda rows: "desk: Nora: hello" in rows)
    rows = desk.rows()
    assert any("[Now serving Nora" in row for row in rows), rows  # the desk's lines show
    assert not any(LOG_LINE.match(row) for row in rows), rows
    desk.screen.type(".log on\r")
    desk.screen.wait(
        "log on", lambda rows: any(re.search(r"shown again; \d+ lines? hidden", r) for r in rows)
    )
    # `.log` is the console's own even while it serves someone: it never reached Nora
    nora.send("bye")
    desk.screen.wait("Nora's next line", lambda rows: "desk: Nora: bye" in rows)
    assert not any(".log" in line for line in nora.everything), nora.everything


def stopped(desk: Desk) -> None:
    desk.screen.wait("the end", lambda rows: "Registry stopped." in rows)
    desk.screen.child.expect(pexpect.EOF, timeout=10)
    desk.screen.child.close()
    assert desk.screen.child.exitstatus == 0


def test_ctrl_d_on_an_empty_line_stops_a_registry_that_serves_nobody(desk: Desk) -> None:
    at_the_prompt(desk)
    desk.screen.type("who\x04")  # on a line with text, Ctrl-D is no end
    at_the_prompt(desk, "registry> who")
    desk.screen.type("\x03")  # clears the line, as shells do
    at_the_prompt(desk)
    desk.screen.type("\x04")
    stopped(desk)


def test_ctrl_c_asks_before_stopping_a_registry_that_serves_someone(desk: Desk) -> None:
    at_the_prompt(desk)
    assert any("quit or Ctrl-C stops the registry" in row for row in desk.rows())
    nora = desk.person("Nora")
    nora.expect("talking to admin")
    at_the_prompt(desk, "to Nora>")
    desk.screen.type("\x03")
    question = "Stop the registry? It serves Nora at the help desk. [y/N]"
    at_the_prompt(desk, question)
    desk.screen.type("\r")  # no: it goes on, and so does the session
    desk.screen.wait("kept", lambda rows: "The registry keeps running." in rows)
    at_the_prompt(desk, "to Nora>")
    desk.screen.type("still here\r")
    nora.expect("admin: still here")
    desk.screen.type("\x03")
    at_the_prompt(desk, question)
    desk.screen.type("\x03")  # the key again: meant
    stopped(desk)


def test_a_console_command_typed_while_serving_is_held_not_sent(desk: Desk) -> None:
    at_the_prompt(desk)
    nora = desk.person("Nora")
    nora.expect("talking to admin")
    at_the_prompt(desk, "to Nora>")
    desk.screen.type("quit\r")
    desk.screen.wait(
        "the line held",
        lambda rows: any(
            "Not sent: quit is a registry command, and /quit runs it" in r for r in rows
        ),
    )
    at_the_prompt(desk, "to Nora>")
    desk.screen.type("quit\r")
    nora.expect("admin: quit")
    assert not any("admin: quit" in line for line in nora.everything[:-1]), nora.everything


def test_ctrl_c_at_the_prompt_stops_the_registry(desk: Desk) -> None:
    at_the_prompt(desk)
    desk.screen.type("who\r")
    desk.screen.wait("the answer", lambda rows: "  no names registered yet" in rows)
    desk.screen.type("\x03")
    desk.screen.wait("the end", lambda rows: "Registry stopped." in rows)
    desk.screen.child.expect(pexpect.EOF, timeout=10)
    desk.screen.child.close()
    assert desk.screen.child.exitstatus == 0


def test_no_desk_console_leaves_the_console_off_duty_and_says_so(tmp_path: Path) -> None:
    desk = Desk(tmp_path, "--no-desk-console")
    try:
        at_the_prompt(desk)
        said = "\n".join(desk.rows())
        assert "This console does not serve at the help desk (--no-desk-console)" in said
        assert "On duty" not in said
        nora = desk.person("Nora")
        nora.expect("No operator is on duty")
        desk.screen.type(".room\r")
        desk.screen.wait(
            "the answer",
            lambda rows: any("does not serve at the help desk (--no" in r for r in rows),
        )
    finally:
        desk.close()
