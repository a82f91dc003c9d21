"""Desk cores whose entry points hand each action to an `emit`, read as lists by the tests."""

from __future__ import annotations

from typing import Any

#: The entry points of the desk clients' cores (peer.core.desk.link.DeskClient) and of
#: the desk's queue that take an `emit`.
ENTRIES = frozenset(
    {
        "start",
        "typed",
        "end_of_input",
        "connected",
        "not_connected",
        "received",
        "probed",
        "lost",
        "tick",
        "place_found",
        "receive",
        "disconnected",
        "end_hold",
        "timer",
        "shutdown",
    }
)


class Listed:
    """`core`, whose entry points return the actions they emit, in order; anything else is
    the core's own."""

    def __init__(self, core: Any) -> None:
        object.__setattr__(self, "core", core)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.core, name)
        if name not in ENTRIES:
            return attr

        def listed(*args: Any, **kwargs: Any) -> list[Any]:
            actions: list[Any] = []
            attr(*args, emit=actions.append, **kwargs)
            return actions

        return listed

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.core, name, value)


def emitted(entry: Any, *args: Any) -> list[Any]:
    """What `entry` (a part's method taking `emit` last) emits, given `args`."""
    actions: list[Any] = []
    entry(*args, actions.append)
    return actions
