"""The registry as a relay, beside ngircd in the same run:

  send_all   one channel message to 10, 100, 500 peers: time until every peer has shown it
             (each peer acks the registry, as the protocol requires) vs one PRIVMSG to a
             channel of 100 on ngircd
  burst      many channel messages at once to 100 peers: deliveries per second, the median
             of several bursts (--turns) each
  join       N peers register at once: time until every peer's table lists all N online,
             vs N IRC clients that connect, register and join #bench

The registry is a real RegistryServer in its own process; the peers are real PeerNodes
(core, adapter, Endpoint), all in this process on one event loop, each on its own sockets.
ngircd's clients are in this process too, on the same loop.

    python -m bench.relay [send_all|burst|join|all] [--loop asyncio|uvloop] [--sizes 10,100,500]
        [--turns 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import time
from collections.abc import Awaitable, Callable

from bench import ircd
from bench.common import (
    HOST,
    Helper,
    Table,
    loops_to_run,
    median,
    ms,
    pct,
    pin_to_cpu,
    pinned,
    raise_fd_limit,
    rate,
    ratio,
    run,
    scratch_folder,
    steady_heap,
)
from bench.harness import Addr, BenchPeer, close_all, make_peers, start_registry
from bench.light import LightClient, light_clients
from peer.core.actions import Print
from wire.limits import REGISTRY_BURST, REGISTRY_RATE

ANCHOR_BROADCAST = 0.69e-3  # ngircd, 100 members, measured here before
ANCHOR_BURST = 1.28e6  # ngircd deliveries/s at 100 members, measured here before
#: The bench process (every client) on one CPU, the server on the other.
BENCH_CPU, SERVER_CPU = 0, 1
#: Who receives in the channel benchmarks (see Members).
RECEIVERS = ["PeerNodes", "minimal"]
#: The baseline row: minimal clients of bench/bare_relay.py instead of the registry.
BARE = "minimal, bare relay"
#: ngircd, the registry and the bare relay take turns in this many blocks of send_all rounds.
SIDE_BY_SIDE_BLOCKS = 5


# -- ChatApp side --------------------------------------------------------------------------


class Countdown:
    """A future that completes once `count` arrivals have been counted."""

    def __init__(self, count: int) -> None:
        self.left = count
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        #: perf_counter() at the last arrival (the waiting task resumes a loop pass later)
        self.finished_at = float("nan")

    def hit(self, n: int = 1) -> None:
        self.left -= n
        if self.left <= 0 and not self.done.done():
            self.finished_at = time.perf_counter()
            self.done.set_result(None)


class Members:
    """The two sides of a channel benchmark: a sender and `members` receivers, all real
    PeerNodes, or all minimal clients (bench/light.py), the counterpart of ngircd's
    minimal IRC clients: the registry alone against ngircd."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._peers: list[BenchPeer] = []
        self._light: list[LightClient] = []

    async def open(
        self,
        server: Addr,
        members: int,
        prefix: str,
        joined: Callable[[list[LightClient]], Awaitable[None]] | None = None,
    ) -> None:
        """The sender and `members` receivers; minimal clients await `joined` after each
        batch registers (see light_clients)."""
        if self.kind == "PeerNodes":
            self._peers = await make_peers(members + 1, server, prefix=prefix)
            # out of the cyclic collector's sight, as PeerNode.run freezes a peer once
            # started: else each full collection walks all the peers' state (25-48 ms in
            # one burst of three), a cost a peer in a process of its own never has
            gc.freeze()
        else:
            self._light = await light_clients(
                members + 1, server, prefix=prefix, register=self.kind != BARE, joined=joined
            )

    def ports(self) -> str:
        """The members' ports, as bench/bare_relay.py is told them."""
        return ",".join(str(c.port) for c in self._light)

    def post(self, texts: list[str]) -> None:
        """The sender sends each of `texts` to the channel at once (typed `send_all` lines
        on a PeerNode)."""
        if self._peers:
            for text in texts:
                self._peers[0].line(f"send_all {text}")
        else:
            self._light[0].post(texts)

    def count(self, countdown: Countdown, text: str) -> None:
        """Count, on `countdown`, each channel line starting with `text` (PeerNodes) or
        each new channel message (minimal clients)."""

        def shown(peer: BenchPeer, line: Print) -> None:
            if line.text.startswith(text):
                countdown.hit()

        for p in self._peers[1:]:
            p.listeners[:] = [shown]
        for c in self._light[1:]:
            c.on_channel = lambda client, new: countdown.hit(new)

    async def close(self) -> None:
        await close_all(self._peers)
        if self._peers:
            gc.unfreeze()  # (this bench's process freezes nothing else: see open)
        for c in self._light:
            c.close()


