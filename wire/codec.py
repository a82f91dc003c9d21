"""Messages to bytes and back: JSON objects with a "t" field naming the type.

A message is encoded as a compact UTF-8 JSON object whose "t" is the type name and whose
other keys are the dataclass fields; records inside it (table entries, stored messages)
are JSON arrays in field order. Decoding checks every field's presence and type, so that a
decoded message is always a valid instance; anything else raises DecodeError.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import operator
import re
import typing
from collections.abc import Callable
from typing import Any

from wire.errors import DecodeError, OtherVersion
from wire.limits import MAX_DATAGRAM, MAX_ID, MAX_ITEMS
from wire.messages import (
    MESSAGE_TYPES,
    RECORD_TYPES,
    ChannelMessage,
    ChannelPost,
    Chat,
    Message,
    Notice,
    Relayed,
    RoomMessage,
    RoomNotice,
    RoomPost,
    Saved,
    SaveMessage,
)

_MAX_INT = 2**63 - 1

Check = Callable[[Any], Any]
#: A message's JSON text.
Encode = Callable[[Any], str]


def _check_int(value: Any) -> int:
    if type(value) is not int or not -_MAX_INT <= value <= _MAX_INT:
        raise DecodeError(f"expected an integer, got {type(value).__name__}")
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def _check_str(value: Any) -> str:
    if type(value) is not str:
        raise DecodeError(f"expected a string, got {type(value).__name__}")
    # JSON can spell lone surrogates ("\\ud800"); such a string could never be encoded again.
    if not value.isascii() and _SURROGATE.search(value):
        raise DecodeError("a string holds a lone surrogate")
    return value


def _check_bool(value: Any) -> bool:
    if type(value) is not bool:
        raise DecodeError(f"expected a boolean, got {type(value).__name__}")
    return value


def _record_checks(cls: type[Any]) -> tuple[list[Check], list[type]]:
    """The check of each field of record type `cls`, and the type each field must have."""
    checks = [_checker(tp) for _, tp in _record_field_types(cls)]
    plain: dict[Check, type] = {_check_int: int, _check_str: str, _check_bool: bool}
    if not all(chk in plain for chk in checks):
        raise TypeError(f"{cls.__name__}: a record's fields are int, str or bool")  # at import
    return checks, [plain[chk] for chk in checks]


def _record_checker(cls: type[Any]) -> Check:
    checks, types = _record_checks(cls)
    count = len(checks)
    # Records arrive by the thousand (a table of 500 rows to each of 500 peers), so the usual
    # case, every field of the expected type, is tested at once; the rest are then checked
    # one by one, for the message of the first that is wrong.
    texts = [i for i, tp in enumerate(types) if tp is str]
    ints = [i for i, tp in enumerate(types) if tp is int]

    def check(value: Any) -> Any:
        if type(value) is not list or len(value) != count:
            raise DecodeError(f"expected a {cls.__name__} of {count} fields")
        if list(map(type, value)) != types:
            for chk, v in zip(checks, value, strict=True):
                chk(v)
        for i in texts:
            if not value[i].isascii():
                _check_str(value[i])
        for i in ints:
            if not -_MAX_INT <= value[i] <= _MAX_INT:
                _check_int(value[i])
        return _new_tuple(cls, value)  # the named tuple at once: its fields are checked

    return check


def _records_checker(cls: type[Any]) -> Check:
    """The check of a list of `cls` records: a table's rows, by the thousand in a join
    storm. The usual list, every row well formed, is checked a field at a time across all
    its rows, each test a pass in C; any other list row by row (`_record_checker`), for the
    error that names the first thing wrong. Either way the same rows pass."""
    row = _record_checker(cls)
    _, types = _record_checks(cls)
    count = {len(types)}
    columns = [(operator.itemgetter(i), {tp}) for i, tp in enumerate(types)]
    texts = [operator.itemgetter(i) for i, tp in enumerate(types) if tp is str]
    ints = [operator.itemgetter(i) for i, tp in enumerate(types) if tp is int]
    new = functools.partial(_new_tuple, cls)

    def well_formed(rows: list[Any]) -> bool:
        return (
            set(map(type, rows)) <= _LIST
            and set(map(len, rows)) <= count
            and all(set(map(type, map(column, rows))) <= tp for column, tp in columns)
            and all("".join(map(text, rows)).isascii() for text in texts)
            and all(
                min(map(number, rows)) >= -_MAX_INT and max(map(number, rows)) <= _MAX_INT
                for number in ints
            )
        )

    def check(value: Any) -> tuple[Any, ...]:
        if type(value) is not list:
            raise DecodeError("expected a list")
        if len(value) > MAX_ITEMS:
            raise DecodeError(f"a list has at most {MAX_ITEMS} items")
        if not value:
            return ()
        return tuple(map(new if well_formed(value) else row, value))

    return check


_LIST = {list}


def _tuple_checker(item: Check) -> Check:
    def check(value: Any) -> tuple[Any, ...]:
        if type(value) is not list:
            raise DecodeError("expected a list")
        if len(value) > MAX_ITEMS:
            raise DecodeError(f"a list has at most {MAX_ITEMS} items")
        return tuple(map(item, value))

    return check


def _checker(tp: Any) -> Check:
    if tp is int:
        return _check_int
    if tp is str:
        return _check_str
    if tp is bool:
        return _check_bool
    if typing.get_origin(tp) is tuple:
        item = typing.get_args(tp)[0]
        if item in RECORD_TYPES.values():
            return _records_checker(item)
        return _tuple_checker(_checker(item))
    if tp in RECORD_TYPES.values():
        return _record_checker(tp)
    raise TypeError(f"no wire form for field type {tp!r}")  # a programming error, at import


def _field_types(cls: type[Any]) -> list[tuple[dataclasses.Field[Any], Any]]:
    """A message type's fields and their types."""
    hints = typing.get_type_hints(cls)
    return [(f, hints[f.name]) for f in dataclasses.fields(cls)]


