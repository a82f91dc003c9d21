"""Properties of the JSON codec: every message survives a round trip, and any bytes at all
decode to a valid message or raise DecodeError, nothing else (docs/PROTOCOL.md, "Encoding")."""

from __future__ import annotations

import base64
import json
import typing
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st
from wire_strategies import (
    MAX_INT,
    MESSAGE_STRATEGIES,
    any_text,
    assert_valid_message,
    conforms,
    dataclass_strategy,
    dump_json,
    field_types,
    jsonish,
    messages,
    reference_decode,
)

from tests.datagrams import messages_of
from tests.hypothesis_profiles import examples
from wire.codec import (
    SHORT_TEXT,
    DecodeError,
    OtherVersion,
    decode,
    encode,
    fits_datagram,
    json_value,
    record_size,
    travels_by_stream,
)
from wire.limits import MAX_DATAGRAM, MAX_ITEMS
from wire.messages import (
    MESSAGE_TYPES,
    Ack,
    Acks,
    Alias,
    Alive,
    Entry,
    MailTaken,
    Message,
    Notice,
    RoomList,
    Saved,
    StoredMessage,
    TableUpdate,
    Welcome,
)

FAST = settings(deadline=None)
THOROUGH = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def decode_or_none(data: bytes, *, datagram: bool = False) -> Message | None:
    """Decode untrusted bytes (as a datagram of one message or several, with `datagram`);
    fail the test if anything but valid messages or DecodeError. The first message."""
    try:
        decoded = messages_of(data) if datagram else [decode(data)]
    except DecodeError as exc:
        event("refused")
        # The reason is logged and may be sent to the other end: it must be printable text.
        str(exc).encode("utf-8")
        return None
    event("accepted")
    for message in decoded:
        assert_valid_message(message)
        # What was accepted can always be sent on again unchanged.
        assert decode(encode(message)) == message
    return decoded[0]


def as_object(message: Message) -> dict[str, Any]:
    obj = json.loads(encode(message))
    assert type(obj) is dict
    return obj


# -- round trips --------------------------------------------------------------------------


def test_the_codecs_table_holds_every_message_class_and_nothing_else() -> None:
    # The strategies are one per WireMessage subclass in `wire`, found apart from the
    # table: a message class left out of the `Message` union (which the table and the
    # codec's decoder are made from) would go unread, and is caught here.
    assert set(MESSAGE_STRATEGIES) == set(MESSAGE_TYPES)
    assert set(typing.get_args(Message)) == set(MESSAGE_TYPES.values())
    assert all(name == cls.__name__ for name, cls in MESSAGE_TYPES.items())


@pytest.mark.parametrize("name", sorted(MESSAGE_TYPES))
@settings(max_examples=examples(20), deadline=None)
@given(data=st.data())
def test_round_trip_each_type(name: str, data: st.DataObject) -> None:
    message = data.draw(MESSAGE_STRATEGIES[name])
    encoded = encode(message)
    decoded = decode(encoded)
    assert decoded == message
    assert type(decoded) is MESSAGE_TYPES[name]
    obj = json.loads(encoded)
    assert obj["t"] == name
    assert set(obj) == set(reference_object(message))  # a line's defaults left out


@THOROUGH
@given(messages)
def test_round_trip_any_message(message: Message) -> None:
    assert decode(encode(message)) == message
    assert reference_decode(json.loads(encode(message))) == message


@FAST
@given(messages)
def test_encoding_is_compact_utf8(message: Message) -> None:
    encoded = encode(message)
    text = encoded.decode("utf-8")
    assert "\n" not in text
    assert (
        encoded == json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":")).encode()
    )


