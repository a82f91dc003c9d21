"""A registry restarted from its table file continues the table's versions: the peers
keep the tables they have, and the rows it had held back (pushed to nobody yet) go out as
the next version, instead of every peer fetching the whole table."""

from __future__ import annotations

import json

from registry.core.dispatch import RegistryCore
from registry.core.table import Table
from tests.registry.core_helpers import T0, X, Y, Z, core, register, sends
from wire.messages import TableUpdate


def restarted(reg: RegistryCore, now: float) -> tuple[RegistryCore, list[tuple[object, object]]]:
    """`reg` killed and started again from its table as its file keeps it; what its
    start sends."""
    kept = Table.from_json(json.loads(json.dumps(reg.table.to_json())), now)
    again = core(table=kept)
    return again, list(sends(again.start(now)))


def test_a_restarted_registry_pushes_the_rows_it_held_back_as_the_next_version() -> None:
    reg = core()
    register(reg, "alice", X)  # pushed at once: the registry was idle
    register(reg, "bob", Y)
    register(reg, "carol", Z)  # both held back, to go together a moment later
    told = reg.table.version  # what alice was told last (the Welcomes say it too)
    assert reg.table.unpushed
    again, out = restarted(reg, T0 + 0.01)
    assert again.table.version == told + 1  # no jump: nobody fetches the table
    updates = {(addr, m.version, m.entries) for addr, m in out if isinstance(m, TableUpdate)}
    rows = tuple(e for e in reg.table.unpushed.values())
    assert {addr for addr, _, _ in updates} == {X, Y, Z}
    assert {(version, entries) for _, version, entries in updates} == {(told + 1, rows)}


def test_a_restarted_registry_that_had_pushed_everything_pushes_no_update() -> None:
    reg = core()
    register(reg, "alice", X)
    version = reg.table.version
    again, out = restarted(reg, T0 + 10)
    assert again.table.version == version
    assert not [m for _, m in out if isinstance(m, TableUpdate)]