def _record_field_types(cls: type[Any]) -> list[tuple[str, Any]]:
    """A record type's (a named tuple's) field names and their types."""
    hints = typing.get_type_hints(cls)
    return [(name, hints[name]) for name in cls._fields]


#: Builds a named tuple from a list without going through its __new__'s arguments.
_new_tuple: Callable[[type[Any], list[Any]], Any] = tuple.__new__


def _encoder(tp: Any) -> Callable[[Any], Any] | None:
    """How to turn a field value into JSON, or None when it already is JSON."""
    if typing.get_origin(tp) is tuple:
        inner = _encoder(typing.get_args(tp)[0])
        if inner is None:
            return list
        return lambda items: [inner(i) for i in items]
    return None  # a plain value, or a record: a named tuple is written as a JSON array


#: One encoder for all: json.dumps with options builds a new one per call.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
#: A str as JSON text, exactly as _JSON writes it (non-ASCII kept, compact).
_json_str: Callable[[str], str] = json.encoder.encode_basestring


def _value_writer(tp: Any) -> Callable[[Any], str]:
    """How _JSON writes a field value of type `tp`: written directly for the plain types."""
    if tp is str:
        return _json_str
    if tp is bool:
        return lambda value: "true" if value else "false"
    if tp is int:
        return int.__repr__
    enc = _encoder(tp)
    if enc is None:  # a record
        return _JSON.encode
    return lambda value: _JSON.encode(enc(value))


def _message_encoder(name: str, pairs: list[tuple[dataclasses.Field[Any], Any]]) -> Encode:
    """The encoder of one message type. It writes what `_JSON.encode` would write for
    {"t": name, field: value, ...}, byte for byte, from a template made once per type:
    direct messages and acks are encoded on every hop, and building a dict and walking it
    cost three times as much."""
    names = [f.name for f, _ in pairs]
    template = "{" + ",".join([f'"t":{_json_str(name)}'] + [f'"{n}":%s' for n in names]) + "}"
    writers = [_value_writer(tp) for _, tp in pairs]
    if len(names) == 1:
        only, write = names[0], writers[0]
        return lambda message: template % write(getattr(message, only))
    values = operator.attrgetter(*names)
    if all(w is _json_str for w in writers):
        return lambda message: template % tuple(map(_json_str, values(message)))
    return lambda message: (
        template % tuple([w(v) for w, v in zip(writers, values(message), strict=True)])
    )


_DECODERS: dict[str, tuple[type[Any], list[tuple[str, Check]]]] = {}
_ENCODERS: dict[type[Any], Encode] = {}
#: Fields naming a message id: bounded, since receivers remember ids to show each once.
ID_FIELDS = frozenset({"id", "reply_to"})
#: Fields listing message ids (Acks): each item bounded like an id.
ID_LIST_FIELDS = frozenset({"replies"})