def reference_object(message: Message) -> dict[str, Any]:
    """The JSON object a message is written as, built from the message itself."""

    def plain(value: Any) -> Any:
        if isinstance(value, Entry):  # a record: an array, as a named tuple is
            value = msgspec.structs.astuple(value)
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        if isinstance(value, bytes):  # bytes travel as base64, as JSON has no bytes
            return base64.b64encode(value).decode()
        return value

    names = {cls: name for name, cls in MESSAGE_TYPES.items()}
    obj: dict[str, Any] = {"t": names[type(message)]}
    fields, defaults = message.__struct_fields__, message.__struct_defaults__
    left_out = message.__struct_config__.omit_defaults  # a line's: "" and none are not sent
    for at, name in enumerate(fields):
        value = getattr(message, name)
        default = at >= len(fields) - len(defaults) and value == defaults[at - len(fields)]
        if not (left_out and default):
            obj[name] = plain(value)
    return obj


@pytest.mark.parametrize("name", sorted(MESSAGE_TYPES))
@settings(max_examples=examples(20), deadline=None)
@given(data=st.data())
def test_encoding_is_byte_for_byte_what_json_dumps_writes(name: str, data: st.DataObject) -> None:
    # encode writes from a template per type; this is the dict it must spell
    message = data.draw(MESSAGE_STRATEGIES[name])
    expected = json.dumps(reference_object(message), ensure_ascii=False, separators=(",", ":"))
    assert encode(message) == expected.encode()


@FAST
@given(
    message=messages,
    before=st.sampled_from(["", " ", "\n", " \t\r\n"]),
    after=st.sampled_from(["", " ", "\r\n"]),
)
def test_whitespace_around_a_message_is_allowed(message: Message, before: str, after: str) -> None:
    assert decode(before.encode() + encode(message) + after.encode()) == message


@FAST
@given(message=messages, junk=st.sampled_from(["x", "{}", "1", ",", "]", "\x00", " ,"]))
def test_anything_after_a_message_is_refused(message: Message, junk: str) -> None:
    with pytest.raises(DecodeError):
        decode(encode(message) + junk.encode())


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@FAST
@given(
    value=_JSON_VALUES, before=st.sampled_from(["", " ", "\n"]), after=st.sampled_from(["", " "])
)
def test_json_value_reads_what_json_loads_reads(value: Any, before: str, after: str) -> None:
    data = (before + json.dumps(value, ensure_ascii=False) + after).encode()
    assert json_value(data) == json.loads(data)


@pytest.mark.parametrize("data", [b"", b"x", b"{}x", b"[1,", b"\xff", b'{"t": 1} {}'])
def test_json_value_refuses_what_is_not_one_json_value(data: bytes) -> None:
    with pytest.raises(DecodeError):
        json_value(data)


@pytest.mark.parametrize("value", [MAX_INT, -MAX_INT, 0, -1])
def test_int_limits_accepted(value: int) -> None:
    message = Alive(id="a", reply_to="b", version=value)
    assert decode(encode(message)) == message


@pytest.mark.parametrize("value", [MAX_INT + 1, -MAX_INT - 1, 2**64, 10**30])
def test_int_beyond_limits_refused(value: int) -> None:
    data = json.dumps({"t": "Alive", "id": "a", "reply_to": "b", "version": value}).encode()
    with pytest.raises(DecodeError):
        decode(data)


@pytest.mark.parametrize("value", ["true", "1.0", "1e3", '"1"', "null", "NaN", "Infinity", "[1]"])
def test_int_field_refuses_other_json_types(value: str) -> None:
    data = b'{"t":"Alive","id":"a","reply_to":"b","version":%s}' % value.encode()
    with pytest.raises(DecodeError):
        decode(data)


@pytest.mark.parametrize("value", ["1", "0", '"true"', "null", "[]"])
def test_bool_field_refuses_other_json_types(value: str) -> None:
    start = b'{"t":"Saved","id":"a","reply_to":"b","to":"c","delivered":'
    with pytest.raises(DecodeError):
        decode(start + value.encode() + b',"refused":""}')
    good = Saved(id="a", reply_to="b", to="c", delivered=True, refused="")
    assert decode(start + b'true,"refused":""}') == good


def test_huge_integer_literal_is_a_decode_error() -> None:
    # Python refuses int literals over 4300 digits with a plain ValueError.
    data = b'{"t":"Alive","id":"a","reply_to":"b","version":%s}' % (b"9" * 5000)
    with pytest.raises(DecodeError):
        decode(data)


