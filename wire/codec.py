"""Messages to bytes and back (docs/PROTOCOL.md, "Encoding"). msgspec decodes and checks
every field in one pass (wire.base): a decoded message is valid; anything else raises
DecodeError, or OtherVersion when it names one of our types with other fields than ours."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, Final, Union

import msgspec

from wire.limits import MAX_DATAGRAM, MAX_ID
from wire.messages import (
    MESSAGE_TYPES,
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


class DecodeError(ValueError):
    """The one error the wire raises for bad input: bytes that are not a valid ChatApp message
    or frame. Decoding untrusted bytes returns valid messages or raises this, nothing else."""


class OtherVersion(DecodeError):
    """A message of a known type with other fields (or a key answer of another protocol):
    most likely another version's. `kind` is its type; `request_id` its id when it waits
    for an answer (no `reply_to`), for the receiver to refuse it by name; else ""."""

    def __init__(self, detail: str, kind: str, request_id: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.request_id = request_id


#: Fields naming a message id: bounded, since receivers remember ids to show each once.
ID_FIELDS = frozenset({"id", "reply_to"})
#: Fields listing message ids (Acks): each item bounded like an id.
ID_LIST_FIELDS = frozenset({"replies"})

_ANY_MESSAGE: Any = Union[tuple(MESSAGE_TYPES.values())]  # noqa: UP007  (built at run time)
_ENCODER: Final = msgspec.json.Encoder()
_DECODER: Final = msgspec.json.Decoder(_ANY_MESSAGE)
#: One message, or a batch of one or more (a JSON array: `pack_datagrams`).
_DATAGRAM: Any = Union[
    (Annotated[list[_ANY_MESSAGE], msgspec.Meta(min_length=1)], *MESSAGE_TYPES.values())
]
_DATAGRAM_DECODER: Final = msgspec.json.Decoder(_DATAGRAM)


#: Encode one message to its JSON bytes (no framing). The encoder's own method, called
#: without a function of ours around it: every message sent goes through it.
encode: Final[Callable[[Message], bytes]] = _ENCODER.encode


#: Decode a datagram's messages (what the secure channel opened: at most MAX_DATAGRAM bytes):
#: one message as itself, a batch as a list. The decoder's own method, as `encode` is the
#: encoder's: every datagram read goes through it. It raises one of DECODE_ERRORS, for
#: which `undecoded` says why.
decode_datagram: Final[Callable[[bytes], Message | list[Message]]] = _DATAGRAM_DECODER.decode
#: What `decode` and `decode_datagram` raise for bytes that are no message.
DECODE_ERRORS: Final = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)


def record_size(record: Any) -> int:
    """The bytes a record (a table Entry, a StoredMessage) takes inside an encoded message."""
    return len(_ENCODER.encode(record))


def encoded_once(records: tuple[Any, ...]) -> Any:
    """`records` (table entries) encoded now, to stand for them in messages encoded later:
    each of those copies the bytes rather than encoding the records again (msgspec.Raw).
    Only for a message that is sent, never read: its field holds bytes, not records."""
    return msgspec.Raw(_ENCODER.encode(records))


def decode(data: bytes) -> Message:
    try:
        message: Message = _DECODER.decode(data)
    except DECODE_ERRORS as exc:
        raise _refusal(json_value(data), exc) from None
    return message


#: The parser for anything that did not decode as a message, to say what it is instead.
_JSON = json.JSONDecoder()


def json_value(data: bytes) -> Any:
    """The JSON value `data` holds; raise DecodeError if it is not JSON."""
    try:
        return _JSON.decode(data.decode())
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise DecodeError(f"not JSON: {exc}") from None


def _refusal(obj: Any, exc: object) -> DecodeError:
    """Why `obj`, the JSON value of bytes msgspec refused with `exc`, is not a message: an
    OtherVersion when it names one of our types."""
    if type(obj) is not dict:
        return DecodeError("a message is a JSON object")
    kind = obj.get("t")
    if type(kind) is not str or kind not in MESSAGE_TYPES:
        return DecodeError(f"unknown message type {kind!r}"[:100])
    msg_id = obj.get("id")
    if kind in _ANSWERS or type(msg_id) is not str or not 0 < len(msg_id) <= MAX_ID:
        msg_id = ""
    try:
        msg_id.encode()  # to be sent again: JSON can spell lone surrogates, UTF-8 cannot
    except UnicodeEncodeError:
        msg_id = ""
    return OtherVersion(f"{kind}: {exc}", kind, msg_id)


#: Message types that answer another (they name it in `reply_to` or `replies`): never
#: refused in turn, or two versions could answer each other's refusals for ever.
_ANSWERS = frozenset(
    name
    for name, cls in MESSAGE_TYPES.items()
    if set(cls.__struct_fields__) & (ID_FIELDS | ID_LIST_FIELDS) - {"id"}
)


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
    error = _refusal(obj, "")
    if not isinstance(error, OtherVersion) or not error.request_id:
        return None
    wire = obj.get("wire")
    return error.kind, error.request_id, wire if type(wire) is str and wire.isalnum() else ""


def fits_datagram(data: bytes) -> bool:
    return len(data) <= MAX_DATAGRAM


#: A chat message whose text has at most this many characters always fits a datagram: JSON
#: takes at most 6 bytes a character (an escaped control character), and its other fields
#: (ids, names, a room, a token, a stamp) are short.
SHORT_TEXT: Final = 74
_CHAT_TYPES: Final = (
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


def undecoded(data: bytes, exc: Exception) -> DecodeError:
    """Why `data`, a datagram `decode_datagram` refused with `exc` (one of DECODE_ERRORS),
    holds no message, or no batch of them."""
    try:
        obj = json_value(data)
    except DecodeError as not_json:
        return not_json
    if type(obj) is not list:
        return _refusal(obj, exc)
    for item in obj:
        try:
            msgspec.convert(item, _ANY_MESSAGE)
        except msgspec.ValidationError as item_exc:
            return _refusal(item, item_exc)
    return DecodeError(f"not a batch of messages: {exc}")


def pack_datagrams(encoded: list[bytes]) -> list[bytes]:
    """Pack encoded messages, in order, into as few datagrams as fit MAX_DATAGRAM: one message
    alone as itself, several as a JSON array. Each item must fit a datagram by itself."""
    if len(encoded) < 2:
        return encoded[:]
    if len(whole := b",".join(encoded)) + 2 <= MAX_DATAGRAM:
        return [b"[" + whole + b"]"]  # the usual case: all in one
    packets: list[bytes] = []
    group: list[bytes] = []
    size = 1  # the closing bracket
    for item in encoded:
        if group and size + 1 + len(item) > MAX_DATAGRAM:
            packets.append(_packet(group))
            group, size = [], 1
        group.append(item)
        size += 1 + len(item)  # the opening bracket or a comma, then the item
    return [*packets, _packet(group)]


def _packet(group: list[bytes]) -> bytes:
    return group[0] if len(group) == 1 else b"[" + b",".join(group) + b"]"
