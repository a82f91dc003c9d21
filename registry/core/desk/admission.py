"""Who may take a new place in the waiting room, and who may take a held one back
(docs/DESK.md, "A desk nobody can lock"). Pure: the queue passes in the people it knows.
"""

from __future__ import annotations

from collections.abc import Iterable

from msgspec import Struct

from registry.core.credentials import token_matches
from registry.core.desk.limits import (
    WORK_BITS_FIRST,
    WORK_BITS_MOST,
    WORK_BITS_STEP,
    WORK_FREE_BELOW,
    DeskSettings,
)
from registry.core.desk.state import Person


class Refusal(Struct, frozen=True):
    """Why a join is refused: the one line its person reads, and the one the log gets."""

    reason: str
    log: str


def holder(people: Iterable[Person], given: str) -> Person | None:
    """The one of `people` whose place `given` is the token of (or its hash, as kept on
    disk), or None; every token is compared in constant time, so timing tells nothing."""
    found = None
    if not given:
        return None
    for person in people:
        if token_matches(given, person.token):
            found = person
    return found


def source_refusal(
    people: Iterable[Person], *, key: str, address: str, in_danger: bool, limits: DeskSettings
) -> Refusal | None:
    """Why a join with `key` from `address` may not take a place when `people` hold theirs
    (held and served included), or None; "" for either is unknown, and not limited."""
    people = list(people)
    if key:
        held = sum(1 for p in people if p.key == key)
        if held >= limits.max_per_key:
            return Refusal(
                f"This help desk client already holds {held} places in the waiting room, the "
                "most one client may hold; please wait for your turn there, or try again once "
                "that place is given up.",
                f"desk: a client key holds {held} places; refused another",
            )
    if address:
        same = sum(1 for p in people if p.address == address and bool(p.crisis) == in_danger)
        if same >= limits.max_per_address:
            kind = "places of people who may be in danger" if in_danger else "places"
            return Refusal(
                f"This computer ({address}) already holds {same} {kind} in the waiting room, "
                "the most one address may hold; please try again once one of them has been "
                "served.",
                f"desk: {address} holds {same} {kind}; refused another",
            )
    return None


def work_bits(waiting: int) -> int:
    """The bits of work (wire/desk/work.py) a new place costs with `waiting` people in the
    room: none while the desk is quiet, then more the fuller it is
    (registry/core/desk/limits.py)."""
    if waiting < WORK_FREE_BELOW:
        return 0
    return min(WORK_BITS_FIRST + (waiting - WORK_FREE_BELOW) // WORK_BITS_STEP, WORK_BITS_MOST)


def room_is_full(waiting: int, *, in_danger: bool, limits: DeskSettings) -> bool:
    """Whether a newcomer finds no room with `waiting` places taken: a person in danger has
    `danger_room` places more, which nobody else may take, so that a room filled by others
    never turns them away (the bound is there only so that memory stays bounded)."""
    return waiting >= limits.max_waiting + (limits.danger_room if in_danger else 0)