def test_list_limits() -> None:
    ids = tuple(str(i) for i in range(MAX_ITEMS))
    message = MailTaken(id="a", name="n", token="t", ids=ids)
    assert decode(encode(message)) == message
    too_many = as_object(message)
    too_many["ids"].append("x")
    with pytest.raises(DecodeError):
        decode(json.dumps(too_many).encode())


# -- datagrams ----------------------------------------------------------------------------


def notice_of_size(size: int) -> Notice:
    """A Notice whose encoding is exactly `size` bytes."""
    overhead = len(encode(Notice(id="n", text="")))
    message = Notice(id="n", text="x" * (size - overhead))
    assert len(encode(message)) == size
    return message


def test_datagram_boundary() -> None:
    # (a datagram carrying more is dropped unopened by the secure channel: tests/net/test_secure.py)
    largest = notice_of_size(MAX_DATAGRAM)
    assert fits_datagram(encode(largest))
    assert messages_of(encode(largest)) == [largest]
    too_big = notice_of_size(MAX_DATAGRAM + 1)
    assert not fits_datagram(encode(too_big))


# -- untrusted input ----------------------------------------------------------------------


@THOROUGH
@given(st.binary(max_size=300))
@example(b"")
@example(b"\xff\xfe")
@example(b"\xef\xbb\xbf{}")
@example(b'{"t":"Notice","id":"a","text":"\xed\xa0\x80","quitter":""}')
@example(b"[" * 100_000)
@example(b'{"t":' + b"[" * 5000 + b"]" * 5000 + b"}")
@example(b'{"t":"Alive","id":"a","reply_to":"b","version":1' + b"0" * 5000 + b"}")
def test_arbitrary_bytes_give_message_or_decode_error(data: bytes) -> None:
    decode_or_none(data)
    decode_or_none(data, datagram=True)


@st.composite
def byte_mutations(draw: st.DrawFn) -> bytes:
    """A valid encoding with a few bytes replaced, deleted or inserted."""
    data = bytearray(encode(draw(messages)))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["replace", "delete", "insert"]))
        byte = draw(st.sampled_from(b'"\\{}[]:,0aetu \x00\x80\xed\xff') | st.integers(0, 255))
        if op == "insert" or at == len(data):
            data.insert(at, byte)
        elif op == "replace":
            data[at] = byte
        else:
            del data[at]
    return bytes(data)


@THOROUGH
@given(byte_mutations())
def test_mutated_bytes_give_message_or_decode_error(data: bytes) -> None:
    decode_or_none(data)


@THOROUGH
@given(value=jsonish, ascii_only=st.booleans())
def test_arbitrary_json_matches_reference(value: Any, ascii_only: bool) -> None:
    data = dump_json(value, ascii_only)
    # The reference judges the parsed value: JSON parsing itself is Python's, and an escaped
    # surrogate pair parses to one (valid) character.
    assert decode_or_none(data) == reference_decode(json.loads(data))


@st.composite
def message_shaped(draw: st.DrawFn) -> dict[str, Any]:
    """A JSON object close to a message: a known type, its fields, each maybe valid."""
    name = draw(st.sampled_from(sorted(MESSAGE_TYPES)))
    valid = as_object(draw(MESSAGE_STRATEGIES[name]))
    obj: dict[str, Any] = {"t": name}
    for field, value in valid.items():
        if field == "t":
            continue
        choice = draw(st.integers(0, 5))
        if choice == 0:
            continue  # field missing
        obj[field] = draw(jsonish) if choice == 1 else value
    if draw(st.integers(0, 5)) == 0:
        obj[draw(any_text)] = draw(jsonish)  # maybe an extra key
    return obj


@THOROUGH
@given(obj=message_shaped(), ascii_only=st.booleans())
def test_message_shaped_json_matches_reference(obj: dict[str, Any], ascii_only: bool) -> None:
    data = dump_json(obj, ascii_only)
    assert decode_or_none(data) == reference_decode(json.loads(data))


# -- mutated valid encodings --------------------------------------------------------------


