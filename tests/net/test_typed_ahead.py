"""What was typed at a terminal in line mode before the prompt started, read from a real
pseudo-terminal (os.openpty), as the peer reads its own."""

from __future__ import annotations

import os
import select
import termios
from collections.abc import Iterator

import pytest

from terminal.typed_ahead import TypedAhead, hold_typed_ahead, read_typed_ahead


@pytest.fixture
def pty() -> Iterator[tuple[int, int]]:
    """(the keyboard's end, the program's end) of a terminal in its usual line mode."""
    master, slave = os.openpty()
    try:
        yield master, slave
    finally:
        os.close(master)
        os.close(slave)


@pytest.mark.parametrize(
    ("typed", "ahead"),
    [
        (b"", TypedAhead()),
        (b"send bob hi\r", TypedAhead(("send bob hi",))),
        (b"one\rtwo\r\x04", TypedAhead(("one", "two"), ended=True)),
        (b"\x04", TypedAhead(ended=True)),
        (b"par\x04", TypedAhead(partial="par")),  # a Ctrl-D after text hands it over
        (b"par\x04tial\r", TypedAhead(("partial",))),  # its parts are one line
        (b"caf\xc3\xa9\r", TypedAhead(("café",))),
    ],
)
def test_what_waits_in_line_mode_is_read(
    pty: tuple[int, int], typed: bytes, ahead: TypedAhead
) -> None:
    master, slave = pty
    os.write(master, typed)
    assert read_typed_ahead(slave) == ahead


def test_a_line_not_yet_entered_is_left_for_the_prompt(pty: tuple[int, int]) -> None:
    master, slave = pty
    os.write(master, b"done\rhalf")
    assert read_typed_ahead(slave) == TypedAhead(("done",))
    modes = termios.tcgetattr(slave)
    modes[3] &= ~termios.ICANON  # as the prompt's raw mode: the half line is readable now
    termios.tcsetattr(slave, termios.TCSANOW, modes)
    assert os.read(slave, 100) == b"half"


def test_a_terminal_not_in_line_mode_is_left_alone(pty: tuple[int, int]) -> None:
    master, slave = pty
    modes = termios.tcgetattr(slave)
    modes[3] &= ~termios.ICANON
    termios.tcsetattr(slave, termios.TCSANOW, modes)
    os.write(master, b"x\r")
    assert read_typed_ahead(slave) == TypedAhead()
    assert os.read(slave, 100) == b"x\n"  # still there for the prompt


def test_what_is_no_terminal_gives_nothing() -> None:
    read, write = os.pipe()
    try:
        os.write(write, b"line\n")
        assert read_typed_ahead(read) == TypedAhead()
    finally:
        os.close(read)
        os.close(write)


def test_a_carriage_return_typed_while_the_shell_was_raw_ends_a_line(
    pty: tuple[int, int],
) -> None:
    # found by trying it: `ChatApp -s ...` Enter `rooms` Enter `sta` typed in one burst came
    # into the registry's prompt as `rooms^Msta`, one line, never carried out
    master, slave = pty
    modes = termios.tcgetattr(slave)
    raw = [*modes[:6], list(modes[6])]
    raw[0] = modes[0] & ~termios.ICRNL  # as a shell's line editor has it: Enter stays CR
    raw[3] = modes[3] & ~(termios.ICANON | termios.ECHO)
    termios.tcsetattr(slave, termios.TCSANOW, raw)
    os.write(master, b"rooms\rsta")
    assert select.select([slave], [], [], 5)[0]  # arrived
    termios.tcsetattr(slave, termios.TCSANOW, modes)  # the shell gives the terminal back
    assert read_typed_ahead(slave) == TypedAhead(("rooms",), partial="sta")


def test_what_was_held_before_a_question_comes_first_and_does_not_answer_it(
    pty: tuple[int, int],
) -> None:
    # found by trying it: a line typed while a silent registry was tried answered the
    # question of its key when it came ("Not trusted"), and was gone
    master, slave = pty
    os.write(master, b"send bob hi\rsend ca")
    assert hold_typed_ahead(slave) == TypedAhead(("send bob hi",), partial="send ca")
    os.write(master, b"y\r")  # the answer, typed after the question
    assert os.read(slave, 100) == b"y\n"
    os.write(master, b"who\r")
    assert read_typed_ahead(slave) == TypedAhead(("send bob hi", "who"), partial="send ca")
    assert read_typed_ahead(slave) == TypedAhead()  # given once
