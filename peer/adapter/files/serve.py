"""The sender's side of a transfer's bytes: a connection whose first message is a
FileWant, handed over by the endpoint, answered with data records of the secure channel
(secure/stream.py) from the offset asked to the end of the file, or with a FileNote
that says why not."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import NamedTuple

from disk.files import os_reason
from peer.core.files.transfer import Transfer
from secure.stream import SecureStream
from wire.file_messages import FileNote

#: Seconds to wait, once every byte is sent, for the receiver to close the connection.
CLOSE_WAIT = 30.0
#: Bytes of the file read, sealed and written at a time: the calls for each are paid once
#: for many records.
PIECE = 1024 * 1024
#: Bytes the connection may hold unsent before the sender waits: a few pieces, so that
#: the socket has the next while the file is read and sealed.
WRITE_BUFFER = 4 * PIECE


def changed(transfer: Transfer) -> str:
    """Why `transfer`'s file cannot be sent as offered any more, or ""."""
    try:
        facts = os.stat(transfer.path)
    except OSError as exc:
        return f"{transfer.path} cannot be read any more ({os_reason(exc)})"
    if facts.st_size != transfer.size or facts.st_mtime_ns != transfer.mtime_ns:
        return f"{transfer.path} changed since it was offered"
    return ""


async def refuse(stream: SecureStream, writer: asyncio.StreamWriter, note: FileNote) -> None:
    """Answer a FileWant with `note` (why not), and close."""
    try:
        stream.send(note)
        writer.write(stream.output())
        await writer.drain()
    except (OSError, ValueError):
        pass
    finally:
        writer.close()


class Connection(NamedTuple):
    """A connection handed over: its secure session and its two ends."""

    stream: SecureStream
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter


async def send_file(
    transfer: Transfer,
    offset: int,
    conn: Connection,
    progress: Callable[[int], None],
) -> str:
    """Send `transfer`'s file from `offset` to its end, then wait for the receiver to close;
    "" when every byte went, else why not (a sentence)."""
    stream, reader, writer = conn
    writer.transport.set_write_buffer_limits(high=WRITE_BUFFER)
    piece = memoryview(bytearray(PIECE))
    try:
        with open(transfer.path, "rb", buffering=0) as source:
            source.seek(offset)
            while offset < transfer.size:
                read = source.readinto(piece[: min(PIECE, transfer.size - offset)])
                if not read:
                    return "the file is shorter than when it was offered"
                writer.write(stream.seal_data(piece[:read]))
                await writer.drain()
                offset += read
                progress(offset)
        await asyncio.wait_for(reader.read(1), CLOSE_WAIT)
        return ""
    except (OSError, ValueError) as exc:
        return os_reason(exc) if isinstance(exc, OSError) else str(exc)
    except TimeoutError:
        return ""
    finally:
        writer.close()
