"""Where a direct message's time goes: its path from the typed line to the receipt shown,
cut at each send and each read, beside the same cuts of the bare JSON peers (the floor a
Python peer reaches, bench/bare_direct.py).

Both ends run in this one process, one message at a time, on real sockets of 127.0.0.1:
alice and bob are real PeerNodes (a real registry, its own process, introduces them), the
bare ends are bare_direct's. Each segment is the median over the messages:

    typed -> chat sent       alice: the typed line until its datagram is handed to the kernel
    chat sent -> read        the kernel, and bob's loop waking to read it
    read -> ack sent         bob: the datagram read until his ack is handed to the kernel
    ack sent -> read         the kernel, and alice's loop waking to read it
    read -> receipt shown    alice: the ack read until "[Message received by bob.]" is shown

The ends take turns on one CPU here, so a wake-up segment also holds what the other end
does after its send (its bookkeeping); in bench.direct, with the ends in two processes on
two CPUs, that work overlaps and the three "end" segments are the path waited on. Figures
are time, not CPU alone: compare the two columns of one run.

    python -m bench.direct_path [--count N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.bare_direct import BareReceiver
from bench.common import HOST, Table, median, run, scratch_folder, us
from bench.harness import BenchPeer, start_registry
from bench.unprotected import Forwarding
from net.endpoint import Endpoint
from net.outgoing import DatagramChannel
from peer.core.actions import Print
from secure.channel import Opened
from wire.codec import encode, json_value
from wire.messages import Chat

Addr = tuple[str, int]

SEGMENTS = (
    "typed -> chat sent (alice)",
    "chat sent -> read by bob",
    "read -> ack sent (bob)",
    "ack sent -> read by alice",
    "read -> receipt shown (alice)",
)
#: The marks that cut the path, in order: each segment runs from one to the next.
MARKS = ("typed", "chat sent", "chat read", "ack sent", "ack read", "shown")


class Marks:
    """The times of one message's marks; the first time each is reached counts."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.segments: list[list[float]] = [[] for _ in SEGMENTS]
        #: called once a message's segments are kept (see `done`)
        self.then: Callable[[], None] = lambda: None

    def typed(self) -> None:
        """A message is typed (or sent, for the bare peers): its marks start afresh."""
        self.at = {}
        self.mark("typed")

    def mark(self, name: str) -> None:
        self.at.setdefault(name, time.perf_counter())

    def done(self) -> None:
        """The receipt is shown: keep this message's segments, then `then`."""
        times = [self.at[name] for name in MARKS]
        for i, segment in enumerate(self.segments):
            segment.append(times[i + 1] - times[i])
        self.then()


class _Marking(Forwarding):
    """The endpoint's channel, marking `read` as a datagram is handed to it to open: the
    endpoint takes any DatagramChannel (net/outgoing.py), in both builds."""

    def __init__(self, channel: DatagramChannel, marks: Marks, read: str) -> None:
        super().__init__(channel)
        self._marks, self._read = marks, read

    def open(self, datagram: bytes, addr: Addr, now: float) -> Opened:
        self._marks.mark(self._read)
        return self._channel.open(datagram, addr, now)


def _watch(endpoint: Endpoint, marks: Marks, sent: str, read: str) -> None:
    """Mark `sent` at `endpoint`'s first datagram handed to the kernel (its `on_sent`),
    `read` as its first datagram read is handed to its channel to open."""
    endpoint.outgoing.on_sent = lambda data, addr: marks.mark(sent)
    endpoint.channel = _Marking(endpoint.channel, marks, read)


async def _one_at_a_time(count: int, send_next: Callable[[int], None], marks: Marks) -> None:
    """Have `send_next(i)` send message i once the receipt of the one before is shown
    (`marks.done()` wakes the next, in a pass of the loop of its own, as from a terminal)."""
    loop = asyncio.get_running_loop()
    finished: asyncio.Future[None] = loop.create_future()
    sent = [0]

    def next_one() -> None:
        if sent[0] >= count:
            if not finished.done():
                finished.set_result(None)
            return
        sent[0] += 1
        marks.typed()
        send_next(sent[0])

    def wake_next() -> None:
        loop.call_soon(next_one)

    marks.then = wake_next
    next_one()
    await asyncio.wait_for(finished, 120.0)