async def posted_until(group: Members, texts: list[str], countdown: Countdown) -> float:
    """Post `texts` at once; seconds until `countdown` completes (at most 30)."""
    t0 = time.perf_counter()
    group.post(texts)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(countdown.done), 30.0)
    if countdown.done.done():
        return countdown.finished_at - t0
    return time.perf_counter() - t0


async def settled(reg: Helper) -> None:
    """Wait (at most 5 s) until the registry has pushed the table changes of the members'
    registration and had them acked: its coalesced last update would otherwise land in the
    middle of the first rounds."""
    for _ in range(250):
        if (await reg.ask_async("report"))["idle"]:
            return
        await asyncio.sleep(0.02)


def _server(kind: str, loop: str) -> Helper:
    """The registry (in a process of its own, on the CPU the bench does not use), or the bare
    relay for the baseline row."""
    server = Helper("relay", "--loop", loop) if kind == BARE else start_registry(loop)
    pin_to_cpu(server.proc.pid, SERVER_CPU)
    return server


class SendAllRig:
    """A server (the registry, or the bare relay for BARE) in its own process and its
    members in this one, timed one `send_all` at a time."""

    def __init__(self, kind: str, loop: str) -> None:
        self.kind = kind
        self._loop = loop
        self._stack = contextlib.ExitStack()
        self._server: Helper | None = None
        self._group = Members(kind)
        self._members = 0

    async def open(self, members: int) -> None:
        self._server = server = self._stack.enter_context(_server(self.kind, self._loop))
        self._members = members
        await self._group.open((HOST, server.ready["port"]), members, "s")
        if self.kind == BARE:
            await server.ask_async(f"members {self._group.ports()}")
        else:
            await settled(server)

    async def round(self, r: int) -> float:
        """Seconds from round `r`'s send_all until every member has it; NaN if one never
        did (within 30 s)."""
        countdown = Countdown(self._members)
        self._group.count(countdown, f"[Channel_Message s0: round {r} ")
        took = await posted_until(self._group, [f"round {r} of the bench"], countdown)
        return took if countdown.left <= 0 else float("nan")

    async def quiet(self) -> None:
        """Wait until the registry has every ack of the rounds before, so that each round
        starts on a quiet channel, as ngircd's do."""
        if self.kind != BARE:
            assert self._server is not None
            await settled(self._server)

    async def note(self) -> str:
        """What the server says once the last acks are in: what it still waits for, and
        what the kernel dropped."""
        assert self._server is not None
        await asyncio.sleep(0.5)  # the last acks reach the server
        report = await self._server.ask_async("report")
        if self.kind == BARE:
            note = f"bare relay: {report['owed']} acks owed, {report['resent']} resent"
        else:
            note = f"registry: {report['pending']} pushes unacked"
        return note + f", {report['drops']} kernel drops"

    async def close(self) -> None:
        await self._group.close()
        self._stack.close()


