"""A join storm beside ngircd's, for `python -m bench.relay join`: N real peers register at
once, timed until every peer's table lists all N online, against N IRC clients that connect,
register and join #bench (taking turns, the registry on the servers' CPU)."""

from __future__ import annotations

import asyncio
import functools
import tempfile
import time
from pathlib import Path

from bench import ircd
from bench.common import HOST, Table, median, ms, pin_to_cpu, ratio, run
from bench.harness import BenchPeer, close_all, lan_host, start_registry
from bench.mailbox import cpu_of
from bench.relay import SERVER_CPU
from peer.core.actions import Print

ANCHOR_JOIN = 0.43  # ngircd, 500 clients register and join, measured here before


async def chat_join(loop: str, count: int, limit: float) -> tuple[float, int, str]:
    """`count` peers register at once; (seconds until every table is complete, complete)."""
    with start_registry(loop, count=True) as reg:
        pin_to_cpu(reg.proc.pid, SERVER_CPU)
        server = (HOST, reg.ready["port"])
        root = Path(tempfile.mkdtemp(prefix="chatapp-bench-join-"))
        # each on an address of its own, as on a LAN: on one address the storm measured the
        # registry's handshake budget for an address under load, not the registry
        peers = [BenchPeer(f"j{i}", server, root, host=lan_host(i)) for i in range(count)]
        for p in peers:
            await p.open()  # binding sockets is not part of the storm
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        complete: set[str] = set()

        def shown(peer: BenchPeer, line: Print) -> None:
            if peer.name not in complete and peer.table_complete(count):
                complete.add(peer.name)
                if len(complete) == count and not done.done():
                    done.set_result(None)

        for p in peers:
            p.listeners[:] = [shown]
        t0 = time.perf_counter()
        cpu0 = cpu_of(reg.proc.pid), time.process_time()
        for p in peers:
            p.start()
        try:
            await asyncio.wait_for(done, limit)
            took = time.perf_counter() - t0
        except TimeoutError:
            took = float("nan")
        registry_cpu = cpu_of(reg.proc.pid) - cpu0[0]
        peers_cpu = time.process_time() - cpu0[1]
        report = await reg.ask_async("report")
        registered = sum(1 for p in peers if p.registered.is_set())
        await close_all(peers)
    note = (
        f"{registered} registered; registry handled {report['count']:,} messages, "
        f"{report['drops']} kernel drops; CPU s until complete: registry {registry_cpu:.1f}, "
        f"peers {peers_cpu:.1f}"
    )
    return took, len(complete), note


#: Join storms per side, ngircd's and ChatApp's taking turns: one of each varied by a third
#: from run to run on a 2-core VM (ngircd's own took 2.1 to 3.5 s), and the ratio with it.
JOIN_ROUNDS = 3


def join_table(loops: list[str], count: int, limit: float, rounds: int = JOIN_ROUNDS) -> None:
    table = Table(
        f"Join storm: {count} register at once until every table is complete "
        f"(median of {rounds}, taking turns with ngircd)",
        [
            "loop",
            "ChatApp",
            "complete",
            "ngircd all joined",
            "ngircd all know all",
            "ratio",
            "each round",
            "target",
        ],
    )
    why = ircd.unavailable()
    for loop in loops:
        ours: list[float] = []
        joined: list[float] = []
        knows: list[float] = []
        completes: list[int] = []
        for _ in range(rounds):
            if not why:
                with ircd.Ngircd(SERVER_CPU) as srv:
                    j, k, _ = run(functools.partial(ircd.join_storm, srv.port, count), loop)
                joined.append(j)
                knows.append(k)
            took, complete, note = run(functools.partial(chat_join, loop, count, limit), loop)
            ours.append(took)
            completes.append(complete)
            table.note(f"{loop}: {note}")
        # a storm that did not complete counts as nan, which makes the median nan too
        took = float("nan") if any(t != t for t in ours) else median(ours)
        shown = ms(took) if took == took else f"not complete in {limit:.0f} s"
        each = ", ".join(ratio(o, k) for o, k in zip(ours, knows, strict=False))
        table.add(
            loop,
            shown,
            f"{min(completes)}/{count}",
            why if why else ms(median(joined)),
            ms(median(knows)) if not why else "",
            ratio(took, median(knows)),
            each,
            "<= 1.00x",
        )
    table.note(f"anchor: ngircd 500 clients register and join in {ANCHOR_JOIN} s.")
    table.print()
