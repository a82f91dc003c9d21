"""Registry memory per registered peer (tracemalloc), at 10,000 peers.

Two ways to reach that state, both measured as the growth of traced memory:
  registered  the registry core's own path at a small N: every peer sends Register and acks
              every table push it gets (the steady state after a join), per peer
  10,000      the same state built directly at N = 10,000 (registering 10,000 through the
              core pushes N^2/2 table changes, too slow for a benchmark): a Record as
              `_register` makes it (token, register id, address from a datagram), plus
              the flood gate's bucket for its address, as the core keeps it
  loaded      a table.json of 10,000 names loaded by registry.adapter.store (a restarted registry)

    python -m bench.memory [--peers 10000]
"""

from __future__ import annotations

import argparse
import gc
import json
import secrets
import tempfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from bench.common import Table, scratch_folder
from registry.adapter.store import FileStore
from registry.core.actions import Send, SendMany
from registry.core.dispatch import RegistryCore
from registry.core.table import Record
from wire.messages import Ack, Register, TableUpdate
from wire.names import name_key
from wire.version import WIRE_VERSION

TARGET = 2048  # bytes per peer
NOW = 1_700_000_000.0

T = TypeVar("T")


def _traced(build: Callable[[], T]) -> tuple[int, T]:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = build()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return after - before, kept


def _addr(i: int) -> tuple[str, int]:
    # as recvfrom returns it: a fresh str per datagram
    return (
        "".join(["10.", str(i // 65536 % 256), ".", str(i // 256 % 256), ".", str(i % 256)]),
        20000 + i % 40000,
    )


def through_core(n: int) -> float:
    """Bytes per peer after `n` peers registered through the core, every push acked."""
    core = RegistryCore(session="bench", new_token=lambda: secrets.token_hex(16))

    def build() -> RegistryCore:
        for i in range(n):
            addr = _addr(i)
            out = core.receive(
                Register(f"abcd{i:04x}-1", f"peer{i:05d}", addr[1], "", "", WIRE_VERSION), addr, NOW
            )
            for action in out:
                if isinstance(action, Send | SendMany) and isinstance(action.message, TableUpdate):
                    message = action.message
                    # a Send, or a SendMany to several
                    addrs = action.addrs if isinstance(action, SendMany) else (action.addr,)
                    for to in addrs:
                        core.receive(Ack(f"ack{i}-{to[1]}", message.id), to, NOW)
        return core

    # the core's fixed overhead is already allocated; the growth is per peer
    grown, _ = _traced(build)
    return grown / n


def built(n: int) -> float:
    core = RegistryCore(session="bench", new_token=lambda: secrets.token_hex(16))

    def build() -> RegistryCore:
        for i in range(n):
            addr = _addr(i)
            name = "".join(["peer", f"{i:05d}"])
            record = Record(name, addr[0], addr[1], True, secrets.token_hex(16))
            record.last_register_id = f"{secrets.token_hex(4)}-1"
            record.last_seen = NOW + i
            core.table.records[name_key(name)] = record
            core.flood.admit(addr, NOW)
        return core

    grown, _ = _traced(build)
    return grown / n


def loaded(n: int) -> float:
    with tempfile.TemporaryDirectory() as d:
        names = [
            {
                "name": f"peer{i:05d}",
                "ip": _addr(i)[0],
                "port": _addr(i)[1],
                "online": False,
                "token": secrets.token_hex(16),
                "password": "",
            }
            for i in range(n)
        ]
        Path(d, "table.json").write_text(json.dumps({"version": n, "names": names}))
        storage = FileStore(Path(d))
        grown, _ = _traced(lambda: storage.load_table(NOW))
    return grown / n


def main(argv: list[str] | None = None) -> None:
    scratch_folder()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--peers", type=int, default=10_000)
    parser.add_argument("--core-peers", type=int, default=300)
    args = parser.parse_args(argv)
    table = Table(
        "Registry memory per registered peer (tracemalloc)",
        ["state", "peers", "bytes/peer", "target", "ratio to target"],
    )
    for label, n, fn in (
        ("registered through the core, pushes acked", args.core_peers, through_core),
        ("built as the core keeps it", args.peers, built),
        ("loaded from table.json (restart)", args.peers, loaded),
    ):
        per = fn(n)
        table.add(label, f"{n:,}", f"{per:,.0f} B", f"{TARGET:,} B", f"{per / TARGET:.2f}x")
    table.note(
        "Per peer: the table Record (name, address, token, register id, liveness) and its "
        "dict slot, and the flood gate's bucket for its address; the through-the-core row "
        "also carries the bounded caches (recent ids) spread over few peers."
    )
    table.print()


if __name__ == "__main__":
    main()
