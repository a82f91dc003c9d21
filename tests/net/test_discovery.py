"""The pure parts of discovery (net/discovery.py): which addresses a registry advertises,
and which of a registry's addresses a client uses. The records on a real network are
tested end to end in a namespace (tests/e2e/test_discovery.py)."""

from __future__ import annotations

from net.discovery import advertised_addresses, nearest


def test_a_registry_bound_to_one_address_advertises_that_one() -> None:
    assert advertised_addresses("192.168.1.20") == ["192.168.1.20"]


def test_a_registry_on_every_interface_advertises_no_loopback_when_it_has_more() -> None:
    addresses = advertised_addresses("0.0.0.0")
    assert addresses
    assert all(not a.startswith("127.") for a in addresses) or addresses == ["127.0.0.1"]


def test_a_client_uses_the_address_on_a_network_it_is_on() -> None:
    ours = [("127.0.0.1", 8), ("192.168.1.7", 24)]
    assert nearest(["172.17.0.1", "192.168.1.20"], ours) == "192.168.1.20"
    assert nearest(["10.0.0.5", "172.17.0.1"], ours) == "10.0.0.5"  # none: the first
    assert nearest(["127.0.0.1"], ours) == "127.0.0.1"
