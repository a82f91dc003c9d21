"""A yes-or-no question on the terminal, awaited without blocking the event loop (the
secure channel goes on reading while the person thinks), and cancellable.

Asked before any line editor takes the terminal: the terminal's own line discipline
edits the answer, and only the answer's line is read, so what is typed after it stays
for the program's prompt.
"""

from __future__ import annotations

import asyncio
import os
import sys


async def ask_yes_no(question: str) -> bool:
    """Show `question` and read one line from standard input: True for y or yes (any
    case), False for anything else, the end of input included."""
    sys.stdout.write(question)
    sys.stdout.flush()
    loop = asyncio.get_running_loop()
    fd = sys.stdin.fileno()
    answer = bytearray()
    done: asyncio.Future[bool] = loop.create_future()

    def readable() -> None:
        try:
            byte = os.read(fd, 1)  # one at a time: nothing after the answer's line is taken
        except OSError:
            byte = b""
        if byte and byte != b"\n":
            answer.extend(byte)
        elif not done.done():
            done.set_result(answer.decode(errors="replace").strip().lower() in ("y", "yes"))

    loop.add_reader(fd, readable)
    try:
        return await done
    finally:
        loop.remove_reader(fd)
        if not done.done():  # cancelled: what follows begins a line of its own
            sys.stdout.write("\n")
            sys.stdout.flush()
