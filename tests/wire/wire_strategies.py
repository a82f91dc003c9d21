"""Hypothesis strategies and a reference decoder shared by the wire tests.

Everything here is derived generically from the fields of the message classes `wire`
defines, found as the subclasses of WireMessage rather than read from the codec's table,
so that a message class left out of the `Message` union is seen missing from the codec.

`reference_decode` is an independent, deliberately simple restatement of the codec's
rules: the tests compare the real decoder against it.
"""

from __future__ import annotations

import base64
import enum
import json
import typing
from typing import Any

from hypothesis import strategies as st

from wire.base import WireMessage
from wire.codec import ID_FIELDS, ID_LIST_FIELDS
from wire.limits import MAX_ID, MAX_ITEMS
from wire.messages import MESSAGE_TYPES, Message

MAX_INT = 2**63 - 1

#: Most items drawn for a tuple field; small keeps examples fast.
MAX_DRAWN_ITEMS = 4


def field_types(cls: type[Any]) -> list[tuple[str, Any]]:
    """The (name, resolved type) of every field of a message (a Struct) or a record (a
    named tuple), in declaration order; `Annotated` bounds are left out (the rules below
    restate them)."""
    hints = typing.get_type_hints(cls)
    names = getattr(cls, "_fields", None) or cls.__struct_fields__
    return [(name, hints[name]) for name in names]


def is_record(tp: Any) -> bool:
    """Whether `tp` is a record carried inside messages (wire/messages.py): a named tuple,
    or a Struct encoded as an array."""
    if not isinstance(tp, type):
        return False
    return hasattr(tp, "_fields") or getattr(
        getattr(tp, "__struct_config__", None), "array_like", False
    )


def _required_fields(tp: Any) -> int:
    """How many of a record's first fields have no default."""
    if hasattr(tp, "_fields"):
        return len(tp._fields) - len(tp._field_defaults)
    return len(tp.__struct_fields__) - len(tp.__struct_defaults__)


# -- valid values -------------------------------------------------------------------------


def value_strategy(tp: Any) -> st.SearchStrategy[Any]:
    """Every valid value of a field type (st.text() never draws lone surrogates)."""
    if tp is str:
        return st.text()
    if tp is int:
        return st.integers(min_value=-MAX_INT, max_value=MAX_INT)
    if tp is bool:
        return st.booleans()
    if tp is bytes:
        return st.binary(max_size=64)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(tp)
    if typing.get_origin(tp) is tuple:
        (item,) = {a for a in typing.get_args(tp) if a is not Ellipsis}
        return st.lists(value_strategy(item), max_size=MAX_DRAWN_ITEMS).map(tuple)
    if is_record(tp):
        return dataclass_strategy(tp)
    raise TypeError(f"no strategy for field type {tp!r}")


def dataclass_strategy(cls: type[Any]) -> st.SearchStrategy[Any]:
    """Instances of a message or record type, every field drawn from its type (a text
    within the length its type declares, as an `Id` does)."""
    declared = typing.get_type_hints(cls, include_extras=True)
    return st.builds(
        cls,
        **{
            name: st.text(max_size=MAX_ID)
            if name in ID_FIELDS and issubclass(cls, WireMessage)
            else st.lists(st.text(max_size=MAX_ID), max_size=MAX_DRAWN_ITEMS).map(tuple)
            if name in ID_LIST_FIELDS and issubclass(cls, WireMessage)
            else _field_strategy(declared[name], tp)
            for name, tp in field_types(cls)
        },
    )


def _field_strategy(declared: Any, tp: Any) -> st.SearchStrategy[Any]:
    """The values of a field declared `declared` (its type `tp` without bounds): a text
    within the `max_length` of an `Annotated[str, msgspec.Meta(...)]`, else any of `tp`."""
    if typing.get_origin(declared) is typing.Annotated:
        base, *meta = typing.get_args(declared)
        bounds = [m.max_length for m in meta if getattr(m, "max_length", None) is not None]
        if base is str and bounds:
            return st.text(max_size=min(bounds))
    return value_strategy(tp)


def wire_message_classes() -> list[type[WireMessage]]:
    """Every message class the `wire` package defines: the subclasses of WireMessage (and
    theirs) in its modules but wire.base (the shapes they share), whether or not the
    `Message` union names them."""
    found: list[type[WireMessage]] = []
    waiting = [WireMessage]
    while waiting:
        for sub in waiting.pop().__subclasses__():
            waiting.append(sub)
            if sub.__module__.split(".")[0] == "wire" and sub.__module__ != "wire.base":
                found.append(sub)
    return found


#: One strategy per message class, by its name.
MESSAGE_STRATEGIES: dict[str, st.SearchStrategy[Message]] = {
    cls.__name__: dataclass_strategy(cls) for cls in wire_message_classes()
}

#: Any message of any type.
messages: st.SearchStrategy[Message] = st.one_of(*MESSAGE_STRATEGIES.values())


# -- arbitrary JSON values ----------------------------------------------------------------

