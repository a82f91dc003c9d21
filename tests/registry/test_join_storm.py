"""A registry far behind what arrives (a join storm) asks registrations to wait (Busy)
rather than answer them too late, and table changes wait longer with many peers online."""

from __future__ import annotations

from registry.core.registration import BUSY_AFTER, BUSY_WAIT_MAX, BUSY_WAIT_MIN
from registry.core.table import Record
from registry.core.table_feed import COALESCE, PUSH_RATE
from tests.registry.core_helpers import T0, X, Y, core, register, sends
from wire.messages import Busy, Register, TableUpdate, TooBig, Welcome
from wire.reliable import TIMEOUT
from wire.version import WIRE_VERSION


def _register(name: str, port: int, msg_id: str = "") -> Register:
    return Register(msg_id or f"{name}-reg", name, port, "", "", WIRE_VERSION)


def test_a_registry_behind_asks_a_registration_to_wait_and_keeps_nothing() -> None:
    reg = core(jitter=lambda: 0.5)  # no spread: the wait is exactly twice the delay
    out = reg.receive(_register("ann", X[1]), X, T0, datagram=True, behind=1.5)
    [(to, busy)] = sends(out)  # nothing else: no table change to push
    assert to == X and isinstance(busy, Busy) and busy.reply_to == "ann-reg"
    assert busy.wait_ms == 3000
    assert reg.table.get("ann") is None  # nothing done: it comes again
    assert reg.registration.busy_answers == 1  # counted for the console's `stats`
    # caught up: the same registration is carried out
    out = reg.receive(_register("ann", X[1]), X, T0 + 3, behind=0.0)
    assert any(isinstance(m, Welcome) for _, m in sends(out))


def test_the_wait_asked_is_bounded_and_spread() -> None:
    waits = set()
    for jitter in (0.0, 0.99):
        for behind in (BUSY_AFTER, 2.0, 60.0):
            reg = core(jitter=lambda j=jitter: j)
            [(_, busy)] = sends(reg.receive(_register("ann", X[1]), X, T0, behind=behind))
            assert isinstance(busy, Busy)
            waits.add(busy.wait_ms)
            base = min(BUSY_WAIT_MAX, max(BUSY_WAIT_MIN, 2 * behind))
            assert 0.75 * base * 1000 - 1 <= busy.wait_ms <= 1.25 * base * 1000 + 1
    assert len(waits) == 6  # spread by the jitter, longer the further behind


def test_a_registry_only_a_little_behind_answers_as_ever() -> None:
    reg = core()
    out = reg.receive(_register("ann", X[1]), X, T0, behind=BUSY_AFTER - 0.01)
    assert Welcome in [type(m) for _, m in sends(out)]


def test_a_copy_of_a_registration_carried_out_is_answered_even_when_busy() -> None:
    # its Welcome was lost (the copy arrived after it left): answering it costs no more
    # than that Welcome
    reg = core()
    register(reg, "ann", X)
    out = reg.receive(_register("ann", X[1]), X, T0 + 6, datagram=True, behind=5.0)
    assert [type(m) for _, m in sends(out)] == [Welcome]
    # another name is asked to wait, before the TooBig a big table would answer
    out = reg.receive(_register("bob", Y[1]), Y, T0 + 6, datagram=True, behind=5.0)
    assert [type(m) for _, m in sends(out)] == [Busy]
    assert not any(isinstance(m, TooBig) for _, m in sends(out))


def test_a_copy_that_crossed_its_welcome_is_not_answered_again() -> None:
    # sent before its peer could have the Welcome: queued behind the first, or arriving
    # within TIMEOUT of its Welcome
    reg = core()
    register(reg, "ann", X)
    copy = _register("ann", X[1])
    assert sends(reg.receive(copy, X, T0 + 0.1, datagram=True, behind=2.0)) == []
    assert sends(reg.receive(copy, X, T0 + TIMEOUT - 0.01, datagram=True)) == []
    # over TCP, it was sent after the TooBig a Welcome too big for a datagram became
    out = reg.receive(copy, X, T0 + TIMEOUT - 0.01)
    assert [type(m) for _, m in sends(out)] == [Welcome]
    # a later copy: the Welcome was lost, and is sent again
    out = reg.receive(copy, X, T0 + 2 * TIMEOUT, datagram=True)
    assert [type(m) for _, m in sends(out)] == [Welcome]


def test_a_copy_s_welcome_leaves_the_table_push_on_its_way() -> None:
    # its peer, which has the first Welcome, takes this one as a copy: the rows pushed
    # meanwhile still reach it
    reg = core()
    register(reg, "ann", X)
    out = reg.receive(_register("bob", Y[1]), Y, T0 + 1)
    assert any(to == X and isinstance(m, TableUpdate) for to, m in sends(out))
    reg.receive(_register("ann", X[1]), X, T0 + 1.6)
    wake = reg.next_wake()
    assert wake is not None and wake < T0 + 3
    assert (X, TableUpdate) in [(to, type(m)) for to, m in sends(reg.tick(wake))]


def test_table_changes_wait_longer_the_more_peers_are_online() -> None:
    reg = core()
    for i in range(1500):
        reg.table.records[f"p{i}"] = Record(f"p{i}", "10.0.0.1", 7000 + i, True, "", "")
    register(reg, "ann", X)  # pushed at once: the registry was idle
    pushed = reg.table.version
    out = reg.receive(_register("bob", Y[1]), Y, T0 + COALESCE * 2)
    # 1,501 online at the last push: held 1501 / PUSH_RATE s
    assert not any(type(m).__name__ == "TableUpdate" for _, m in sends(out))
    now = T0 + COALESCE * 2
    while reg.table.version == pushed:  # pushed as the held changes go
        wake = reg.next_wake()  # woken when asked (a push's retry may come first)
        assert wake is not None and wake >= now
        now = wake
        out = reg.tick(now)
    assert now >= T0 + 1501 / PUSH_RATE - 0.01
    # pushed then (as the next version: every peer here still owes the last push its ack,
    # or fetches the table, and gets it with its next: registry/core/table_watch.py)
    assert reg.table.version == pushed + 1
