"""The asyncio endpoint over real loopback sockets: datagrams, TCP fallback, TooBig,
the amplification rule, and junk."""

from __future__ import annotations

import asyncio
import errno
import select
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any
from unittest.mock import ANY

import pytest
from clear_channel import PUBLIC, clear_endpoint, session_of, with_keys
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from net import endpoint as endpoint_module
from net import served_stream
from net.endpoint import Endpoint
from net.listener import Listener
from peer.core.actions import AcksLater
from secure.channel import _DATA_HEADER, DATA, SecureChannel
from tests.datagrams import messages_of, seal_list
from wire.codec import decode, encode
from wire.limits import MAX_DATAGRAM
from wire.messages import (
    VERSION_REFUSAL,
    Ack,
    Acks,
    Chat,
    Deregister,
    Entry,
    Message,
    Notice,
    Refused,
    TableRequest,
    TableSnapshot,
    TooBig,
)
from wire.refusals import RefusalCode

pytestmark = pytest.mark.timeout(10)

BIG = tuple(Entry(f"name{i}", "127.0.0.1", 6000 + i, True) for i in range(100))


async def pair(
    arrived: asyncio.Event | None = None,
) -> tuple[Endpoint, list[tuple[Message, tuple[str, int]]]]:
    """A server endpoint, and what it got; `arrived` is set as each message comes."""
    got: list[tuple[Message, tuple[str, int]]] = []
    server: Endpoint

    def on_message(message: Message, addr: tuple[str, int]) -> None:
        got.append((message, addr))
        if arrived is not None:
            arrived.set()
        if isinstance(message, TableRequest):
            server.send(addr, TableSnapshot("s-1", message.id, 1, BIG, ()), PUBLIC)

    server = clear_endpoint(on_message, session="s")
    await server.open("127.0.0.1", 0)
    return server, got


async def udp_ask(port: int, message: Message) -> Message:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sock.bind(("127.0.0.1", 0))
    try:
        await loop.sock_sendto(sock, encode(message), ("127.0.0.1", port))
        data = await asyncio.wait_for(loop.sock_recv(sock, 65536), 5)
        return decode(data)
    finally:
        sock.close()


def test_a_reply_too_big_for_a_datagram_becomes_toobig_then_comes_over_tcp() -> None:
    async def main() -> None:
        server, _ = await pair()
        port = server.address[1]
        answer = await udp_ask(port, TableRequest("q-1"))
        assert answer == TooBig(answer.id, "q-1")  # type: ignore[union-attr]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        decoder = session_of(writer)
        decoder.send(TableRequest("q-2"))
        messages: list[Message] = []
        while not messages:
            messages = decoder.feed(await reader.read(65536))
            writer.write(decoder.output())
        assert isinstance(messages[0], TableSnapshot) and messages[0].entries == BIG
        writer.close()
        await server.close()

    asyncio.run(main())


def test_junk_is_counted_and_dropped_and_a_bad_frame_closes_only_its_connection() -> None:
    async def main() -> None:
        arrived = asyncio.Event()
        server, got = await pair(arrived)
        port = server.address[1]
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for junk in (b"", b"\x00" * 10, b"{", b'{"t":"Nope","id":"1"}', b"\xff" * 2000):
            sock.sendto(junk, ("127.0.0.1", port))
        sock.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write((10**9).to_bytes(4, "big"))  # a hostile length header
        closing = await asyncio.wait_for(reader.read(), 5)
        assert closing == b""  # closed, and nothing said: no answer to what does not open
        writer.close()
        arrived.clear()
        chat = Chat("c-1", "a", "b", "still served")
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.sendto(encode(chat), ("127.0.0.1", port))
        sock.close()
        await asyncio.wait_for(arrived.wait(), 5)
        assert got[-1][0] == chat
        assert server.bad_datagrams == 5 and server.bad_frames == 1
        await server.close()

    asyncio.run(main())


#: A Register of another version of ChatApp (one field more), and an Ack of one.
OTHER_REGISTER = b'{"t":"Register","id":"r-1","name":"al","port":1,"token":"","password":"","v":2}'
OTHER_ACK = b'{"t":"Ack","id":"k-1","reply_to":"x-1","v":2}'


def test_a_request_of_another_version_is_refused_by_name_and_an_answer_is_not() -> None:
    async def main() -> None:
        server, got = await pair()
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        sock.bind(("127.0.0.1", 0))
        for data in (OTHER_ACK, OTHER_REGISTER):  # the Ack gets no answer: the first is for r-1
            await loop.sock_sendto(sock, data, server.address)
        answer = decode(await asyncio.wait_for(loop.sock_recv(sock, 65536), 5))
        sock.close()
        assert isinstance(answer, Refused) and answer.reply_to == "r-1"
        assert answer.reason == VERSION_REFUSAL
        assert "ChatApp versions differ" in answer.reason and got == []
        assert "Register" not in answer.reason  # no class of ours named to the user
        assert server.bad_datagrams == 2
        await server.close()

    asyncio.run(main())