@FAST
@given(message=messages, data=st.data())
def test_removed_field_is_refused(message: Message, data: st.DataObject) -> None:
    """Any field but one with a default (which then takes that default) is required."""
    obj = as_object(message)
    fields = type(message).__struct_fields__
    required = fields[: len(fields) - len(type(message).__struct_defaults__)]
    del obj[data.draw(st.sampled_from(sorted({"t", *required})))]
    with pytest.raises(DecodeError):
        decode(json.dumps(obj).encode())


@FAST
@given(message=messages, data=st.data())
def test_wrong_type_is_refused(message: Message, data: st.DataObject) -> None:
    fields = field_types(type(message))
    field, tp = data.draw(st.sampled_from(fields))
    # Judge the value as it parses: an escaped surrogate pair turns into one character.
    wrong = data.draw(jsonish.filter(lambda v: not conforms(tp, json.loads(json.dumps(v)))))
    obj = as_object(message)
    obj[field] = wrong
    with pytest.raises(DecodeError):
        decode(dump_json(obj, ascii_only=True))


@FAST
@given(message=messages, key=any_text, value=jsonish)
def test_extra_key_is_refused(message: Message, key: str, value: Any) -> None:
    obj = as_object(message)
    assume(key not in obj)
    obj[key] = value
    with pytest.raises(DecodeError):
        decode(dump_json(obj, ascii_only=True))


@FAST
@given(message=messages, kind=any_text.filter(lambda k: k not in MESSAGE_TYPES))
@example(message=Ack(id="a", reply_to="b"), kind="ack")
@example(message=Ack(id="a", reply_to="b"), kind="Entry")
@example(message=Ack(id="a", reply_to="b"), kind="Message")
@example(message=Ack(id="a", reply_to="b"), kind="__class__")
def test_unknown_type_is_refused(message: Message, kind: str) -> None:
    obj = as_object(message)
    obj["t"] = kind
    with pytest.raises(DecodeError):
        decode(dump_json(obj, ascii_only=True))


@FAST
@given(message=messages, kind=jsonish.filter(lambda k: type(k) is not str))
def test_non_string_type_is_refused(message: Message, kind: Any) -> None:
    obj = as_object(message)
    obj["t"] = kind
    with pytest.raises(DecodeError):
        decode(dump_json(obj, ascii_only=True))


def welcome() -> Welcome:
    return Welcome(
        id="w",
        reply_to="r",
        name="alice",
        token="tok",
        version=3,
        entries=(Entry("alice", "10.0.0.1", 5000, True), Entry("bob", "10.0.0.2", 5001, False)),
        mail=(StoredMessage("m1", "bob", "hi", "2024-01-01 10:00:00", "direct"),),
        aliases=(Alias("robert", "bob"),),
    )


@pytest.mark.parametrize(
    "mutate",
    [
        lambda o: o["entries"][0].__delitem__(slice(3, None)),  # record too short
        lambda o: o["entries"][0].append(1),  # record too long
        lambda o: o["entries"].__setitem__(0, {"name": "alice"}),  # record as an object
        lambda o: o["entries"][1].__setitem__(3, 0),  # online as an int
        lambda o: o["entries"][1].__setitem__(2, "5001"),  # port as a string
        lambda o: o["mail"][0].__setitem__(0, None),  # id as null
        lambda o: o["mail"].append("m2"),  # a string where a record belongs
        lambda o: o.__setitem__("entries", {}),  # an object where a list belongs
        lambda o: o.__setitem__("mail", None),
    ],
)
def test_broken_records_are_refused(mutate: Any) -> None:
    obj = as_object(welcome())
    assert decode(json.dumps(obj).encode()) == welcome()
    mutate(obj)
    with pytest.raises(DecodeError):
        decode(json.dumps(obj).encode())


@pytest.mark.parametrize("data", [b"[]", b'"Ack"', b"1", b"null", b"true", b'[{"t":"Ack"}]'])
def test_top_level_must_be_an_object(data: bytes) -> None:
    with pytest.raises(DecodeError):
        decode(data)


