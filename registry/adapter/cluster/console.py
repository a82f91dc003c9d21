"""The console of a relaying registry: the commands that only read are asked of the registry
that decides (CONSOLE_SUBJECT) and answered in the order typed (docs/SCALING.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import msgspec

from registry.adapter.cluster.store import ERRORS
from registry.adapter.console_commands import COMMANDS, help_lines

#: Where the registry that decides takes the console commands asked by the others.
CONSOLE_SUBJECT = "chatapp.lead.console"
#: Seconds a relaying registry's console waits for the answer of the one that decides.
ASK_WAIT = 2.0
#: The console's commands that only read, asked of the registry that decides.
READING = frozenset(name for name, command in COMMANDS.items() if command.reads)
#: What `help` answers on a relaying registry's console.
RELAY_HELP = (
    *help_lines([name for name in COMMANDS if name in READING or name == "quit"]),
    "  release, revoke and stats are typed at the registry that decides for the service",
)

_words = msgspec.json.Decoder(list[str])

#: Sends a request on a subject and returns the reply's data; raises when none came.
Ask = Callable[[str, bytes, float], Awaitable[bytes]]


def answer_asked(data: bytes, answer: Callable[[list[str]], list[str]]) -> bytes:
    """The reply of the registry that decides to a console command asked by another (`data`:
    its words): the lines `answer` gives for a command that only reads, else one line."""
    try:
        words = _words.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        words = []
    if not words or words[0].lower() not in READING:
        lines = ["  only who, rooms, operators and desk are asked of another registry"]
    else:
        lines = answer(words)
    return msgspec.json.encode(lines)


class RelayConsole:
    """`deciding()` is where the registry that decides is reached ("" for none yet)."""

    def __init__(self, ask: Ask, out: Callable[[str], None], deciding: Callable[[], str]) -> None:
        self._ask, self._out, self._deciding = ask, out, deciding
        self._in_order = asyncio.Lock()  # (its waiters go in the order they came)
        self._tasks: set[asyncio.Task[None]] = set()

    def line(self, line: str) -> None:
        """A line typed on the console (a leading "/" is taken as the registry's too)."""
        if not (words := line.split()):
            return
        words[0] = words[0].removeprefix("/").lower()
        task = asyncio.get_running_loop().create_task(self._answered(words))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settled(self) -> None:
        """Return once every command typed so far is answered, or said unanswered."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _answered(self, words: list[str]) -> None:
        async with self._in_order:
            for line in await self._answer(words):
                self._out(line)

    async def _answer(self, words: list[str]) -> list[str]:
        word, deciding = words[0], self._deciding()
        if word == "help":
            return list(RELAY_HELP)
        if word not in COMMANDS:
            return [f"  unknown command {word!r}; type help"]
        if word not in READING:
            return [
                f"  {word} is typed at the registry that decides for the service "
                f"({deciding or 'none yet'}); this one relays to it"
            ]
        try:
            if not deciding:
                raise TimeoutError
            data = await self._ask(CONSOLE_SUBJECT, msgspec.json.encode(words), ASK_WAIT)
            return msgspec.json.decode(data, type=list[str])
        except (msgspec.DecodeError, msgspec.ValidationError):
            return [f"  {word}: the answer from {deciding} was not ChatApp's"]
        except ERRORS:  # no answer, or no NATS now
            deciding = self._deciding()  # (which may have changed while it was asked)
            return [
                f"  {word}: the registry that decides ({deciding or 'none yet'}) "
                "did not answer; try again in a moment"
            ]