def test_another_versions_request_is_refused_in_a_datagram_and_over_tcp() -> None:
    # In a datagram, which opened in the channel (its address shown by the handshake), the
    # refusal comes at once; a frame in clear over TCP (a version from before the secure
    # channel) is refused in clear on its connection.
    async def main() -> None:
        server, _ = await pair()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        sock.bind(("127.0.0.1", 0))
        loop = asyncio.get_running_loop()
        await loop.sock_sendto(sock, OTHER_REGISTER, server.address)
        answer = decode(await asyncio.wait_for(loop.sock_recv(sock, 65536), 5))
        sock.close()
        assert answer == Refused(answer.id, "r-1", VERSION_REFUSAL, RefusalCode.VERSION)  # type: ignore[union-attr]
        reader, writer = await asyncio.open_connection(*server.address)
        writer.write(len(OTHER_REGISTER).to_bytes(4, "big") + OTHER_REGISTER)
        received = await asyncio.wait_for(reader.read(), 5)  # the refusal, then EOF
        writer.close()
        assert int.from_bytes(received[:4], "big") == len(received) - 4  # one clear frame
        refused = decode(received[4:])
        assert refused == Refused(refused.id, "r-1", VERSION_REFUSAL, RefusalCode.VERSION)
        await server.close()

    asyncio.run(main())


