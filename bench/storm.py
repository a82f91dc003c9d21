"""Join storms and registry restarts with many peers online, beside ngircd in the same run.

For each N (500, 1,000 and 2,000 by default):

- **Join storm.** A fresh registry (its own process, on its own CPU); N real peers spread
  over --procs processes (`bench.procs crowd`), each on a loopback address of its own (as
  on a LAN), bound and with the registry's key pinned beforehand; all register at once.
  Timed until every peer's table holds all N online.
- **Restart.** Then the registry is killed (SIGKILL) and started again on the same port
  and data folder, with the N peers still running. Timed until every peer registered then
  has heard from it again (each was told it restarted, over a new secure session), with
  how many had within 1, 2, 5 and 10 s.
- **ngircd.** N IRC clients (in this process) connect, register and join one channel at
  once; timed until every client knows every member (bench/ircd.py `join_storm`).

Each side's CPU seconds are given (server, and the clients' processes), so that the growth
with N can be seen. A peer that gave up (`[Could not register ...]`) is counted; one that
said `[Server not responding]` while the registry was down is not: it keeps trying.

    python -m bench.storm [--sizes 500,1000,2000] [--procs 4] [--limit 60] [--runs 1] [--no-ircd]
        [--restart-only]

With BENCH_PROFILE=<folder>, the registry and the first crowd write where their CPU went
in the join there (registry.txt, crowd.txt; pyinstrument, installed by hand), and the
registry restarted its own (registry-restart.txt). With BENCH_KINDS=<file>, the registry
writes there what it read during the join, by kind, and what its secure channel dropped.
"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import ircd
from bench.common import HOST, Helper, Table, budgeted, free_port, run, scratch_folder

#: The CPU the servers (registry, ngircd) are kept on; the clients take the other.
SERVER_CPU = 1
#: Seconds between two looks at the crowds while a storm is under way.
POLL = 0.5


@dataclass
class Storm:
    """What one storm of ours measured."""

    took: float  # seconds until done, nan if not within the limit
    done: int  # peers done (table complete, or heard the registry again)
    gave_up: int
    server_cpu: float
    clients_cpu: float
    tables: int = 0  # whole tables the peers took (a Welcome or a TableSnapshot each)
    peers_mb: float = 0.0  # the largest crowd process's peak memory
    spread: str = ""  # a restart: how many heard the registry within 1, 2, 5 and 10 s
    registered: int = 0  # a join: peers registered at its end
    since: int = 0  # TableSnapshots of the rows changed since a version the peers took
    rows: int = 0  # rows the peers took, in updates and tables
    datagrams: int = 0  # datagrams (or messages over TCP) the peers took from the registry
    collector: float = 0.0  # of the clients' CPU, the cyclic collector's
    registers: int = 0  # registrations that left the peers, copies included
    initiations: int = 0  # handshakes the peers began, resent ones included
    busy: int = 0  # Busy answers the peers took
    busy_max: int = 0  # the most one peer took
    welcome_max: float = 0.0  # seconds from the start to the last peer's first Welcome


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) process `pid` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _profiled(name: str) -> tuple[str, ...]:
    """The arguments that profile a helper into BENCH_PROFILE/`name`.txt (pyinstrument),
    when that folder is set: where the registry's and a crowd's CPU goes."""
    folder = os.environ.get("BENCH_PROFILE", "")
    return ("--profile", str(Path(folder) / f"{name}.txt")) if folder else ()


def _registry(data_dir: str, port: int, profile: str = "registry") -> Helper:
    helper = Helper("registry", "--data-dir", data_dir, "--port", str(port), *_profiled(profile))
    os.sched_setaffinity(helper.proc.pid, {SERVER_CPU})
    budgeted(helper.proc.pid)  # (bench.cluster's model of a machine per registry)
    return helper


def _until(
    crowds: list[Helper], field: str, count: int, limit: float, gave_up_before: int = 0
) -> tuple[float, dict[str, float]]:
    """Ask the crowds until `field` adds up to `count` or `limit` seconds pass: (seconds
    taken or nan, the last reports added up). Not done (nan) as soon as the peers that gave
    up (since `gave_up_before` had) leave too few to get there: waiting out the limit would
    tell nothing more."""
    t0 = time.perf_counter()
    while True:
        reports = [c.ask("report") for c in crowds]
        total = {k: sum(r[k] for r in reports) for k in reports[0]}
        for key in ("rss_mb", "busy_max", "welcome_max"):
            total[key] = max(r[key] for r in reports)
        took = time.perf_counter() - t0
        if total[field] >= count:
            return took, total
        if took > limit or total[field] + total["gave_up"] - gave_up_before >= count:
            return float("nan"), total
        time.sleep(POLL)


def ours(count: int, procs: int, limit: float, trickle: bool = False) -> tuple[Storm, Storm]:
    """A join storm of `count` peers in `procs` processes (or, `trickle`, a few at a time:
    the restart alone is measured), then a restart of the registry with them all online."""
    data_dir = tempfile.mkdtemp(prefix="chatapp-bench-storm-")
    port = free_port()
    registry = _registry(data_dir, port)
    shares = [count // procs + (1 if i < count % procs else 0) for i in range(procs)]
    crowds = [
        Helper(
            "crowd",
            "--server",
            f"{HOST}:{port}",
            "--name",
            f"w{i}-",
            "--peers",
            str(n),
            "--total",
            str(count),
            "--offset",
            str(sum(shares[:i])),
            "--registry-key",
            registry.ready["code"],
            *(_profiled("crowd") if i == 0 else ()),
        )
        for i, n in enumerate(shares)
    ]
    try:
        reports = [c.ask("report") for c in crowds]
        before, collected = sum(r["cpu"] for r in reports), sum(r["gc_cpu"] for r in reports)
        server_before = _cpu_of(registry.proc.pid)
        t0 = time.perf_counter()
        for crowd in crowds:
            crowd.ask("trickle" if trickle else "go")
        took, total = _until(crowds, "complete", count, limit)
        if took == took:
            took = time.perf_counter() - t0 - POLL / 2  # (half a poll: when it was seen)
        join = Storm(
            took,
            int(total["complete"]),
            int(total["gave_up"]),
            _cpu_of(registry.proc.pid) - server_before,
            total["cpu"] - before,
            int(total["tables"]),
            total["rss_mb"],
            registered=int(total["registered"]),
            since=int(total["since"]),
            rows=int(total["rows"]),
            datagrams=int(total["datagrams"]),
            collector=total["gc_cpu"] - collected,
            registers=int(total["registers"]),
            initiations=int(total["initiations"]),
            **_lottery(total),
        )
        if os.environ.get("BENCH_PROFILE") or os.environ.get("BENCH_KINDS"):
            registry.ask("profile")  # (killed below: its profile is written now)
            crowds[0].ask("profile")
        registry.proc.kill()
        registry.proc.wait()
        for crowd in crowds:
            crowd.ask("since")
        before = sum(c.ask("report")["cpu"] for c in crowds)
        t0 = time.perf_counter()
        registry = _registry(data_dir, port, "registry-restart")
        # every peer registered when it was killed (on a busy machine some of a storm
        # may have given up)
        took, total = _until(crowds, "heard", join.registered, limit, join.gave_up)
        restart = Storm(
            time.perf_counter() - t0 - POLL / 2 if took == took else took,
            int(total["heard"]),
            int(total["gave_up"]) - join.gave_up,
            _cpu_of(registry.proc.pid),
            total["cpu"] - before,
            int(total["tables"]) - join.tables,
            total["rss_mb"],
            " / ".join(f"{int(total[f'heard_{s}s']):,}" for s in (1, 2, 5, 10)),
        )
    finally:
        for crowd in crowds:
            crowd.close()
        registry.close()
    return join, restart


def ngircd(count: int) -> tuple[float, float, float]:
    """ngircd's join storm of `count`: (seconds until all know all, its CPU seconds, the
    clients' CPU seconds)."""
    with ircd.Ngircd(SERVER_CPU) as server:
        assert server.proc is not None
        before, clients = _cpu_of(server.proc.pid), os.times()
        _, knows, _ = run(functools.partial(ircd.join_storm, server.port, count), "asyncio")
        after = os.times()
        return (
            knows,
            _cpu_of(server.proc.pid) - before,
            after.user + after.system - clients.user - clients.system,
        )


