"""Direct message, send to ack, between two real peers over real sockets, beside a raw UDP
round trip on the same event loop measured in the same run.

The sender is a real PeerNode (core, adapter, Endpoint) in this process; the receiver is a
real PeerNode in its own process; a real registry (its own process) introduces them. The
latency is from the typed line `send bob ...` until `[Message received by bob.]` is shown.

    python -m bench.direct [--loop asyncio|uvloop|both] [--count N] [--summary FILE]

`--summary` writes the medians the targets are stated on to FILE as JSON (bench.run_all
reads it from a run on the compiled build).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from statistics import mean
from typing import Any

from bench.common import (
    HOST,
    Helper,
    Table,
    idle_wait,
    loops_to_run,
    median,
    pct,
    pin_to_cpu,
    pinned,
    rate,
    ratio,
    run,
    scratch_folder,
    steady_heap,
    us,
)
from bench.harness import BenchPeer, start_registry
from bench.udp_raw import echoed_rate
from bench.unprotected import unprotect
from peer.core.actions import Print
from peer.core.direct import RECEIVED_BY
from wire.messages import Chat
from wire.version import build_name

Addr = tuple[str, int]

#: glibc settings for the raw round trip's two processes: blocks up to 4 MiB from the heap,
#: freed memory kept. asyncio's datagram transport reads each datagram into a fresh 256 KiB
#: buffer, which glibc maps and unmaps around every datagram until something in the
#: process has raised its moving threshold (seen with strace). With glibc's defaults the
#: raw round trip measured anywhere from 77 to 111 µs from run to run (the published anchor
#: is 104); with these, 77-80 µs in every run: the raw baseline at its fastest, the strict
#: comparison. The peers keep glibc's defaults.
HEAP_ENV = {"MALLOC_MMAP_THRESHOLD_": str(4 << 20), "MALLOC_TRIM_THRESHOLD_": str(64 << 20)}

#: The published anchors for acknowledged messages: (one at a time, 32 in flight) per second.
ACKED_ANCHOR = {"asyncio": (9.3e3, 30.7e3), "uvloop": (15.5e3, 137e3)}


class Timing:
    """Times each direct message from its typed line until `[Message received by bob.]` is
    shown for it, through public seams the compiled build keeps, and with no work on the
    peer's path: the endpoint's `sent` says which Chat a typed line sent (Endpoint.send
    notes each message it encodes), read once the line is carried out. A receipt is for the
    oldest message typed that the core no longer awaits an ack for (`awaiting_ack`): the
    core shows each receipt as it takes the message's ack. (A message given up on, never
    acked, would be taken for the next receipt's; on loopback none is.) The node's screen,
    its carrier of Print, is this: the receipts stop here (`unmatched` counts any not
    matched), every other line goes on to the peer's console. Each receipt lets the next
    line be typed in a pass of its own, as a terminal hands them to the node: the lines owed
    for one pass's receipts are typed together, one after the other."""

    def __init__(self, peer: BenchPeer, to: str = "bob") -> None:
        self.peer = peer
        self.to = to
        self.text = f"send {to} message"  # (the same words each time: the core sends each)
        self.typed_at: dict[str, float] = {}
        self.latencies: list[float] = []
        self.unmatched = 0
        self.left = 0  # lines still to type
        self.wanted = 0  # receipts to wait for, then `finished` is called
        self.finished: Callable[[], None] = lambda: None
        self._owed = 0  # lines owed for this pass's receipts
        self._endpoint = peer.node.endpoint
        self._awaiting = peer.node.core.parts.direct.awaiting_ack
        self._typed = peer.node.typed  # (BenchPeer.line's: a call less, per line typed)
        self._receipt = RECEIVED_BY.format(to)
        self._console = peer.node.carriers[Print]
        peer.node.carriers[Print] = self._shown
        # asyncio's get_running_loop asks the system for the process id: once, not per pass
        self._loop: asyncio.AbstractEventLoop | None = None

    def type(self, lines: int) -> None:
        """Type `lines` lines (no more than are `left`), one after the other."""
        endpoint, typed, text, to, typed_at = (
            self._endpoint, self._typed, self.text, self.to, self.typed_at,
        )  # fmt: skip
        lines = min(lines, self.left)
        self.left -= lines
        for _ in range(lines):
            at, before = time.perf_counter(), endpoint.sent
            typed(text)
            sent = endpoint.sent
            if sent is not before and type(chat := sent[0]) is Chat and chat.to == to:
                typed_at[chat.id] = at

    def _shown(self, line: Print) -> None:
        if line.text != self._receipt:
            self._console(line)
            return
        shown = time.perf_counter()
        for msg_id in self.typed_at:  # oldest first: nearly always the first
            if not self._awaiting(msg_id):
                self.latencies.append(shown - self.typed_at.pop(msg_id))
                if not self._owed:
                    if self._loop is None:
                        self._loop = asyncio.get_running_loop()
                    self._loop.call_soon(self._type_owed)
                self._owed += 1
                return
        self.unmatched += 1

    def _type_owed(self) -> None:
        owed, self._owed = self._owed, 0
        self.type(owed)
        if len(self.latencies) >= self.wanted:
            self.finished()


