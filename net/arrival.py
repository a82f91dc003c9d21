"""When a datagram reached the host: the kernel's receive timestamp (SO_TIMESTAMPNS),
read beside each datagram, so that an endpoint knows how long what it reads now waited
in its socket (net/datagram_in.py, `behind`).

Only an endpoint that asks for it (a registry's) reads the stamp: a recvmsg costs each
datagram more than a recv. Linux gives the stamp on the common machines; elsewhere
`stamp_arrivals` says no, and the endpoint bounds the wait by when its socket was last
empty instead.
"""

from __future__ import annotations

import os
import socket
import struct
import sys

#: Linux's SO_TIMESTAMPNS (also the type of its control message): the socket module's
#: where it names it, else the number of the common machines, 35. The number differs on a
#: few rare machines (alpha, mips, parisc, sparc): those, and any machine not listed, go
#: without the stamp rather than set the wrong option.
SO_TIMESTAMPNS: int = getattr(socket, "SO_TIMESTAMPNS", 35)
_MACHINES = ("x86_64", "i386", "i486", "i586", "i686", "aarch64", "arm", "riscv", "ppc", "s390")
#: The stamp, the only control message asked for (so the first): a struct timespec
#: (seconds and nanoseconds of the wall clock), two C longs.
TIMESPEC = struct.Struct("@ll")
#: Room for the stamp's control message, for recvmsg.
ANCILLARY_SIZE = socket.CMSG_SPACE(TIMESPEC.size) if hasattr(socket, "CMSG_SPACE") else 0


def stamp_arrivals(sock: socket.socket) -> bool:
    """Ask the kernel to stamp each datagram `sock` receives with its arrival: whether it
    will (Linux on the machines named in _MACHINES, where the option is taken)."""
    if not sys.platform.startswith("linux") or not ANCILLARY_SIZE:
        return False
    if not os.uname().machine.startswith(_MACHINES):
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError:
        return False
    return True