def _check_id(value: Any) -> str:
    text = _check_str(value)
    if len(text) > MAX_ID:
        raise DecodeError(f"an id has at most {MAX_ID} characters")
    return text


_check_each_id = _tuple_checker(_check_id)


def _check_ids(value: Any) -> tuple[str, ...]:
    # An Acks answers a whole datagram of pushes: the usual list, short ASCII strings only,
    # is checked at once; anything else id by id, to name what is wrong.
    if (
        type(value) is list
        and 0 < len(value) <= MAX_ITEMS
        and set(map(type, value)) == {str}
        and max(map(len, value)) <= MAX_ID
        and "".join(value).isascii()
    ):
        return tuple(value)
    result: tuple[str, ...] = _check_each_id(value)
    return result


for _name, _cls in MESSAGE_TYPES.items():
    _pairs = _field_types(_cls)
    _DECODERS[_name] = (
        _cls,
        [
            (
                f.name,
                _check_id
                if f.name in ID_FIELDS
                else _check_ids
                if f.name in ID_LIST_FIELDS
                else _checker(tp),
            )
            for f, tp in _pairs
        ],
    )
    _ENCODERS[_cls] = _message_encoder(_name, _pairs)


def encode(message: Message) -> bytes:
    """Encode one message to its JSON bytes (no framing)."""
    return _ENCODERS[type(message)](message).encode()


def record_size(record: Any) -> int:
    """The bytes a record (a table Entry, a StoredMessage) takes inside an encoded message."""
    return len(_JSON.encode(record).encode())


def decode(data: bytes) -> Message:
    """Decode the JSON bytes of one message; raise DecodeError for anything that is not one."""
    return _message(json_value(data))


#: Messages are UTF-8 (RFC 8259): decoded as such, without json.loads's guess at others.
_DECODER = json.JSONDecoder()
#: The parser inside _DECODER.decode (its C scanner, stable since Python 2.7 though not in
#: typeshed), called directly: what we send has no whitespace around it, and decode's
#: checks for it cost as much as parsing a small message.
_scan: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]


def json_value(data: bytes) -> Any:
    """The JSON value `data` holds, parsed as every message is (UTF-8, the C scanner first);
    raise DecodeError if it is not JSON. For the bench's minimal clients and relays, which
    parse what they read the way a peer's endpoint does, without building messages."""
    try:
        text = data.decode()
        try:
            value, end = _scan(text, 0)
            if end == len(text):
                return value
        except StopIteration:  # no value at the start: whitespace first, say
            pass
        # whitespace, garbage after the value, or no value: the full parser judges
        return _DECODER.decode(text)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise DecodeError(f"not JSON: {exc}") from None


def _message(obj: Any) -> Message:
    """The message a decoded JSON value spells, or DecodeError."""
    if type(obj) is not dict:
        raise DecodeError("a message is a JSON object")
    kind = obj.get("t")
    if type(kind) is not str or kind not in _DECODERS:
        raise DecodeError(f"unknown message type {kind!r}"[:100])
    cls, fields = _DECODERS[kind]
    if len(obj) != len(fields) + 1:
        raise _other_version(obj, kind, f"{kind} has {len(fields)} fields")
    try:
        values = [check(obj[field]) for field, check in fields]
    except KeyError as exc:
        raise _other_version(obj, kind, f"{kind} lacks field {exc}") from None
    except DecodeError as exc:
        raise _other_version(obj, kind, f"{kind}: {exc}") from None
    message: Message = cls(*values)
    return message


#: Message types that answer another (they name it in `reply_to` or `replies`): never
#: refused in turn, or two versions could answer each other's refusals for ever.
_ANSWERS = frozenset(
    name
    for name, cls in MESSAGE_TYPES.items()
    if {f.name for f in dataclasses.fields(cls)} & (ID_FIELDS | ID_LIST_FIELDS) - {"id"}
)


def _other_version(obj: dict[str, Any], kind: str, detail: str) -> OtherVersion:
    """The error for a `kind` message with other fields than ours, naming its id when it is
    a request or push that can be refused."""
    msg_id = obj.get("id")
    if kind in _ANSWERS or type(msg_id) is not str or not 0 < len(msg_id) <= MAX_ID:
        return OtherVersion(detail, kind, "")
    return OtherVersion(detail, kind, "" if _SURROGATE.search(msg_id) else msg_id)


