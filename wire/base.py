"""What every message is: a frozen msgspec Struct, a JSON object whose "t" field names its
type; and the ids that name messages. msgspec checks every field type as it decodes (an `Id`
is short, an `Int` fits 64 bits, `Items` holds at most MAX_ITEMS, strings are valid UTF-8):
what decodes is valid.
"""

from __future__ import annotations

import functools
import typing
from itertools import count, repeat
from operator import concat
from typing import Annotated, Any, TypeVar

import msgspec

from wire.limits import MAX_AFTER, MAX_ID, MAX_ITEMS

_T = TypeVar("_T")

#: A message id, or the id a reply names: short, since receivers remember ids to show each
#: message once.
Id = Annotated[str, msgspec.Meta(max_length=MAX_ID)]

#: A line's `after` (peer/core/inbox.py): an id of its sender's session and a counter.
After = Annotated[str, msgspec.Meta(max_length=MAX_AFTER)]

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
    """The base of every message type, tagged with its class's name; `id` names the message.
    Subclasses repeat `frozen=True` (type checkers do not inherit it); no cycle (`gc=False`)."""

    id: Id


class Reply(WireMessage, frozen=True):
    """An answer: `reply_to` is the id of the message it answers."""

    reply_to: Id


class ByName(WireMessage, frozen=True):
    """A request of the peer registered as `name`, proved by its Welcome's `token`."""

    name: str
    token: str


class IdMaker(functools.partial[str]):
    """Makes message ids `<session>-1`, `<session>-2`, ... (`IdMaker(session)()` makes
    the next): a random session (hex) in the adapters, so that a restart reuses none. The
    counter, `repr` and `concat` are the standard library's, called from C: no Python runs.
    Why this module is not compiled: mypyc cannot compile a subclass of `functools.partial`,
    whose calls run in C anyway."""

    __slots__ = ()

    def __new__(cls, session: str) -> IdMaker:
        return super().__new__(cls, next, map(concat, repeat(f"{session}-"), map(repr, count(1))))


def types_by_name(union: Any) -> dict[str, type[Any]]:
    """Every message type of `union` (its unions flattened), by the name it travels under."""
    return {cls.__name__: cls for cls in typing.get_args(union)}
