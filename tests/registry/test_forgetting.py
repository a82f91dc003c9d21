"""Names the registry forgets by itself (registry/core/dispatch.py): unused for the time it is
given, or past the bound on names whose owner never came back, the oldest of the address
that registered the most first; their mailboxes go with them, for either store."""

from __future__ import annotations

from registry.core import actions as ra
from registry.core.dispatch import DAY, RegistryCore, came_back
from registry.core.table import Record, Table
from tests.registry.core_helpers import T0, core, register, run_until, token_of
from wire.messages import Deregister, Register, SaveMessage
from wire.version import WIRE_VERSION


def offline(reg: RegistryCore, name: str, addr: tuple[str, int], now: float = T0) -> None:
    """Register `name` from `addr` at `now`, then dereg it."""
    if now == T0:
        register(reg, name, addr)
    reg.receive(Deregister(f"{name}-d", name, token_of(reg, name), False, ""), addr, now)


def logs(out: list[ra.Action]) -> list[str]:
    return [a.line for a in out if isinstance(a, ra.Log)]


def test_a_name_unused_for_the_time_given_is_forgotten_with_its_mailbox() -> None:
    reg = core(forget_after=100.0)
    offline(reg, "ann", ("127.0.0.2", 6001))
    bob = ("127.0.0.3", 6002)
    reg.receive(Register("bob-reg", "bob", bob[1], "", "", WIRE_VERSION), bob, T0 + 90)
    sent = SaveMessage("s1", "bob", token_of(reg, "bob"), "ann", "hi", "")
    reg.receive(sent, bob, T0 + 90)
    assert reg.mail["ann"]
    out = run_until(reg, T0 + 99)
    assert reg.table.get("ann") is not None
    out = run_until(reg, T0 + 120)
    assert reg.table.get("ann") is None
    assert reg.table.get("bob") is not None
    assert "forgot ann: unused for 100 s; 1 stored message deleted" in logs(out)
    assert any(isinstance(a, ra.DropMail) and a.owner == "ann" for a in out)
    assert any(isinstance(a, ra.SaveTable) for a in out)


def test_a_registration_keeps_a_name() -> None:
    reg = core(forget_after=100.0)
    ann = ("127.0.0.2", 6001)
    offline(reg, "ann", ann)
    run_until(reg, T0 + 80)
    again = Register("ann-reg2", "ann", ann[1], token_of(reg, "ann"), "", WIRE_VERSION)
    reg.receive(again, ann, T0 + 80)
    offline(reg, "ann", ann, T0 + 81)
    run_until(reg, T0 + 170)
    assert reg.table.get("ann") is not None
    run_until(reg, T0 + 200)
    assert reg.table.get("ann") is None


def test_a_copy_of_a_registration_changes_no_row_of_the_table() -> None:
    # A peer whose Welcome is late sends its Register again: the row kept is the same, so
    # the table is not written row by row again (a write to JetStream for a service).
    reg = core()
    ann = ("127.0.0.2", 6001)
    first = Register("ann-reg", "ann", ann[1], "", "", WIRE_VERSION)
    reg.receive(first, ann, T0)
    row = reg.table.to_json()["names"]
    reg.receive(first, ann, T0 + 2)
    assert reg.table.to_json()["names"] == row


def test_newcomers_past_the_bound_go_from_the_address_with_the_most() -> None:
    reg = core(newcomer_names=3)
    for n in range(4):  # a script's address: four names
        offline(reg, f"s{n}", ("127.0.0.9", 7000 + n))
    offline(reg, "ann", ("127.0.0.2", 6001))  # a person's first name, registered last
    out = run_until(reg, T0 + 30)
    assert sorted(r.name for r in reg.table.records.values()) == ["ann", "s2", "s3"]
    lines = [line for line in logs(out) if line.startswith("forgot")]
    assert lines[0].startswith("forgot s0: one of more than 3 names whose owner never came back")
    assert len(lines) == 2


def test_online_newcomers_are_neither_counted_nor_released() -> None:
    reg = core(newcomer_names=1)
    register(reg, "ann", ("127.0.0.2", 6001))
    register(reg, "bob", ("127.0.0.3", 6002))
    offline(reg, "cid", ("127.0.0.4", 6003))
    run_until(reg, T0 + 30)
    assert all(reg.table.get(name) is not None for name in ("ann", "bob", "cid"))


def test_a_join_storm_of_newcomers_loses_none_of_those_offline_a_moment() -> None:
    # 5,000 newcomers at once, each from an address of its own, a few of them offline
    # (the registry gave up on them under the load, or they gave up): counted with those
    # online, they were past the bound, and forgotten at the next sweep
    reg = core(newcomer_names=10)
    for n in range(40):
        register(reg, f"p{n}", (f"127.0.1.{n + 1}", 7000 + n))
    for n in range(5):
        offline(reg, f"q{n}", (f"127.0.2.{n + 1}", 8000 + n))
    out = run_until(reg, T0 + 30)
    assert not [line for line in logs(out) if line.startswith("forgot")]
    assert all(reg.table.get(f"q{n}") is not None for n in range(5))


def test_offline_newcomers_of_many_keys_and_addresses_are_bounded_all_the_same() -> None:
    reg = core(newcomer_names=3)
    for n in range(8):  # a key and an address each: ties, the oldest go first
        offline(reg, f"s{n}", (f"127.0.3.{n + 1}", 9000 + n))
    register(reg, "ann", ("127.0.0.2", 6001))  # online: not counted
    run_until(reg, T0 + 30)
    kept = sorted(r.name for r in reg.table.records.values())
    assert len(kept) == 3 + 1 and "ann" in kept


def test_an_owner_back_a_day_later_is_no_newcomer() -> None:
    record = Record("ann", "127.0.0.2", 6001, False, "t", made=T0, used=T0 + DAY - 1)
    assert not came_back(record)
    record.used = T0 + DAY
    assert came_back(record)
    assert came_back(Record("old", "127.0.0.2", 6001, False, "t"))  # a table of before


def test_the_stamps_are_kept_with_the_table() -> None:
    table = Table()
    table.records["ann"] = Record("ann", "127.0.0.2", 6001, False, "t", made=T0, used=T0 + 5)
    table.records["old"] = Record("old", "127.0.0.2", 6002, False, "t")
    again = Table.from_json(table.to_json(), 0.0)
    assert (again.records["ann"].made, again.records["ann"].used) == (T0, T0 + 5)
    assert (again.records["old"].made, again.records["old"].used) == (0.0, 0.0)
    row = table.to_json()["names"][0]
    row["used"] = "soon"  # damaged: a name of before, not a failed start
    assert Table.from_json({"version": 1, "names": [row]}, 0.0).records["ann"].used == 0.0


def test_a_table_of_before_is_stamped_at_the_first_sweep_not_forgotten() -> None:
    table = Table()
    table.records["old"] = Record("old", "127.0.0.2", 6002, False, "t")
    reg = core(table=table, forget_after=100.0)
    out = reg.start(T0)
    assert reg.table.records["old"].used == T0
    assert any(isinstance(a, ra.SaveTable) for a in out)
    run_until(reg, T0 + 90)
    assert reg.table.get("old") is not None
