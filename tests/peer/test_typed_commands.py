"""Commands: the channel, who and whois, dereg and reg, help and the mistakes said, and the
`message` command's questions, the recipient then the text."""

from __future__ import annotations

from peer.core import actions as pa
from peer.core.shared import NO_USER
from tests.peer.parts_kit import T0, commands, prints, sent, shared
from wire.messages import ChannelPost, Chat, Deregister, Register, RoomsRequest


def test_a_channel_post_is_kept_until_settled_and_sent() -> None:
    made, out = shared(), list[pa.Action]()
    commands(made).send_all("hi all", T0, out.append)
    post = ChannelPost("a-1", "alice", "tok", "hi all")
    assert made.settling.records == [post] and sent(out) == [post]


def test_dereg_and_reg_are_for_ourselves_and_only_when_they_change_something() -> None:
    typed, out = commands(shared()), list[pa.Action]()
    typed.dereg("bob", T0, out.append)
    typed.reg("alice", T0, out.append)
    assert prints(out) == [
        "[You can only dereg yourself (dereg alice).]",
        "[You are already registered.]",
    ]
    typed.dereg("ALICE", T0, out.append)
    assert sent(out) == [Deregister("a-1", "alice", "tok", False, "")]
    offline, out = commands(shared(registered=False)), []
    offline.reg("alice", T0, out.append)
    assert [type(m) for m in sent(out)] == [Register]


def test_who_help_rooms_and_mistakes() -> None:
    made = shared()
    typed, out = commands(made), list[pa.Action]()
    typed.who("", T0, out.append)
    assert prints(out)[0] == "[Registered names:]"
    out.clear()
    typed.help("who", T0, out.append)
    typed.mistake("Usage: who [-l]", T0, out.append)
    typed.list_rooms(T0, out.append)
    assert prints(out)[-1] == "[Usage: who [-l]]" and sent(out) == [RoomsRequest("a-1")]
    made.state.room = "lobby"
    typed.for_server("/who", T0, out.append)
    assert prints(out)[-1] == "[Not said in lobby; in a room, commands need their /: /who]"


def test_whois_gives_both_fingerprints_or_says_why_not() -> None:
    typed, out = commands(shared()), list[pa.Action]()
    # as send and message say it: the same words, and where to see the names
    typed.whois("dave", T0, out.append)
    assert out == [pa.Print(NO_USER.format("dave", "who"), "error")]
    typed.whois("carol", T0, out.append)
    assert "has no key yet" in prints(out)[1]


def test_both_questions_answered_send_the_message() -> None:
    ask, out = commands(shared()), list[pa.Action]()
    ask.ask_message("", T0, out.append)
    assert ask.question() == "recipient" and ask.question_prompt() == "message to: "
    ask.answer_question("BOB", T0, out.append)  # the name as the table spells it
    assert ask.asking == "bob" and ask.question() == "text"
    assert ask.question_prompt() == "message to bob: "
    ask.answer_question("  hi there ", T0, out.append)
    assert prints(out) == ["[To whom?]", "[Message to bob?]"]
    assert sent(out) == [Chat("a-1", "alice", "bob", "  hi there")]
    assert not ask.question() and ask.question_prompt() is None


def test_an_empty_answer_or_an_unknown_name_cancels() -> None:
    ask, out = commands(shared()), list[pa.Action]()
    ask.ask_message("dave", T0, out.append)
    assert prints(out) == [NO_USER.format("dave", "who")]
    assert not ask.question()
    ask.ask_message("bob", T0, out.append)
    ask.answer_question("", T0, out.append)
    assert prints(out)[-1] == "[Cancelled.]" and not ask.question()