async def sink_and_sender() -> tuple[socket.socket, tuple[str, int], Endpoint]:
    """A plain UDP socket to receive on, its address, and an open Endpoint to send from."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sock.bind(("127.0.0.1", 0))
    sender = clear_endpoint(lambda m, a: None, session="b")
    await sender.open("127.0.0.1", 0)
    return sock, sock.getsockname(), sender


def test_sends_in_one_pass_share_datagrams_in_order_and_an_idle_send_goes_at_once() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        sock, dest, sender = await sink_and_sender()
        sent = [Notice(f"b-{i}", f"line {i}") for i in range(50)]
        for message in sent:  # all in one pass of the loop
            sender.send(dest, message, PUBLIC)
        first = await asyncio.wait_for(loop.sock_recv(sock, 65536), 5)
        assert decode(first) == sent[0]  # the first went at once, alone
        got: list[Message] = [sent[0]]
        datagrams = 1
        while len(got) < len(sent):
            data = await asyncio.wait_for(loop.sock_recv(sock, 65536), 5)
            got += messages_of(data)
            datagrams += 1
        assert got == sent
        assert datagrams <= 6  # 49 notices packed into a few datagrams, not 49
        await sender.close()
        sock.close()

    asyncio.run(main())


def test_messages_to_one_address_and_key_go_to_one_dest_kept_as_it_is() -> None:
    """A peer's messages to one address and key go to the same Dest object (Outgoing then
    finds it by identity), whether or not the address is the same tuple; another key, or
    another address, is another Dest."""

    async def main() -> None:
        sock, dest, sender = await sink_and_sender()
        went, other = sender.outgoing.went, bytes(32)

        def sent_to(addr: tuple[str, int], key: bytes) -> object:
            sender.send(addr, Notice("b-1", "hi"), key)
            (one,) = went
            sender.outgoing.pass_ends()  # (the next send goes at once, noted in `went` again)
            return one

        first = sent_to(dest, PUBLIC)
        assert sent_to((dest[0], dest[1] + 0), PUBLIC) is first == (dest, PUBLIC)
        assert sent_to(dest, other) == (dest, other)
        assert sent_to(("127.0.0.2", dest[1]), other) == (("127.0.0.2", dest[1]), other)
        assert sent_to(dest, PUBLIC) is not first  # (only the last one is kept)
        await sender.close()
        sock.close()

    asyncio.run(main())


async def acking_endpoint() -> tuple[Endpoint, socket.socket, int]:
    """An open Endpoint that acks every message (as a peer does), a blocking client socket
    (5 s timeout) to talk to it from, and the endpoint's port. The loop itself is not run:
    a test calls `drain` as the loop would."""
    endpoint: Endpoint

    def ack_it(message: Message, addr: tuple[str, int]) -> None:
        endpoint.send(addr, Ack(f"a-{message.id}", message.id), PUBLIC)

    endpoint = clear_endpoint(ack_it, session="e")
    port = (await endpoint.open("127.0.0.1", 0))[1]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    return endpoint, sock, port


def test_what_is_sent_within_packed_leaves_at_its_end_in_one_datagram() -> None:
    """The registry's sends held for a group commit: a save's Ack and its Saved outcome
    (any messages for one address) share a datagram, rather than the first going alone."""

    async def main() -> None:
        sock, dest, sender = await sink_and_sender()
        notices = [Notice(f"n-{i}", f"line {i}") for i in range(2)]
        with sender.packed():
            sender.send(dest, Ack("b-0", "s-1"), PUBLIC)
            for notice in notices:
                sender.send(dest, notice, PUBLIC)
            assert seen_by(sock) == []  # nothing before the end
        got = messages_of(sock.recv(65536))
        assert got[:2] == notices  # one datagram, the ack merged after the rest
        assert isinstance(got[2], Ack) and got[2].reply_to == "s-1" and len(got) == 3
        assert seen_by(sock) == []
        await sender.close()
        sock.close()

    asyncio.run(main())


def test_a_peer_answering_a_drain_asks_the_loop_for_no_extra_pass() -> None:
    """The drain's end flushes what its answers left waiting: a peer's ack costs no
    `call_soon`, so the loop does not go round once more (an epoll call) per datagram."""

    async def main() -> None:
        endpoint, sock, port = await acking_endpoint()
        sock.sendto(encode(Notice("n-0", "hi")), ("127.0.0.1", port))
        assert endpoint.wait_readable(5)
        loop = asyncio.get_running_loop()
        asked: list[object] = []
        loop.call_soon = lambda callback, *args, **kw: asked.append(callback)  # type: ignore[method-assign,assignment]
        try:
            endpoint.drain()
        finally:
            del loop.call_soon  # the class's again
        assert decode(sock.recv(65536)) == Ack("a-n-0", "n-0")
        assert asked == []  # no pass of the loop asked for
        await endpoint.close()
        sock.close()

    asyncio.run(main())


def test_acks_that_wait_for_the_end_of_a_pass_travel_as_one_acks_after_the_rest() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        sock, dest, sender = await sink_and_sender()
        notices = [Notice(f"n-{i}", f"line {i}") for i in range(3)]
        acked = [f"r-{i:02}-" + "x" * 58 for i in range(100)]  # long ids: several Acks
        sender.send(dest, Ack("b-0", acked[0]), PUBLIC)  # the first send of the pass goes at once
        for i, reply_to in enumerate(acked[1:], start=1):
            sender.send(dest, Ack(f"b-{i}", reply_to), PUBLIC)
            if i <= len(notices):
                sender.send(dest, notices[i - 1], PUBLIC)
        assert decode(await asyncio.wait_for(loop.sock_recv(sock, 65536), 5)) == Ack(
            "b-0", acked[0]
        )
        got: list[Message] = []
        while sum(len(m.replies) for m in got if isinstance(m, Acks)) < len(acked) - 1:
            data = await asyncio.wait_for(loop.sock_recv(sock, 65536), 5)
            assert len(data) <= MAX_DATAGRAM
            got += messages_of(data)
        assert got[:3] == notices  # the other messages keep their order, ahead of the acks
        replies = [r for m in got[3:] if isinstance(m, Acks) for r in m.replies]
        assert replies == acked[1:]
        assert 2 <= len(got) - 3 <= 12  # 99 long ids need several Acks, far fewer than 99
        await sender.close()
        sock.close()

    asyncio.run(main())


def test_a_peers_acks_to_the_registry_leave_as_the_pass_ends_before_a_dereg_sent_after() -> None:
    """The acks owed the registry for what one drain took in leave once the pass is over,
    in one datagram, even with nothing sent before them; a `dereg` sent meanwhile follows
    them in it (the registry then takes every line it delivered as acked)."""

    async def main() -> None:
        sock, dest, sender = await sink_and_sender()
        sender.acks_later(AcksLater(dest, PUBLIC, ["r-1"]))
        sender.acks_later(AcksLater(dest, PUBLIC, ["r-2"]))
        sender.outgoing.drain_ends()  # nothing leaves at the drain's end: at the pass's
        sender.send(dest, Deregister("d-1", "alice", "tok", False, ""), PUBLIC)
        assert seen_by(sock) == []
        data = await asyncio.wait_for(asyncio.get_running_loop().sock_recv(sock, 65536), 5)
        assert messages_of(data) == [
            Acks(ANY, ("r-1", "r-2")),
            Deregister("d-1", "alice", "tok", False, ""),
        ]
        assert seen_by(sock) == []
        await sender.close()
        sock.close()

    asyncio.run(main())


def test_the_answers_to_one_drain_leave_before_the_loop_moves_on() -> None:
    """A process serving many sockets (or busy with other work) must not hold one socket's
    acks back until the end of the loop's whole pass: they leave when its drain ends."""

    async def main() -> None:
        endpoint, sock, port = await acking_endpoint()
        for i in range(5):
            sock.sendto(encode(Notice(f"n-{i}", "hi")), ("127.0.0.1", port))
        assert endpoint.wait_readable(5)
        endpoint.drain()  # the loop's turn for this socket; the loop itself does not run
        replies: list[str] = []
        while len(replies) < 5:
            for message in messages_of(sock.recv(65536)):
                replies += message.replies if isinstance(message, Acks) else [message.reply_to]  # type: ignore[attr-defined]
        assert replies == [f"n-{i}" for i in range(5)]
        await endpoint.close()
        sock.close()

    asyncio.run(main())


def test_on_drained_is_called_once_per_drain_after_its_datagrams() -> None:
    """The registry re-arms its timer there, once, rather than after every ack of a relay."""

    async def main() -> None:
        events: list[str] = []
        endpoint = clear_endpoint(
            lambda message, addr: events.append(message.id),
            session="e",
            on_drained=lambda: events.append("drained"),
        )
        port = (await endpoint.open("127.0.0.1", 0))[1]
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        for i in range(3):
            sock.sendto(encode(Notice(f"n-{i}", "hi")), ("127.0.0.1", port))
        assert endpoint.wait_readable(5)
        endpoint.drain()
        assert events == ["n-0", "n-1", "n-2", "drained"]
        await endpoint.close()
        sock.close()

    asyncio.run(main())


