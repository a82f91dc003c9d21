"""The registry console's input: the lines typed (or piped) to a running registry.

Lines are read on a thread (a terminal, a pipe and /dev/null alike) and handed to the event
loop one by one, in order. Nothing is read before the registry is ready: a line typed while
it starts waits in the terminal (or the pipe) until then, and is carried out then.

One case needs more than reading: text typed ahead in the shell, in the same burst as the
command that starts the registry (a paste of two lines, or keys sent by a program such as
tmux), reaches the terminal while the shell's line editor has it in raw mode. There Enter
is a carriage return, not a newline, and the shell does not echo what it has not read: the
terminal then holds `release alice\\r`, a line that is never finished for a reader that waits
for a newline, and shows nothing of it. So on a terminal, the registry first takes what
waits there, finished or not (`typed_ahead`), and any carriage return ends a line.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from typing import TextIO

from terminal.typed_ahead import LineSplitter
from wire.shown_text import clean


def typed_ahead(stdin: TextIO) -> tuple[list[str], str]:
    """What waits in the terminal `stdin` before anything reads it, taken at once: the
    lines finished (by Enter, whether it came as a newline or a carriage return), and the
    start of a line being typed. ([], "") when `stdin` is no terminal or cannot be read so.
    The terminal's modes are left as they were."""
    try:
        if not stdin.isatty():
            return [], ""
        fd = stdin.fileno()
    except (OSError, ValueError):
        return [], ""
    raw = _drain(fd)
    if not raw:
        return [], ""
    splitter = LineSplitter()
    encoding = getattr(stdin, "encoding", None) or "utf-8"
    lines = splitter.feed(raw.decode(encoding, errors="replace"))
    return lines, splitter.pending


def _drain(fd: int) -> bytes:
    """The bytes waiting in the terminal `fd`, read without waiting for a line end: out of
    line mode for as long as it takes, which makes an unfinished line readable too."""
    try:
        import termios
    except ImportError:  # pragma: no cover - not on this platform
        return b""
    try:
        modes = termios.tcgetattr(fd)
    except (termios.error, OSError):
        return b""
    quick = [*modes[:6], list(modes[6])]
    quick[3] = modes[3] & ~termios.ICANON
    quick[6][termios.VMIN] = 0
    quick[6][termios.VTIME] = 0
    chunks: list[bytes] = []
    try:
        termios.tcsetattr(fd, termios.TCSANOW, quick)
        while chunk := os.read(fd, 4096):
            chunks.append(chunk)
    except (termios.error, OSError):
        pass
    finally:
        with contextlib.suppress(termios.error, OSError):
            termios.tcsetattr(fd, termios.TCSANOW, modes)
    return b"".join(chunks)


def read_lines(
    stdin: TextIO,
    pending: str,
    line: Callable[[str], None],
    ended: Callable[[], None],
) -> None:
    """Read `stdin` on a thread from now on: each line (without its line end, the first
    one begun by `pending`) goes to `line`, then `ended` once the input ends, both called
    in the running event loop, in order. Must be called inside that loop."""
    loop = asyncio.get_running_loop()

    def post(call: Callable[..., None], *args: str) -> None:
        # the registry may have stopped (its loop closed) while a line was being read
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(call, *args)

    def reader() -> None:
        splitter = LineSplitter(pending)
        with contextlib.suppress(OSError, ValueError):
            for text in stdin:
                for each in splitter.feed(text):
                    post(line, each)
        if splitter.pending:  # the input ended in the middle of a line: it is one still
            post(line, splitter.pending)
        post(ended)

    threading.Thread(target=reader, name="console", daemon=True).start()


def printable(out: Callable[[str], None]) -> Callable[[str], None]:
    """`out`, made to print every line cleaned (see `wire.shown_text.clean`). Log lines
    quote what came from the network (a Refused's reason, a name that is not registered,
    a help-desk person's words): an escape sequence could clear the operator's screen, a
    carriage return or newline forge a log line of its own."""

    def cleaned(line: str) -> None:
        out(clean(line))

    return cleaned
