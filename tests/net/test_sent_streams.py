"""The TCP connections an endpoint opens to send messages too long for a datagram
(net/served_stream.py): one address that accepts them and never answers holds at most
PER_ADDRESS of them, however many keys and ports it has; the others are not opened, and the
sender's retries send them later."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from net.endpoint import Endpoint
from net.served_stream import SENT_PER_ADDRESS as PER_ADDRESS
from net.served_stream import SentStreams
from secure.channel import SecureChannel
from secure.noise import public_bytes
from wire.messages import Chat

pytestmark = pytest.mark.timeout(10)

#: The attacker's addresses, each with PORTS listeners, each with a key of its own; every
#: message is sent COPIES times, as a push is retried.
ATTACKERS = ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")
PORTS = 20
COPIES = 3


def test_one_address_that_never_answers_holds_at_most_its_share_of_connections() -> None:
    assert PORTS * COPIES > PER_ADDRESS  # (what one address would hold, unbounded)
    held: Counter[str] = Counter()
    kept: list[asyncio.StreamWriter] = []  # accepted, never read nor answered

    def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held[writer.get_extra_info("sockname")[0]] += 1
        kept.append(writer)

    async def main() -> None:
        servers, dests = [], []
        for ip in ATTACKERS:
            for _ in range(PORTS):
                server = await asyncio.start_server(accepted, ip, 0)
                servers.append(server)
                port = server.sockets[0].getsockname()[1]
                dests.append(((ip, port), public_bytes(X25519PrivateKey.generate())))
        endpoint = Endpoint(
            lambda message, addr, key: None,
            channel=SecureChannel(X25519PrivateKey.generate()),
            session="s",
        )
        await endpoint.open("127.0.0.1", 0)
        long = "x" * 3000  # too long for a datagram: each goes on a connection of its own
        for copy in range(COPIES):
            for i, (addr, key) in enumerate(dests):
                endpoint.send(addr, Chat(f"m-{copy}-{i}", "r", "p", long), key)
        # every send settled: each connection it kept open accepted, the others over
        while len(endpoint.tasks) != sum(held.values()):
            await asyncio.sleep(0.01)
        assert held == Counter({ip: PER_ADDRESS for ip in ATTACKERS})
        sent = endpoint.sent_streams
        assert sent.refused == len(dests) * COPIES - len(ATTACKERS) * PER_ADDRESS
        await endpoint.close()
        for writer in kept:
            writer.close()
        for server in servers:
            server.close()

    asyncio.run(main())


def test_a_closed_connection_makes_room_and_the_limit_holds_for_all_addresses() -> None:
    sent = SentStreams(limit=3, per_address=2)
    one, other = ("10.0.0.1", 5000), ("10.0.0.1", 5001)  # one IP address, two ports
    assert sent.take(one, "m-1") and sent.take(other, "m-2")
    assert not sent.take(one, "m-3")  # its share
    assert sent.take(("10.0.0.2", 5000), "m-4")
    assert not sent.take(("10.0.0.3", 5000), "m-5")  # all of them
    sent.release(one, "m-1")
    assert sent.asking == {(other, "m-2"), (("10.0.0.2", 5000), "m-4")}
    assert sent.take(("10.0.0.3", 5000), "m-5") and sent.open_to("10.0.0.1") == 1
    assert sent.refused == 2