#: The one-at-a-time latencies are measured in blocks that alternate with blocks of the raw
#: round trip, so that both see the same moments of this machine (a VM's latency drifts
#: by tens of percent over seconds; measured one after the other, the ratio drifted too).
BLOCKS = 8


async def timed(timing: Timing, n: int, window: int) -> tuple[list[float], float]:
    """(latencies, acked per second) of `n` direct messages, `window` kept in flight: each
    receipt lets the next line be typed."""
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    timing.latencies.clear()
    timing.left, timing.wanted = n, n

    def finished() -> None:
        if not done.done():
            done.set_result(None)

    timing.finished = finished
    t0 = time.perf_counter()
    timing.type(window)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done, 60.0)
    took = time.perf_counter() - t0
    return list(timing.latencies), len(timing.latencies) / took


async def _in_flight(
    timing: Timing, echo_port: int, count: int, inflight: int
) -> tuple[list[float], float, float, float]:
    """(latencies, acked per second, the raw echo's per second, this process's CPU seconds
    per message acked) of `count` direct messages and as many echoed datagrams, `inflight`
    in flight, in BLOCKS alternating blocks: the raw client in this process too, on the
    same CPU, at the same moments of this machine (measured apart, the raw rate alone
    moved by a factor of ten from run to run)."""
    block = max(count // BLOCKS, 4 * inflight)
    latencies: list[float] = []
    ours_took = raw_took = cpu = 0.0
    for _ in range(BLOCKS):
        with steady_heap():  # as HEAP_ENV does for the other raw ends (256 KiB reads)
            raw_took += block / await echoed_rate(echo_port, block, inflight)
        cpu -= time.process_time()
        some, acked = await timed(timing, block, inflight)
        cpu += time.process_time()
        latencies += some
        ours_took += len(some) / acked
    return latencies, len(latencies) / ours_took, BLOCKS * block / raw_took, cpu / len(latencies)


async def _measure(loop_kind: str, count: int, inflight: int) -> dict[str, Any]:
    loop = ("--loop", loop_kind)
    with contextlib.ExitStack() as stack:
        reg = stack.enter_context(start_registry(loop_kind))
        server = (HOST, reg.ready["port"])
        at = ("--server", f"{HOST}:{server[1]}")
        bob = stack.enter_context(Helper("peer", *loop, "--name", "bob", *at))
        # the same peers again, unprotected: what the secure channel costs, in the same run
        dan = stack.enter_context(Helper("peer", *loop, "--name", "dan", *at, "--unprotected"))
        echo = stack.enter_context(Helper("echo", *loop, "--mode", "protocol", env=HEAP_ENV))
        port = str(echo.ready["port"])
        ping = stack.enter_context(Helper("ping", *loop, "--port", port, env=HEAP_ENV))
        bare_bob = stack.enter_context(Helper("echo", *loop, "--mode", "bare", env=HEAP_ENV))
        bare_port = str(bare_bob.ready["port"])
        bare = stack.enter_context(
            Helper("ping", *loop, "--mode", "bare", "--port", bare_port, env=HEAP_ENV)
        )
        secure_echo = stack.enter_context(Helper("echo", *loop, "--mode", "secure", env=HEAP_ENV))
        secure_args = ["--port", str(secure_echo.ready["port"]), "--key", secure_echo.ready["key"]]
        secure = stack.enter_context(
            Helper("ping", *loop, "--mode", "secure", *secure_args, env=HEAP_ENV)
        )
        # The senders (alice here, the raw client) on one CPU, both far ends on the other:
        # left to the scheduler, which CPU each process woke on changed from run to run,
        # and the ratio by a tenth with it.
        stack.enter_context(pinned(0))
        for sender in (ping, bare, secure):
            pin_to_cpu(sender.proc.pid, 0)
        for far_end in (bob, dan, echo, bare_bob, secure_echo):
            pin_to_cpu(far_end.proc.pid, 1)
        alice = BenchPeer("alice", server, Path(tempfile.mkdtemp(prefix="chatapp-bench-")))
        cy = BenchPeer("cy", server, Path(tempfile.mkdtemp(prefix="chatapp-bench-")))
        for peer in (alice, cy):
            await peer.open()
            await peer.register()
        unprotect(cy.node)
        timing, clear_timing = Timing(alice), Timing(cy, "dan")
        ours: list[float] = []
        clear: list[float] = []
        raw: list[float] = []
        floor: list[float] = []
        sealed: list[float] = []
        block = max(count // 4 // BLOCKS, 20)
        for _ in range(BLOCKS):
            raw += (await ping.ask_async(str(block)))["times"]
            floor += (await bare.ask_async(str(block)))["times"]
            sealed += (await secure.ask_async(str(block)))["times"]
            one, _ = await timed(timing, block, 1)
            ours += one[block // 10 :]  # the first tenth warms up
            one, _ = await timed(clear_timing, block, 1)
            clear += one[block // 10 :]
        many, many_rate, raw_rate, cpu = await _in_flight(timing, int(port), count, inflight)
        for peer in (alice, cy):
            await peer.close()
    return {
        "one": ours, "raw": raw, "floor": floor, "sealed": sealed, "many": many,
        "many_rate": many_rate, "raw_rate": raw_rate, "clear": clear, "cpu": cpu,
    }  # fmt: skip


def measure(loop_kind: str, count: int, inflight: int) -> dict[str, Any]:
    return run(lambda: _measure(loop_kind, count, inflight), loop_kind)


def _add_rows(table: Table, loop: str, measured: dict[str, Any], inflight: int) -> None:
    """The rows of one loop's measures (`measure`), beside raw UDP's of the same run."""
    raw, one, many, floor = measured["raw"], measured["one"], measured["many"], measured["floor"]
    raw_med, one_med, many_rate = median(raw), median(one), measured["many_rate"]
    raw_rate = measured["raw_rate"]
    anchor_one, anchor_many = ACKED_ANCHOR[loop]

    def row(
        what: str, ours: float, theirs: float, show: Callable[[float], str], *more: str
    ) -> None:
        table.add(loop, what, show(ours), show(theirs), ratio(ours, theirs), *more)

    sealed_med = median(measured["sealed"])
    row("median, one at a time", one_med, raw_med, us, "", "")
    row("median, bare JSON peers (floor)", median(floor), raw_med, us, "", "")
    row("median, raw over the secure channel", sealed_med, raw_med, us, "", "")
    table.add(
        loop, "median, ours vs the secure channel's raw", us(one_med), us(sealed_med),
        ratio(one_med, sealed_med), "<= 1.50x", "",
    )  # fmt: skip
    clear = measured["clear"]
    table.add(
        loop, "median, ours vs ours unprotected", us(one_med), us(median(clear)),
        ratio(one_med, median(clear)), "<= 1.25x", "",
    )  # fmt: skip
    table.add(
        loop, "p99, ours vs ours unprotected", us(pct(one, 0.99)), us(pct(clear, 0.99)),
        ratio(pct(one, 0.99), pct(clear, 0.99)), "", "",
    )  # fmt: skip
    row("p99, one at a time", pct(one, 0.99), pct(raw, 0.99), us, "", "")
    row("acked/s, one at a time", 1 / mean(one), 1 / raw_med, rate, "", rate(anchor_one))
    row(f"acked/s, {inflight} in flight", many_rate, raw_rate, rate, "", rate(anchor_many))
    # the most acked per second the sender's work allows: 1 / its CPU per message
    row(
        f"sender's CPU per message, {inflight} in flight", measured["cpu"], 1 / raw_rate, us, "", ""
    )
    many_line = f"{us(median(many))} / {us(pct(many, 0.99))}"
    table.add(loop, f"median / p99, {inflight} in flight", many_line, "", "", "", "")


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    """Measure and print the table; return each loop's medians (as `--summary` writes)."""
    scratch_folder()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loop", default="both")
    parser.add_argument("--count", type=int, default=8000, help="messages with 32 in flight")
    parser.add_argument("--inflight", type=int, default=32)
    parser.add_argument("--summary", help="write the medians of each loop to this JSON file")
    args = parser.parse_args(argv)
    table = Table(
        "Direct message, send to ack (two real peers, real sockets) vs raw UDP on the same loop",
        ["loop", "what", "ours", "raw UDP, same run", "ratio", "target", "anchor (raw)"],
    )
    summary: dict[str, dict[str, float]] = {}
    for loop in loops_to_run(args.loop):
        measured = measure(loop, args.count, args.inflight)
        _add_rows(table, loop, measured, args.inflight)
        summary[loop] = {
            "one": median(measured["one"]), "raw": median(measured["raw"]),
            "sealed": median(measured["sealed"]), "many_rate": measured["many_rate"],
            "raw_rate": measured["raw_rate"],
        }  # fmt: skip
    table.note(
        "raw acked/s one at a time = 1 / raw median round trip; raw in flight = an echo "
        "with the same window, its client in this process as alice is. Sender's CPU per "
        "message: alice's process time over the messages acked in flight, beside the echo's "
        "time per datagram; 1 / it bounds the acked/s. Ours and the raw "
        f"round trip or echo are measured in {BLOCKS} alternating blocks (one at a time, the "
        "bare peers too), against the same moments of this machine. Bare JSON peers "
        "(bench/bare_direct.py): the same Chat and Ack, each "
        "parsed with msgspec as plain JSON values, the shown record, nothing "
        "else: the floor of a Python peer. Raw over the secure channel (bench/secure_echo.py): "
        "the raw round trip with each datagram sealed and opened by secure/channel.py, the "
        "baseline of the target. Ours unprotected (bench/unprotected.py): the same peers, "
        "a second pair, their datagrams to each other not sealed (a pass-through in place "
        "of the secure channel): what the protection costs."
    )
    table.note(f"{idle_wait()} (bench/common.py: it sets every round trip's floor).")
    table.print()
    if args.summary:
        Path(args.summary).write_text(json.dumps({"build": build_name(), "loops": summary}))
    return summary


if __name__ == "__main__":
    main()
