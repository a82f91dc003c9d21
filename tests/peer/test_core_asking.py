"""PeerCore as a whole, the `message` command's questions."""

from __future__ import annotations

from peer.core.shared import NO_USER
from tests.peer.core_kit import (
    T0,
    prints,
    registered,
    sent,
)
from wire.messages import (
    Chat,
)


def test_message_command_asks_for_recipient_then_text() -> None:
    core, _ = registered()
    assert prints(core.line("message", T0)) == ["[To whom?]"]
    assert prints(core.line("bob", T0)) == ["[Message to bob?]"]
    [chat] = sent(core.line("hi from the dialogue", T0))
    assert isinstance(chat, Chat) and chat.text == "hi from the dialogue"


def test_the_core_says_which_question_the_next_line_answers() -> None:
    # the terminal completes a name alone, and keeps answers out of the command history, by it
    core, _ = registered()
    assert core.question() == ""
    core.line("message", T0)
    assert core.question() == "recipient"
    core.line("bob", T0)
    assert core.question() == "text"
    core.line("hi", T0)
    assert core.question() == ""
    core.line("message bob", T0)
    assert core.question() == "text"
    core.line("", T0)  # an empty answer (or Ctrl-C, which types one) cancels
    assert core.question() == ""


def test_message_names_the_recipient_as_the_table_spells_it() -> None:
    # names ignore case: what is shown of one is the table's spelling, not the typed one
    core, _ = registered()
    core.line("message", T0)
    assert prints(core.line("BOB", T0)) == ["[Message to bob?]"]
    assert core.prompt() == "message to bob: "
    [chat] = sent(core.line("hi", T0))
    assert isinstance(chat, Chat) and chat.to == "bob"
    assert prints(core.line("message Bob", T0)) == ["[Message to bob?]"]


def test_message_with_a_name_asks_only_for_the_text() -> None:
    core, _ = registered()
    assert prints(core.line("message bob", T0)) == ["[Message to bob?]"]
    [chat] = sent(core.line("hi", T0))
    assert isinstance(chat, Chat) and chat.to == "bob" and chat.text == "hi"
    assert prints(core.line("message nobody", T0)) == [NO_USER.format("nobody", "who")]
    assert core.parts.commands.asking is None


def test_message_command_says_at_once_that_there_is_no_such_name() -> None:
    core, _ = registered()
    core.line("message", T0)
    assert prints(core.line("nobody", T0)) == [NO_USER.format("nobody", "who")]
    assert sent(core.line("hello", T0)) == []  # the next line is no longer the text
    assert core.parts.commands.asking is None


def test_message_command_keeps_the_text_as_typed() -> None:
    core, _ = registered()
    core.line("message", T0)
    core.line("  bob ", T0)
    [chat] = sent(core.line("    indented line  ", T0))
    assert isinstance(chat, Chat) and chat.to == "bob" and chat.text == "    indented line"