def _lottery(total: dict[str, float]) -> dict[str, Any]:
    """A join's Busy answers (all, the most one peer took) and its last first Welcome."""
    return {
        "busy": int(total["busy"]),
        "busy_max": int(total["busy_max"]),
        "welcome_max": total["welcome_max"],
    }


def _busy(join: Storm, count: int) -> str:
    """The Busy answers a peer took in `join` (most, mean), and its last first Welcome."""
    return f"{join.busy_max} / {join.busy / count:.2f}, {join.welcome_max:.1f} s"


def _per_peer(join: Storm, count: int) -> str:
    """What a peer sent in `join` on average: registrations and handshakes begun."""
    return f"{join.registers / count:.2f}, {join.initiations / count:.2f}"


def _s(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds == seconds else "not done"


def main(argv: list[str] | None = None) -> None:
    scratch_folder()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="500,1000,2000", help="storm sizes, comma-separated")
    parser.add_argument("--procs", type=int, default=4, help="processes the peers are spread over")
    parser.add_argument("--limit", type=float, default=60.0, help="seconds a storm may take")
    parser.add_argument("--runs", type=int, default=1, help="runs of each size")
    parser.add_argument("--no-ircd", action="store_true", help="leave ngircd's storm out")
    parser.add_argument(
        "--restart-only",
        action="store_true",
        help="peers register a few at a time (the join is not a storm), then the restart",
    )
    args = parser.parse_args(argv)
    table = Table(
        f"Join storm and registry restart, peers in {args.procs} processes, beside ngircd",
        [
            "N",
            "run",
            "ChatApp join",
            "done / gave up",
            "tables taken: whole / since, rows a peer, MB a crowd",
            "CPU s: registry / peers (collector)",
            "a peer sent: registrations, handshakes",
            "Busy a peer took, most / mean, last first Welcome",
            "restart: all back",
            "done of registered / gave up",
            "back in 1 / 2 / 5 / 10 s",
            "CPU s: registry / peers",
            "ngircd all know all",
            "CPU s: ngircd / clients",
            "join ratio",
        ],
    )
    why = "left out" if args.no_ircd or args.restart_only else ircd.unavailable()
    for count in (int(n) for n in args.sizes.split(",")):
        for run_number in range(1, args.runs + 1):
            join, restart = ours(count, args.procs, args.limit, args.restart_only)
            irc = ngircd(count) if not why else (float("nan"), float("nan"), float("nan"))
            table.add(
                f"{count:,}",
                str(run_number),
                _s(join.took),
                f"{join.done:,} / {join.gave_up}",
                f"{join.tables:,} / {join.since:,}, {join.rows / count:,.0f}, {join.peers_mb:.0f}",
                f"{join.server_cpu:.1f} / {join.clients_cpu:.1f} ({join.collector:.1f})",
                _per_peer(join, count),
                _busy(join, count),
                _s(restart.took),
                f"{restart.done:,} of {join.registered:,} / {restart.gave_up}",
                restart.spread,
                f"{restart.server_cpu:.1f} / {restart.clients_cpu:.1f}",
                why or _s(irc[0]),
                f"{irc[1]:.1f} / {irc[2]:.1f}",
                f"{join.took / irc[0]:.2f}x" if join.took == join.took and irc[0] == irc[0] else "",
            )
    table.note(
        "Join: until every peer's table holds all N online. Restart: the registry killed "
        "and started again on its port and folder, until every peer registered then heard "
        "from it again. "
        "ngircd: until every client knows every member of the channel. A restart's registry "
        "CPU includes its start. Tables taken: whole tables the peers were sent (a Welcome "
        "or a TableSnapshot each; N is one each), and the answers of the rows changed since "
        "a version; rows a peer: the rows each took on average, in tables and updates. "
        "A peer sent: the registrations that left it sealed for the registry, copies "
        "included (a copy dropped while its handshake was under way is not counted), and "
        "the handshakes it began, resent ones included."
    )
    table.print()


if __name__ == "__main__":
    main()
