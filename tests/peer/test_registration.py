"""Registering: the Welcome taken, with the table, the mailbox and the lines typed
before it; the next part of the mailbox."""

from __future__ import annotations

import msgspec

from peer.core import actions as pa
from peer.core.change_lines import TABLE_UPDATED
from peer.core.lifecycle import LifePhase
from peer.core.registration import WELCOME, YOU_HAVE_MESSAGES, Registering
from peer.core.shared import Shared
from peer.core.table_news import TableNews
from tests.peer.parts_kit import ME, T0, link, prints, sent, shared
from wire.messages import Chat, Entry, MailTaken, MoreMail, Register, StoredMessage, Welcome
from wire.version import WIRE_VERSION

#: The first registration, which a Welcome answers.
REGISTER = Register("a-1", "alice", 6001, "", "", WIRE_VERSION)


def registration(made: Shared | None = None) -> Registering:
    """The part, over `made` (alice's state, not registered yet, if not given)."""
    made = shared(registered=False) if made is None else made
    registry = link(made)
    return Registering(made, registry, TableNews(made, registry))


MAIL = (StoredMessage("b-1", "bob", "hi", "2023-11-14 22:13", "direct"),)


def welcome(**changes: object) -> Welcome:
    base = Welcome("r-1", "a-1", "alice", "tok", 3, (Entry("alice", *ME, True),), MAIL, ())
    return msgspec.structs.replace(base, **changes)


def test_a_welcome_registers_shows_the_table_and_the_mail_then_the_lines_typed() -> None:
    made = shared(registered=False)
    done = registration(made)
    made.early_lines.append("who")
    done.after_welcome.append(pa.Print("[key line]", "system"))
    out: list[pa.Action] = []
    done.register_answered(
        Register("a-1", "alice", 6001, "", "", WIRE_VERSION), welcome(token="new"), T0, out.append
    )
    assert made.life.phase is LifePhase.REGISTERED and made.state.token == "new"
    assert pa.Remember("alice", "new") in out
    assert prints(out) == [
        WELCOME,
        "[key line]",
        TABLE_UPDATED,
        YOU_HAVE_MESSAGES,
        "bob: 2023-11-14 22:13 hi",
    ]
    [then] = [a.then for a in out if isinstance(a, pa.OnceShown)]
    assert [type(m) for m in sent(list(then))] == [MailTaken]  # once the mail is shown
    # carried out once the event settles, before any line typed after it
    assert list(made.lines_after_change) == ["who"] and done.after_welcome == []


def test_a_welcome_under_a_new_name_says_the_rename_done_as_we_stopped() -> None:
    made = shared(registered=False)
    done = registration(made)
    out: list[pa.Action] = []
    done.register_answered(REGISTER, welcome(name="alicia", mail=()), T0, out.append)
    assert prints(out)[0] == "[alice was renamed alicia as ChatApp stopped; you are alicia.]"
    assert made.state.name == "alicia"


def test_more_mail_is_shown_only_while_registered() -> None:
    done = registration()
    out: list[pa.Action] = []
    taken = MailTaken("a-5", "alice", "tok", ("b-0",))
    done.more_mail(taken, MoreMail("r-2", "a-5", MAIL), T0, out.append)
    assert out == []
    done.register_answered(REGISTER, welcome(mail=()), T0, out.append)
    out.clear()
    done.more_mail(taken, MoreMail("r-2", "a-5", MAIL), T0, out.append)
    assert "bob: 2023-11-14 22:13 hi" in prints(out)


def test_a_line_held_for_one_the_mailbox_brings_follows_it_at_once() -> None:
    # bob's b-2 names b-1, which missed alice and went to the registry's mailbox: b-2 is
    # shown as soon as the mailbox has shown b-1, not after its wait
    made = shared(registered=False)
    done = registration(made)
    out: list[pa.Action] = []
    done.register_answered(REGISTER, welcome(mail=()), T0, out.append)
    later = Chat("b-2", "bob", "alice", "later", after="b-1")
    key = made.inbox.accept("bob", "b-2")
    assert key is not None
    made.inbox.show(later, key, pa.Print("bob: later", "message", "bob"), T0, out.append)
    out.clear()
    taken = MailTaken("a-5", "alice", "tok", ("b-0",))
    done.more_mail(taken, MoreMail("r-2", "a-5", MAIL), T0 + 1, out.append)
    assert prints(out) == [YOU_HAVE_MESSAGES, "bob: 2023-11-14 22:13 hi", "bob: later"]
