"""`send_all` to 100 peers spread over two registries of a service on NATS JetStream, beside
one registry on its own, in the same run (docs/SCALING.md).

Each side: real peers (PeerNodes, in this process) registered half at each registry (all at
the one registry alone); one of them types `send_all`, timed until every other has shown
it: with two registries, a peer of the one that decides, then a peer of the one that relays
(whose lines cross NATS twice). The servers' CPU per line is each process's, summed. The
registries and nats-server run on the servers' CPU, as in bench/cluster.py.

    python -m bench.cluster_relay [--members 100] [--rounds 20] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench import ircd
from bench.cluster import nats_server, registry_of_service
from bench.common import HOST, Table, median, ms, pct, run, scratch_folder
from bench.harness import Addr, BenchPeer, close_all, start_registry
from bench.relay import Countdown
from bench.storm import SERVER_CPU, _cpu_of
from peer.core.actions import Print


async def _peers(servers: list[tuple[Addr, str]], count: int) -> list[BenchPeer]:
    """`count` registered peers, each with its own key and its own loopback address (a
    registry limits the new names one address makes), spread in turn over `servers`
    (address, join code), registered 25 at a time."""
    root = Path(tempfile.mkdtemp(prefix="chatapp-bench-crelay-"))
    peers = [
        BenchPeer(f"c{i}", servers[i % len(servers)][0], root / f"c{i}",
                  host=f"127.0.{1 + i // 250}.{1 + i % 250}",
                  registry_code=servers[i % len(servers)][1])
        for i in range(count)
    ]  # fmt: skip
    for peer in peers:
        await peer.open()
    for i in range(0, count, 25):
        await asyncio.gather(*(p.register() for p in peers[i : i + 25]))
    return peers


async def _rounds(
    servers: list[tuple[Addr, str]], members: int, rounds: int, pids: list[int]
) -> list[tuple[list[float], list[float]]]:
    """For a sender at each of `servers` in turn (c0, c1, ...): seconds from each `send_all`
    until all `members` others showed it (the first round, each peer's first message shown,
    not counted; nan for a round not done in 30 s), and the CPU seconds processes `pids` (the
    servers) used per round."""
    peers = await _peers(servers, members + 1)
    try:
        await asyncio.sleep(1.0)  # the table changes of the registrations pushed and acked
        return [await _sender(peers, s, rounds, pids) for s in range(len(servers))]
    finally:
        await close_all(peers)


async def _sender(
    peers: list[BenchPeer], s: int, rounds: int, pids: list[int]
) -> tuple[list[float], list[float]]:
    """`rounds` of `send_all` typed on peers[s] (see _rounds)."""
    times = []
    cpu = [0.0] * len(pids)
    for r in range(rounds + 1):
        countdown = Countdown(len(peers) - 1)
        text = f"[Channel_Message c{s}: round {r} "

        def shown(peer: BenchPeer, line: Print, text: str = text, c: Countdown = countdown) -> None:
            if line.text.startswith(text):
                c.hit()

        for i, p in enumerate(peers):
            p.listeners[:] = [] if i == s else [shown]
        used = list(map(_cpu_of, pids))
        t0 = time.perf_counter()
        peers[s].line(f"send_all round {r} of the bench")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(countdown.done), 30.0)
        took = countdown.finished_at - t0 if countdown.left <= 0 else float("nan")
        await asyncio.sleep(ircd.ROUND_GAP)  # (its acks taken)
        if r:
            times.append(took)
            cpu = [c + _cpu_of(pid) - u for c, pid, u in zip(cpu, pids, used, strict=True)]
    return times, [c / rounds for c in cpu]


def one_registry(members: int, rounds: int) -> tuple[list[float], list[float]]:
    with start_registry("asyncio") as registry:
        os.sched_setaffinity(registry.proc.pid, {SERVER_CPU})
        server = ((HOST, int(registry.ready["port"])), str(registry.ready["code"]))
        return run(lambda: _rounds([server], members, rounds, [registry.proc.pid]))[0]


def two_registries(members: int, rounds: int) -> list[tuple[list[float], list[float]]]:
    """Sent from the registry that decides (c0), then from the one that relays (c1)."""
    root = Path(tempfile.mkdtemp(prefix="chatapp-bench-crelay-"))
    nats, folder = nats_server(root / "service")
    started: list[subprocess.Popen[bytes]] = []
    try:
        servers = []
        for i in range(2):
            proc, port = registry_of_service(root / f"r{i}", folder)
            started.append(proc)
            code = re.findall(r"--registry-key ([\d-]+)", (root / f"r{i}.log").read_text())[0]
            servers.append(((HOST, port), code))
        pids = [proc.pid for proc in [*started, nats]]
        return run(lambda: _rounds(servers, members, rounds, pids))
    finally:
        for proc in started:  # (stopped, not killed: each writes its profile, if asked)
            proc.terminate()
        for proc in [*started, nats]:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(30)
            proc.kill()
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)


def _split(cpu: list[float]) -> str:
    parts = " + ".join(f"{c * 1e3:.2f}" for c in cpu)
    return f"{sum(cpu) * 1e3:.2f} ms" + (f" ({parts})" if len(cpu) > 1 else "")


def main(argv: list[str] | None = None) -> None:
    scratch_folder()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100, help="peers that receive")
    parser.add_argument("--rounds", type=int, default=20, help="send_all rounds a side")
    parser.add_argument("--runs", type=int, default=3, help="runs, each with both sides")
    args = parser.parse_args(argv)
    table = Table(
        f"send_all to {args.members} peers: two registries on NATS beside one alone",
        ["run", "one: median", "p90", "CPU/line", "from the lead: median", "p90", "CPU/line",
         "from the relay: median", "p90", "CPU/line", "lead / one", "relay / one"],
    )  # fmt: skip
    for number in range(1, args.runs + 1):
        one, one_cpu = one_registry(args.members, args.rounds)
        (lead, lead_cpu), (relay, relay_cpu) = two_registries(args.members, args.rounds)
        table.add(
            str(number), ms(median(one)), ms(pct(one, 0.9)), _split(one_cpu),
            ms(median(lead)), ms(pct(lead, 0.9)), _split(lead_cpu),
            ms(median(relay)), ms(pct(relay, 0.9)), _split(relay_cpu),
            f"{median(lead) / median(one):.2f}x", f"{median(relay) / median(one):.2f}x",
        )  # fmt: skip
    table.note(
        "From send_all typed on one peer until every other peer has shown it; with two "
        "registries, half the peers use each, and the one that does not decide relays over "
        "NATS. CPU/line: the servers' CPU per send_all, in all (the lead's + the relay's + "
        "nats-server's)."
    )
    table.print()


if __name__ == "__main__":
    main()