_surrogates = st.characters(categories=["Cs"])

#: Text that may also hold lone surrogates, which JSON can spell as "\ud800".
any_text: st.SearchStrategy[str] = st.one_of(
    st.text(max_size=12),
    st.tuples(st.text(max_size=6), _surrogates, st.text(max_size=6)).map("".join),
    st.text(_surrogates, max_size=4),
)

json_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([MAX_INT, -MAX_INT, MAX_INT + 1, -MAX_INT - 1, 0, 1, -1])
    | st.floats()
    | any_text
    | st.sampled_from(sorted(MESSAGE_TYPES))
)

#: Any value json.dumps can write: nested lists and objects of JSON scalars.
jsonish: st.SearchStrategy[Any] = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4)
    ),
    max_leaves=12,
)


def dump_json(value: Any, ascii_only: bool) -> bytes:
    """JSON bytes for a value; lone surrogates either escaped or as raw CESU-8 bytes."""
    if ascii_only:
        return json.dumps(value).encode("ascii")
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


# -- the reference decoder ----------------------------------------------------------------


def has_lone_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)


def conforms(tp: Any, value: Any) -> bool:
    """Whether a parsed JSON value is a valid wire form of field type `tp`."""
    if tp is int:
        return type(value) is int and -MAX_INT <= value <= MAX_INT
    if tp is str:
        return type(value) is str and not has_lone_surrogate(value)
    if tp is bool:
        return type(value) is bool
    if tp is bytes:  # JSON has no bytes: base64 in a string
        return type(value) is str and _is_base64(value)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return type(value) is str and value in {member.value for member in tp}
    if typing.get_origin(tp) is tuple:
        (item,) = {a for a in typing.get_args(tp) if a is not Ellipsis}
        return (
            type(value) is list
            and len(value) <= MAX_ITEMS
            and all(conforms(item, v) for v in value)
        )
    if is_record(tp):
        # a record may leave out its last fields where they have defaults
        fields = field_types(tp)[: len(value) if type(value) is list else 0]
        return (
            type(value) is list
            and _required_fields(tp) <= len(value) <= len(field_types(tp))
            and all(conforms(ftp, v) for (_, ftp), v in zip(fields, value, strict=True))
        )
    raise TypeError(f"no rule for field type {tp!r}")


def convert(tp: Any, value: Any) -> Any:
    """The Python value a conforming JSON value decodes to."""
    if typing.get_origin(tp) is tuple:
        (item,) = {a for a in typing.get_args(tp) if a is not Ellipsis}
        return tuple(convert(item, v) for v in value)
    if is_record(tp):
        fields = field_types(tp)[: len(value)]
        return tp(*(convert(ftp, v) for (_, ftp), v in zip(fields, value, strict=True)))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(value)
    if tp is bytes:
        return base64.b64decode(value)
    return value


def _is_base64(text: str) -> bool:
    try:
        return base64.b64encode(base64.b64decode(text, validate=True)).decode() == text
    except ValueError:
        return False


def reference_decode(obj: Any) -> Message | None:
    """The message a parsed JSON value stands for, or None when it must be refused."""
    if type(obj) is not dict:
        return None
    name = obj.get("t")
    if type(name) is not str or name not in MESSAGE_TYPES:
        return None
    cls = MESSAGE_TYPES[name]
    fields = field_types(cls)
    # a field with a default may be left out, as by the records' last fields
    names = [f for f, _ in fields]
    optional = set(names[len(names) - len(cls.__struct_defaults__) :])
    if not {"t", *names} - optional <= set(obj) <= {"t", *names}:
        return None
    fields = [(f, tp) for f, tp in fields if f in obj]
    if not all(conforms(tp, obj[f]) for f, tp in fields):
        return None
    if any(len(obj[f]) > MAX_ID for f, _ in fields if f in ID_FIELDS):
        return None
    if any(len(i) > MAX_ID for f, _ in fields if f in ID_LIST_FIELDS for i in obj[f]):
        return None
    message: Message = cls(**{f: convert(tp, obj[f]) for f, tp in fields})
    return message


def assert_valid_message(message: object) -> None:
    """A decoded value is an instance of a message type whose every field is valid."""
    assert type(message) in MESSAGE_TYPES.values(), type(message)
    for name, tp in field_types(type(message)):
        value = getattr(message, name)
        assert_valid_value(tp, value)


def assert_valid_value(tp: Any, value: Any) -> None:
    if typing.get_origin(tp) is tuple:
        (item,) = {a for a in typing.get_args(tp) if a is not Ellipsis}
        assert type(value) is tuple
        for v in value:
            assert_valid_value(item, v)
    elif is_record(tp):
        assert type(value) is tp
        for name, ftp in field_types(tp):
            assert_valid_value(ftp, getattr(value, name))
    elif isinstance(tp, type) and issubclass(tp, enum.Enum):
        assert type(value) is tp, (tp, value)
    elif tp is bytes:
        assert type(value) is bytes
    else:
        assert conforms(tp, value), (tp, value)
