"""The endpoint reads what waits in its socket ahead of handling it (net/datagram_in.py):
the first initiation of a handshake is answered at once, the rest handled in order, a
bounded number per wake-up, with no datagram left behind once nothing new comes."""

from __future__ import annotations

import asyncio
import select
import socket

import pytest
from clear_channel import clear_endpoint
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from net import datagram_in
from net.endpoint import Endpoint
from secure.channel import _DATA_HEADER, COOKIE_REPLY, DATA, RESPONSE, SecureChannel, new_initiation
from wire.codec import encode
from wire.messages import Message, Notice


def ignore(*_: object) -> None:
    """An owner that takes no message."""


def test_a_first_initiation_is_answered_ahead_of_the_datagrams_before_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a join storm of 5,000: a peer's first initiation waited behind thousands of
    # datagrams, was answered after its first round of tries, and the peer gave up
    # ("is the registry running?") although the registry ran
    monkeypatch.setattr(datagram_in, "DRAIN_BATCH", 2)

    async def main() -> None:
        far_channel = SecureChannel(X25519PrivateKey.generate())
        far = Endpoint(ignore, channel=far_channel, session="f")
        far_addr = await far.open("127.0.0.1", 0)
        crowd = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        crowd.bind(("127.0.0.2", 0))
        newcomer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        newcomer.bind(("127.0.0.3", 0))
        try:
            for index in range(6):  # work waiting: three wake-ups' worth
                crowd.sendto(_DATA_HEADER.pack(DATA, 1000 + index, 7) + bytes(40), far_addr)
            stranger = SecureChannel(X25519PrivateKey.generate())
            [(initiation, _)] = stranger.seal(b"hi", far_addr, far_channel.public, 0.0)
            assert new_initiation(initiation)
            newcomer.sendto(initiation, far_addr)
            assert far._sock is not None
            select.select([far._sock], [], [], 5)
            far._readable()  # one wake-up: two of the six handled, and the initiation
            readable, _, _ = select.select([newcomer], [], [], 2)
            assert readable, "the initiation waited behind the six"
            assert newcomer.recv(2048)[0] in (RESPONSE, COOKIE_REPLY)
        finally:
            crowd.close()
            newcomer.close()
            await far.close()

    asyncio.run(main())


def test_a_backlog_is_handled_in_order_with_nothing_new_arriving(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(datagram_in, "DRAIN_BATCH", 2)

    async def main() -> None:
        got: list[Message] = []
        all_in = asyncio.Event()

        def on_message(message: Message, addr: tuple[str, int]) -> None:
            got.append(message)
            if len(got) == 7:
                all_in.set()

        endpoint = clear_endpoint(on_message, session="e")
        port = (await endpoint.open("127.0.0.1", 0))[1]
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sent = [Notice(f"n-{i}", f"line {i}") for i in range(7)]
        try:
            for notice in sent:
                sock.sendto(encode(notice), ("127.0.0.1", port))
            await asyncio.wait_for(all_in.wait(), 5)
            assert got == sent
            assert not endpoint._backlog
        finally:
            sock.close()
            await endpoint.close()

    asyncio.run(main())


def test_past_the_backlog_bound_datagrams_wait_in_the_kernel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(datagram_in, "DRAIN_BATCH", 1)
    monkeypatch.setattr(datagram_in, "BACKLOG", 3)

    async def main() -> None:
        endpoint = clear_endpoint(lambda message, addr: None, session="e")
        port = (await endpoint.open("127.0.0.1", 0))[1]
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            for index in range(6):
                sock.sendto(encode(Notice(f"n-{index}", "hi")), ("127.0.0.1", port))
            assert endpoint._sock is not None
            select.select([endpoint._sock], [], [], 5)
            endpoint._readable()  # three read, one handled
            assert len(endpoint._backlog) == 2
            assert select.select([endpoint._sock], [], [], 0)[0]  # three still in the kernel
        finally:
            sock.close()
            await endpoint.close()

    asyncio.run(main())


def test_only_an_initiation_without_a_cookie_is_a_new_initiation() -> None:
    far = SecureChannel(X25519PrivateKey.generate())
    near = SecureChannel(X25519PrivateKey.generate())
    addr = ("127.0.0.1", 9)
    [(initiation, _)] = near.seal(b"hi", addr, far.public, 0.0)
    assert new_initiation(initiation)
    assert not new_initiation(initiation[:-1] + b"\x01")  # a mac2: a cookie was given
    assert not new_initiation(_DATA_HEADER.pack(DATA, 1, 7) + bytes(40))
    assert not new_initiation(b"")
