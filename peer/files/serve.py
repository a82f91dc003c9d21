"""The sender's side of a transfer's bytes: a connection whose first message is a
FileWant, handed over by the endpoint, answered with FileChunks from the offset asked to
the end of the file, or with a FileNote that says why not."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import NamedTuple

from net.files import os_reason
from net.secure_stream import SecureStream
from peer.files.transfer import Transfer
from wire.file_messages import CHUNK, FileChunk, FileNote

#: Seconds to wait, once every byte is sent, for the receiver to close the connection.
CLOSE_WAIT = 30.0


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
    new_id: Callable[[], str],
    progress: Callable[[int], None],
) -> str:
    """Send `transfer`'s file from `offset` to its end, then wait for the receiver to close;
    "" when every byte went, else why not (a sentence)."""
    stream, reader, writer = conn
    try:
        with open(transfer.path, "rb") as source:
            source.seek(offset)
            while offset < transfer.size:
                data = source.read(min(CHUNK, transfer.size - offset))
                if not data:
                    return "the file is shorter than when it was offered"
                stream.send(FileChunk(new_id(), offset, data))
                writer.write(stream.output())
                await writer.drain()
                offset += len(data)
                progress(offset)
        await asyncio.wait_for(reader.read(1), CLOSE_WAIT)
        return ""
    except (OSError, ValueError) as exc:
        return os_reason(exc) if isinstance(exc, OSError) else str(exc)
    except TimeoutError:
        return ""
    finally:
        writer.close()
