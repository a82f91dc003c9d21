"""What the help desk of a registry that cannot run it (its operator key file holds no key)
answers: chat goes on, and every desk client is told in one line that the desk is closed
here (`registry.adapter.desk.service.DeskService.problem` says why, on the console).
"""

from __future__ import annotations

import asyncio
import contextlib

from net.listener import has_hung_up
from secure.stream import SecureStream
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


async def answer_closed(
    first: Message,
    decoder: SecureStream,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    new_id: IdMaker,
) -> None:
    """Answer the first desk message of a connection with CLOSED, then close it: a join
    or an operator's hello with `DeskRefused`, a place given up with `DeskEnded` (its
    client is leaving). Never raises but CancelledError."""
    try:
        if not has_hung_up(reader, writer):
            answer: DeskMessage = (
                DeskEnded(new_id(), CLOSED, False, -1)
                if isinstance(first, DeskGiveUp)
                else DeskRefused(new_id(), getattr(first, "id", ""), CLOSED)
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
