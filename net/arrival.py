"""When a datagram reached the host: the kernel's receive timestamp (SO_TIMESTAMPNS), for
an endpoint to know how long what it reads waited in its socket."""

from __future__ import annotations

import os
import socket
import struct
import sys

#: Linux's SO_TIMESTAMPNS (and its control message's type): 35 on the machines named in
#: _MACHINES; the others go without the stamp rather than set the wrong option.
SO_TIMESTAMPNS: int = getattr(socket, "SO_TIMESTAMPNS", 35)
_MACHINES = ("x86_64", "i386", "i486", "i586", "i686", "aarch64", "arm", "riscv", "ppc", "s390")
#: The stamp, the only control message: a struct timespec, two C longs.
TIMESPEC = struct.Struct("@ll")
#: Room for the stamp's control message, for recvmsg.
ANCILLARY_SIZE = socket.CMSG_SPACE(TIMESPEC.size) if hasattr(socket, "CMSG_SPACE") else 0


def stamp_arrivals(sock: socket.socket) -> bool:
    """Ask the kernel to stamp each datagram `sock` receives: whether it will."""
    if not sys.platform.startswith("linux") or not ANCILLARY_SIZE:
        return False
    if not os.uname().machine.startswith(_MACHINES):
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError:
        return False
    return True
