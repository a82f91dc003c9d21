"""The crowd of bench.procs (`python -m bench.procs crowd`): --peers real PeerNodes for a
join storm (bench/storm.py), bound and the registry's key pinned when ready. Commands on
stdin: "go" registers them all at once ("trickle": a few at a time), "since" marks a
moment, "report" says how many have a complete table, heard the registry since the mark,
gave up, or moved to another registry of a service."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.procs import log_to, say, watch_stdin

#: Peers a crowd registers at a time, and the seconds between two such, for a restart alone.
TRICKLE = 10
TRICKLE_EVERY = 0.1


async def crowd(args: argparse.Namespace) -> None:
    from bench.harness import BenchPeer
    from peer.core.actions import Print

    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    host, _, port = args.server.partition(":")
    ram = Path("/dev/shm")
    root = Path(tempfile.mkdtemp(prefix="chatapp-bench-crowd-", dir=ram if ram.is_dir() else None))
    # each on an address of its own, as on a LAN (a registry limits what one address may
    # hold open): 127.0.1.1, 127.0.1.2, ... for the storm's peers in turn
    peers = [
        BenchPeer(
            f"{args.name}{i}",
            (host, int(port)),
            root,
            keepalive=args.keepalive,
            host=f"127.0.{1 + (args.offset + i) // 250}.{1 + (args.offset + i) % 250}",
            registry_code=args.registry_key,
        )
        for i in range(args.peers)
    ]
    for peer in peers:
        await peer.open()
    gave_up: set[str] = set()
    moved: set[str] = set()
    complete: set[str] = set()
    mark = [0.0]
    heard: dict[str, float] = {}  # name: when it first heard the registry after the mark
    # whole tables taken, answers of the rows since a version, rows taken, datagrams
    # (or messages over TCP) from the registry
    tables = [0, 0, 0, 0]
    # of each peer: the Busy answers it took, and when its first Welcome came after "go"
    busy: dict[str, int] = {}
    welcomed: dict[str, float] = {}
    went = [0.0]

    said = log_to(os.environ.get("BENCH_CROWD_LOG", ""))
    collecting = _time_collections()

    def shown(peer: BenchPeer, line: Print) -> None:
        # a registered peer that says "[Server not responding]" (its registry killed, in a
        # restart) keeps trying and comes back: only a peer that never registered gives up
        if line.text.startswith("[Could not register"):
            gave_up.add(peer.name)
        elif line.text.startswith("[Registry ") and "is not answering" in line.text:
            moved.add(peer.name)
        if not line.text.startswith("[Client table updated"):
            said(f"{peer.name} {line.text}")

    sent = [0, 0]  # registrations that left the peers, and handshakes begun (initiations)
    for peer in peers:
        peer.listeners.append(shown)
        _watch_registry(peer, heard, mark, tables, (busy, welcomed))
        _count_sent(peer, sent)

    def report() -> None:
        # What the peers hold is frozen out of the cyclic collector's sight: thousands of
        # peers' tables in one process (millions of rows) would otherwise be gone through
        # at every full collection, a cost a peer in a process of its own never has (it
        # made a 2,000-peer crowd's decoding of tables six times slower).
        gc.freeze()
        # only the peers not yet complete are looked at: a table is thousands of rows
        for peer in peers:
            if peer.name not in complete and peer.table_complete(args.total):
                complete.add(peer.name)
        cpu = os.times()
        say(
            {
                "complete": len(complete),
                "registered": sum(p.registered.is_set() for p in peers),
                "heard": len(heard),
                # how many heard it within 1, 2, 5 and 10 s of the mark (a restart's spread)
                **{
                    f"heard_{s}s": sum(t - mark[0] <= s for t in heard.values())
                    for s in (1, 2, 5, 10)
                },
                "gave_up": len(gave_up),
                "moved": len(moved),
                "tables": tables[0],
                "since": tables[1],
                "rows": tables[2],
                "datagrams": tables[3],
                "registers": sent[0],
                "busy": sum(busy.values()),
                "busy_max": max(busy.values(), default=0),
                "welcome_max": max(welcomed.values(), default=went[0]) - went[0],
                "initiations": sent[1],
                "cpu": cpu.user + cpu.system,
                "gc_cpu": collecting[0],
                "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )

    def on_command(cmd: str) -> None:
        if cmd == "go":

            def go() -> None:
                went[0] = time.monotonic()
                for peer in peers:
                    peer.start()
                say({})

            loop.call_soon_threadsafe(go)
        elif cmd == "trickle":

            def trickle(start: int = 0) -> None:
                # TRICKLE peers every TRICKLE_EVERY seconds: every one registered, for a
                # restart with all of them online (a storm on a busy machine leaves some out)
                for peer in peers[start : start + TRICKLE]:
                    peer.start()
                if start + TRICKLE < len(peers):
                    loop.call_later(TRICKLE_EVERY, trickle, start + TRICKLE)

            loop.call_soon_threadsafe(trickle)
            say({})
        elif cmd == "profile":
            # where its CPU went so far (the join), written before the restart begins
            loop.call_soon_threadsafe(write_profile)
        elif cmd == "since":

            def since() -> None:
                mark[0] = time.monotonic()
                heard.clear()
                say({})

            loop.call_soon_threadsafe(since)
        else:
            loop.call_soon_threadsafe(report)

    profiler = None
    if args.profile:
        import pyinstrument

        profiler = pyinstrument.Profiler(interval=0.001, async_mode="disabled")
        profiler.start()

    def write_profile() -> None:
        if profiler is not None and profiler.is_running:
            profiler.stop()
            Path(args.profile).write_text(profiler.output_text(unicode=False, color=False))
        say({})

    watch_stdin(on_command, lambda: loop.call_soon_threadsafe(done.set))
    say({"peers": len(peers)})
    await done.wait()
    for peer in peers:
        with contextlib.suppress(Exception):
            await peer.close()
    shutil.rmtree(root, ignore_errors=True)  # (not under the run's scratch folder)


def _time_collections() -> list[float]:
    """The CPU seconds the cyclic collector has taken from now on, kept up to date in the
    list returned (a crowd holds thousands of peers' tables: a cost a peer alone has not)."""
    spent, began = [0.0], [0.0]

    def timed(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            began[0] = time.process_time()
        else:
            spent[0] += time.process_time() - began[0]

    gc.callbacks.append(timed)
    return spent


def _watch_registry(
    peer: Any,
    heard: dict[str, float],
    mark: list[float],
    tables: list[int],
    answers: tuple[dict[str, int], dict[str, float]],
) -> None:
    """Note in `heard` when a message from the registry first reaches `peer` after
    `mark[0]` (a registry restarted: this peer found it again); count in `tables` what of
    the table it takes (`_count`), and the datagrams it takes; in `answers`, the Busy
    answers it takes, and when its first Welcome came."""
    from wire.messages import Busy, Welcome

    node = peer.node
    received, one = node.received_batch, node.endpoint._on_message
    busy, welcomed = answers

    def answered(message: Any) -> None:
        kind = type(message)
        if kind is Busy:
            busy[peer.name] = busy.get(peer.name, 0) + 1
        elif kind is Welcome:
            welcomed.setdefault(peer.name, time.monotonic())

    def watched(messages: Any, addr: Any, key: bytes) -> None:
        if key == node.core.trust.registry:
            if mark[0]:
                heard.setdefault(peer.name, time.monotonic())
            tables[3] += 1
            for message in messages:
                _count(message, tables)
                answered(message)
        received(messages, addr, key)

    def watched_one(message: Any, addr: Any, key: bytes) -> None:
        if key == node.core.trust.registry:
            if mark[0]:
                heard.setdefault(peer.name, time.monotonic())
            tables[3] += 1
            _count(message, tables)
            answered(message)
        one(message, addr, key)

    node.endpoint._on_batch = watched
    node.endpoint._on_message = watched_one


def _count(message: Any, tables: list[int]) -> None:
    """Count in `tables` what of the table `message` carries: a whole table (a TableSnapshot
    of it, or a Welcome with rows: a Welcome into a big table has none), and the rows of
    either or an update."""
    from wire.messages import TableSnapshot, TableUpdate, Welcome

    kind = type(message)
    if kind is TableSnapshot:
        tables[0] += 1
    elif kind is Welcome:
        tables[0] += bool(message.entries)
    elif kind is not TableUpdate:
        return
    tables[2] += len(message.entries)


def _count_sent(peer: Any, sent: list[int]) -> None:
    """Count in `sent` the registrations that leave `peer`, and the initiations of
    handshakes its channel sends (resent ones included)."""
    endpoint = peer.node.endpoint
    endpoint.channel = _Counted(endpoint.channel, sent)


class _Counted:
    """A peer's secure channel, counting in `sent[0]` the registrations that leave it as
    DATA, what the registry can read (a copy dropped while it waited for a handshake is
    not), and in `sent[1]` the initiations it sends."""

    def __init__(self, channel: Any, sent: list[int]) -> None:
        self._channel, self._sent = channel, sent
        self.static, self.public, self.dropped = channel.static, channel.public, channel.dropped
        self.ask_key = channel.ask_key
        # whether each datagram that waits for a handshake is a registration, oldest first
        self._waiting: list[bool] = []

    def __getattr__(self, name: str) -> Any:  # (what the endpoint asks beside the protocol)
        return getattr(self._channel, name)

    def seal(self, datas: Any, dests: Any, now: float, send: Any) -> None:
        from secure.channel import DATA, INITIATION

        out: list[tuple[bytes, Any]] = []
        self._channel.seal(datas, dests, now, out.append)
        register = any(data.startswith(b'{"t":"Register"') for data in datas)
        if any(packet[0] == DATA for packet, _ in out):
            self._sent[0] += register
        else:
            self._waiting.append(register)
        self._sent[1] += sum(packet[0] == INITIATION for packet, _ in out)
        for packet in out:
            send(packet)

    def open(self, datagram: bytes, addr: Any, now: float) -> Any:
        from secure.channel import DATA

        opened = self._channel.open(datagram, addr, now)
        left = sum(packet[0] == DATA for packet, _ in opened.send)
        if left:  # what waited leaves: the newest `left`, as the channel drops the oldest
            self._sent[0] += sum(self._waiting[-left:])
            self._waiting.clear()
        return opened
