"""A receiving peer's CPU per relayed channel line, beside an IRC client's over TLS.

50 real PeerNodes (bench/harness.py: core, Endpoint, secure channel) in this process are
members of the channel; a sender peer in a process of its own types `messages` lines of
`send_all`, GAP apart (as lines of a chat come: lines at once would share datagrams), and
the registry (its own process) relays each to every member. The figure is this process's
CPU (`time.process_time`) from the first line's sending until 0.2 s after the last is shown
(so the acks and records that follow a line count too), over the lines shown. Beside it,
in the same run, 50 IRC clients (bench/ircd.py's, over asyncio's TLS) in this process
receive as many lines, as far apart, from ngircd's TLS port, sent by a client in a process
of its own. Only the receivers' work is in this process: the senders and servers run on
the other CPU.

The two take turns, a burst each, `turns` times, the first to go alternating, and the table
gives the medians over the turns and their ratio (as bench/cpu_line.py does). With
BENCH_PROFILE=<folder>, the peers' bursts are profiled to <folder>/peer_line.txt
(pyinstrument, installed by hand).

    python -m bench.peer_line [--peers 50] [--messages 20] [--turns 8] [--loop asyncio]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench import ircd
from bench.common import (
    HOST,
    Helper,
    Table,
    loops_to_run,
    median,
    pin_to_cpu,
    pinned,
    raise_fd_limit,
    run,
    scratch_folder,
)
from bench.harness import BenchPeer, close_all, make_peers, start_registry
from bench.relay import BENCH_CPU, SERVER_CPU, settled
from peer.core.actions import Print

#: Seconds a burst may take before it is counted as it stands.
LIMIT = 60.0
#: After the last line arrives, what it set off still runs (acks, records): counted too.
TAIL = 0.2
#: Seconds between two lines of a burst: each line comes alone, as a chat's lines do (lines
#: sent at once would share datagrams and reads), with time to spare for every receiver.
GAP = 0.02
#: One side's burst of the turn numbered: (CPU seconds of this process, lines received).
Burst = Callable[[int], Awaitable[tuple[float, int]]]
#: How a line a peer shows begins (each bench line is one).
LINE = "[Channel_Message sender: line "


class Arrivals:
    """The lines still to arrive in the burst under way, counted down in one call a line on
    either side (a peer's screen, an IRC client's PRIVMSG): the bench's own cost alike."""

    def __init__(self) -> None:
        self.left = 0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def expect(self, lines: int) -> asyncio.Future[None]:
        self.left, self.done = lines, asyncio.get_running_loop().create_future()
        return self.done

    def privmsg(self, client: object) -> None:
        self.left -= 1
        if self.left == 0:
            self.done.set_result(None)

    def shown(self, line: Print) -> None:
        if line.text.startswith(LINE):
            self.left -= 1
            if self.left == 0:
                self.done.set_result(None)


async def _burst(
    sender: Helper, command: str, lines: int, arrivals: Arrivals, profiler: Any = None
) -> tuple[float, int]:
    """Tell `sender` to send (`command`), and count this process's CPU until TAIL after
    the last of `lines` `arrivals`; and the lines received."""
    done = arrivals.expect(lines)
    if profiler is not None:
        profiler.start()
    before = time.process_time()
    sender.tell(command)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(done), LIMIT)
    await asyncio.sleep(TAIL)
    cpu = time.process_time() - before
    if profiler is not None:
        profiler.stop()
    await sender.answer()
    return cpu, lines - max(arrivals.left, 0)


