"""This machine's addresses for peers on other machines, from the OS alone."""

from __future__ import annotations

import ipaddress

import pytest

from net import discovery
from net.discovery import lan_addresses, reach_line


def test_only_usable_ipv4_addresses_each_once_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    told = ["192.168.1.20", "127.0.0.1", "10.0.0.5", "169.254.3.4", "192.168.1.20", "0.0.0.0"]
    monkeypatch.setattr(discovery, "_networks", lambda: [(ip, 24) for ip in told])
    assert lan_addresses() == ["10.0.0.5", "192.168.1.20"]


def test_link_local_addresses_only_when_the_machine_has_no_other(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    told = ["169.254.9.1", "127.0.0.1", "169.254.3.4"]
    monkeypatch.setattr(discovery, "_networks", lambda: [(ip, 16) for ip in told])
    assert lan_addresses() == ["169.254.3.4", "169.254.9.1"]
    assert discovery.advertised_addresses("0.0.0.0") == lan_addresses()  # one rule for both
    assert "169.254.3.4:5000 or 169.254.9.1:5000" in reach_line(lan_addresses(), 5000)
    monkeypatch.setattr(discovery, "_networks", lambda: [("127.0.0.1", 8)])
    assert lan_addresses() == []
    assert discovery.advertised_addresses("0.0.0.0") == ["127.0.0.1"]


def test_this_machines_addresses_are_real_ipv4_and_not_loopback() -> None:
    for text in lan_addresses():
        assert not ipaddress.IPv4Address(text).is_loopback


def test_the_start_line_names_each_address_with_the_port() -> None:
    assert reach_line(["10.0.0.5", "192.168.1.20"], 5000) == (
        "Peers on this machine reach it at 127.0.0.1:5000; peers on other machines at "
        "10.0.0.5:5000 or 192.168.1.20:5000."
    )
    assert "no network address other than that" in reach_line([], 5000)
