"""Commands: the `message` command's questions, the recipient then the text."""

from __future__ import annotations

from peer.core import actions as pa
from peer.core.direct import DirectChats
from peer.core.shared import NO_USER
from peer.core.typed_commands import Commands
from tests.peer.parts_kit import T0, link, prints, sent, shared
from wire.messages import Chat
from wire.reliable import ATTEMPTS, DIRECT_TIMEOUT


def asking() -> Commands:
    made = shared()
    registry = link(made)
    return Commands(made, registry, DirectChats(made, registry, DIRECT_TIMEOUT, ATTEMPTS))


def test_both_questions_answered_send_the_message() -> None:
    ask, out = asking(), list[pa.Action]()
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
    ask, out = asking(), list[pa.Action]()
    ask.ask_message("dave", T0, out.append)
    assert prints(out) == [NO_USER.format("dave", "who")]
    assert not ask.question()
    ask.ask_message("bob", T0, out.append)
    ask.answer_question("", T0, out.append)
    assert prints(out)[-1] == "[Cancelled.]" and not ask.question()
