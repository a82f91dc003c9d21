"""RegistryWatch alone: the keepalive period, kept while the registry is away."""

from __future__ import annotations

from peer.core.registry_watch import RegistryWatch


def _due_times(watch: RegistryWatch, until: float) -> list[float]:
    """The times a keepalive is due, ticking each second until `until`."""
    return [float(t) for t in range(int(until) + 1) if watch.keepalive_due(float(t))]


def test_keepalives_come_every_period_while_registered() -> None:
    watch = RegistryWatch(10.0)
    assert not watch.keepalive_due(100.0)  # not registered: none
    watch.registered(0.0)
    assert _due_times(watch, 35) == [10.0, 20.0, 30.0]
    watch.offline()
    assert watch.next_keepalive is None and not watch.keepalive_due(1000.0)


def test_probes_come_every_period_while_away() -> None:
    watch = RegistryWatch(10.0)
    watch.registered(0.0)
    watch.went_away(5.0, started=True)
    assert watch.down
    assert _due_times(watch, 50) == [10.0, 20.0, 30.0, 40.0, 50.0]


def test_a_started_peer_offline_probes_a_registry_away_for_its_outbox() -> None:
    never = RegistryWatch(10.0)
    never.went_away(0.0, started=False)
    assert never.next_keepalive is None
    started = RegistryWatch(10.0)
    started.went_away(0.0, started=True)
    assert started.next_keepalive == 10.0
