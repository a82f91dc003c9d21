"""The steps of a start before the prompt takes the terminal: lines typed meanwhile wait for
it; a start that ends says each not carried out, none left for the shell."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator

from peer.core.actions import Action, Print
from peer.core.shared import not_carried_out
from terminal.typed_ahead import hold_typed_ahead, kept_on_interrupt, read_typed_ahead
from wire.words import counted


async def before_prompt(step: Awaitable[bool], say: Callable[[Action], None]) -> bool:
    """Await `step` (False: the start ends) at a terminal, saying with `say`."""
    fd = sys.stdin.fileno()
    with kept_on_interrupt(fd), _asked_first(fd, say):
        try:
            done = await step
        except asyncio.CancelledError:  # Ctrl-C: asyncio.run cancels the start
            sys.stdout.write("\n")  # below the "^C" the terminal echoed
            typed_meanwhile(fd, say)
            raise
        if not done:
            typed_meanwhile(fd, say)
        return done


def typed_meanwhile(fd: int, say: Callable[[Action], None]) -> None:
    ahead = read_typed_ahead(fd, unfinished=True)
    not_carried_out((*ahead.lines, ahead.partial), "nothing was sent", say)


def waiting(fd: int) -> str:
    """What a quit now would lose of the lines typed at `fd` ("": nothing), held for the prompt."""
    ahead = hold_typed_ahead(fd, unfinished=False)
    typed = [text for text in ahead.lines if text.strip()]
    if not typed:
        return ""
    return f"{counted(len(typed), 'line')} typed {'waits' if len(typed) == 1 else 'wait'}"


@contextlib.contextmanager
def _asked_first(fd: int, say: Callable[[Action], None]) -> Iterator[None]:
    """A first Ctrl-C while lines typed wait says so; any other goes to the handler there was."""
    loop = asyncio.get_running_loop()
    before = signal.getsignal(signal.SIGINT)
    asked = False

    def interrupted() -> None:
        nonlocal asked
        if not asked and (lost := waiting(fd)):
            asked = True
            sys.stdout.write("\n")  # below the "^C" the terminal echoed
            say(Print(f"[{lost} for the registry; Ctrl-C again quits.]", "system"))
            return
        loop.remove_signal_handler(signal.SIGINT)
        signal.signal(signal.SIGINT, before)
        if callable(before):
            before(signal.SIGINT, None)

    try:
        loop.add_signal_handler(signal.SIGINT, interrupted)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
        yield
        return
    try:
        yield
    finally:
        if loop.remove_signal_handler(signal.SIGINT):
            signal.signal(signal.SIGINT, before)
