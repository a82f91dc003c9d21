"""Where a registry's sends go, chosen at start (docs/PROTOCOL.md, "Several registries"):
a registry on its own reaches every peer itself (`ALONE`); the one that decides for a
service hands what is for the other registries' peers to them
(registry/adapter/cluster/elsewhere.py)."""

from __future__ import annotations

from typing import Protocol

from registry.core.actions import Addr, Send, SendMany


class Router(Protocol):
    """What the registry's server asks of where its peers are."""

    #: whether the registry is one of a service: its state and key are the service's
    in_a_service: bool

    def heard_here(self, addr: Addr) -> None:
        """The peer at `addr` sent to this registry itself."""

    def linked(self) -> bool:
        """Whether the peers of the other registries can be heard now (else none is judged
        silent)."""

    def send(self, action: Send | SendMany | None) -> Send | SendMany | None:
        """Hand on what of `action` is for the peers of other registries; return what is
        for this registry's own peers, or None."""


class Alone:
    """The router of a registry on its own: every peer is its own."""

    in_a_service = False

    def heard_here(self, addr: Addr) -> None:
        pass

    def linked(self) -> bool:
        return True

    def send(self, action: Send | SendMany | None) -> Send | SendMany | None:
        return action


#: The one router every registry on its own shares (it holds nothing).
ALONE = Alone()
