"""Table-change bytes per change as N grows, and whether changes coalesce under churn.

Counted exactly at the registry core (sans-IO): every Send action is encoded with the real
wire codec, as the Endpoint would put it on the wire; the acks the peers send back are
counted at their real encoded size too. The N peers are online records (as after N
registrations whose table pushes were all acknowledged).

    python -m bench.table_bytes [--sizes 10,100,1000,5000]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from bench.common import Table, scratch_folder
from registry.core.actions import Action, Addr, Send, SendMany
from registry.core.dispatch import RegistryCore
from registry.core.table import Record
from wire.codec import encode
from wire.messages import Ack, Deregister, Register, TableUpdate, Welcome
from wire.names import name_key
from wire.version import WIRE_VERSION

NOW = 1_700_000_000.0


def registry_with(n: int) -> RegistryCore:
    tokens = iter(f"{i:032x}" for i in range(10**9))
    core = RegistryCore(session="bench", new_token=lambda: next(tokens))
    for i in range(n):
        name = f"peer{i:05d}"
        core.table.records[name_key(name)] = Record(
            name, "127.0.0.1", 20000 + i, True, f"{i:032x}", last_seen=NOW
        )
    return core


def wire_bytes(core: RegistryCore, actions: Sequence[Action]) -> tuple[int, int, int, int]:
    """(TableUpdate datagrams, their bytes, ack bytes back, updates per receiving peer max)."""
    updates = update_bytes = ack_bytes = 0
    per_peer: dict[Addr, int] = {}
    for action in actions:
        if isinstance(action, Send | SendMany) and isinstance(action.message, TableUpdate):
            message = action.message
            # a Send, or a SendMany: one datagram to each of its addresses
            addrs = action.addrs if isinstance(action, SendMany) else (action.addr,)
            updates += len(addrs)
            update_bytes += len(encode(message)) * len(addrs)
            ack_bytes += len(encode(Ack("abcd1234-123456", message.id))) * len(addrs)
            for addr in addrs:
                per_peer[addr] = per_peer.get(addr, 0) + 1
    return updates, update_bytes, ack_bytes, max(per_peer.values(), default=0)


def one_change(n: int) -> dict[str, float]:
    """Peer 0 goes offline (dereg) and comes back (reg): two changes."""
    core = registry_with(n)
    r = core.table.records[name_key("peer00000")]
    addr = (r.ip, r.port)
    out = core.receive(Deregister("p0-1", r.name, r.token, False, ""), addr, NOW)
    out += core.receive(Register("p0-2", r.name, r.port, r.token, "", WIRE_VERSION), addr, NOW)
    updates, ubytes, abytes, _ = wire_bytes(core, out)
    welcome = next(
        a.message for a in out if isinstance(a, Send | SendMany) and isinstance(a.message, Welcome)
    )
    return {
        "updates": updates / 2,
        "per_update": ubytes / max(updates, 1),
        "per_change": (ubytes + abytes) / 2,
        "welcome": len(encode(welcome)),
    }


def churn(n: int, changes: int) -> dict[str, float]:
    """`changes` peers go offline in one burst (e.g. a switch reboots): what each peer gets."""
    core = registry_with(n)
    out: list[Action] = []
    for i in range(changes):
        r = core.table.records[name_key(f"peer{i:05d}")]
        out += core.receive(Deregister(f"p{i}-1", r.name, r.token, False, ""), (r.ip, r.port), NOW)
    updates, ubytes, abytes, worst = wire_bytes(core, out)
    return {"updates": updates, "bytes": ubytes + abytes, "per_peer": worst}


def main(argv: list[str] | None = None) -> None:
    scratch_folder()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10,100,1000,5000")
    parser.add_argument("--churn", type=int, default=50, help="changes in one burst")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    table = Table(
        "Table-change bytes per change as N grows (registry core, real codec)",
        [
            "N online",
            "datagrams/change",
            "bytes/datagram",
            "wire bytes/change (+acks)",
            "per peer",
            f"churn {args.churn}: datagrams/peer",
            "Welcome bytes",
            "target",
        ],
    )
    for n in sizes:
        one = one_change(n)
        burst = churn(n, min(args.churn, n - 1))
        table.add(
            n,
            f"{one['updates']:,.0f}",
            f"{one['per_update']:.0f}",
            f"{one['per_change']:,.0f}",
            f"{one['per_change'] / max(n - 1, 1):.0f}",
            f"{burst['per_peer']}",
            f"{one['welcome']:,}",
            "per-peer bytes flat; churn coalesced",
        )
    table.note(
        "A change costs one TableUpdate (one row) per other online peer plus its ack: the "
        "bytes each peer receives per change do not grow with N; the registry's total "
        "does, linearly (one datagram per peer)."
    )
    table.note(
        f"Churn: {args.churn} changes in one burst reach each peer in the number of datagrams "
        "in the churn column: idle, a change goes at once; within 50 ms of the last push "
        "changes are gathered, as many rows per datagram as fit "
        "(registry/core/table_feed.py COALESCE)."
    )
    table.note(
        "Welcome (whole table) is sent at registration; above ~30 rows it does not fit "
        "a datagram and is fetched over TCP (TooBig)."
    )
    table.print()


if __name__ == "__main__":
    main()