async def one_drain(coalesce: bool) -> tuple[list[list[Message]], list[Message], list[int]]:
    """Five posts arrive together; each is acked and relayed to three members, in one drain
    read by hand (the loop does not run). Returns (what the poster had after each handler,
    everything the poster got, datagrams each member got)."""
    endpoint: Endpoint
    members = []
    for _ in range(3):
        member = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        member.bind(("127.0.0.1", 0))
        member.settimeout(5)
        members.append(member)
    addrs = [m.getsockname() for m in members]
    poster = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    poster.bind(("127.0.0.1", 0))
    poster.setblocking(False)
    early: list[list[Message]] = []

    def relay(message: Message, addr: tuple[str, int]) -> None:
        endpoint.send(addr, Ack(f"a-{message.id}", message.id), PUBLIC)
        endpoint.send_many(*with_keys(addrs), Notice(f"r-{message.id}", "relayed"))
        early.append(seen_by(poster))

    endpoint = clear_endpoint(relay, session="e", coalesce_drains=coalesce)
    port = (await endpoint.open("127.0.0.1", 0))[1]
    for i in range(5):  # loopback queues each datagram as it is sent: one drain reads all
        poster.sendto(encode(Notice(f"p-{i}", "post")), ("127.0.0.1", port))
    assert endpoint.wait_readable(5)
    endpoint.drain()
    acks = [m for got in early for m in got] + seen_by(poster)
    replies = [r for m in acks for r in (m.replies if isinstance(m, Acks) else [m.reply_to])]  # type: ignore[attr-defined]
    assert replies == [f"p-{i}" for i in range(5)]
    datagrams = []
    for member in members:
        got: list[Message] = []
        datagrams.append(0)
        while len(got) < 5:
            got += messages_of(member.recv(65536))
            datagrams[-1] += 1
        assert got == [Notice(f"r-p-{i}", "relayed") for i in range(5)]
        member.close()
    await endpoint.close()
    poster.close()
    return early, acks, datagrams


def test_a_relay_answers_a_drain_packed_once_it_ends() -> None:
    """With coalesce_drains (the registry), what the datagrams of one drain ask for leaves
    when the drain ends: each address's messages share datagrams, its acks one Acks; only
    the first relay (with what its sender's next datagrams relay) leaves before, so that
    members of an idle registry never wait."""
    early, acks, datagrams = asyncio.run(one_drain(coalesce=True))
    assert not any(early)  # no ack left before the drain ended
    assert len(acks) == 1  # one Acks for the five posts
    assert datagrams == [1, 1, 1]  # the five posts of one sender relayed together


def test_a_peer_sends_the_first_answer_of_a_drain_at_once() -> None:
    """Without it (a peer), the first ack leaves at once: its sender is waiting for it."""
    early, _, datagrams = asyncio.run(one_drain(coalesce=False))
    assert early[0] == [Ack("a-p-0", "p-0")]
    assert datagrams == [2, 2, 2]  # the first relay alone, the rest at the end of the drain


def seen_by(sock: socket.socket) -> list[Message]:
    """Every message waiting on a non-blocking socket."""
    got: list[Message] = []
    while True:
        try:
            got += messages_of(sock.recv(65536))
        except BlockingIOError:
            return got


def test_send_many_sends_one_message_to_each_address_as_send_would() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        sinks = []
        for _ in range(3):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setblocking(False)
            s.bind(("127.0.0.1", 0))
            sinks.append(s)
        sender = clear_endpoint(lambda message, addr: None, session="m")
        await sender.open("127.0.0.1", 0)
        addrs = [s.getsockname() for s in sinks]
        relay, after = Notice("r-1", "to all"), Notice("r-2", "then this")
        sender.send_many(*with_keys(addrs), relay)
        sender.send(addrs[0], after, PUBLIC)  # same pass: waits and follows, as after a send
        for s in sinks:
            assert decode(await asyncio.wait_for(loop.sock_recv(s, 65536), 5)) == relay
        second = await asyncio.wait_for(loop.sock_recv(sinks[0], 65536), 5)
        assert messages_of(second) == [after]

        # too big for a datagram: each address gets it over TCP, as `send` does
        got: list[Message] = []
        both: asyncio.Future[None] = loop.create_future()

        def arrived(message: Message, addr: tuple[str, int]) -> None:
            got.append(message)
            if len(got) == 2:
                both.set_result(None)

        receivers = []
        for _ in range(2):
            r = clear_endpoint(arrived, session="x")
            await r.open("127.0.0.1", 0)
            receivers.append(r)
        big = TableSnapshot("r-3", "", 1, BIG, ())
        sender.send_many(*with_keys([r.address for r in receivers]), big)
        await asyncio.wait_for(both, 5)
        assert got == [big, big]
        for endpoint in [sender, *receivers]:
            await endpoint.close()
        for s in sinks:
            s.close()

    asyncio.run(main())


Addr = tuple[str, int]
Handler = Callable[[Endpoint, Message, Addr, list[Addr]], None]


