"""net/outgoing.py, Outgoing's socket: what the kernel refuses to send waits, in order, for
the socket to be writable; nothing is lost to a full send buffer."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from net.outgoing import Outgoing
from tests.net.test_outgoing import outgoing


def opened(sock: socket.socket) -> Outgoing:
    out = outgoing()
    out.open(lambda then: None, lambda then: None, sock)
    return out


class Refusing(socket.socket):
    """A UDP socket whose kernel refuses the `refused`-th datagram (its send buffer full),
    as no loopback socket can be made to."""

    def __init__(self, refused: int) -> None:
        super().__init__(socket.AF_INET, socket.SOCK_DGRAM)
        self.refused, self.calls = refused, 0

    def sendto(self, data: Any, *address: Any) -> int:
        self.calls += 1
        if self.calls == self.refused:
            raise BlockingIOError
        return super().sendto(data, *address)


@pytest.mark.timeout(10)
def test_what_the_kernel_refuses_and_all_after_it_reach_their_members_later() -> None:
    """A relay's tight loop of sends: the second is refused; it and the rest wait for the
    socket to be writable, and each member gets its own, once."""

    async def main() -> list[bytes]:
        loop = asyncio.get_running_loop()
        with Refusing(refused=2) as sock:
            sock.bind(("127.0.0.1", 0))
            sock.setblocking(False)
            members = []
            for _ in range(4):
                member = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                member.bind(("127.0.0.1", 0))
                members.append(member)
            out = opened(sock)
            for i, member in enumerate(members):
                out.send_sealed((b"relayed %d" % i, member.getsockname()))
            got = [await asyncio.wait_for(loop.sock_recv(m, 100), 5) for m in members]
            out.close()
            for member in members:
                member.close()
            assert out.errors == 0
            return got

    assert asyncio.run(main()) == [b"relayed %d" % i for i in range(4)]


def test_nothing_is_sent_before_open_or_after_close() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as member:
        member.bind(("127.0.0.1", 0))
        member.setblocking(False)
        outgoing().send_sealed((b"nowhere", member.getsockname()))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            out = opened(sock)
            out.close()
            out.send_sealed((b"closed", member.getsockname()))
        with pytest.raises(BlockingIOError):
            member.recv(100)