def test_room_list_counts_must_be_ints() -> None:
    good = RoomList(id="a", reply_to="b", rooms=("lobby",), counts=(2,))
    assert decode(encode(good)) == good
    with pytest.raises(DecodeError):
        decode(b'{"t":"RoomList","id":"a","reply_to":"b","rooms":["lobby"],"counts":[true]}')


# -- lone surrogates ----------------------------------------------------------------------

SURROGATE_SPELLINGS = [
    r"\ud800",
    r"\udfff",
    r"\udc00",
    r"a\ud800b",
    r"\ud800\u0041",  # high surrogate not followed by a low one
    r"\udc00\ud800",  # a pair in the wrong order
    r"\ud83d",  # half an emoji
]

SURROGATE_TEMPLATES = [
    '{"t":"Notice","id":"a","text":"%s","quitter":""}',
    '{"t":"Notice","id":"%s","text":"a","quitter":""}',
    '{"t":"MailTaken","id":"a","name":"n","token":"t","ids":["ok","%s"]}',
    '{"t":"TableUpdate","id":"a","version":1,"entries":[["%s","10.0.0.1",1,true]]}',
    '{"t":"Welcome","id":"a","reply_to":"b","name":"n","token":"t","version":1,'
    '"entries":[],"mail":[["m","s","%s","stamp","direct"]]}',
    '{"t":"Notice","id":"a","text":"b","quitter":"","%s":"c"}',  # an extra key
    '{"t":"%s","id":"a","text":"b"}',  # the type name
]


@pytest.mark.parametrize("spelling", SURROGATE_SPELLINGS)
@pytest.mark.parametrize("template", SURROGATE_TEMPLATES)
def test_lone_surrogates_are_refused(template: str, spelling: str) -> None:
    data = (template % spelling).encode("ascii")
    with pytest.raises(DecodeError):
        decode(data)


@pytest.mark.parametrize("raw", [b"\xed\xa0\x80", b"\xed\xbf\xbf", b"a\xed\xb0\x80"])
def test_raw_encoded_surrogates_are_refused(raw: bytes) -> None:
    # json.loads decodes bytes with "surrogatepass", so CESU-8 bytes reach the checks.
    with pytest.raises(DecodeError):
        decode(b'{"t":"Notice","id":"a","text":"' + raw + b'","quitter":""}')


def test_surrogate_pair_spells_one_character() -> None:
    message = decode(rb'{"t":"Notice","id":"a","text":"\ud83d\ude00","quitter":""}')
    assert message == Notice(id="a", text="\U0001f600")
    assert decode(encode(message)) == message


@FAST
@given(text=st.text(), index=st.integers(0, 100), code=st.integers(0xD800, 0xDFFF))
def test_any_lone_surrogate_in_any_string_is_refused(text: str, index: int, code: int) -> None:
    index = min(index, len(text))
    bad = text[:index] + chr(code) + text[index:]
    obj = {"t": "Chat", "id": "a", "sender": "s", "to": "t", "text": bad}
    with pytest.raises(DecodeError):
        decode(dump_json(obj, ascii_only=True))
    with pytest.raises(DecodeError):
        decode(dump_json(obj, ascii_only=False))


def test_ids_longer_than_the_limit_are_refused() -> None:
    from wire.limits import MAX_ID
    from wire.messages import Ack

    assert decode(encode(Ack("i" * MAX_ID, "r"))) == Ack("i" * MAX_ID, "r")
    for too_long in (Ack("i" * (MAX_ID + 1), "r"), Ack("i", "r" * (MAX_ID + 1))):
        with pytest.raises(DecodeError, match=f"length <= {MAX_ID}"):
            decode(encode(too_long))


def test_every_id_an_acks_lists_is_bounded_like_an_id() -> None:
    from wire.limits import MAX_ID

    fine = Acks("a", ("r1", "r" * MAX_ID))
    assert decode(encode(fine)) == fine
    with pytest.raises(DecodeError, match=f"length <= {MAX_ID}"):
        decode(encode(Acks("a", ("r1", "r" * (MAX_ID + 1)))))


