"""Where a node's sockets come from: the system, or the event loop that runs the node when
that loop brings a network of its own (a simulated one runs whole nodes, deterministically)."""

from __future__ import annotations

import asyncio
import socket


def new_socket(kind: socket.SocketKind) -> socket.socket:
    """A new IPv4 socket of `kind` (UDP or TCP): the running loop's `new_socket(kind)` when it
    has one, as it has `create_connection` for the connections it opens; else the system's."""
    make = getattr(asyncio.get_running_loop(), "new_socket", None)
    if make is None:
        return socket.socket(socket.AF_INET, kind)
    made: socket.socket = make(kind)
    return made
