"""Durable mailbox saves per second through each backend of the store seam
(registry/adapter/store.py).

files       FileStore: appended to the mailbox file, one fsync per commit
jetstream   JetStreamStore on one nats-server (replicas 1)
jetstream3  JetStreamStore on a 3-node JetStream cluster (replicas 3: a save is stored once
            a majority has it)

Each commit carries a group of saves (1: one at a time; 64: as the registry's group commit
gathers them under load), and a save counts once the commit covering it returned, as the
registry acknowledges it. Every backend in the same run; ratios against the files backend.

  python -m bench.saves [--count N] [--groups 1,64]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from bench.common import Table, rate, ratio
from registry.adapter.cluster.service_folder import ServiceFolder
from registry.adapter.store import FileStore, Store
from registry.core.actions import StoreMail
from registry.core.table import Table as NameTable
from wire.messages import StoredMessage

#: Mailboxes the saves go to in turn (a class of people leaving each other messages).
BOXES = 20


def _saves(count: int) -> list[StoreMail]:
    return [
        StoreMail(
            f"bob{i % BOXES}",
            StoredMessage(f"s-{i}", "alice", "a message of a typical length", "", "direct"),
        )
        for i in range(count)
    ]


async def _timed(store: Store, count: int, group: int) -> float:
    """Saves per second: `count` saves, committed `group` at a time."""
    table = NameTable()
    saves = _saves(count)
    t0 = time.perf_counter()
    for start in range(0, count, group):
        for action in saves[start : start + group]:
            store.carry_out(action)
        await store.commit(table)
    return count / (time.perf_counter() - t0)


async def _files(count: int, group: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        return await _timed(FileStore(Path(folder), lambda line: None), count, group)


async def _jetstream(folder: ServiceFolder, count: int, group: int) -> float:
    from registry.adapter.cluster.connect import connect
    from registry.adapter.cluster.store import JetStreamStore

    nc, js = await connect(folder, lambda line: None)
    try:
        store = await JetStreamStore.open(js)
        return await _timed(store, count, group)
    finally:
        await nc.close()


def _with_nats(size: int, measure: Callable[[ServiceFolder], Coroutine[Any, Any, float]]) -> float:
    """`measure` run against a fresh NATS of `size` servers (tests/nats_servers.py)."""
    from tests.nats_servers import nats_cluster, service_folder

    with tempfile.TemporaryDirectory() as folder, nats_cluster(Path(folder), size) as nodes:
        return asyncio.run(measure(service_folder(nodes)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--groups", default="1,64")
    args = parser.parse_args(argv)
    table = Table(
        "Durable saves per second, by backend (a save counts once its commit returned)",
        [
            "saves per commit",
            "files",
            "JetStream, 1 node",
            "ratio",
            "JetStream, 3 nodes (R3)",
            "ratio",
        ],
    )
    for group in (int(g) for g in args.groups.split(",")):
        files = asyncio.run(_files(args.count, group))
        measure = functools.partial(_jetstream, count=args.count, group=group)
        one, three = _with_nats(1, measure), _with_nats(3, measure)
        table.add(
            group,
            rate(files),
            rate(one),
            ratio(one, files, higher_is_better=True),
            rate(three),
            ratio(three, files, higher_is_better=True),
        )
    table.note("All on this machine, over loopback; the 3 nodes share its CPU and disk.")
    table.print()


if __name__ == "__main__":
    main()
