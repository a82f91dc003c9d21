"""registry/core/presence.py's rename: a peer renaming itself."""

from __future__ import annotations

from registry.core import actions as ra
from registry.core.requests import Request
from registry.core.table import Record
from tests.registry.parts_helpers import (
    T0,
    TOKEN,
    Parts,
    claimed,
    logs,
    parts,
    record,
    refusals,
    sent,
)
from wire.messages import Ack, Rename, TableUpdate


def rename(p: Parts, who: Record, new: str, id: str = "r1") -> list[ra.Action]:
    out: list[ra.Action] = []
    msg = Rename(f"{who.name}-{id}", who.name, TOKEN, new)
    claimed(p.s, p.presence.rename, msg, Request(msg.id, who.addr, who.key), T0, out.append)
    return out


def test_a_rename_moves_the_record_and_leaves_the_old_name_an_alias() -> None:
    p = parts()
    bob = record(p.s, "bob", 7002)
    out = rename(p, bob, "robert")
    assert p.s.table.get("robert") is bob and p.s.table.get("bob") is None
    assert p.s.names.lookup("bob") is bob and p.s.table.former == {"bob": "robert"}
    assert "renamed bob to robert" in logs(out) and isinstance(sent(out)[-1][1], Ack)
    [update] = [m for _, m in sent(out) if isinstance(m, TableUpdate)]
    assert [(e.name, e.port) for e in update.entries] == [("bob", 0), ("robert", 7002)]


def test_a_name_taken_reserved_or_the_server_s_is_refused() -> None:
    p = parts()
    bob, carol = record(p.s, "bob", 7002), record(p.s, "carol", 7003)
    out = rename(p, bob, "carol") + rename(p, bob, "SERVER", "r2")
    rename(p, carol, "caroline", "r3")
    out += rename(p, bob, "carol", "r4")  # carol's for RENAME_GRACE
    reasons = [r.reason for r in refusals(out)]
    assert reasons[0] == "The name carol is taken." and "server:who" in reasons[1]
    assert "renamed caroline just now" in reasons[2]


def test_a_rename_s_copy_is_only_acked() -> None:
    p = parts()
    bob = record(p.s, "bob", 7002)
    rename(p, bob, "robert")
    out: list[ra.Action] = []
    msg = Rename("bob-r1", "bob", TOKEN, "robert")
    claimed(p.s, p.presence.rename, msg, Request(msg.id, bob.addr), T0, out.append)
    assert [type(m) for _, m in sent(out)] == [Ack] and logs(out) == []
