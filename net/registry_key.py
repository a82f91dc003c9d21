"""Learning a registry's public key over TCP, the first time, and pinning it (as SSH does).

Used by the help-desk clients, which reach the registry only over TCP; a peer asks with a
KEY_REQUEST datagram instead (peer/node.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from net.keys import Pins
from net.secure_stream import KEY_REQUEST_FRAME, key_answer
from wire.keys import fingerprint
from wire.limits import FRAME_HEADER

#: Seconds to wait for a registry's key before saying it does not answer.
ASK_TIMEOUT = 5.0


def registry_label(host: str, port: int) -> str:
    """The label a registry's key is pinned under."""
    return f"registry {host}:{port}"


async def ask_key(host: str, port: int) -> bytes | None:
    """The key the registry at `host`:`port` answers with over TCP, or None."""
    writer = None
    try:
        async with asyncio.timeout(ASK_TIMEOUT):
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(len(KEY_REQUEST_FRAME).to_bytes(FRAME_HEADER, "big") + KEY_REQUEST_FRAME)
            length = int.from_bytes(await reader.readexactly(FRAME_HEADER), "big")
            if length != 33:
                return None
            return key_answer(await reader.readexactly(length))
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        return None
    finally:
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()


async def pinned_key(
    pins: Pins, host: str, port: int, say: Callable[[str], None], *, accept_new: bool = False
) -> bytes | None:
    """The registry's key: the one pinned, else the one it answers with now, pinned and said
    with its fingerprint (`accept_new`: the answer replaces a pinned one). None when the
    registry does not answer."""
    label = registry_label(host, port)
    pinned = pins.get(label)
    if pinned is not None and not accept_new:
        return pinned
    key = await ask_key(host, port)
    if key is None:
        return pinned
    if key != pinned:
        try:
            pins.pin(label, key)
        except OSError as exc:  # used all the same: it is asked for again at the next start
            say(f"[Cannot keep the registry's key in {pins.path}: {exc.strerror or exc}.]")
        said = "now accepted" if pinned else "first met"
        say(
            f"[The registry at {host}:{port}, {said}, has the key fingerprint {fingerprint(key)};"
            " it is pinned. Compare it with the one the registry printed at its start.]"
        )
    return key
