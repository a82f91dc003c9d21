"""Where a registry's sends go: a registry on its own reaches every peer itself (`ALONE`); the
one that decides for a service hands what is for the other registries' peers to them."""

from __future__ import annotations

from typing import Protocol

from registry.core.actions import Addr, Send, SendMany


class Router(Protocol):
    in_a_service: bool

    def heard_here(self, addr: Addr) -> None:
        """The peer at `addr` sent to this registry itself."""

    def linked(self) -> bool:
        """Whether the other registries' peers can be heard now (else none is judged silent)."""

    def send(self, action: Send | SendMany | None) -> Send | SendMany | None:
        """Hand on what of `action` is for other registries' peers; return the rest, or None."""


class Alone:
    in_a_service = False

    def heard_here(self, addr: Addr) -> None:
        pass

    def linked(self) -> bool:
        return True

    def send(self, action: Send | SendMany | None) -> Send | SendMany | None:
        return action


ALONE = Alone()
