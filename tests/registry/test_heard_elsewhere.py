"""The peers another registry of a service heard from (an Inbound without messages):
the registry that decides counts them as running, whatever of theirs reached its core; and
the table updates to them, which that registry delivers (TableWatch.handed_over)."""

from __future__ import annotations

from msgspec import msgpack

from registry.adapter.cluster.link import BATCH_BYTES, INBOUNDS, Inbound, batches, delivered_there
from registry.core import actions as ra
from registry.core.liveness import AWAY_GRACE_PERIODS, SILENT_PERIODS
from tests.registry.core_helpers import T0, core, run_until, sends
from tests.registry.parts_helpers import record, sent, services
from wire.keys import key_text
from wire.messages import Register, TableUpdate
from wire.version import WIRE_VERSION

KEEPALIVE = 1.0
BOB = ("127.0.0.2", 6002)
BOB_KEY = bytes(range(32))
KEY_TEXT = key_text(BOB_KEY)


def probes(out: list[ra.Action]) -> list[tuple[str, int]]:
    """Where the actions send a liveness probe (a TableUpdate of version 0)."""
    return [addr for addr, m in sends(out) if isinstance(m, TableUpdate) and m.version == 0]


def bob_registered_then_silent_here(reported: bool) -> list[tuple[str, int]]:
    """Bob registers and then nothing of his reaches the core for many keepalives; another
    registry reports him heard every second, or not: where the core sent probes."""
    reg = core(keepalive=KEEPALIVE)
    reg.start(T0 - AWAY_GRACE_PERIODS * KEEPALIVE)
    register = Register("b-1", "bob", BOB[1], "", "", WIRE_VERSION)
    reg.receive(register, BOB, T0, key=BOB_KEY)
    out: list[ra.Action] = []
    for second in range(1, 4 * SILENT_PERIODS):
        if reported:
            out += reg.heard_elsewhere([(BOB, BOB_KEY)], T0 + second)
        out += run_until(reg, T0 + second + 0.5)
    return probes(out)


def test_a_peer_reported_heard_is_never_probed_one_not_reported_is() -> None:
    assert bob_registered_then_silent_here(reported=True) == []
    assert BOB in bob_registered_then_silent_here(reported=False)


def test_the_peers_heard_cross_nats_whole_in_order_and_a_long_list_is_split() -> None:
    heard = [
        Inbound("r1", "127.0.0.1", 7000 + i, bytes([i % 256]) * 32, True, 0.0, [])
        for i in range(10_000)
    ]
    data = batches([msgpack.encode(one) for one in heard])
    assert len(data) > 1 and all(len(one) <= BATCH_BYTES + 16 for one in data)
    assert [one for batch in data for one in INBOUNDS.decode(batch)] == heard
    assert batches([]) == []


def test_a_table_update_to_a_peer_of_another_registry_is_sent_once_and_not_watched() -> None:
    s = services()
    here, there = record(s, "bob", 7002, key=KEY_TEXT), record(s, "carol", 7003, key=KEY_TEXT)
    s.watch.handed_over = {there.addr}
    s.watch.welcomed(there.addr, there.key, s.table.version)
    s.watch.held = held = {here.addr, there.addr}
    held.clear()
    s.watch.resume([here.addr, there.addr], T0, [].append)
    out: list[ra.Action] = []
    s.feed.changed(here, T0, out.append)
    assert sorted(addr for addr, _ in sent(out)) == [here.addr, there.addr]
    assert len(s.watch.in_flight) == 1 and sum(s.pushes.counts()) == 0  # bob's, delivered here
    out.clear()
    s.feed.changed(there, T0 + 1, out.append)  # (bob's push unacked: his ack brings it)
    assert [addr for addr, _ in sent(out)] == [there.addr]
    assert delivered_there(TableUpdate("u-1", 5, ()))
    assert not delivered_there(TableUpdate("ping", 0, ()))  # a probe's ack is this registry's
