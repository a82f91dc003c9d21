"""Ports for the processes of the tests: free on every address, below the kernel's ephemeral
range, handed out once per session, per test worker, and per machine (see `free_port`)."""

from __future__ import annotations

import fcntl
import os
import random
import socket
import struct
import tempfile
import threading
from pathlib import Path

_handed_out: set[int] = set()
#: This test worker and how many there are ("gw2", 3 under pytest-xdist; else one).
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
_WORKERS = max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")), 1)
_port_lock = threading.Lock()


def _ports_the_kernel_never_picks() -> range:
    """Ports below the kernel's ephemeral range: a port the tests hand out there cannot be
    taken, between a peer's quit and its restart on the same port, by some other socket
    that binds port 0 (another test's client, say). $CHATAPP_TEST_PORTS ("20000-21999")
    keeps them to a range (a machine shared by several people); the tests of a service need
    one wider than a NATS node's route offset (tests/nats_servers.py), or they find none."""
    low, _, high = os.environ.get("CHATAPP_TEST_PORTS", "").partition("-")
    if low.isdigit() and high.isdigit() and 1024 <= int(low) < int(high) <= 65535:
        return range(int(low), int(high) + 1)
    try:
        ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral = 32768
    return range(10000, ephemeral) if ephemeral > 12000 else range(1024, 10000)


_PORTS = _ports_the_kernel_never_picks()
#: Where this worker starts its walk: random, so that two test runs at once rarely meet.
_next = random.randrange(len(_PORTS))


#: A file of which every test process on this machine locks the byte at a port's offset
#: for each port it hands out, for the rest of its life: two test runs at once (and two
#: copies of this module, imported under two names) never hand out one port, which one
#: would find taken when its process came to bind it.
_PORT_LOCKS = Path(tempfile.gettempdir()) / "chatapp-test-ports"
_locks: list[int] = []  # the lock file, opened once (a list: no `global` to assign)


def _claimed(port: int) -> bool:
    """Whether this process now holds `port` against every other test process. An open
    file description's lock (F_OFD_SETLK): two descriptors, even in one process, exclude
    each other, and the kernel drops the lock when the process ends, however it ends.
    Where there is no such lock or no such file, every port is this process's."""
    setlk = getattr(fcntl, "F_OFD_SETLK", None)
    if setlk is None:
        return True
    if not _locks:
        try:
            flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW
            _locks.append(os.open(_PORT_LOCKS, flags, 0o666))
        except OSError:
            _locks.append(-1)
    if _locks[0] < 0:
        return True
    # struct flock: type, whence, start, length, pid (0 for these locks), then padding
    byte = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, port, 1, 0)
    try:
        fcntl.fcntl(_locks[0], setlk, byte)
    except OSError:
        return False
    return True


def free_port(host: str = "0.0.0.0", apart: int = 0) -> int:
    """A port outside the kernel's ephemeral range that is free on `host` for both TCP and
    UDP right now: by default on every address, as a peer listens (a port free on 127.0.0.1
    alone may be held on 127.0.0.2 by a test playing another machine). With `apart`, the
    port that far above it is free too, and handed out with it (a NATS node's routes).

    A port is never handed out twice in one session, nor by two test workers
    (pytest-xdist): each keeps to the ports equal to its number modulo their count; nor
    by two test runs on one machine at once (`_claimed`).
    """
    global _next
    with _port_lock:
        for _ in range(len(_PORTS)):
            _next = (_next + 1) % len(_PORTS)
            port = _PORTS[_next]
            if port % _WORKERS != _WORKER or (apart and port + apart not in _PORTS):
                continue
            wanted = (port, port + apart) if apart else (port,)
            if all(_free(each, host) for each in wanted):
                _handed_out.update(wanted)
                return port
    raise RuntimeError(f"no port in {_PORTS} free for both TCP and UDP")


def _free(port: int, host: str) -> bool:
    """Whether `port` is free on `host` and now claimed by this process."""
    if port in _handed_out:
        return False
    try:
        with (
            socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp,
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp,
        ):
            tcp.bind((host, port))
            udp.bind((host, port))
    except OSError:
        return False
    return _claimed(port)  # (else another test process on this machine has it)
