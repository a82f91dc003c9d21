"""Asking a registry for its public key over TCP, in clear (the help-desk clients' first
contact; a peer asks with a KEY_REQUEST datagram), and the label it is pinned under."""

from __future__ import annotations

import asyncio
import contextlib

from secure.channel import KEY_REQUEST_SIZE
from secure.stream import KEY_REQUEST_FRAME, frame, key_answer
from wire.limits import FRAME_HEADER

#: Seconds to wait for a registry's key before saying it does not answer.
ASK_TIMEOUT = 5.0


def registry_label(host: str, port: int) -> str:
    return f"registry {host}:{port}"


async def ask_key(host: str, port: int) -> bytes | None:
    """The key the registry at `host`:`port` answers with, or None. Raises
    ConnectionRefusedError: nothing listens there; OtherVersion: another version answers."""
    writer = None
    try:
        async with asyncio.timeout(ASK_TIMEOUT):
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(frame(KEY_REQUEST_FRAME))
            length = int.from_bytes(await reader.readexactly(FRAME_HEADER), "big")
            if length > KEY_REQUEST_SIZE:
                return None
            return key_answer(await reader.readexactly(length))
    except ConnectionRefusedError:
        raise
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        return None
    finally:
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()
