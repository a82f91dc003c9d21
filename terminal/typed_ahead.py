"""What was typed at a terminal before the prompt took it over, read in line mode (a
Ctrl-D typed then would be lost in raw mode). Keys typed with the command (a paste) came
while the shell had the terminal raw: a carriage return ends a line too."""

from __future__ import annotations

import contextlib
import os
import re
import select
import termios
from collections.abc import Iterator

from msgspec import Struct

#: What ends a line typed at a terminal: a newline, a carriage return (Enter while the
#: terminal was in raw mode: a shell's line editor, a prompt), or both in that order.
_LINE_END = re.compile(r"\r\n|\r|\n")


class LineSplitter:
    """Cuts text that comes in pieces into lines, whatever ends them."""

    def __init__(self, pending: str = "") -> None:
        #: The unfinished line read so far ("" for none); given, the start of one typed.
        self.pending = pending
        # the last piece ended with "\r": a "\n" opening the next one ends nothing more
        self._after_cr = False

    def feed(self, text: str) -> list[str]:
        """The lines `text` finishes, without their line ends, in order."""
        if self._after_cr and text.startswith("\n"):
            text = text[1:]
        self._after_cr = text.endswith("\r")
        parts = _LINE_END.split(self.pending + text)
        self.pending = parts[-1]
        return parts[:-1]


#: Bytes read at a time: the kernel hands over one line per read in line mode, and holds
#: at most 4095 bytes of one.
READ_SIZE = 4096


class TypedAhead(Struct, frozen=True):
    """What waited at the terminal: each whole line typed, oldest first; the start of a
    line a Ctrl-D handed over without its Enter (to go on with at the prompt); and whether
    a Ctrl-D on an empty line ended the input."""

    lines: tuple[str, ...] = ()
    partial: str = ""
    ended: bool = False


#: What `hold_typed_ahead` read, given first by the next `read_typed_ahead`.
_held: list[TypedAhead] = []


def hold_typed_ahead(fd: int, *, unfinished: bool = True) -> TypedAhead:
    """Read what waits at terminal `fd` (`unfinished`: the line being typed too) and hold
    it for the next `read_typed_ahead` (the prompt's): so a question asked now is answered
    by a line typed after it, never by one typed before. All that is held, in order."""
    _held.append(read_typed_ahead(fd, unfinished=unfinished))
    return _merged(_held)


def read_typed_ahead(fd: int, *, unfinished: bool = False) -> TypedAhead:
    """What waits at terminal `fd` if it is in line mode, read without waiting for more
    (what was read so far, if it fails), after what `hold_typed_ahead` held. `unfinished`:
    the line being typed too, read out of line mode for a moment."""
    parts = [*_held, _read(fd, unfinished)]
    _held.clear()
    return _merged(parts)


def _merged(parts: list[TypedAhead]) -> TypedAhead:
    return TypedAhead(
        tuple(line for part in parts for line in part.lines),
        "".join(part.partial for part in parts),
        any(part.ended for part in parts),
    )


def _read(fd: int, unfinished: bool) -> TypedAhead:
    lines: list[str] = []
    # a line a Ctrl-D handed over part by part is one line: its parts join
    splitter = LineSplitter()
    try:
        modes = termios.tcgetattr(fd)
        if not modes[3] & termios.ICANON:
            return TypedAhead()
        if unfinished:
            termios.tcsetattr(
                fd, termios.TCSANOW, [*modes[:3], modes[3] & ~termios.ICANON, *modes[4:]]
            )
        try:
            while select.select([fd], [], [], 0)[0]:
                if not (data := os.read(fd, READ_SIZE)):
                    return TypedAhead(tuple(lines), splitter.pending, ended=True)
                lines.extend(splitter.feed(data.decode(errors="replace")))
        finally:
            if unfinished:
                termios.tcsetattr(fd, termios.TCSANOW, modes)
    except (termios.error, OSError, ValueError):
        pass
    return TypedAhead(tuple(lines), splitter.pending)


@contextlib.contextmanager
def kept_on_interrupt(fd: int) -> Iterator[None]:
    """While inside, what waits at terminal `fd` stays there on Ctrl-C (NOFLSH), for
    `read_typed_ahead` to read, where the terminal would throw it away."""
    try:
        modes = termios.tcgetattr(fd)
        termios.tcsetattr(fd, termios.TCSANOW, [*modes[:3], modes[3] | termios.NOFLSH, *modes[4:]])
    except (termios.error, OSError, ValueError):  # no terminal
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(termios.error, OSError, ValueError):
            now = termios.tcgetattr(fd)
            flag = modes[3] & termios.NOFLSH  # as it was
            termios.tcsetattr(
                fd, termios.TCSANOW, [*now[:3], now[3] & ~termios.NOFLSH | flag, *now[4:]]
            )