async def relay_drain(
    handle: Handler, posts: int, senders: Sequence[int] = ()
) -> tuple[list[list[Message]], list[Message]]:
    """`posts` datagrams from a poster arrive together and are read in one drain (by hand,
    the loop does not run) of a relay endpoint whose handler is `handle(endpoint, message,
    addr, members)`. Returns (each member's messages, the poster's), the poster being the
    last member. `senders`: the member that sends each post instead (an index)."""
    endpoint: Endpoint
    socks = []
    for _ in range(3):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        socks.append(sock)
    members = [s.getsockname() for s in socks]
    endpoint = clear_endpoint(
        lambda m, a: handle(endpoint, m, a, members), session="e", coalesce_drains=True
    )
    port = (await endpoint.open("127.0.0.1", 0))[1]
    for i, sender in enumerate(senders or [-1] * posts):
        socks[sender].sendto(encode(Notice(f"p-{i}", "post")), ("127.0.0.1", port))
    assert endpoint.wait_readable(5)
    endpoint.drain()
    await endpoint.close()
    got = []
    for sock in socks:
        select.select([sock], [], [], 5)
        got.append(seen_by(sock))
        sock.close()
    return got, got[-1]


def test_a_relay_to_the_same_members_keeps_each_members_order_with_other_sends() -> None:
    """A drain's relays to the same members travel as one entry, packed once; a message of
    its own to one member, or an ack to a member, still follows what was relayed before it."""

    def handle(endpoint: Endpoint, message: Message, addr: Addr, members: list[Addr]) -> None:
        everyone = tuple(members)
        endpoint.send_many(*with_keys(everyone), Notice(f"r-{message.id}", "relayed"))
        if message.id == "p-1":
            endpoint.send(members[0], Notice("own-p-1", "to the first member only"), PUBLIC)
        endpoint.send(addr, Ack(f"a-{message.id}", message.id), PUBLIC)

    got, poster = asyncio.run(relay_drain(handle, 3))
    relayed = [Notice(f"r-p-{i}", "relayed") for i in range(3)]
    assert got[0] == [
        relayed[0],
        relayed[1],
        Notice("own-p-1", "to the first member only"),
        relayed[2],
    ]
    assert got[1] == relayed
    assert poster[:3] == relayed  # the poster is a member too: its acks come after
    assert [r for m in poster[3:] for r in m.replies] == ["p-0", "p-1", "p-2"]  # type: ignore[attr-defined]


def test_the_first_relaying_datagram_of_a_drain_is_relayed_before_the_rest_is_read() -> None:
    """A relay's members do not wait for the rest of the drain (the other posts, the acks):
    what the drain's first relaying datagram relays is on its way once that datagram is
    handled, before another sender's is; what later ones relay waits for the drain's end."""
    on_the_way: list[list[Message]] = []
    member = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    member.bind(("127.0.0.1", 0))
    member.setblocking(False)

    def handle(endpoint: Endpoint, message: Message, addr: Addr, members: list[Addr]) -> None:
        if message.id == "p-1":  # the first relay is awaited; the second's must wait
            select.select([member], [], [], 5)
        on_the_way.append(seen_by(member))
        endpoint.send_many(
            *with_keys((member.getsockname(), *members)), Notice(f"r-{message.id}", "x")
        )

    got, _ = asyncio.run(relay_drain(handle, 3, senders=(2, 1, 1)))
    member.close()
    assert on_the_way == [[], [Notice("r-p-0", "x")], []]
    assert got[0] == [Notice(f"r-p-{i}", "x") for i in range(3)]


def test_a_senders_next_datagram_in_the_drain_is_relayed_with_its_first() -> None:
    """Lines sent together that took two datagrams reach each member together, packed:
    one datagram for the two (one ack), not one as each is handled."""
    member = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    member.bind(("127.0.0.1", 0))
    member.setblocking(False)
    datagrams: list[list[Message]] = []

    def handle(endpoint: Endpoint, message: Message, addr: Addr, members: list[Addr]) -> None:
        if message.id == "p-2":  # another sender's: what the first two relayed is on its way
            select.select([member], [], [], 5)
        while select.select([member], [], [], 0)[0]:
            datagrams.append(messages_of(member.recv(65536)))
        datagrams.append([Notice(f"at {message.id}", "")])
        everyone = (member.getsockname(), *members)
        endpoint.send_many(*with_keys(everyone), Notice(f"r-{message.id}", "x"))

    asyncio.run(relay_drain(handle, 3, senders=(2, 2, 1)))
    member.close()
    relayed = [Notice(f"r-p-{i}", "x") for i in range(2)]
    assert datagrams == [
        [Notice("at p-0", "")],
        [Notice("at p-1", "")],
        relayed,
        [Notice("at p-2", "")],
    ]


def test_relays_to_different_members_in_one_drain_each_reach_their_own() -> None:
    def handle(endpoint: Endpoint, message: Message, addr: Addr, members: list[Addr]) -> None:
        n = int(message.id[2:])
        endpoint.send_many(
            *with_keys(tuple(members[: n + 1])), Notice(f"r-{message.id}", "relayed")
        )

    got, _ = asyncio.run(relay_drain(handle, 3))
    assert got[0] == [Notice(f"r-p-{i}", "relayed") for i in range(3)]
    assert got[1] == [Notice(f"r-p-{i}", "relayed") for i in (1, 2)]
    assert got[2] == [Notice("r-p-2", "relayed")]


