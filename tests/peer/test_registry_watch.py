"""The keepalive period (peer.core.requests), kept while the registry is away."""

from __future__ import annotations

from peer.core.requests import Requests
from peer.core.settling import Settling

SERVER = ("127.0.0.1", 9000)


def _requests() -> Requests:
    requests = Requests(SERVER, Settling())
    requests.keepalive = 10.0
    return requests


def _due_times(requests: Requests, until: float) -> list[float]:
    """The times a keepalive is due, ticking each second until `until`."""
    return [float(t) for t in range(int(until) + 1) if requests.keepalive_due(float(t))]


def test_keepalives_come_every_period_while_registered() -> None:
    requests = _requests()
    assert not requests.keepalive_due(100.0)  # not registered: none
    requests.registered(0.0)
    assert _due_times(requests, 35) == [10.0, 20.0, 30.0]
    requests.offline()
    assert requests.next_keepalive is None and not requests.keepalive_due(1000.0)


def test_probes_come_every_period_while_away() -> None:
    requests = _requests()
    requests.registered(0.0)
    requests.went_away(5.0, started=True)
    assert requests.down
    assert _due_times(requests, 50) == [10.0, 20.0, 30.0, 40.0, 50.0]


def test_a_started_peer_offline_probes_a_registry_away_for_its_outbox() -> None:
    never = _requests()
    never.went_away(0.0, started=False)
    assert never.next_keepalive is None
    started = _requests()
    started.went_away(0.0, started=True)
    assert started.next_keepalive == 10.0
