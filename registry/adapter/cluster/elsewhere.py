"""What the registry that decides for a service sends to the peers of the other registries:
each send split by the registry its addresses came through (registry/adapter/cluster/link.py)."""

from __future__ import annotations

from collections.abc import Callable

from registry.adapter.cluster.link import Outbound, Routes
from registry.core.actions import Addr, Send, SendMany
from registry.core.pusher import handed_over
from wire.codec import encode

#: Hands one Outbound to the registry named.
Publish = Callable[[str, Outbound], None]


class Elsewhere:
    """Sends for peers reached through another registry of the service; `routes` says
    which registry each address came through."""

    def __init__(self, publish: Publish) -> None:
        self.routes = Routes()
        self._publish = publish

    def send(self, action: Send | SendMany | None) -> Send | SendMany | None:
        """Hand what of `action` is for another registry's peers to that registry (each
        with the key it is for); return what is for this registry's own peers, or None."""
        if action is None:
            return None
        if isinstance(action, Send):
            via = self.routes.via(action.addr)
            if via is None:
                return action
            to = [(*action.addr, action.key)]
            self._publish(via, Outbound(to, encode(action.message), handed_over(action.message)))
            return None
        here: list[Addr] = []
        keys: list[bytes] = []
        by_registry: dict[str, list[tuple[str, int, bytes]]] = {}
        for addr, key in zip(action.addrs, action.keys, strict=True):
            via = self.routes.via(addr)
            if via is None:
                here.append(addr)
                keys.append(key)
            else:
                by_registry.setdefault(via, []).append((*addr, key))
        if by_registry:
            data, push = encode(action.message), handed_over(action.message)
            for via, to in by_registry.items():
                self._publish(via, Outbound(to, data, push))
        if len(here) == len(action.addrs):
            return action
        return SendMany(tuple(here), action.message, tuple(keys)) if here else None
