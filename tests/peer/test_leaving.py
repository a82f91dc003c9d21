"""Leaving: a quit that waits for what is on its way, leaving at once, a dereg or quit
unheard, a start that failed, and a start replaced by another."""

from __future__ import annotations

from peer.core import actions as pa
from peer.core.direct import DirectChats
from peer.core.leaving import OFFLINE_BYE, QUITTING, Leaving
from peer.core.lifecycle import LifePhase
from peer.core.shared import Shared
from tests.peer.parts_kit import (
    BOB,
    REGISTRY_KEY,
    SERVER,
    T0,
    link,
    logged,
    prints,
    sent,
    shared,
)
from wire.limits import MAX_FAREWELL
from wire.messages import Ack, Deregister, Refused, SaveMessage
from wire.refusals import replaced_refusal
from wire.reliable import ATTEMPTS, DIRECT_TIMEOUT


def leaving(*, registered: bool = True) -> tuple[Leaving, DirectChats, Shared]:
    """The part, the direct chats it waits for, and the state they share."""
    made = shared(registered=registered)
    registry = link(made)
    direct = DirectChats(made, registry, DIRECT_TIMEOUT, ATTEMPTS)
    return Leaving(made, registry, direct), direct, made


def test_a_quit_waits_for_a_message_on_its_way_then_deregisters() -> None:
    leave, direct, made = leaving()
    out: list[pa.Action] = []
    direct.send("bob", "hi", T0, out.append)
    leave.quit("bye", T0, out.append)
    assert made.life.phase is LifePhase.QUITTING
    assert prints(out) == [QUITTING]
    leave.settle(T0, out.append)
    assert not any(isinstance(m, Deregister) for m in sent(out))
    direct.chat_answered(Ack("b-1", "a-1"), BOB, T0, out.append)
    out.clear()
    leave.settle(T0, out.append)
    assert sent(out) == [Deregister("a-2", "alice", "tok", True, "bye")]
    assert made.life.phase in {LifePhase.LEAVING}


def test_a_quit_offline_exits_at_once_and_a_long_farewell_is_refused() -> None:
    leave, _, made = leaving(registered=False)
    out: list[pa.Action] = []
    leave.quit("", T0, out.append)
    assert out == [pa.ExitPeer(0)]
    leave, _, made = leaving()
    leave.quit("x" * (MAX_FAREWELL + 1), T0, out.append)
    assert "Not quitting." in prints(out)[-1]
    assert made.life.phase is LifePhase.REGISTERED


def test_the_quits_deregister_answered_says_bye_and_exits() -> None:
    leave, _, made = leaving()
    made.state.room = "lobby"
    out: list[pa.Action] = []
    leave.quit("", T0, out.append)
    leave.settle(T0, out.append)
    dereg = sent(out)[-1]
    assert isinstance(dereg, Deregister)
    out.clear()
    leave.deregistered(dereg, Ack("r-1", dereg.id), T0, out.append)
    assert prints(out) == [
        "[You left lobby; your next start goes back to it.]",
        OFFLINE_BYE,
    ]
    assert out[-1] == pa.ExitPeer(0) and made.life.phase is LifePhase.GONE


def test_leaving_at_once_keeps_what_is_on_its_way_and_tells_the_registry() -> None:
    leave, direct, made = leaving()
    out: list[pa.Action] = []
    direct.send("bob", "hi", T0, out.append)
    actions = leave.leave_now()
    save = SaveMessage("a-1", "alice", "tok", "bob", "hi")
    assert logged(made.settling.records) == (save,)
    assert "[1 message not yet delivered kept; sent at your next start.]" in prints(actions)
    assert actions[-1] == pa.SendSealed(
        SERVER, Deregister("a-2", "alice", "tok", True, ""), REGISTRY_KEY
    )
    assert made.life.phase is LifePhase.LEFT


def test_a_dereg_unheard_keeps_the_outbox_and_leaves_the_room() -> None:
    leave, direct, made = leaving()
    made.state.room = "lobby"
    out: list[pa.Action] = []
    direct.send("bob", "hi", T0, out.append)
    leave.unheard(Deregister("a-9", "alice", "tok", False, ""), out.append)
    assert prints(out)[-2:] == [
        "[You left lobby; your next start is in no room.]",
        "[1 message kept in your outbox; sent at your next start.]",
    ]
    assert made.state.room == ""


def test_a_failed_start_says_the_lines_not_carried_out_and_exits_1() -> None:
    leave, _, made = leaving(registered=False)
    made.early_lines.append("who")
    out: list[pa.Action] = []
    leave.never_started(out.append)
    assert out[-1] == pa.ExitPeer(1) and made.life.phase is LifePhase.START_FAILED


def test_replaced_keeps_what_is_on_its_way_says_so_once_and_exits_1() -> None:
    leave, direct, made = leaving()
    out: list[pa.Action] = []
    direct.send("bob", "hi", T0, out.append)
    leave.quit("bye", T0, out.append)
    out.clear()
    code, reason = replaced_refusal("alice", "127.0.0.1:6009", online=True, deregistered=False)
    refusal = Refused("r-1", "a-9", reason, code)
    leave.replaced(refusal, out.append)
    leave.replaced(refusal, out.append)
    assert out.count(pa.ExitPeer(1)) == 1
    assert "This start stops: it no longer sends as alice." in prints(out)[0]
    assert made.life.phase is LifePhase.REPLACED and made.life.farewell is None


def test_what_a_quit_would_leave_undone_is_said_for_the_question_before_it() -> None:
    leave, _direct, made = leaving()
    assert leave.unfinished() == []  # nothing: the quit is not asked about
    made.lines_after_change.extend(["send bob one", None])  # carried out before the quit
    assert leave.unfinished() == []
    made.settling.hold(SaveMessage("a-1", "alice", "tok", "carol", "later"))
    assert leave.unfinished() == ["1 message waits in your outbox"]
    made.settling.hold(SaveMessage("a-2", "alice", "tok", "carol", "more"))
    assert leave.unfinished() == ["2 messages wait in your outbox"]


def test_lines_typed_before_the_welcome_are_asked_about_and_said_when_left_at_once() -> None:
    leave, _direct, made = leaving(registered=False)
    assert made.life.phase is LifePhase.STARTING
    made.early_lines.extend(["send bob hi", "  ", None])
    made.settling.hold(SaveMessage("a-1", "alice", "tok", "carol", "later"))
    assert leave.unfinished() == [
        "1 line typed waits for the registry",
        "1 message waits in your outbox",
    ]
    said = prints(leave.leave_now())
    assert "[Not carried out, as you left at once: send bob hi]" in said
    assert not made.early_lines and leave.unfinished() == ["1 message waits in your outbox"]
