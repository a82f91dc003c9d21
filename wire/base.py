"""What every message is: a frozen msgspec Struct that travels as a JSON object whose "t"
field names its type, followed by its fields in order.

Field types say what a decoded message may hold, and msgspec checks them all in one pass
as it decodes: an `Id` is a short string, an `Int` fits 64 bits, a list (`Items`) has at
most MAX_ITEMS items, and every string is valid UTF-8 with no lone surrogate. A message
that decodes is a valid instance; anything else is refused by wire.codec.
"""

from __future__ import annotations

import typing
from typing import Annotated, Any, TypeVar

import msgspec

from wire.limits import MAX_ID, MAX_ITEMS

_T = TypeVar("_T")

#: A message id, or the id a reply names: short, since receivers remember ids to show each
#: message once.
Id = Annotated[str, msgspec.Meta(max_length=MAX_ID)]

#: An integer field: one a 64-bit signed integer holds, whatever the JSON spells.
Int = Annotated[int, msgspec.Meta(ge=-(2**63 - 1), le=2**63 - 1)]

#: A list field: a tuple on our side, a JSON array of at most MAX_ITEMS items on the wire.
Items = Annotated[tuple[_T, ...], msgspec.Meta(max_length=MAX_ITEMS)]


class WireMessage(
    msgspec.Struct,
    frozen=True,
    tag_field="t",
    tag=True,
    forbid_unknown_fields=True,
    gc=False,
):
    """The base of every message type; the tag is the class's name. Subclasses repeat
    `frozen=True` (type checkers do not inherit it). Instances hold only strings,
    numbers and tuples of them, never a cycle, so the garbage collector need not track
    them (`gc=False`)."""


def types_by_name(union: Any) -> dict[str, type[Any]]:
    """Every message type of `union` (a union of WireMessage types, the unions inside it
    flattened), by the name it travels under: the one list of a set of messages is its
    union, and its table is made from it."""
    return {cls.__name__: cls for cls in typing.get_args(union)}
