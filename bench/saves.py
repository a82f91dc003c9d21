"""Durable mailbox saves per second through each backend of the store seam
(registry/adapter/store.py).

files       FileStore: appended to the mailbox file, one fsync per commit
jetstream   JetStreamStore on one nats-server (replicas 1)
jetstream3  JetStreamStore on a 3-node JetStream cluster (replicas 3: a save is stored once
            a majority has it)

Each NATS is a fresh service folder's, as `ChatApp --new-service` makes one, measured twice:
secure, as made (TLS from clients and between nodes, clients known by their certificate,
JetStream's store encrypted), and plain, from the same configuration without TLS,
encryption at rest or users (`plain_conf`), reached with nats-py's defaults.
Each commit carries a group of saves (1: one at a time; 64: as the registry's group commit
gathers them under load), and a save counts once the commit covering it returned, as the
registry acknowledges it. Everything in the same run, each NATS fresh; the ratios are
secure against plain.

  python -m bench.saves [--count N] [--groups 1,64]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import Table, rate, ratio
from registry.adapter.store import FileStore, Store
from registry.core.actions import StoreMail
from registry.core.table import Table as NameTable
from wire.messages import StoredMessage

if TYPE_CHECKING:
    from nats.js import JetStreamContext

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


def plain_conf(conf: dict[str, Any]) -> dict[str, Any]:
    """A NATS node's configuration (a service folder's, as JSON) without TLS, from clients
    or between nodes, without encryption at rest, and open to any client (no users)."""
    conf = {key: value for key, value in conf.items() if key not in ("tls", "accounts")}
    conf["jetstream"] = {
        key: value for key, value in conf["jetstream"].items() if key not in ("cipher", "key")
    }
    if "cluster" in conf:
        cluster = {key: value for key, value in conf["cluster"].items() if key != "tls"}
        cluster["routes"] = [url.replace("tls://", "nats://") for url in cluster["routes"]]
        conf["cluster"] = cluster
    return conf


@contextlib.contextmanager
def _service(size: int, *, secure: bool) -> Iterator[Path]:
    """The folder of a fresh service of `size` NATS nodes (tests/nats_servers.py), each
    started from its configuration, made `plain_conf` unless `secure`; stopped after."""
    from tests.nats_servers import START_TIMEOUT, NatsServer, new_service

    with tempfile.TemporaryDirectory() as scratch:
        folder = new_service(Path(scratch) / "service", size)
        nodes = [NatsServer(folder, at) for at in range(1, size + 1)]
        if not secure:
            for at in range(1, size + 1):
                conf = folder / f"nats-server-{at}.conf"
                conf.write_text(json.dumps(plain_conf(json.loads(conf.read_text()))))
        try:
            for node in nodes:
                node.start()
            deadline = time.monotonic() + START_TIMEOUT
            for node in nodes:
                node.wait_listening(deadline)
            yield folder
        finally:
            for node in nodes:
                node.stop()


async def _jetstream(folder: Path, count: int, group: int, *, secure: bool) -> float:
    """Saves per second through JetStream at the service of `folder`: reached as a
    registry reaches it (`connect`), or, not `secure`, with nats-py's defaults."""
    import nats

    from registry.adapter.cluster.connect import ANSWER_TIMEOUT, connect
    from registry.adapter.cluster.service_folder import open_folder
    from registry.adapter.cluster.store import JetStreamStore

    service = open_folder(folder)
    if secure:
        nc, js = await connect(service, lambda line: None)
    else:
        nc = await nats.connect(servers=[url.replace("tls://", "nats://") for url in service.urls])
        js = nc.jetstream(timeout=ANSWER_TIMEOUT)
    try:
        await _elected(js)
        store = await JetStreamStore.open(js)
        return await _timed(store, count, group)
    finally:
        await nc.close()


async def _elected(js: JetStreamContext) -> None:
    """Once JetStream answers: 3 nodes just started elect a leader first."""
    import nats.errors

    from registry.adapter.cluster.connect import READY_TIMEOUT

    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        try:
            await js.account_info()
            return
        except nats.errors.Error:  # (JetStream's own errors are of it too)
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


def _through_nats(size: int, count: int, group: int, *, secure: bool) -> float:
    with _service(size, secure=secure) as folder:
        return asyncio.run(_jetstream(folder, count, group, secure=secure))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--groups", default="1,64")
    args = parser.parse_args(argv)
    table = Table(
        "Durable saves per second, by backend (a save counts once its commit returned); "
        "NATS secure (TLS, store encrypted) beside plain",
        [
            "saves per commit",
            "files",
            "JetStream, 1 node: plain",
            "secure",
            "secure / plain",
            "JetStream, 3 nodes (R3): plain",
            "secure",
            "secure / plain",
        ],
    )
    for group in (int(g) for g in args.groups.split(",")):
        files = asyncio.run(_files(args.count, group))
        row: list[str] = [str(group), rate(files)]
        for size in (1, 3):
            plain = _through_nats(size, args.count, group, secure=False)
            secure = _through_nats(size, args.count, group, secure=True)
            row += [rate(plain), rate(secure), ratio(secure, plain, higher_is_better=True)]
        table.add(*row)
    table.note(
        "All on this machine, over loopback; the 3 nodes share its CPU and disk. Secure: "
        "each node as `ChatApp --new-service` configures it (TLS from clients and between "
        "nodes, JetStream's store encrypted with ChaCha20-Poly1305); plain: the same "
        "without TLS, encryption at rest or users."
    )
    table.print()


if __name__ == "__main__":
    main()