def clear_request(data: bytes) -> tuple[str, str, str] | None:
    """(type, id, wire) of the request or push a message in clear holds (the first, in a
    batch): what a version of ChatApp from before the secure channel sent, to be told
    versions differ. `wire` is the sender's wire version where the message says it (a
    Register's), else "". None for anything else, answers included (see _ANSWERS)."""
    try:
        obj = json_value(data)
    except DecodeError:
        return None
    if type(obj) is list and obj:
        obj = obj[0]
    if type(obj) is not dict:
        return None
    kind = obj.get("t")
    if type(kind) is not str or kind not in _DECODERS:
        return None
    error = _other_version(obj, kind, "")
    if not error.request_id:
        return None
    wire = obj.get("wire")
    return kind, error.request_id, wire if type(wire) is str and wire.isalnum() else ""


def encode_datagram(message: Message) -> bytes:
    """Encode a message as one datagram; raise ValueError if it exceeds MAX_DATAGRAM.

    Callers that may have big messages check `fits_datagram` first and use TCP otherwise.
    """
    data = encode(message)
    if len(data) > MAX_DATAGRAM:
        raise ValueError(f"{type(message).__name__} is {len(data)} bytes, over {MAX_DATAGRAM}")
    return data


def fits_datagram(data: bytes) -> bool:
    """Whether encoded bytes may travel as one datagram."""
    return len(data) <= MAX_DATAGRAM


#: A chat message whose text has at most this many characters always fits a datagram: JSON
#: takes at most 6 bytes a character (an escaped control character), and its other fields
#: (an id, names, a room, a token, a stamp) are short.
SHORT_TEXT = 100
_CHAT_TYPES = (
    Chat,
    SaveMessage,
    ChannelPost,
    ChannelMessage,
    RoomPost,
    RoomMessage,
    RoomNotice,
    Notice,
)


def travels_by_stream(message: Message) -> bool:
    """Whether `message` is too big for a datagram, so that an endpoint sends it over TCP.
    Free for the usual chat message with a short text; any other is encoded to tell."""
    if isinstance(message, _CHAT_TYPES) and len(message.text) <= SHORT_TEXT:
        return False
    if type(message) is Saved and len(message.refused) <= SHORT_TEXT:
        return False  # an outcome per save, pushed by the thousand: ids, a name, a flag
    if type(message) is Relayed:
        return False  # an outcome per channel post: two ids
    return not fits_datagram(encode(message))


def decode_datagram(data: bytes) -> Message:
    """Decode a datagram of one message; raise DecodeError for oversized or malformed ones."""
    if len(data) > MAX_DATAGRAM:
        raise DecodeError(f"datagram of {len(data)} bytes, over {MAX_DATAGRAM}")
    return decode(data)


def decode_datagram_batch(data: bytes) -> list[Message]:
    """Decode a datagram of one message or of several (a JSON array of message objects,
    made by `pack_datagrams`); raise DecodeError if it is not wholly valid."""
    if len(data) > MAX_DATAGRAM:
        raise DecodeError(f"datagram of {len(data)} bytes, over {MAX_DATAGRAM}")
    obj = json_value(data)
    if type(obj) is not list:
        return [_message(obj)]
    if not obj:
        raise DecodeError("an empty batch")
    return [_message(item) for item in obj]


def pack_datagrams(encoded: list[bytes]) -> list[bytes]:
    """Pack encoded messages, in order, into as few datagrams as fit MAX_DATAGRAM: one message
    alone as itself, several as a JSON array. Each item must fit a datagram by itself."""
    packets: list[bytes] = []
    group: list[bytes] = []
    size = 1  # the closing bracket
    for item in encoded:
        if group and size + 1 + len(item) > MAX_DATAGRAM:
            packets.append(_packet(group))
            group, size = [], 1
        group.append(item)
        size += 1 + len(item)  # the opening bracket or a comma, then the item
    if group:
        packets.append(_packet(group))
    return packets


def _packet(group: list[bytes]) -> bytes:
    return group[0] if len(group) == 1 else b"[" + b",".join(group) + b"]"
