"""Settling: a Sending record when a message is typed, its id once nothing of it is on
its way; a line typed names the last not settled for the same people."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from peer.core.settling import Settling, audience
from tests.hypothesis_profiles import examples
from wire.messages import ChannelPost, Chat, Leave, RoomPost, SaveMessage


def test_a_typed_message_is_settled_once_no_longer_on_its_way() -> None:
    settling = Settling()
    post = ChannelPost("a-1", "alice", "tok", "hi")
    out = settling.records
    settling.keep(post)
    assert out == [post]
    settling.maybe("a-1")
    settling.settle(lambda msg_id: True)  # still on its way: kept
    assert out == [post]
    settling.maybe("a-1")
    settling.settle(lambda msg_id: False)
    assert out[-1] == "a-1"
    settling.maybe("a-1")
    settling.settle(lambda msg_id: False)  # settled once
    assert out.count("a-1") == 1


def test_an_answer_about_a_message_never_typed_settles_nothing() -> None:
    settling = Settling()
    settling.maybe("r-9")
    settling.settle(lambda msg_id: False)
    assert settling.records == []


def test_dropping_from_the_outbox_says_whether_it_was_kept() -> None:
    leave = Leave("a-2", "alice", "tok")
    outbox = Settling([leave])
    assert outbox.stop_holding(leave) is True
    assert outbox.stop_holding(leave) is False
    assert outbox.outbox == ()


def test_a_line_kept_names_the_last_one_not_settled_for_the_same_people() -> None:
    settling = Settling()
    typed = [
        ChannelPost("a-1", "alice", "tok", "hi all"),
        RoomPost("a-2", "alice", "tok", "Team", "hi team"),
        Chat("a-3", "alice", "Bob", "hi bob"),
        SaveMessage("a-4", "alice", "tok", "carol", "later"),
        ChannelPost("a-5", "alice", "tok", "again"),
        RoomPost("a-6", "alice", "tok", "team", "again"),
        RoomPost("a-7", "alice", "tok", "other", "elsewhere"),
        Chat("a-8", "alice", "bob", "again"),
        Chat("a-9", "alice", "carol", "again"),
    ]
    kept = [settling.keep(line) for line in typed]
    assert [line.after for line in kept] == ["", "", "", "", "a-1", "a-2", "", "a-3", "a-4"]
    settling.settled("a-8")
    settling.settled("a-3")
    assert settling.keep(Chat("a-10", "alice", "bob", "alone")).after == ""
    # renamed: the lines sent under the old name are not named (receivers know them by it)
    assert settling.keep(Chat("a-11", "alicia", "bob", "renamed")).after == ""
    assert settling.keep(ChannelPost("a-12", "alicia", "tok", "renamed")).after == ""


def test_the_last_one_not_settled_is_named_after_acks_out_of_order_and_after_a_restart() -> None:
    settling = Settling([Chat("e-1", "alice", "bob", "from an earlier run")])
    kept = [settling.keep(Chat(f"a-{n}", "alice", "bob", "hi")) for n in (1, 2, 3)]
    assert [line.after for line in kept] == ["e-1", "a-1", "a-2"]
    settling.settled("a-3")  # acked before the two typed before it
    assert settling.keep(Chat("a-4", "alice", "Bob", "again")).after == "a-2"
    settling.settled("a-4")
    settling.settled("a-2")
    settling.settled("a-1")
    assert settling.keep(Chat("a-5", "alice", "bob", "again")).after == "e-1"


def test_a_direct_message_kept_as_made_there_is_kept_as_keep_keeps_it() -> None:
    kept, made = Settling(), Settling()
    for n, (sender, to) in enumerate([("alice", "bob"), ("alice", "Bob"), ("alice", "carol")] * 2):
        chat = Chat(f"a-{n}", sender, to, "hi")
        assert made.keep_chat(chat.id, sender, to, "hi") == kept.keep(chat)
        assert made.records == kept.records and made.unsettled == kept.unsettled
    # renamed: another name of ours, another audience; the same name made anew, the same
    assert made.keep_chat("a-9", "alicia", "bob", "hi").after == ""
    assert made.keep_chat("a-10", "".join(["ali", "cia"]), "bob", "hi").after == "a-9"


#: A line of each audience, by its id: to bob (as two spellings), to carol, the channel, a room.
LINES = (
    lambda i: Chat(i, "alice", "bob", "hi"),
    lambda i: Chat(i, "alice", "Bob", "hi"),
    lambda i: Chat(i, "alice", "carol", "hi"),
    lambda i: ChannelPost(i, "alice", "tok", "hi"),
    lambda i: RoomPost(i, "alice", "tok", "team", "hi"),
)


@settings(max_examples=examples(300), deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["keep", "settled", "hold", "hold new"]),
            st.integers(0, len(LINES) - 1),
            st.integers(0, 50),
        ),
        max_size=40,
    )
)
def test_a_line_kept_names_the_last_one_not_settled_for_its_people_whatever_came_before(
    steps: list[tuple[str, int, int]],
) -> None:
    settling, typed = Settling(), []
    for n, (step, who, pick) in enumerate(steps):
        line = LINES[who](f"a-{n}")
        if step == "keep":
            last = [i for i, m in settling.unsettled.items() if audience(m) == audience(line)]
            if type(line) is Chat and pick % 2:  # as a direct message typed is kept
                kept = settling.keep_chat(line.id, line.sender, line.to, line.text)
                assert kept == replace(line, after=kept.after)
            else:
                kept = settling.keep(line)
            assert kept.after == (last[-1] if last else "")
            typed.append(line)
        elif step == "hold new":  # not typed: held after all the others
            settling.hold(line)
        elif typed and step == "settled":
            settling.settled(typed[pick % len(typed)].id)
        elif typed:
            settling.hold(typed[pick % len(typed)])
