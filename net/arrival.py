"""When a datagram reached the host: the kernel's receive timestamp of the last datagram a
socket read (SIOCGSTAMPNS), for an endpoint to know how long what it reads waited in its
socket. Asked for only when wanted: a read with its stamp (recvmsg) cost twice a recvfrom."""

from __future__ import annotations

import errno
import os
import socket
import struct
import sys

if sys.platform != "win32":
    import fcntl

#: Linux's ioctl for the stamp of the last datagram read, on the machines named in
#: _MACHINES; the others go without the stamp rather than ask the wrong request.
SIOCGSTAMPNS = 0x8907
_MACHINES = ("x86_64", "i386", "i486", "i586", "i686", "aarch64", "arm", "riscv", "ppc", "s390")
#: The stamp: a struct timespec, two C longs.
TIMESPEC = struct.Struct("@ll")


def stamp_arrivals(sock: socket.socket) -> bool:
    """Ask the kernel to stamp each datagram `sock` receives (`arrival` reads the stamp of
    the last one read): whether it will."""
    if sys.platform != "linux" or not os.uname().machine.startswith(_MACHINES):
        return False
    try:
        fcntl.ioctl(sock.fileno(), SIOCGSTAMPNS, bytes(TIMESPEC.size))
    except OSError as exc:
        return exc.errno == errno.ENOENT  # none read yet: each is stamped from now on
    return True


def arrival(sock: socket.socket) -> float | None:
    """The wall-clock time the last datagram `sock` read reached the host (None: unknown)."""
    if sys.platform != "linux":
        return None
    try:
        stamp = fcntl.ioctl(sock.fileno(), SIOCGSTAMPNS, bytes(TIMESPEC.size))
    except OSError:
        return None
    seconds, nanoseconds = TIMESPEC.unpack(stamp)
    return float(seconds + nanoseconds * 1e-9)
