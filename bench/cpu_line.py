"""The server's CPU per delivered channel line: the registry beside ngircd in the same run.

`members` minimal clients (bench/light.py; ngircd's are bench/ircd.py's) and one sender,
which posts `messages` lines at once; the CPU time the server's thread runs (from /proc)
from the post until every member has every line, over the deliveries. This is the
registry's own cost per member and line, which a busy machine stretches in wall time but
not in CPU time. Goal: the registry's at most 2x ngircd's at 1,000 members, the default.
The minimal clients join 50 at a time, and one the registry asks to wait (Busy) asks again
after the wait, as a peer does.

    python -m bench.cpu_line [--members 1000] [--messages 20] [--runs 3] [--loop asyncio]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools

from bench import ircd
from bench.common import (
    HOST,
    Table,
    loops_to_run,
    median,
    pinned,
    raise_fd_limit,
    run,
    scratch_folder,
    steady_heap,
)
from bench.relay import BENCH_CPU, SERVER_CPU, Countdown, Members, _server, settled

#: Seconds a burst may take before it is counted as it stands.
LIMIT = 60.0


def cpu_seconds(pid: int) -> float:
    """CPU seconds process `pid` has run, to the nanosecond (Linux /proc: its main
    thread's schedstat; both servers run on one thread)."""
    with open(f"/proc/{pid}/schedstat") as stat:
        return int(stat.read().split()[0]) / 1e9


async def registry_burst(loop: str, members: int, messages: int) -> tuple[float, int]:
    """The registry's CPU seconds for one burst to `members` minimal clients, and the
    deliveries made."""
    with _server("minimal", loop) as reg:
        group = Members("minimal")
        await group.open((HOST, reg.ready["port"]), members, "c")
        try:
            # One line first, not measured: a minimal client registers over TCP, so the
            # registry's first datagram to it begins their secure session (a handshake a
            # member, once), which the line's cost is not.
            warm = Countdown(members)
            group.count(warm, "")
            group.post(["the line before"])
            await asyncio.wait_for(asyncio.shield(warm.done), LIMIT)
            await settled(reg)
            countdown = Countdown(members * messages)
            group.count(countdown, "")
            before = cpu_seconds(reg.proc.pid)
            group.post([f"cpu line number {i}" for i in range(messages)])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(countdown.done), LIMIT)
            await asyncio.sleep(0.2)  # the last acks reach the registry
            return cpu_seconds(reg.proc.pid) - before, members * messages - countdown.left
        finally:
            await group.close()


async def ngircd_burst(port: int, pid: int, members: int, messages: int) -> tuple[float, int]:
    """ngircd's CPU seconds for one burst to `members` clients, and the deliveries made."""
    everyone = await ircd.clients(port, members + 1, prefix="c")
    try:
        done, left = ircd.last_arrival(everyone[1:], members * messages)
        before = cpu_seconds(pid)
        everyone[0].send(*(b"PRIVMSG #bench :cpu line number %d" % i for i in range(messages)))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(done), LIMIT)
        await asyncio.sleep(0.2)  # as for the registry
        return cpu_seconds(pid) - before, members * messages - left[0]
    finally:
        ircd.close(everyone)


def per_line(loop: str, members: int, messages: int, runs: int) -> tuple[list[float], list[float]]:
    """Microseconds of server CPU per delivered line, run by run: (registry, ngircd)."""
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(runs):
        cpu, delivered = run(functools.partial(registry_burst, loop, members, messages), loop)
        ours.append(cpu / max(delivered, 1) * 1e6)
        if not ircd.unavailable():
            with ircd.Ngircd(SERVER_CPU) as srv:
                assert srv.proc is not None
                burst = functools.partial(ngircd_burst, srv.port, srv.proc.pid, members, messages)
                cpu, delivered = run(burst, loop)
            theirs.append(cpu / max(delivered, 1) * 1e6)
    return ours, theirs


def main(argv: list[str] | None = None) -> None:
    scratch_folder()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loop", default="asyncio")
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    raise_fd_limit()
    table = Table(
        f"Server CPU per delivered line: {args.messages} lines at once to {args.members} members",
        ["loop", "registry µs/line", "ngircd µs/line", "ratio", "target"],
    )
    with pinned(BENCH_CPU), steady_heap():
        for loop in loops_to_run(args.loop):
            ours, theirs = per_line(loop, args.members, args.messages, args.runs)
            irc = median(theirs) if theirs else float("nan")
            table.add(
                loop,
                " ".join(f"{us:.1f}" for us in ours),
                " ".join(f"{us:.1f}" for us in theirs) or ircd.unavailable(),
                f"{median(ours) / irc:.2f}x",
                "<= 2.00x",
            )
    table.note("Each run's figure; the ratio of the medians.")
    table.print()


if __name__ == "__main__":
    main()
