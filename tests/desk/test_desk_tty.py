"""The desk clients on a real terminal (a pty): prompt_toolkit prompts, a line being typed
while a message arrives, Ctrl-C and Ctrl-D leaving cleanly."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from desk_procs import ROOT, DeskWorld, place

from tests.e2e.harness import free_port
from wire.desk.render import YOUR_TURN
from wire.desk.text import ENDED, ENDED_TO_PERSON

pexpect = pytest.importorskip("pexpect")
forked_terminal = pytest.importorskip("tests.forked_terminal")


def pty_env(world: DeskWorld) -> dict[str, str]:
    """`world`'s environment for a program on a terminal: an xterm, and no cursor-position
    requests (pexpect does not answer them)."""
    env = world.env()
    env["TERM"] = "xterm"
    env["PROMPT_TOOLKIT_NO_CPR"] = "1"
    return env


def on_a_terminal(env: dict[str, str], args: list[str]) -> pexpect.spawn:
    """`python <args>` on a pty of 40 rows of 200 columns, from the repository."""
    return forked_terminal.Spawn(
        sys.executable,
        args,
        cwd=str(ROOT),
        env=env,
        encoding="utf-8",
        timeout=8,
        dimensions=(40, 200),
    )


def person_on_a_terminal(world: DeskWorld) -> pexpect.spawn:
    """`ChatApp -d` against `world`'s desk, on a terminal."""
    return on_a_terminal(
        pty_env(world), world.chatapp("-d", "127.0.0.1", str(world.port), trusting=True)
    )


def test_person_and_operator_on_a_terminal(tmp_path: Path) -> None:
    world = DeskWorld(tmp_path)
    env = pty_env(world)
    env.pop("NO_COLOR", None)
    key = env.pop("CHATAPP_DESK_KEY")  # on a terminal the operator is asked for it
    port = str(world.port)
    op = on_a_terminal(env, world.chatapp("-o", "ann", "127.0.0.1", port, "--plain", trusting=True))
    person = on_a_terminal(env, world.chatapp("-d", "127.0.0.1", port, trusting=True))
    try:
        op.expect("Operator key: ")
        op.sendline(key)
        op.expect("On duty as ann")
        # half a line typed before Alice is handed over: it goes on being typed while her
        # message arrives, and is not sent when finished, as it was begun before ann
        # could see who she serves
        op.send("hel")
        op.expect("hel")  # echoed: the keys are in the prompt's buffer
        person.expect("Name:")
        person.sendline("Alice")
        person.expect("mobile number:")
        person.sendline("12")
        person.expect("7 to 15 digits")
        person.sendline("+44 7700 900123")
        person.expect(r"Topic \(1-6\):")
        person.sendline("1")
        person.expect("!!!")
        person.expect("talking to ann")
        op.expect("Now serving Alice")
        person.sendline("hi there")
        op.expect("Alice: hi there")
        op.sendline("lo")
        # held back, and put back into the prompt, where Enter sends it to Alice
        op.expect("Not sent: you began this line before Alice was handed over to you")
        op.sendline("")
        person.expect("ann: hello")  # the half-typed line was kept whole
        person.sendcontrol("c")
        person.expect(ENDED.format("You"))
        person.expect("!!!")  # the crisis notice again on leaving
        person.expect(pexpect.EOF)
        person.close()
        assert person.exitstatus == 0
        op.expect(ENDED.format("Alice"))
        op.sendcontrol("d")
        op.expect("off duty")
        op.expect(pexpect.EOF)
        op.close()
        assert op.exitstatus == 0
        assert "Traceback" not in (person.before or "") + (op.before or "")
    finally:
        for child in (person, op):
            if child.isalive():
                child.terminate(force=True)
        world.close()


def test_ctrl_c_at_a_question_leaves_without_asking_again(tmp_path: Path) -> None:
    world = DeskWorld(tmp_path)
    person = person_on_a_terminal(world)
    try:
        person.expect("Name:")
        person.sendcontrol("c")
        person.expect(r"\[Bye\.\]")
        # the question's last drawing, as answered, and no fresh one under it
        assert (person.before or "").count("Name:") == 1
        person.expect(pexpect.EOF)
        person.close()
        assert person.exitstatus == 0
    finally:
        if person.isalive():
            person.terminate(force=True)
        world.close()


def test_an_operator_key_left_empty_at_its_question_says_how_to_give_one(tmp_path: Path) -> None:
    # found by trying it: Enter at "Operator key: " said to start on a terminal, on one
    world = DeskWorld(tmp_path)
    env = pty_env(world)
    env.pop("CHATAPP_DESK_KEY")
    op = on_a_terminal(env, world.chatapp("-o", "ann", "127.0.0.1", str(world.port)))
    try:
        op.expect("Operator key: ")
        op.sendline("")
        op.expect("typed when asked on a terminal or set in CHATAPP_DESK_KEY")
        op.expect(pexpect.EOF)
        op.close()
        assert op.exitstatus == 2
        assert "start on a terminal" not in (op.before or "")
    finally:
        if op.isalive():
            op.terminate(force=True)
        world.close()


