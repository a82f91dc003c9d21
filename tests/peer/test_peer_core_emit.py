"""PeerCore's `emit`: handed each action the moment it is decided, in the order the entry
point would have returned them (the adapter carries each out as it comes)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from peer.core import actions as pa
from tests.peer.core_kit import BOB, SERVER, T0, registered
from tests.peer.honest import REGISTRY_KEY, honest_key
from wire.messages import Ack, ChannelMessage, Chat, Message

LINES = ["send bob hi", "send_all all", "who", "join r", "leave", "nick ann", "bogus", "help"]
ARRIVALS: list[tuple[Message, tuple[str, int]]] = [
    (Chat("b-1", "bob", "alice", "hi"), BOB),
    (ChannelMessage("b-2", "bob", "to all"), SERVER),
    (Ack("r-1", "nothing-in-flight"), SERVER),
]


def test_a_typed_line_hands_each_action_over_as_it_is_decided() -> None:
    core, _ = registered()
    handed: list[pa.Action] = []
    assert core.line("send bob hi", T0, handed.append) == []  # handed over, none returned
    assert [type(a) for a in handed][:2] == [pa.SendSealed, pa.PinKey]
    assert [type(r) for r in core.records] == [Chat]  # a record, for after the event


def test_a_datagram_of_channel_messages_shows_each_new_one_once_and_acks_every_copy() -> None:
    """The relay's datagram, channel messages only: one Shown records the new ones (a copy
    within it, or one shown before, is not new), their lines follow, every copy is acked."""
    core, _ = registered()
    core.receive(ChannelMessage("b-0", "bob", "before"), SERVER, REGISTRY_KEY, T0)
    messages: list[Message] = [ChannelMessage(f"b-{i}", "BOB", f"line {i}") for i in (0, 1, 1, 2)]
    actions = core.receive_all(messages, SERVER, REGISTRY_KEY, T0)
    records = [a for a in actions if isinstance(a, pa.Shown)]
    assert records == [pa.Shown((("bob", "b-1"), ("bob", "b-2")))]
    lines = [a.text for a in actions if isinstance(a, pa.Print)]
    assert lines == ["[Channel_Message BOB: line 1]", "[Channel_Message BOB: line 2]"]
    assert [a for a in actions if isinstance(a, pa.AcksLater)] == [
        pa.AcksLater(SERVER, REGISTRY_KEY, ["b-0", "b-1", "b-1", "b-2"])
    ]


@given(st.lists(st.one_of(st.sampled_from(LINES), st.integers(0, len(ARRIVALS) - 1)), max_size=8))
def test_what_is_handed_over_is_what_would_have_been_returned(steps: list[str | int]) -> None:
    """Two cores alike, one returning its actions and one handing them to `emit`: the same
    actions, in the same order, event by event."""
    returned, _ = registered()
    handed, _ = registered()
    for t, step in enumerate(steps):
        now = T0 + t
        got: list[pa.Action] = []
        if isinstance(step, str):
            expected = returned.line(step, now)
            assert handed.line(step, now, got.append) == []
        else:
            message, addr = ARRIVALS[step]
            expected = returned.receive(message, addr, honest_key(returned, message, addr), now)
            assert (
                handed.receive(message, addr, honest_key(handed, message, addr), now, got.append)
                == []
            )
        assert got == expected  # the ids each makes for itself too: made in the same order


def test_a_datagram_of_several_messages_is_taken_as_one_event() -> None:
    """The messages of the datagram recorded in one Shown, then shown in order, as if each
    came alone; then one AcksLater acks them all (as every ack to the registry: the adapter
    sends it as its pass ends), and what follows an event (the prompt, the outbox kept) is
    done once, after them."""
    messages: list[Message] = [ChannelMessage(f"b-{i}", "bob", f"line {i}") for i in range(3)]
    together, _ = registered()
    one_by_one, _ = registered()
    actions = together.receive_all(messages, SERVER, REGISTRY_KEY, T0)
    alone = [a for m in messages for a in one_by_one.receive(m, SERVER, REGISTRY_KEY, T0)]
    others = pa.SendSealed | pa.AcksLater | pa.Shown
    unsent = [a for a in actions if not isinstance(a, others)]
    assert unsent == [a for a in alone if not isinstance(a, others)]
    ids = [f"b-{i}" for i in range(3)]
    assert [a for a in actions if isinstance(a, pa.AcksLater)] == [
        pa.AcksLater(SERVER, REGISTRY_KEY, ids)
    ]
    [record] = [n for n, a in enumerate(actions) if isinstance(a, pa.Shown)]
    assert actions[record] == pa.Shown(tuple(("bob", f"b-{i}") for i in range(3)))
    assert record < min(n for n, a in enumerate(actions) if isinstance(a, pa.Print))
    assert not [a for a in actions if isinstance(a, pa.SendSealed)]
    assert together.tick(T0) == []
    lines = [a.text for a in actions if isinstance(a, pa.Print)]
    assert lines == [f"[Channel_Message bob: line {i}]" for i in range(3)]