def test_any_port_is_tried_again_when_its_number_is_taken_for_tcp(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """UDP's pick for port 0 can be a number some TCP connection already uses; the endpoint
    then picks again (a given port is not changed: that is an error for the user)."""
    real_open = Listener.open
    refused: list[int] = []

    async def taken_once(self: Listener, host: str, port: int) -> None:
        if not refused:
            refused.append(port)
            raise OSError(errno.EADDRINUSE, "Address already in use")
        await real_open(self, host, port)

    async def main() -> None:
        monkeypatch.setattr(Listener, "open", taken_once)
        endpoint, got = await pair()
        port = endpoint.address[1]
        assert refused and port != refused[0]
        answer = await udp_ask(port, TableRequest("q-1"))  # UDP on it: a TooBig, as usual
        assert isinstance(answer, TooBig) and answer.reply_to == "q-1"
        assert [m for m, _ in got] == [TableRequest("q-1")]
        _, writer = await asyncio.open_connection("127.0.0.1", port)  # TCP on the same port
        writer.close()
        await endpoint.close()

        refused.clear()
        fixed = clear_endpoint(lambda m, a: None, session="f")
        with pytest.raises(OSError):
            await fixed.open("127.0.0.1", port)
        assert refused == [port]

    asyncio.run(main())


async def long_chat_sent(answer: bool) -> tuple[Endpoint, Endpoint, list[Message]]:
    """A client endpoint that has sent a Chat too long for a datagram to a server endpoint
    (over TCP), which acks it on that connection when `answer`; what the client got."""
    got: list[Message] = []
    server: Endpoint

    def on_message(message: Message, addr: tuple[str, int]) -> None:
        if answer and isinstance(message, Chat):
            server.send(addr, Ack("s-1", message.id), PUBLIC)

    server = clear_endpoint(on_message, session="s")
    await server.open("127.0.0.1", 0)
    client = clear_endpoint(lambda message, addr: got.append(message), session="c")
    await client.open("127.0.0.1", 0)
    client.send(server.address, Chat("c-1", "alice", "bob", "x" * 2000), PUBLIC)
    return server, client, got


def test_a_connection_made_for_a_long_message_closes_once_its_answer_is_in() -> None:
    # Issue: each long message kept its connection open for 60 s idle, at both ends
    async def main() -> None:
        server, client, got = await long_chat_sent(answer=True)
        # closed at once, well within SENT_IDLE_CLOSE: the connection's task ends
        await asyncio.wait_for(asyncio.gather(*client.tasks), 2.0)
        assert got == [Ack("s-1", "c-1")] and not client.tasks
        # and its far end sees it close: its place among the listener's is free again
        await asyncio.wait_for(asyncio.gather(*server.tasks), 2.0)
        # (its route goes as its task ends: net/served_stream.py)
        assert len(server.listener.slots) == 0 and not server.tasks
        await client.close()
        await server.close()

    asyncio.run(main())


def test_a_connection_made_for_a_long_message_closes_when_idle_unanswered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(served_stream, "SENT_IDLE_CLOSE", 0.2)

    async def main() -> None:
        server, client, got = await long_chat_sent(answer=False)
        await asyncio.wait_for(asyncio.gather(*client.tasks), 3.0)
        assert got == []
        await client.close()
        await server.close()

    asyncio.run(main())


def test_the_end_of_a_connection_opened_to_send_is_told_after_its_answer() -> None:
    # the peer waits for an answer over TCP as long as its connection is open
    async def main() -> None:
        server, client, got = await long_chat_sent(answer=True)
        ended: list[tuple[str, int]] = []
        client.on_stream_end = lambda msg_id: ended.append((msg_id, len(got)))
        await asyncio.wait_for(asyncio.gather(*client.tasks), 2.0)
        assert ended == [("c-1", 1)]  # once the answer was handed over
        with socket.socket() as free:  # and a connection that could not be made
            free.bind(("127.0.0.1", 0))
            nowhere = free.getsockname()
        client.send(nowhere, Chat("c-2", "alice", "bob", "x" * 2000), PUBLIC)
        await asyncio.wait_for(asyncio.gather(*client.tasks), 2.0)
        assert ended[1:] == [("c-2", 1)]
        await client.close()
        await server.close()

    asyncio.run(main())


def test_a_long_message_sent_again_while_its_connection_is_open_is_not_sent_twice() -> None:
    # a whole table on its way from a busy registry is asked once: its answer comes there
    async def main() -> None:
        server, client, _ = await long_chat_sent(answer=False)
        client.send(server.address, Chat("c-1", "alice", "bob", "x" * 2000), PUBLIC)
        client.send(server.address, Chat("c-2", "alice", "bob", "x" * 2000), PUBLIC)
        await asyncio.sleep(0)  # one pass: each connection's task has begun, or returned
        assert client.sent_streams.open_to("127.0.0.1") == 2  # c-1's first, and c-2
        await client.close()
        await server.close()

    asyncio.run(main())


def test_behind_is_the_age_of_the_datagram_read_by_its_arrival_stamp(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What a registry answers Busy by: how long the datagram it reads waited since it
    reached the host (the kernel's stamp), not how long the socket has not been empty. A
    registry whose drains each stop short while what it reads is fresh is not behind."""
    monkeypatch.setattr(endpoint_module, "DRAIN_BATCH", 2)

    async def main() -> None:
        now, late = [100.0], [0.0]
        endpoint = clear_endpoint(
            lambda message, addr: None,
            session="e",
            clock=lambda: now[0],
            wall=lambda: time.time() + late[0],
            arrival_stamps=True,
        )
        port = (await endpoint.open("127.0.0.1", 0))[1]
        assert endpoint.arrival_stamped  # Linux, where the suite runs
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        for i in range(3):
            sock.sendto(encode(Notice(f"n-{i}", "hi")), ("127.0.0.1", port))
        assert endpoint.wait_readable(5)
        endpoint.drain()  # two read, one waits
        assert 0.0 <= endpoint.behind() < 1.0
        for i in range(3):  # a storm that goes on: each drain stops short, one waits
            now[0] += 5.0
            for j in range(2):
                sock.sendto(encode(Notice(f"m-{i}-{j}", "hi")), ("127.0.0.1", port))
            assert endpoint.wait_readable(5)
            endpoint.drain()
            assert endpoint.wait_readable(0)  # not emptied
            assert 0.0 <= endpoint.behind() < 1.0  # was 5, 10, 15 s by the monotonic clock
        late[0] = 3.0  # what was read waited 3 s more
        assert 3.0 <= endpoint.behind() < 4.0
        endpoint.drain()  # the rest: the socket is empty
        assert endpoint.behind() == 0.0
        await endpoint.close()
        sock.close()

    asyncio.run(main())


def test_a_drain_stamps_its_first_datagram_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a drain reads after its first arrived later, and waited less: it is read with
    recv, not recvmsg (which costs a recv twice over), and each drain stamps its first. A
    short drain learns that the socket is empty from a poll, never from a read."""
    reads: list[str] = []

    class Counted(socket.socket):  # a socket that tells how each datagram is read
        def recvmsg(self, *args: int) -> Any:
            reads.append("stamped")
            return super().recvmsg(*args)

        def recvfrom(self, *args: int) -> Any:
            reads.append("plain")
            return super().recvfrom(*args)

    async def main() -> None:
        monkeypatch.setattr(socket, "socket", Counted)
        endpoint = clear_endpoint(lambda message, addr: None, session="e", arrival_stamps=True)
        port = (await endpoint.open("127.0.0.1", 0))[1]
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        for drain in range(2):
            for i in range(2 + drain):
                sock.sendto(encode(Notice(f"n-{drain}-{i}", "hi")), ("127.0.0.1", port))
            assert endpoint.wait_readable(5)
            endpoint.drain()
            # past DRAIN_PROBES datagrams, the last "plain" read finds the socket empty
            assert reads == ["stamped"] + ["plain"] * (1 + 2 * drain)
            reads.clear()
        await endpoint.close()
        sock.close()

    asyncio.run(main())


def test_only_an_endpoint_that_asks_reads_arrival_stamps() -> None:
    """A peer's endpoint does not use `behind`: it reads with recv, not recvmsg."""

    async def main() -> None:
        endpoint = clear_endpoint(lambda message, addr: None, session="e")
        await endpoint.open("127.0.0.1", 0)
        assert not endpoint.arrival_stamped
        await endpoint.close()

    asyncio.run(main())


def test_behind_without_arrival_stamps_counts_from_the_first_drain_that_stopped_short(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where the system stamps no arrivals: 0 once a drain empties the socket, else the
    time since the first drain that did not (the longest a datagram read may have waited)."""
    monkeypatch.setattr(endpoint_module, "DRAIN_BATCH", 2)
    monkeypatch.setattr(endpoint_module, "stamp_arrivals", lambda sock: False)

    async def main() -> None:
        now = [100.0]
        endpoint = clear_endpoint(
            lambda message, addr: None, session="e", clock=lambda: now[0], wall=lambda: now[0]
        )
        port = (await endpoint.open("127.0.0.1", 0))[1]
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        for i in range(5):
            sock.sendto(encode(Notice(f"n-{i}", "hi")), ("127.0.0.1", port))
        assert endpoint.wait_readable(5)
        assert endpoint.behind() == 0.0
        endpoint.drain()  # two read, three wait
        now[0] = 101.5
        assert endpoint.behind() == 1.5
        endpoint.drain()  # two more: one waits still
        assert endpoint.behind() == 1.5  # behind since the first drain that stopped short
        endpoint.drain()  # the last, and the socket is empty
        assert endpoint.behind() == 0.0
        await endpoint.close()
        sock.close()

    asyncio.run(main())


def test_a_handshake_answered_is_told_with_the_key_that_answered() -> None:
    # how a peer knows the registry runs before any message of it came (peer/adapter/node.py)
    async def main() -> None:
        far_channel = SecureChannel(X25519PrivateKey.generate())
        far = Endpoint(ignore, channel=far_channel, session="f")
        near_channel = SecureChannel(X25519PrivateKey.generate())
        near = Endpoint(ignore, channel=near_channel, session="n")
        told: asyncio.Queue[tuple[tuple[str, int], bytes]] = asyncio.Queue()
        near.on_handshake = lambda addr, key: told.put_nowait((addr, key))
        far_addr = await far.open("127.0.0.1", 0)
        await near.open("127.0.0.1", 0)
        try:
            near.send(far_addr, TableRequest("n-1"), far_channel.public)
            assert await asyncio.wait_for(told.get(), 5) == (far_addr, far_channel.public)
        finally:
            await near.close()
            await far.close()

    asyncio.run(main())


def test_a_handshake_answered_on_a_connection_of_ours_is_told_before_any_answer() -> None:
    # a join storm over three registries: a peer's whole table, asked over TCP, came later
    # than the wait for it from a busy registry that had said nothing else meanwhile, and
    # the peer moved to another registry (627 of 5,000), though its own had answered the
    # connection's handshake: that runs
    async def main() -> None:
        far_channel = SecureChannel(X25519PrivateKey.generate())
        far = Endpoint(ignore, channel=far_channel, session="f")  # it answers no message
        near = Endpoint(ignore, channel=SecureChannel(X25519PrivateKey.generate()), session="n")
        told: asyncio.Queue[tuple[tuple[str, int], bytes]] = asyncio.Queue()
        near.on_handshake = lambda addr, key: told.put_nowait((addr, key))
        far_addr = await far.open("127.0.0.1", 0)
        await near.open("127.0.0.1", 0)
        try:
            near.send(far_addr, TableRequest("n-1"), far_channel.public, stream=True)
            assert await asyncio.wait_for(told.get(), 5) == (far_addr, far_channel.public)
            assert told.empty()  # once a connection
        finally:
            await near.close()
            await far.close()

    asyncio.run(main())


def test_a_cookie_reply_is_told_as_a_handshake_answered() -> None:
    # a join storm: the registry, under load, answered the peer's initiation with a cookie
    # reply, and came to the next only after the peer's first round of tries: the peer had
    # heard nothing, and said "is the registry running?" (a third of a storm of 2,000)
    async def main() -> None:
        far_channel = SecureChannel(X25519PrivateKey.generate())
        far = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # its answers are made here
        far.bind(("127.0.0.1", 0))
        far_addr = far.getsockname()
        near_channel = SecureChannel(X25519PrivateKey.generate())
        near = Endpoint(ignore, channel=near_channel, session="n")
        told: list[tuple[tuple[str, int], bytes]] = []
        answered = asyncio.Event()
        near.on_handshake = lambda addr, key: (told.append((addr, key)), answered.set())
        near_addr = await near.open("127.0.0.1", 0)
        try:
            stranger = SecureChannel(X25519PrivateKey.generate())
            [(captured, _)] = seal_list(stranger, [b""], [(far_addr, far_channel.public)], 0.0)
            for i in range(200):  # replays from many sources: the far side is under load
                far_channel.open(captured, (f"10.0.0.{i}", 1000 + i), 0.0)
            [(initiation, _)] = seal_list(
                near_channel, [b"hi"], [(far_addr, far_channel.public)], 0.0
            )
            [(reply, _)] = far_channel.open(initiation, near_addr, 0.0).send
            assert far_channel.open(initiation, near_addr, 0.0).key == b""  # no handshake
            far.sendto(reply, near_addr)
            await asyncio.wait_for(answered.wait(), 5)
            assert told == [(far_addr, far_channel.public)]
        finally:
            far.close()
            await near.close()

    asyncio.run(main())


def ignore(*_: object) -> None:
    """An owner that takes no message."""


def test_a_datagram_of_a_session_gone_is_counted_and_never_logged() -> None:
    # an idle registry printed "dropped a datagram from ...: no such session (#N)" every
    # few minutes (a peer's session from before a restart, or one expired): nothing wrong
    async def main() -> None:
        logged: list[str] = []
        channel = SecureChannel(X25519PrivateKey.generate())
        server = Endpoint(ignore, channel=channel, session="s", log=logged.append)
        addr = await server.open("127.0.0.1", 0)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            for index in range(3):  # sessions this side never made (or forgot)
                stale = _DATA_HEADER.pack(DATA, 1000 + index, 7) + bytes(40)
                sock.sendto(stale, addr)
            sock.sendto(b"\x09junk", addr)  # a drop of another kind is still logged
            for _ in range(100):
                if sum(channel.dropped.values()) >= 4:
                    break
                await asyncio.sleep(0.02)
        finally:
            sock.close()
            await server.close()
        assert channel.dropped["no such session"] == 3
        assert not any("no such session" in line for line in logged), logged
        assert any("dropped a datagram" in line for line in logged), logged

    asyncio.run(main())


def test_a_send_with_no_key_leaves_nothing_and_is_said_in_the_log_of_rejections() -> None:
    # the owner decides each datagram's key; with none it is not sent, as a datagram or
    # over TCP, and the log of rejections says so (once per interval, then counted)
    async def main() -> tuple[list[str], int, bytes | None]:
        logged: list[str] = []
        endpoint = clear_endpoint(lambda m, a: None, session="e", log=logged.append)
        await endpoint.open("127.0.0.1", 0)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        try:
            endpoint.send(sock.getsockname(), Notice("n-1", "hi"), b"")
            endpoint.send(sock.getsockname(), Notice("n-2", "hi"), b"", stream=True)
            endpoint.send_many([sock.getsockname()], [b""], Notice("n-3", "hi"))
            await asyncio.sleep(0)  # (a pass of the loop: what waits for its end would go)
            try:
                got: bytes | None = sock.recv(65536)
            except BlockingIOError:
                got = None
            return logged, endpoint.no_key, got
        finally:
            sock.close()
            await endpoint.close()

    logged, no_key, got = asyncio.run(main())
    assert got is None and no_key == 3
    assert logged[0].startswith("not sent to 127.0.0.1:") and "no key known there" in logged[0]