@FAST
@given(dataclass_strategy(Entry), dataclass_strategy(Entry))
def test_record_size_is_what_a_record_adds_to_a_message(first: Entry, second: Entry) -> None:
    one = len(encode(TableUpdate("u", 1, (first,))))
    two = len(encode(TableUpdate("u", 1, (first, second))))
    empty = len(encode(TableUpdate("u", 1, ())))
    assert one - empty == record_size(first)
    assert two - one == record_size(second) + 1  # and the comma


@FAST
@given(st.lists(st.one_of(st.text(max_size=70), st.integers(), st.none()), max_size=30))
@example(["ok", "\ud800"])  # a lone surrogate, which JSON can spell
@example(["é" * 64, "ü"])
def test_an_acks_decodes_exactly_when_every_item_is_an_id(items: list[Any]) -> None:
    """The ids of an Acks are checked as a whole in the usual case: the verdict is still
    the one checking each item as an id would give."""
    from wire.limits import MAX_ID

    def is_id(v: Any) -> bool:
        return (
            type(v) is str and len(v) <= MAX_ID and not any(0xD800 <= ord(c) <= 0xDFFF for c in v)
        )

    data = json.dumps({"t": "Acks", "id": "a", "replies": items}).encode()
    if all(is_id(v) for v in items):
        assert decode(data) == Acks("a", tuple(items))
    else:
        with pytest.raises(DecodeError):
            decode(data)


#: The fields of the chat messages as the protocol bounds them (the text aside).
_CHAT_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "id": st.text(max_size=64),
    "after": st.text(max_size=24),
    "sender": st.from_regex(r"[A-Za-z0-9_.-]{1,32}", fullmatch=True),
    "to": st.from_regex(r"[A-Za-z0-9_.-]{1,32}", fullmatch=True),
    "quitter": st.from_regex(r"[A-Za-z0-9_.-]{0,32}", fullmatch=True),
    "room": st.from_regex(r"[A-Za-z0-9_.-]{1,32}", fullmatch=True),
    "token": st.text(alphabet="0123456789abcdef", max_size=32),
    "key": st.from_regex(r"[A-Za-z0-9_-]{0,43}", fullmatch=True),
    "saved_by": st.from_regex(r"[A-Za-z0-9_-]{0,43}", fullmatch=True),
    "ticket": st.from_regex(r"([A-Za-z0-9_-]{43})?", fullmatch=True),
    "stamp": st.just("2026-11-21 10:00:00"),
    "history": st.booleans(),
    "topic": st.booleans(),
    "typed": st.integers(min_value=-MAX_INT, max_value=MAX_INT),
}
_CHAT_NAMES = sorted(
    {"Chat", "SaveMessage", "ChannelPost", "ChannelMessage", "RoomPost", "RoomMessage"}
    | {"RoomNotice", "Notice"}
)