async def peers_side(
    stack: contextlib.AsyncExitStack, loop: str, peers: int, messages: int
) -> Burst:
    """A registry, a sender peer and `peers` receiving peers, kept until `stack` closes."""
    reg = stack.enter_context(start_registry(loop))
    pin_to_cpu(reg.proc.pid, SERVER_CPU)
    server = (HOST, reg.ready["port"])
    at = f"{HOST}:{server[1]}"
    sender = stack.enter_context(Helper("peer", "--loop", loop, "--name", "sender", "--server", at))
    pin_to_cpu(sender.proc.pid, SERVER_CPU)
    members: list[BenchPeer] = await make_peers(peers, server, prefix="m")
    stack.push_async_callback(close_all, members)
    # out of the cyclic collector's sight, as PeerNode.run freezes a peer once started
    # (and bench/relay.py's Members its peers): a peer alone in its process never has
    # all 50 peers' state walked by a full collection
    gc.freeze()
    stack.callback(gc.unfreeze)
    profiler = None
    if folder := os.environ.get("BENCH_PROFILE", ""):
        import pyinstrument

        profiler = pyinstrument.Profiler(interval=0.0005, async_mode="disabled")
        stack.callback(
            lambda: Path(folder, "peer_line.txt").write_text(
                profiler.output_text(unicode=False, color=False)
            )
        )

    arrivals = Arrivals()
    for member in members:  # what the peer shows, straight to the count (its screen)
        member.node.carriers[Print] = arrivals.shown

    async def burst(turn: int) -> tuple[float, int]:
        await settled(reg)
        command = f"send_all {messages} {GAP} line {turn}"
        return await _burst(sender, command, peers * messages, arrivals, profiler)

    # one burst first, not counted: each peer maps its file of shown ids on its first line
    await burst(-1)
    return burst


async def irc_side(stack: contextlib.AsyncExitStack, peers: int, messages: int) -> Burst:
    """ngircd with a TLS port, a sender and `peers` TLS clients, kept until `stack` closes."""
    srv = stack.enter_context(ircd.Ngircd(SERVER_CPU, tls=True))
    sender = stack.enter_context(Helper("irc", "--port", str(srv.port), "--name", "sender"))
    pin_to_cpu(sender.proc.pid, SERVER_CPU)
    members = await ircd.clients(srv.tls_port, peers, prefix="m", tls=srv.client_context())
    stack.callback(ircd.close, members)

    arrivals = Arrivals()
    for member in members:
        member.on_privmsg = arrivals.privmsg

    async def burst(turn: int) -> tuple[float, int]:
        return await _burst(sender, f"{messages} {GAP} line {turn}", peers * messages, arrivals)

    await burst(-1)
    return burst


async def turns(args: argparse.Namespace, loop: str) -> dict[str, list[float]]:
    """Microseconds of this process's CPU per line received, turn by turn, by side."""
    per_line: dict[str, list[float]] = {}
    async with contextlib.AsyncExitStack() as stack:
        sides = [("ChatApp peers", await peers_side(stack, loop, args.peers, args.messages))]
        if not ircd.unavailable():
            sides.append(("IRC clients, TLS", await irc_side(stack, args.peers, args.messages)))
        for turn in range(args.turns):
            for name, burst in sides if turn % 2 == 0 else sides[::-1]:
                cpu, received = await burst(turn)
                per_line.setdefault(name, []).append(cpu / max(received, 1) * 1e6)
    return per_line


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Print the table; return the medians by side (µs per line)."""
    scratch_folder()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loop", default="asyncio")
    parser.add_argument("--peers", type=int, default=50)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--turns", type=int, default=8)
    args = parser.parse_args(argv)
    raise_fd_limit()
    table = Table(
        f"A receiver's CPU per relayed line: {args.messages} lines, {GAP * 1e3:.0f} ms apart, "
        f"to {args.peers} receivers in one process",
        ["loop", "receivers", "µs/line, turn by turn", "median", "ratio to IRC", "target"],
    )
    medians: dict[str, float] = {}
    with pinned(BENCH_CPU):
        for loop in loops_to_run(args.loop):
            per_line = run(functools.partial(turns, args, loop), loop)
            irc = median(per_line.get("IRC clients, TLS", [float("nan")]))
            for name, figures in per_line.items():
                medians[f"{loop} {name}"] = median(figures)
                ours = name == "ChatApp peers"
                table.add(
                    loop,
                    name,
                    " ".join(f"{us:.1f}" for us in figures),
                    f"{median(figures):.1f}",
                    f"{median(figures) / irc:.2f}x" if ours else "",
                    "<= 2.00x" if ours else ircd.unavailable(),
                )
    table.note(
        "This process's CPU per line received, to 0.2 s after the last; the ratio is of the "
        "medians over the turns, the first to go alternating."
    )
    table.print()
    return medians


if __name__ == "__main__":
    main()