async def _ours(count: int) -> list[list[float]]:
    marks = Marks()
    with start_registry("asyncio") as reg:
        server = (HOST, reg.ready["port"])
        root = Path(tempfile.mkdtemp(prefix="chatapp-bench-"))
        alice, bob = BenchPeer("alice", server, root), BenchPeer("bob", server, root)
        for peer in (alice, bob):
            await peer.open()
        await bob.register()
        await alice.register()  # bob's row comes in her Welcome

        def shown(peer: BenchPeer, line: Print) -> None:
            if line.text.startswith("[Message received by "):
                marks.mark("shown")
                marks.done()

        alice.listeners.append(shown)
        _watch(alice.node.endpoint, marks, "chat sent", "ack read")
        _watch(bob.node.endpoint, marks, "ack sent", "chat read")
        await _one_at_a_time(count, lambda i: alice.line(f"send bob message {i}"), marks)
        for peer in (alice, bob):
            await peer.close()
    return [segment[count // 10 :] for segment in marks.segments]  # a tenth warms up


async def _floor(count: int) -> list[list[float]]:
    """The same cuts of bare_direct's exchange: the sender encodes a Chat and sends it,
    BareReceiver records and acks it, the sender parses the ack and forgets the id."""
    marks = Marks()
    loop = asyncio.get_running_loop()

    class Receiver(BareReceiver):
        def datagram_received(self, data: bytes, addr: Addr) -> None:
            marks.mark("chat read")
            super().datagram_received(data, addr)
            marks.mark("ack sent")  # its sendto is the last thing it does

    class Sender(asyncio.DatagramProtocol):
        def __init__(self) -> None:
            self.pending: set[str] = set()

        def datagram_received(self, data: bytes, addr: Addr) -> None:
            marks.mark("ack read")
            with contextlib.suppress(ValueError, KeyError, TypeError):
                reply_to = json_value(data)["reply_to"]
                if reply_to in self.pending:
                    self.pending.discard(reply_to)
                    marks.mark("shown")
                    marks.done()

    bob_transport, _ = await loop.create_datagram_endpoint(Receiver, local_addr=(HOST, 0))
    bob_port = bob_transport.get_extra_info("sockname")[1]
    transport, sender = await loop.create_datagram_endpoint(Sender, remote_addr=(HOST, bob_port))

    def send(i: int) -> None:
        msg_id = f"a-{i}"
        sender.pending.add(msg_id)
        transport.sendto(encode(Chat(msg_id, "alice", "bob", f"message {i}")))
        marks.mark("chat sent")

    try:
        await _one_at_a_time(count, send, marks)
    finally:
        transport.close()
        bob_transport.close()
    return [segment[count // 10 :] for segment in marks.segments]


def main(argv: list[str] | None = None) -> None:
    scratch_folder()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=5000, help="messages, one at a time")
    args = parser.parse_args(argv)
    ours = run(lambda: _ours(args.count))
    floor = run(lambda: _floor(args.count))
    table = Table(
        "Where a direct message's time goes: both ends in one process, one at a time (asyncio)",
        ["segment", "ChatApp peers", "bare JSON peers (floor)", "difference"],
    )
    for name, mine, bare in zip(SEGMENTS, ours, floor, strict=True):
        table.add(name, us(median(mine)), us(median(bare)), us(median(mine) - median(bare)))
    total = [sum(seg) for seg in zip(*ours, strict=True)]
    bare_total = [sum(seg) for seg in zip(*floor, strict=True)]
    table.add(
        "typed -> receipt shown",
        us(median(total)),
        us(median(bare_total)),
        us(median(total) - median(bare_total)),
    )
    table.note(
        "Medians of each segment over the messages (the first tenth warms up). The ends take "
        "turns on one CPU: a wake-up segment also holds what the other end does after its "
        "send. The three segments of an end's own work are what bench.direct's ends, in two "
        "processes, make the sender wait for."
    )
    table.print()


if __name__ == "__main__":
    main()