async def chat_send_all(
    loop: str, members: int, rounds: int, kind: str = "PeerNodes"
) -> tuple[list[float], str]:
    """Times from `send_all` typed on one peer until all `members` others have it. The
    first round is not counted: in it each peer creates and maps its file of shown ids
    (once per peer, on the first message it shows), which is no part of a send_all's cost;
    the rounds of ngircd and the minimal clients likewise open with one not counted."""
    rig = SendAllRig(kind, loop)
    try:
        await rig.open(members)
        times: list[float] = []
        for r in range(rounds + 1):
            took = await rig.round(r)
            if took != took:
                return times, f"round {r}: not every one of {members} members had it"
            if r:
                times.append(took)
            await rig.quiet()
            await asyncio.sleep(ircd.ROUND_GAP)  # as between ngircd's rounds
        return times, await rig.note()
    finally:
        await rig.close()


async def send_all_side_by_side(
    loop: str, members: int, rounds: int, with_ngircd: bool
) -> tuple[list[float], dict[str, tuple[list[float], str]]]:
    """ngircd's broadcast (if `with_ngircd`) and `send_all` through the registry and through
    the bare relay, all with minimal clients, measured in alternating blocks of rounds so
    that all three see the same moments of this machine (a VM drifts by tens of percent
    over seconds). Returns ngircd's times, and per kind (times of the complete rounds,
    note)."""
    rigs = [SendAllRig(kind, loop) for kind in ("minimal", BARE)]
    irc: list[float] = []
    ours: dict[str, list[float]] = {rig.kind: [] for rig in rigs}
    async with contextlib.AsyncExitStack() as stack:
        broadcaster = ircd.Broadcaster()
        stack.callback(broadcaster.close)
        if with_ngircd:
            srv = stack.enter_context(ircd.Ngircd(SERVER_CPU))
            await broadcaster.open(srv.port, members)
        for rig in rigs:
            stack.push_async_callback(rig.close)
            await rig.open(members)
        # In blocks, each opened by a round not counted: the three servers share one CPU,
        # and the first round after another server's block finds its caches taken by that
        # server (one round of each in turn made every round such a one), which no server
        # meets when it has the machine to itself.
        block = max(1, rounds // SIDE_BY_SIDE_BLOCKS)
        for first in range(0, rounds, block):
            these = range(first, min(rounds, first + block))
            if with_ngircd:
                for r in (-1, *these):
                    took = await broadcaster.round()
                    if r >= 0:
                        irc.append(took)
                    await asyncio.sleep(ircd.ROUND_GAP)
            for rig in rigs:
                for r in (-1 - first, *these):
                    took = await rig.round(r)
                    if r >= 0:
                        ours[rig.kind].append(took)
                    await asyncio.sleep(ircd.ROUND_GAP)
        results: dict[str, tuple[list[float], str]] = {}
        for rig in rigs:
            times = [t for t in ours[rig.kind] if t == t]
            note = await rig.note()
            if len(times) < rounds:
                note += f"; {rounds - len(times)} rounds where a member never had it"
            results[rig.kind] = (times, note)
    return irc, results


async def chat_burst(
    loop: str, members: int, messages: int, kind: str = "PeerNodes", turns: int = 1
) -> tuple[list[float], str]:
    """`messages` send_all lines typed at once on one peer, `turns` times, each once the
    registry has the acks of the last; deliveries/s to `members` of each."""
    with _server(kind, loop) as reg:
        group = Members(kind)
        await group.open((HOST, reg.ready["port"]), members, "b")
        # One line first, not counted (as bench/cpu_line.py's): a minimal client registers
        # over TCP, so the registry's first datagram to it begins their secure session, and
        # a peer maps its file of shown ids on the first line it shows; neither is a cost
        # of the burst.
        warm = Countdown(members)
        group.count(warm, "[Channel_Message b0:")
        group.post(["the line before"])
        await asyncio.wait_for(asyncio.shield(warm.done), 30.0)
        rates, delivered = [], 0
        for turn in range(turns):
            # the registry takes 1,000 messages from one address at once, then 500 a second
            # (wire/limits.py), and a peer paces its own to fit: each burst starts with both
            # budgets full, as the first does (back to back, the fourth was paced: 40k/s)
            await asyncio.sleep(REGISTRY_BURST / REGISTRY_RATE if turn else 0)
            await settled(reg)
            countdown = Countdown(members * messages)
            group.count(countdown, f"[Channel_Message b0: burst {turn} ")
            texts = [f"burst {turn} message number {i}" for i in range(messages)]
            took = await posted_until(group, texts, countdown)
            delivered = members * messages - max(countdown.left, 0)
            rates.append(delivered / took)
        report = await reg.ask_async("report")
        await group.close()
    note = (
        f"{delivered:,} of {members * messages:,} delivered; registry kernel drops "
        f"{report['drops']}, {report['online']} online at the end"
    )
    return rates, note


# -- tables --------------------------------------------------------------------------------


def _target(members: int, receivers: str) -> str:
    """The goal of a send_all row: real peers within 1.5x ngircd (they decode, record, show
    and ack, 100 Python peers on one core), minimal clients within 1.0x; none but at 100."""
    if members != 100 or receivers == BARE:
        return ""
    return "<= 1.50x at 100" if receivers == "PeerNodes" else "<= 1.00x at 100"


def send_all_table(
    loops: list[str], sizes: list[int], rounds: int, kinds: list[str] = RECEIVERS
) -> None:
    table = Table(
        "send_all: typed until every member has it (with acks) vs ngircd broadcast to 100",
        ["loop", "members", "receivers", "median", "p99", "ngircd, 100", "ratio", "target"],
    )
    why = ircd.unavailable()
    for loop in loops:
        irc: list[float] = []
        side: dict[str, tuple[list[float], str]] = {}
        if 100 in sizes and "minimal" in kinds:
            irc, side = run(
                functools.partial(send_all_side_by_side, loop, 100, rounds, not why), loop
            )
        elif not why:
            with ircd.Ngircd(SERVER_CPU) as srv:
                irc = run(functools.partial(ircd.broadcast, srv.port, 100, rounds), loop)
        irc_med = median(irc) if irc else float("nan")
        rows: list[tuple[int, str, list[float], str]] = []
        for n in sizes if "PeerNodes" in kinds else []:
            times, note = run(functools.partial(chat_send_all, loop, n, rounds), loop)
            rows.append((n, "PeerNodes", times, note))
        rows += [(100, kind, *side[kind]) for kind in side]
        for n, receivers, times, note in rows:
            table.add(
                loop,
                n,
                receivers,
                ms(median(times)),
                ms(pct(times, 0.99)),
                why if why else ms(irc_med),
                ratio(median(times), irc_med),
                _target(n, receivers),
            )
            table.note(f"{loop}, {n} {receivers}: {note}")
    table.note(
        "PeerNodes: real peers (core, adapter, Endpoint), all in the bench process, each "
        "decoding, recording, showing and acking. minimal: bench/light.py clients, sender "
        "included, which only open, decode (as a peer's endpoint: msgspec, typed), count and "
        "ack each datagram, as ngircd's clients here "
        "only split lines and count: the registry against ngircd, like for like. "
        "minimal, bare relay: the same clients, and bench/bare_relay.py instead of the "
        "registry: a UDP relay with per-member acks and nothing else, the floor on this loop. "
        f"ngircd, minimal and bare relay take turns in {SIDE_BY_SIDE_BLOCKS} blocks of rounds, "
        "so that they meet the same moments of this machine, each block opened by one round "
        "not counted (the first after another server's block finds the caches of the "
        "server's CPU taken by that server); the PeerNodes rows after them, also opened by "
        "one round not counted (each peer maps its file of shown ids on its first message), "
        "each round once the registry has the acks of the last."
    )
    table.note(
        "The bench process (all clients) runs on CPU 0, the server (registry, bare relay or "
        "ngircd) on CPU 1, and glibc keeps asyncio's 256 KiB read buffers in its heap "
        "(common.steady_heap): without that, ngircd's clients ran at one of two speeds, "
        "1.0 or 2.5 ms, from one run to the next."
    )
    table.note(
        f"anchor: ngircd 0.69 ms to 100; UDP relay with acks 0.70 ms drained, "
        f"2.35 ms with a plain DatagramProtocol. {rounds} rounds each."
    )
    table.print()


def burst_table(
    loops: list[str], members: int, messages: int, kinds: list[str] = RECEIVERS, turns: int = 5
) -> None:
    table = Table(
        f"Burst channel fan-out: {messages} messages at once to {members} members",
        ["loop", "receivers", "ChatApp deliveries/s", "ngircd deliveries/s", "ratio", "target"],
    )
    why = ircd.unavailable()
    for loop in loops:
        # one burst is a window of ~0.1 s, which this host's other work can halve: each side
        # bursts `turns` times, and the medians are compared
        irc: list[float] = []
        ours: dict[str, list[float]] = {kind: [] for kind in kinds}
        notes: dict[str, str] = {}
        lost = 0
        if not why:
            with ircd.Ngircd(SERVER_CPU) as srv:
                for _ in range(turns):
                    took, lost = run(
                        functools.partial(ircd.burst, srv.port, members, messages), loop
                    )
                    irc.append(took)
        for receivers in kinds:
            ours[receivers], notes[receivers] = run(
                functools.partial(chat_burst, loop, members, messages, receivers, turns), loop
            )
        irc_rate = median(irc)
        for receivers, rates in ours.items():
            table.add(
                loop,
                receivers,
                rate(median(rates)),
                why if why else rate(irc_rate),
                ratio(median(rates), irc_rate),
                ">= 1.00x",
            )
            spread = f"{rate(min(rates))}-{rate(max(rates))} over {turns} bursts"
            table.note(f"{loop}, {receivers}: {spread}; the last burst: {notes[receivers]}")
        if irc:
            table.note(f"{loop}: ngircd {rate(min(irc))}-{rate(max(irc))}; clients lost: {lost}")
    table.note(
        "Messages queued for one member share datagrams (packed once for all members), "
        "one Acks answers what a member read in one wake-up, and at most 64 datagrams of "
        "pushes per member are in flight (the rest wait in the registry), with one retry "
        "deadline per member that each datagram fully acked starts again. "
        f"anchor: ngircd {rate(ANCHOR_BURST)}."
    )
    table.print()


def main(argv: list[str] | None = None) -> None:
    scratch_folder()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "what", nargs="?", default="all", choices=["send_all", "burst", "join", "all"]
    )
    parser.add_argument("--loop", default="asyncio")
    parser.add_argument("--sizes", default="10,100,500")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--burst", type=int, default=200, help="messages in the burst")
    parser.add_argument("--turns", type=int, default=5, help="bursts per side, taking turns")
    parser.add_argument("--join", type=int, default=500, help="peers in the join storm")
    parser.add_argument("--join-rounds", type=int, default=3, help="storms per side")
    parser.add_argument(
        "--receivers", default=",".join(RECEIVERS), help="PeerNodes, minimal or both"
    )
    parser.add_argument("--limit", type=float, default=60.0, help="seconds the join storm may take")
    args = parser.parse_args(argv)
    raise_fd_limit()
    loops = loops_to_run(args.loop)
    kinds = [k for k in RECEIVERS if k in args.receivers.split(",")]
    with pinned(BENCH_CPU), steady_heap():
        if args.what in ("send_all", "all"):
            send_all_table(loops, [int(s) for s in args.sizes.split(",")], args.rounds, kinds)
        if args.what in ("burst", "all"):
            burst_table(loops, 100, args.burst, kinds, max(args.turns, 1))
        if args.what in ("join", "all"):
            from bench.join import join_table  # (it uses this module's CPUs)

            join_table(loops, args.join, args.limit, max(args.join_rounds, 1))


if __name__ == "__main__":
    main()
