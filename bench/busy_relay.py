"""A channel line's and a room line's time to the members online while other peers stream
durable saves (mail for a peer offline, each commit an fsync): real peers, a real registry
in its own process. A line is timed from the sender's Enter to the last of `--members`
showing it, one line at a time; beside it, the same with no saves. With `--base DIR`, the
registry of the checkout DIR and this one's take turns, run by run.

  python -m bench.busy_relay [--lines N] [--runs R] [--base /work/wt-base]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import HOST, ROOT, Table, run, scratch_folder
from bench.harness import BenchPeer, close_all, make_peers, start_registry
from peer.core.actions import Print


async def _lines(
    args: argparse.Namespace, root: Path, saving: bool
) -> tuple[dict[str, list[float]], float]:
    """Milliseconds each line of `args.lines` took to reach every member, channel and room;
    the saves acked a second meanwhile."""
    with start_registry("asyncio", mailbox_limit=1_000_000, root=root) as reg:
        server = (HOST, reg.ready["port"])
        bob = BenchPeer("bob", server, Path(tempfile.mkdtemp(prefix="chatapp-bench-busy-")))
        await bob.open()
        await bob.register()
        await _said(bob, "[You are Offline. Bye.]", "dereg bob")  # the saves' mailbox
        members = await make_peers(args.members + 1, server, prefix="m")
        savers = await make_peers(args.savers, server, prefix="s", own_keys=True)
        speaker, listeners = members[0], members[1:]
        await asyncio.gather(*(_said(p, "[You joined bench", "join bench") for p in members))
        seen: dict[str, int] = {}
        all_seen = asyncio.Event()

        def shown(peer: BenchPeer, line: Print) -> None:
            text = line.text.rsplit(" ", 1)[-1].rstrip("]")
            if text in seen:
                seen[text] += 1
                if seen[text] == len(listeners):
                    all_seen.set()

        for peer in listeners:
            peer.listeners.append(shown)
        sent = {"n": 0}

        def more(peer: BenchPeer, line: Print) -> None:
            if line.text == "[Messages received by the server and saved]" and saving:
                sent["n"] += 1
                peer.line(f"send bob stored message number {sent['n']}")

        for saver in savers:
            saver.listeners.append(more)
            for _ in range(args.window if saving else 0):
                saver.line("send bob a first stored message")
        await asyncio.sleep(0.5)  # the stream under way
        took: dict[str, list[float]] = {"channel": [], "room": []}
        began, saved = time.perf_counter(), sent["n"]
        for i in range(args.lines):
            for kind, typed in (("channel", "send_all "), ("room", "")):
                mark = f"{kind}-{i}"
                seen[mark] = 0
                all_seen.clear()
                started = time.perf_counter()
                speaker.line(f"{typed}line {mark}")
                await asyncio.wait_for(all_seen.wait(), 10)
                took[kind].append((time.perf_counter() - started) * 1000)
                await asyncio.sleep(0.01)
        rate = (sent["n"] - saved) / (time.perf_counter() - began)
        saving = False
        await close_all([*savers, *members, bob])
    return took, rate


async def _said(peer: BenchPeer, start: str, typed: str) -> None:
    """`peer` types `typed`; returns once it shows a line that starts with `start`."""
    shown = asyncio.Event()

    def seen(_: BenchPeer, line: Print) -> None:
        if line.text.startswith(start):
            shown.set()

    peer.listeners.append(seen)
    peer.line(typed)
    await asyncio.wait_for(shown.wait(), 10)
    peer.listeners.remove(seen)


def main(argv: list[str] | None = None) -> None:
    scratch_folder()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=40, help="lines of each kind per run")
    parser.add_argument("--runs", type=int, default=5, help="runs of each registry")
    parser.add_argument("--members", type=int, default=10, help="members who are shown a line")
    parser.add_argument("--savers", type=int, default=8, help="peers saving at once")
    parser.add_argument("--window", type=int, default=8, help="saves in flight per saver")
    parser.add_argument("--base", type=Path, help="a checkout whose registry takes turns")
    args = parser.parse_args(argv)
    roots = {"this": ROOT, **({"base": args.base} if args.base else {})}
    medians: dict[tuple[str, str, bool], list[float]] = {}
    rates: dict[tuple[str, bool], list[float]] = {}
    for _ in range(args.runs):
        for name, root in roots.items():
            for saving in (True, False):
                took, rate = run(functools.partial(_lines, args, root, saving))
                rates.setdefault((name, saving), []).append(rate)
                for kind, times in took.items():
                    medians.setdefault((name, kind, saving), []).append(statistics.median(times))
    table = Table(
        "A line's time to the members online (ms, median of a run), while others save",
        ["registry", "line", "saves streaming", "ms: min-max of runs", "saves/s meanwhile"],
    )
    for (name, kind, saving), values in sorted(medians.items()):
        span = f"{min(values):.2f}-{max(values):.2f}"
        done = rates[name, saving]
        table.add(name, kind, "yes" if saving else "no", span, f"{min(done):,.0f}-{max(done):,.0f}")
    table.note(
        f"{args.members} members shown each line; {args.savers} savers x {args.window} "
        f"saves in flight to a peer offline; {args.lines} lines of each kind per run; "
        f"{args.runs} runs of each registry, taking turns."
    )
    table.print()


if __name__ == "__main__":
    main()
