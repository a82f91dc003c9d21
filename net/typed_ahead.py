"""What was typed at a terminal before the prompt took it over.

A terminal stays in its line mode while Python loads the program (a peer, a registry)
and until the prompt starts: a few tenths of a second, more on a busy machine. Whole lines
typed then are left for the prompt, which reads them in raw mode like any keys. A Ctrl-D on an empty
line is not: in line mode the kernel keeps it as an end of file for the next read, and
once the prompt puts the terminal in raw mode it is gone (found by trying it: Ctrl-D
pressed as a peer started did nothing). So what waits is read here first, in line mode.
"""

from __future__ import annotations

import os
import select
from dataclasses import dataclass

#: Bytes read at a time: the kernel hands over one line per read in line mode, and holds
#: at most 4095 bytes of one.
READ_SIZE = 4096


@dataclass(frozen=True)
class TypedAhead:
    """What waited at the terminal: each whole line typed, oldest first; the start of a
    line a Ctrl-D handed over without its Enter (to go on with at the prompt); and whether
    a Ctrl-D on an empty line ended the input."""

    lines: tuple[str, ...] = ()
    partial: str = ""
    ended: bool = False


def read_typed_ahead(fd: int) -> TypedAhead:
    """What waits at terminal `fd`, read without waiting for more (see TypedAhead), if it
    is in line mode; nothing if it is not (keys then wait for the prompt as they are). A
    terminal that cannot be read gives what was read so far."""
    lines: list[str] = []
    partial = ""
    try:
        import termios
    except ImportError:  # no terminal modes here (Windows)
        return TypedAhead()
    try:
        if not termios.tcgetattr(fd)[3] & termios.ICANON:
            return TypedAhead()
        while select.select([fd], [], [], 0)[0]:
            data = os.read(fd, READ_SIZE)
            if not data:
                return TypedAhead(tuple(lines), partial, ended=True)
            # a line a Ctrl-D handed over part by part is one line: its parts join
            text = partial + data.decode(errors="replace")
            if text.endswith("\n"):
                lines.append(text[:-1].removesuffix("\r"))
                partial = ""
            else:
                partial = text
    except (termios.error, OSError, ValueError):
        pass
    return TypedAhead(tuple(lines), partial)