@pytest.mark.parametrize("serves", [True, False])
def test_the_registry_console_serves_unless_started_with_no_desk_console(
    tmp_path: Path, serves: bool
) -> None:
    port = str(free_port())
    world = DeskWorld(tmp_path)  # for the person's environment; the registry's desk serves
    env = pty_env(world)
    option = [] if serves else ["--no-desk-console"]
    argv = ["ChatApp.py", "-s", port, "--bind", "127.0.0.1", "--data-dir", str(tmp_path / "r")]
    argv.append("--plain")
    registry = forked_terminal.Spawn(
        sys.executable, argv + option, cwd=str(ROOT), env=env, encoding="utf-8", timeout=8
    )
    try:
        registry.expect("need the key in")
        person = world.start([str(ROOT / "ChatApp.py"), "-d", "127.0.0.1", port], "Alice")
        person.send("Alice", "+44 7700 900123", "2")
        if serves:
            registry.expect("This console is the help desk.s operator admin")
            person.expect(f"{YOUR_TURN} admin")
            registry.expect("Now serving Alice")
        else:
            person.expect(r"No operator is on duty")
            person.expect(place(1))
            assert "admin" not in (registry.before or "")
        registry.sendline("/quit")
        registry.expect(pexpect.EOF)
    finally:
        if registry.isalive():
            registry.terminate(force=True)
        world.close()


def test_a_client_stopped_and_continued_puts_its_terminal_back(tmp_path: Path) -> None:
    # found by trying it: after `kill -STOP` and `fg` the shell had left the terminal in
    # its own mode; every line typed was echoed twice and the prompt never came back
    import io
    import os
    import signal
    import termios

    import pyte

    world = DeskWorld(tmp_path)
    person = person_on_a_terminal(world)
    seen = io.StringIO()
    person.logfile_read = seen
    try:
        person.expect("Name:")
        os.kill(person.pid, signal.SIGSTOP)
        # what the shell does meanwhile: its own mode, echo and whole lines
        attrs = termios.tcgetattr(person.child_fd)
        attrs[3] |= termios.ECHO | termios.ICANON
        termios.tcsetattr(person.child_fd, termios.TCSANOW, attrs)
        os.kill(person.pid, signal.SIGCONT)
        person.expect("Name:")  # drawn again
        deadline = 50
        while termios.tcgetattr(person.child_fd)[3] & (termios.ECHO | termios.ICANON):
            deadline -= 1
            assert deadline, "the terminal was not put back in raw mode"
            person.expect([pexpect.TIMEOUT], timeout=0.1)
        person.sendline("Alice")
        person.expect("mobile number:")
        # typed once: by the prompt, not also by the terminal (counted on the screen: the
        # raw output may draw the line more than once when the machine is busy)
        screen = pyte.Screen(200, 40)
        pyte.Stream(screen).feed(seen.getvalue())
        assert sum(row.count("Alice") for row in screen.display) == 1, screen.display
        person.sendcontrol("c")
        person.expect(pexpect.EOF)
    finally:
        if person.isalive():
            person.terminate(force=True)
        world.close()


def test_ending_the_session_leaves_no_empty_prompt_above_the_last_line(tmp_path: Path) -> None:
    # found by trying it: after `.end` the screen read `> .end`, then an empty `>`, the
    # prompt cancelled as the client left, then `[You ended the session. Take care.]`
    import io

    import pyte

    world = DeskWorld(tmp_path)
    operator = world.operator("ann")
    person = person_on_a_terminal(world)
    seen = io.StringIO()
    person.logfile_read = seen
    try:
        for question, answer in (("Name:", "Alice"), ("number:", "+44 7700 900123")):
            person.expect(question)
            person.sendline(answer)
        person.expect(r"Topic \(1-6\):")
        person.sendline("5")
        person.expect("talking to ann")
        person.sendline(".end")
        person.expect(ENDED.format("You"))
        person.expect(pexpect.EOF)
        screen = pyte.Screen(200, 40)
        pyte.Stream(screen).feed(seen.getvalue())
        shown = [row.rstrip() for row in screen.display if row.strip()]
        assert shown[-2:] == ["> .end", f">>> [{ENDED_TO_PERSON.format('You')}]"], shown
        operator.expect(ENDED.format("Alice"))
    finally:
        if person.isalive():
            person.terminate(force=True)
        world.close()
