"""The help desk of a registry that cannot run it (its operator key file holds no key): chat
goes on, and every desk client is told in one line that the desk is closed here.

It stands where `registry.adapter.desk.service.DeskService` would, with the part of its surface the
registry uses; it keeps nothing and hands nobody over.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path

from net.listener import has_hung_up
from secure.stream import SecureStream
from wire.desk.commands import is_operator_command
from wire.desk.messages import DeskEnded, DeskGiveUp, DeskMessage, DeskRefused
from wire.messages import Message
from wire.reliable import IdMaker

#: What a person's or an operator's client is told: the registry's console says why.
CLOSED = (
    "The help desk is closed at this registry (it cannot use its operator key); please try "
    "again later. Whoever runs the registry sees why on its console."
)
#: Seconds a refusal may take to leave before its connection is closed all the same.
FLUSH_TIMEOUT = 2.0


class ClosedDesk:
    """A desk that answers every connection that it is closed, and why on the console."""

    def __init__(self, key_path: Path, problem: str) -> None:
        """`problem` is the one line that says what is wrong with `key_path` and how to put
        it right (registry.adapter.desk.key.DeskKeyError)."""
        self.key_path = key_path
        self.problem = problem
        self._new_id = IdMaker(secrets.token_hex(4))
        self.console = ClosedConsole()
        self._tasks: set[asyncio.Task[None]] = set()

    def operators(self) -> list[str]:
        """The console's `operators`: the desk is closed."""
        return [f"  operators: {self.problem}"]

    def waiting_room(self) -> list[str]:
        """The console's `desk`: the desk is closed."""
        return [f"  desk: {self.problem}"]

    def revoke(self, name: str) -> str:
        """The console's `revoke`: the desk is closed."""
        return f"  revoke: {self.problem}"

    async def start(self) -> None:
        """Nothing to start: nothing is kept or timed."""

    async def close(self) -> None:
        """Nothing is open past a refusal."""

    async def handle_connection(
        self,
        first: Message,
        decoder: SecureStream,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        more: Sequence[Message] = (),
    ) -> None:
        """Answer the first desk message of a connection with CLOSED, then close it: a join
        or an operator's hello with `DeskRefused`, a place given up with `DeskEnded` (its
        client is leaving). Never raises but CancelledError."""
        try:
            if not has_hung_up(reader, writer):
                answer: DeskMessage = (
                    DeskEnded(self._new_id(), CLOSED, False, -1)
                    if isinstance(first, DeskGiveUp)
                    else DeskRefused(self._new_id(), getattr(first, "id", ""), CLOSED)
                )
                decoder.send(answer)
                writer.write(decoder.output())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(writer.drain(), FLUSH_TIMEOUT)
        except (ConnectionError, OSError, ValueError):
            pass  # it is gone: there is nobody to tell
        finally:
            decoder.close()
            with contextlib.suppress(Exception):
                writer.close()


class ClosedConsole:
    """The console of a closed desk: it never goes on duty, and knows the desk's commands
    only to have the registry answer them with the desk's problem."""

    on_duty = False
    serves = ""

    def set_output(self, print_fn: Callable[[str], None]) -> None:
        """The console does not go on duty at a closed desk."""

    def wants(self, line: str, begun: float | None = None) -> bool:
        return is_operator_command(line)

    def typed(self, line: str, begun: float | None = None) -> None:
        """Nothing to carry out."""

    def ended(self) -> None:
        """Nothing is on duty."""
