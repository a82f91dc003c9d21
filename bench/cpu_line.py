"""The server's CPU per delivered channel line: the registry and ngircd taking turns.

`members` minimal clients (bench/light.py; ngircd's are bench/ircd.py's) and one sender,
which posts `messages` lines at once; the CPU time the server's thread runs (from /proc)
from the post until every member has every line, over the deliveries. This is the
registry's own cost per member and line, which a busy machine stretches in wall time but
not in CPU time. Goal: the registry's at most 2x ngircd's at 1,000 members, the default.
The minimal clients join 50 at a time, and one the registry asks to wait (Busy) asks again
after the wait, as a peer does.

The servers stay up and take turns, a burst each, `turns` times, the first to go
alternating: what else loads the host weighs on both alike, and the ratio is of the medians
over the turns. One burst each swings more than the goal's margin: 1.6-2.1x ngircd from
turn to turn within one run. With `--against ROOT`, the registry of another checkout (a
worktree of main) takes turns too: a same-run A/B, its ratio to this one's the figure.
With BENCH_PROFILE=<folder>, this checkout's registry writes where its CPU went in the
bursts, and in the polls between them, to <folder>/registry.txt (pyinstrument, installed by
hand).

    python -m bench.cpu_line [--members 1000] [--messages 20] [--turns 8] [--loop asyncio]
                             [--against ROOT]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench import ircd
from bench.common import (
    HOST,
    ROOT,
    Table,
    loops_to_run,
    median,
    pin_to_cpu,
    pinned,
    raise_fd_limit,
    run,
    scratch_folder,
    steady_heap,
)
from bench.harness import start_registry
from bench.light import LightClient
from bench.relay import BENCH_CPU, SERVER_CPU, Countdown, Members, settled

#: Seconds a burst may take before it is counted as it stands.
LIMIT = 60.0
#: One side's burst of the turn numbered: (CPU seconds of its server, deliveries made).
Burst = Callable[[int], Awaitable[tuple[float, int]]]


def cpu_seconds(pid: int) -> float:
    """CPU seconds process `pid` has run, to the nanosecond (Linux /proc: its main
    thread's schedstat; both servers run on one thread)."""
    with open(f"/proc/{pid}/schedstat") as stat:
        return int(stat.read().split()[0]) / 1e9


async def warm(joined: list[LightClient]) -> None:
    """A line to the members `joined` so far, not measured: a minimal client registers over
    TCP, so the registry's first datagram to it begins their secure session (a handshake a
    member, once), which a line's cost is not. A batch at a time: 1,000 handshakes at once
    on a loaded host outlasted a push's tries and its probe, and the members were taken
    offline, their line mailed (a minimal client reads no mailbox)."""
    countdown = Countdown(len(joined) - 1)
    for client in joined[1:]:
        client.on_channel = lambda client, new: countdown.hit(new)
    joined[0].post(["the line before"])
    await asyncio.wait_for(asyncio.shield(countdown.done), LIMIT)


async def registry_side(
    stack: contextlib.AsyncExitStack, loop: str, args: argparse.Namespace, root: Path
) -> Burst:
    """A registry of the checkout at `root` with `args.members` minimal clients, kept until
    `stack` closes: its bursts."""
    members, messages = args.members, args.messages
    profile = os.environ.get("BENCH_PROFILE", "") if root == ROOT else ""
    if profile:
        os.environ["BENCH_PROFILE_ON_ASK"] = "1"  # from the first burst on (below)
        profile = f"{profile}/registry.txt"
    reg = stack.enter_context(start_registry(loop, root=root, profile=profile))
    pin_to_cpu(reg.proc.pid, SERVER_CPU)
    group = Members("minimal")
    stack.push_async_callback(group.close)
    await group.open((HOST, reg.ready["port"]), members, "c", warm)
    if profile:
        await reg.ask_async("profile")

    async def burst(turn: int) -> tuple[float, int]:
        await settled(reg)
        countdown = Countdown(members * messages)
        group.count(countdown, "")
        before = cpu_seconds(reg.proc.pid)
        group.post([f"cpu line number {turn} {i}" for i in range(messages)])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(countdown.done), LIMIT)
        await asyncio.sleep(0.2)  # the last acks reach the registry
        return cpu_seconds(reg.proc.pid) - before, members * messages - countdown.left

    return burst


async def ngircd_side(stack: contextlib.AsyncExitStack, members: int, messages: int) -> Burst:
    """ngircd with `members` clients and a sender, kept until `stack` closes: its bursts."""
    srv = stack.enter_context(ircd.Ngircd(SERVER_CPU))
    assert srv.proc is not None
    pid = srv.proc.pid
    everyone = await ircd.clients(srv.port, members + 1, prefix="c")
    stack.callback(ircd.close, everyone)

    async def burst(turn: int) -> tuple[float, int]:
        done, left = ircd.last_arrival(everyone[1:], members * messages)
        before = cpu_seconds(pid)
        lines = (b"PRIVMSG #bench :cpu line number %d %d" % (turn, i) for i in range(messages))
        everyone[0].send(*lines)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(done), LIMIT)
        await asyncio.sleep(0.2)  # as for the registry
        return cpu_seconds(pid) - before, members * messages - left[0]

    return burst


async def turns(args: argparse.Namespace, loop: str) -> dict[str, list[float]]:
    """Microseconds of server CPU per delivered line, turn by turn, by side: "registry",
    "ngircd" (where it runs) and "against" (with `--against`)."""
    per_line: dict[str, list[float]] = {}
    async with contextlib.AsyncExitStack() as stack:
        sides = [("registry", await registry_side(stack, loop, args, ROOT))]
        if args.against:
            sides.append(("against", await registry_side(stack, loop, args, args.against)))
        if not ircd.unavailable():
            # between the registries: each of them goes as often first as last
            sides.insert(1, ("ngircd", await ngircd_side(stack, args.members, args.messages)))
        for turn in range(args.turns):
            for name, burst in sides if turn % 2 == 0 else sides[::-1]:
                cpu, delivered = await burst(turn)
                per_line.setdefault(name, []).append(cpu / max(delivered, 1) * 1e6)
    return per_line


def main(argv: list[str] | None = None) -> None:
    scratch_folder()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loop", default="asyncio")
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--turns", type=int, default=8)
    parser.add_argument("--against", type=Path, help="another checkout's registry takes turns")
    args = parser.parse_args(argv)
    raise_fd_limit()
    table = Table(
        f"Server CPU per delivered line: {args.messages} lines at once to {args.members} members",
        ["loop", "side", "µs/line, turn by turn", "median", "ratio to ngircd", "target"],
    )
    with pinned(BENCH_CPU), steady_heap():
        for loop in loops_to_run(args.loop):
            per_line = run(functools.partial(turns, args, loop), loop)
            irc = median(per_line["ngircd"]) if "ngircd" in per_line else float("nan")
            for name, figures in per_line.items():
                table.add(
                    loop,
                    name if name != "against" else str(args.against),
                    " ".join(f"{us:.2f}" for us in figures),
                    f"{median(figures):.2f}",
                    f"{median(figures) / irc:.2f}x" if name != "ngircd" else "",
                    "<= 2.00x" if name == "registry" else ircd.unavailable(),
                )
            if "against" in per_line:
                ab = median(per_line["registry"]) / median(per_line["against"])
                table.note(f"{loop}: this checkout's registry / {args.against}'s: {ab:.3f}x")
    table.note("The ratio is of the medians over the turns, the first to go alternating.")
    table.print()


if __name__ == "__main__":
    main()
