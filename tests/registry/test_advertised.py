"""Whether a registry is advertised on the network is said as it starts, and why not."""

from __future__ import annotations

from registry.adapter.run import advertise


def test_a_registry_on_loopback_says_why_it_is_not_advertised() -> None:
    logged: list[str] = []
    said: list[str] = []
    assert advertise("127.0.0.1", 27000, bytes(32), logged.append, said.append) is None
    assert not logged  # said as the start's lines are, without the time of a log line
    assert said == [
        "Not advertised on the network: it listens on 127.0.0.1, which only this machine "
        "reaches (--bind a LAN address to be found)"
    ]
