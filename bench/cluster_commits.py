"""The table's commits to JetStream in a join storm, by the registry that decides for a
service (registry/adapter/cluster/store.py): N rows added ROWS_PER_PASS at a time, one
commit per pass, as its group commit makes them. Each commit's SaveTable names the rows it
added, beside one that names none (every row compared, as before rows were named), in the
same run, on one nats-server.

    python -m bench.cluster_commits [--rows 5000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from bench.common import Table, ratio
from registry.adapter.cluster.service_folder import ServiceFolder
from registry.core.actions import SaveTable
from registry.core.table import Record
from registry.core.table import Table as NameTable

#: Registrations a pass of the event loop commits at once in a storm (about what one
#: drain of the socket reads).
ROWS_PER_PASS = 25


async def _storm(folder: ServiceFolder, rows: int, *, named: bool) -> tuple[float, float]:
    """Seconds and CPU seconds to commit `rows` new rows, a pass at a time."""
    from registry.adapter.cluster.connect import connect
    from registry.adapter.cluster.store import JetStreamStore

    nc, js = await connect(folder, lambda line: None)
    try:
        store = await JetStreamStore.open(js)
        await store.load(0.0)
        table = NameTable(version=1)
        t0, cpu0 = time.perf_counter(), time.process_time()
        for at in range(0, rows, ROWS_PER_PASS):
            names = [f"peer{i:05}" for i in range(at, min(rows, at + ROWS_PER_PASS))]
            for i, name in enumerate(names, at):
                table.records[name] = Record(
                    name, "127.0.0.1", 20000 + i, True, "h" * 70, key="k" * 43, made=1e9, used=1e9
                )
            table.version += 1
            store.carry_out(SaveTable(tuple(names) if named else None))
            await store.commit(table)
        return time.perf_counter() - t0, time.process_time() - cpu0
    finally:
        await nc.close()


def _on_fresh_nats(rows: int, *, named: bool) -> tuple[float, float]:
    from tests.nats_servers import nats_cluster, service_folder

    with tempfile.TemporaryDirectory() as folder, nats_cluster(Path(folder), 1) as nodes:
        return asyncio.run(_storm(service_folder(nodes), rows, named=named))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    table = Table(
        f"A join storm's table commits to JetStream: {args.rows:,} rows, {ROWS_PER_PASS} a commit",
        ["run", "rows named: s (CPU s)", "every row compared: s (CPU s)", "ratio"],
    )
    for run in range(1, args.runs + 1):
        named = _on_fresh_nats(args.rows, named=True)
        every = _on_fresh_nats(args.rows, named=False)
        table.add(
            run,
            f"{named[0]:.2f} ({named[1]:.2f})",
            f"{every[0]:.2f} ({every[1]:.2f})",
            ratio(named[0], every[0]),
        )
    table.note("One nats-server on this machine, over loopback; the CPU is this process's.")
    table.print()


if __name__ == "__main__":
    main()