def _chat(name: str, text: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    cls = MESSAGE_TYPES[name]
    fields = {
        name: text if name == "text" else _CHAT_FIELDS[name] for name in cls.__struct_fields__
    }
    return st.builds(cls, **fields)


@settings(max_examples=examples(300), deadline=None)
@given(st.sampled_from(_CHAT_NAMES).flatmap(lambda n: _chat(n, st.text(max_size=3 * SHORT_TEXT))))
def test_travels_by_stream_says_what_the_encoded_size_says(message: Any) -> None:
    # its shortcut (a short text always fits) never lies, whatever the characters
    assert travels_by_stream(message) == (not fits_datagram(encode(message)))
    if len(message.text) <= SHORT_TEXT:
        assert fits_datagram(encode(message))


@settings(max_examples=examples(300), deadline=None)
@given(
    st.builds(
        MESSAGE_TYPES["Saved"],
        id=_CHAT_FIELDS["id"],
        reply_to=_CHAT_FIELDS["id"],
        to=_CHAT_FIELDS["to"],
        delivered=st.booleans(),
        refused=st.text(max_size=3 * SHORT_TEXT),
    )
)
def test_travels_by_stream_is_right_about_a_save_outcome(message: Any) -> None:
    # the outcome of every save takes the shortcut too (a short sentence always fits)
    assert travels_by_stream(message) == (not fits_datagram(encode(message)))
    if len(message.refused) <= SHORT_TEXT:
        assert fits_datagram(encode(message))


def test_a_long_text_travels_by_stream() -> None:
    long = MESSAGE_TYPES["Chat"]("a-1", "alice", "bob", "\x01" * 300)  # type: ignore[call-arg]
    assert travels_by_stream(long)


# -- another version's messages ----------------------------------------------------------


def _answers(name: str) -> bool:
    return bool(set(MESSAGE_TYPES[name].__struct_fields__) & {"reply_to", "replies"})


@FAST
@given(
    message=messages, extra=st.sampled_from(["format", "colour", "priority"]), drop=st.booleans()
)
def test_another_versions_message_names_its_type_and_the_id_to_refuse(
    message: Message, extra: str, drop: bool
) -> None:
    # A field more (a newer version) or one fewer (an older one): the error says which type
    # it was, and gives its id when it is a request or push, never when it is an answer.
    # (A field with a default may be left out by design: an older sender's message.)
    obj = as_object(message)
    kind = obj["t"]
    required = {f.name for f in msgspec.structs.fields(type(message)) if f.required}
    droppable = [k for k in obj if k in required and k != "id"]
    if drop and droppable:
        del obj[droppable[0]]
    else:
        obj[extra] = 1
    with pytest.raises(OtherVersion) as caught:
        decode(json.dumps(obj).encode())
    assert caught.value.kind == kind
    expected = "" if _answers(kind) or not obj["id"] else obj["id"]
    assert caught.value.request_id == expected


def test_a_field_of_another_type_is_another_version_too() -> None:
    with pytest.raises(OtherVersion) as caught:
        decode(b'{"t":"Chat","id":"a-1","sender":"alice","to":"bob","text":["rich","text"]}')
    assert (caught.value.kind, caught.value.request_id) == ("Chat", "a-1")


@pytest.mark.parametrize(
    "data",
    [
        b'{"t":"Register","id":7,"name":"x","port":1,"token":"","password":""}',
        b'{"t":"Register","name":"x","port":1,"token":"","password":"","v":2}',
        b'{"t":"Register","id":"' + b"i" * 65 + b'","name":"x","port":1,"v":2}',
        b'{"t":"Ack","id":"a-1","reply_to":"b-1","v":2}',
    ],
)
def test_no_id_to_refuse_without_a_usable_one_or_for_an_answer(data: bytes) -> None:
    with pytest.raises(OtherVersion) as caught:
        decode(data)
    assert caught.value.request_id == ""


def test_an_unknown_type_is_not_another_version() -> None:
    with pytest.raises(DecodeError) as caught:
        decode(b'{"t":"Hologram","id":"a-1"}')
    assert not isinstance(caught.value, OtherVersion)


_cell = st.one_of(
    st.text(max_size=6),
    st.integers(-(2**70), 2**70),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
    st.just("\ud800"),  # a lone surrogate, as JSON can spell one
    st.just("é"),
)
_row = st.one_of(
    st.tuples(st.text(max_size=8), st.text(max_size=8), st.integers(0, 65535), st.booleans()).map(
        list
    ),
    st.lists(_cell, max_size=5),
    _cell,
)


@given(st.lists(_row, max_size=8))
def test_a_table_decodes_exactly_when_every_row_is_an_entry(rows: list[Any]) -> None:
    """A table's rows, by the thousand in a join storm, are checked in one pass: the
    TableUpdate decodes exactly when the reference takes every row, to the same records."""
    obj = {"t": "TableUpdate", "id": "u1", "version": 3, "entries": rows}
    data = dump_json(obj, ascii_only=True)
    expected = reference_decode(json.loads(data))
    if expected is None:
        with pytest.raises(DecodeError):
            decode(data)
    else:
        got = decode(data)
        assert got == expected
        assert all(type(r) is Entry for r in got.entries)
