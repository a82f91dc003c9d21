"""A sans-IO core's list of actions that carries each out the moment the core appends it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Self, TypeVar

A = TypeVar("A")


class CarriedOut(list[A]):
    """A core's `out` that carries each action out, with `carry`, the moment the core
    appends it, and keeps none: for a core that appends its actions in the order they are
    to be carried out and never reads them back (see peer.core)."""

    __slots__ = ("_carry",)

    def __init__(self, carry: Callable[[A], None]) -> None:
        super().__init__()
        self._carry = carry

    def append(self, action: A) -> None:
        self._carry(action)

    def extend(self, actions: Iterable[A]) -> None:
        for action in actions:
            self._carry(action)

    def __iadd__(self, actions: Iterable[A]) -> Self:  # type: ignore[override,misc]
        self.extend(actions)
        return self
