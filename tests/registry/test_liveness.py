"""registry/core/liveness.py alone: sweeps for silent peers and the probes that ask them."""

from __future__ import annotations

import pytest

from registry.core import actions as ra
from registry.core.liveness import AWAY_GRACE_PERIODS, SILENT_PERIODS, Liveness, OwnerProbe
from registry.core.requests import Request
from tests.registry.parts_helpers import T0, logs, record, refusals, sent, services
from wire.messages import Register, TableUpdate
from wire.version import WIRE_VERSION

KEEPALIVE = 1.0


def given_up(live: Liveness, now: float) -> tuple[list[OwnerProbe], float]:
    """Run the probes' clock forward until one gives up: those, and when."""
    failed: list[OwnerProbe] = []
    while not failed:
        now += 0.5
        failed = live.due(now, [].append)
    return failed, now


def test_a_silent_peer_is_probed_once_the_grace_after_a_start_is_over() -> None:
    s = services()
    live = Liveness(s, KEEPALIVE, (0.5, 5))
    bob = record(s, "bob", 7002)
    live.start(T0)
    out: list[ra.Action] = []
    live.sweep(T0 + SILENT_PERIODS + 1, out.append)
    assert out == []  # within AWAY_GRACE_PERIODS of the start: its silence was ours
    live.sweep(T0 + AWAY_GRACE_PERIODS + 0.5, out.append)
    [(addr, ping)] = sent(out)
    assert addr == bob.addr and isinstance(ping, TableUpdate) and ping.version == 0
    assert live.probing(bob)


def test_one_probe_per_name_and_an_answer_ends_it() -> None:
    s = services()
    live = Liveness(s, KEEPALIVE, (0.5, 5))
    bob = record(s, "bob", 7002)
    out: list[ra.Action] = []
    live.probe(bob, T0, out.append)
    live.probe(bob, T0, out.append)
    [(_, ping)] = sent(out)
    live.acked([ping.id], bob.addr, T0 + 10, out.append)  # ten keepalives late, yet running
    assert not live.probing(bob) and bob.last_seen == T0 + 10
    assert any("answered a probe" in line for line in logs(out))


def test_a_registration_waiting_on_a_probe_that_is_answered_is_refused() -> None:
    s = services()
    live = Liveness(s, KEEPALIVE, (0.5, 5))
    bob = record(s, "bob", 7002)
    ask = Register("b2-1", "bob", 7009, "", "", WIRE_VERSION)
    req = Request("b2-1", ("127.0.0.1", 7009))
    out: list[ra.Action] = []
    live.probe(bob, T0, out.append, (ask, req))
    live.acked([sent(out)[0][1].id], bob.addr, T0, out.append)
    [refused] = refusals(out)
    assert refused.reply_to == "b2-1" and "answered just now" in refused.reason


def test_a_probe_given_up_names_the_peer_gone_and_the_registrations_that_waited() -> None:
    s = services()
    live = Liveness(s, KEEPALIVE, (0.5, 3))
    bob = record(s, "bob", 7002)
    ask = Register("b2-1", "bob", 7009, "", "", WIRE_VERSION)
    req = Request("b2-1", ("127.0.0.1", 7009))
    live.probe(bob, T0, [].append, (ask, req))
    failed, now = given_up(live, T0)
    gone, waiting = live.failed(failed[0], now, [].append)
    assert gone is bob and waiting == [(ask, req)]


def test_a_peer_heard_from_during_its_probe_is_not_gone() -> None:
    s = services()
    live = Liveness(s, KEEPALIVE, (0.5, 3))
    bob = record(s, "bob", 7002, key="kb")
    live.probe(bob, T0, [].append)
    live.heard(bob.addr, "kb", T0 + 0.2)  # a keepalive: its acks were lost
    [probe], now = given_up(live, T0)
    assert live.failed(probe, now, [].append) == (None, [])


def test_the_keepalive_period_is_positive() -> None:
    with pytest.raises(ValueError):
        Liveness(services(), 0.0, (0.5, 5))


def test_a_peer_another_registry_heard_is_not_probed_and_another_key_does_not_count() -> None:
    s = services()
    live = Liveness(s, KEEPALIVE, (0.5, 5))
    bob = record(s, "bob", 7002, key="kb")
    carol = record(s, "carol", 7003, key="kc")
    live.start(T0 - AWAY_GRACE_PERIODS)  # (the grace after a start is over at T0)
    later = T0 + SILENT_PERIODS + 1
    # bob was heard through another registry; carol's address spoke with another key
    for addr, key in [(bob.addr, "kb"), (carol.addr, "kx")]:
        live.heard(addr, key, later - 0.5)
    out: list[ra.Action] = []
    live.sweep(later, out.append)
    assert [addr for addr, _ in sent(out)] == [carol.addr]
    assert bob.last_seen == later - 0.5 and not live.probing(bob)
