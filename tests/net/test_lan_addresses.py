"""This machine's addresses for peers on other machines, from the OS alone."""

from __future__ import annotations

import ipaddress

import pytest

from net import lan_addresses as module
from net.lan_addresses import lan_addresses, reach_line


def test_only_usable_ipv4_addresses_each_once_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    told = ["192.168.1.20", "127.0.0.1", "10.0.0.5", "169.254.3.4", "192.168.1.20", "0.0.0.0"]
    monkeypatch.setattr(module, "_by_interface", lambda: told)
    monkeypatch.setattr(module, "_by_host_name", lambda: [])
    assert lan_addresses() == ["10.0.0.5", "192.168.1.20"]


def test_the_host_name_answers_when_the_interfaces_do_not(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "_by_interface", lambda: [])
    monkeypatch.setattr(module, "_by_host_name", lambda: ["127.0.1.1", "172.16.0.9"])
    assert lan_addresses() == ["172.16.0.9"]


def test_this_machines_addresses_are_real_ipv4_and_not_loopback() -> None:
    for text in lan_addresses():
        address = ipaddress.IPv4Address(text)
        assert not address.is_loopback and not address.is_link_local


def test_the_start_line_names_each_address_with_the_port() -> None:
    assert reach_line(["10.0.0.5", "192.168.1.20"], 5000) == (
        "Peers on this machine reach it at 127.0.0.1:5000; peers on other machines at "
        "10.0.0.5:5000 or 192.168.1.20:5000."
    )
    assert "no network address other than that" in reach_line([], 5000)
