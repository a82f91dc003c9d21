"""PeerCore as a whole, leaving: /quit, leaving at once, a start replaced by another."""

from __future__ import annotations

import pytest

from peer.core import actions as pa
from peer.core.direct import NO_ACK, RECEIVED_BY
from peer.core.dispatch import PeerCore
from peer.core.leaving import QUITTING
from peer.core.request_ends import (
    EXITING,
    KEPT_IN_OUTBOX,
    SAVED,
)
from tests.peer.core_kit import (
    BOB,
    DIRECT_ROUND,
    ENTRIES,
    SERVER,
    T0,
    prints,
    registered,
    run_until,
    sent,
)
from tests.peer.honest import REGISTRY_KEY, honest_key
from tests.peer.parts_kit import logged
from wire.limits import MAX_FAREWELL
from wire.messages import (
    Ack,
    ChannelPost,
    Deregister,
    Keepalive,
    Refused,
    RoomList,
    Saved,
    SaveMessage,
    Welcome,
)
from wire.refusals import REPLACED_REFUSAL, RefusalCode, replaced_refusal


def test_a_start_whose_name_another_start_took_says_so_keeps_its_messages_and_exits() -> None:
    """Stopped (kill -STOP) while another start of the same name took it over, the first
    learns it at its next keepalive: it says who holds the name, keeps what it had not
    delivered, sends nothing more (no Deregister, which would reach the other) and exits 1."""
    core = PeerCore(
        name="alice",
        port=6001,
        server=SERVER,
        session="a",
        keepalive=1.0,
        registry_key=REGISTRY_KEY,
    )
    [register] = sent(core.start(T0))
    core.receive(
        Welcome("r-1", register.id, "alice", "tok", 1, ENTRIES, (), ()), SERVER, REGISTRY_KEY, T0
    )
    [chat] = sent(core.line("send bob are you there?", T0 + 0.1))  # bob does not answer yet
    [post] = sent(core.line("send_all hello", T0 + 0.2))
    keepalive = next(m for m in sent(run_until(core, T0 + 1)) if isinstance(m, Keepalive))
    reason = f"{REPLACED_REFUSAL} alice, at 127.0.0.1:6009."
    replaced = RefusalCode.REPLACED
    out = core.receive(
        Refused("r-2", keepalive.id, reason, replaced), SERVER, REGISTRY_KEY, T0 + 1.01
    )
    assert prints(out) == [
        f"[{reason} This start stops: it no longer sends as alice.]",
        "[2 messages not yet delivered kept in this data directory; sent at its next start.]",
    ]
    kept = logged(core.records)
    assert [type(m) for m in kept] == [SaveMessage, ChannelPost]
    assert kept[0].id == chat.id  # type: ignore[attr-defined]
    assert pa.ExitPeer(1) in out and not any(isinstance(m, Deregister) for m in sent(out))
    # the other requests refused in the same way say nothing more
    out = core.receive(Refused("r-3", post.id, reason, replaced), SERVER, REGISTRY_KEY, T0 + 1.02)  # type: ignore[attr-defined]
    assert prints(out) == [] and pa.ExitPeer(1) not in out


@pytest.mark.parametrize(
    ("deregistered", "why"), [(True, "it deregistered"), (False, "it stopped answering")]
)
def test_a_start_whose_name_another_start_took_and_left_says_it_can_take_it_back(
    deregistered: bool, why: str
) -> None:
    # found in a closing note: the line said the other start "holds the name ... at" an
    # address it had left; the registry now says what became of it, and this start adds
    # that starting it again takes the name back (the other start is offline)
    core, _ = registered()
    keepalive = next(m for m in sent(run_until(core, T0 + 11)) if isinstance(m, Keepalive))
    code, reason = replaced_refusal(
        "alice", "127.0.0.1:6009", online=False, deregistered=deregistered
    )
    assert reason.endswith(f"and has since gone offline ({why}).")
    out = core.receive(Refused("r-2", keepalive.id, reason, code), SERVER, REGISTRY_KEY, T0 + 11.01)
    assert prints(out) == [
        f"[{reason} This start stops: it no longer sends as alice; start ChatApp again to "
        "take the name back.]"
    ]
    assert pa.ExitPeer(1) in out


def test_leaving_at_once_keeps_everything_on_its_way_and_tells_the_registry() -> None:
    core, _ = registered()
    [chat] = sent(core.line("send bob are you there?", T0))  # no ack yet: not on disk
    [post] = sent(core.line("send_all hello all", T0))  # the registry has not answered
    [offline] = sent(core.line("send carol for later", T0))  # a save not yet answered
    out = core.leave_now()
    undelivered = logged(core.records)
    assert [m.id for m in undelivered] == [chat.id, post.id, offline.id]  # type: ignore[attr-defined]
    assert isinstance(undelivered[0], SaveMessage) and undelivered[0].to == "bob"
    assert undelivered[0].text == "are you there?" and undelivered[1] == post
    [dereg] = sent(out)
    assert isinstance(dereg, Deregister) and dereg.token == "tok"
    assert prints(out) == ["[3 messages not yet delivered kept; sent at your next start.]"]


def test_after_leaving_at_once_nothing_rewrites_what_was_kept() -> None:
    """Found by CI: the registry's ack of the farewell came before the process had exited,
    and answering it rewrote the outbox without the direct message kept in it a moment
    before (not yet in the outbox proper: before its first retry), removing the file; the
    next start had nothing to send."""
    core, _ = registered()
    sent(core.line("send bob are you there?", T0))
    out = core.leave_now()
    kept = logged(core.records)
    assert kept != ()
    [dereg] = sent(out)
    assert core.receive(Ack("r-9", dereg.id), SERVER, REGISTRY_KEY, T0 + 0.01) == []
    assert core.line("typed as it exits", T0 + 0.02) == []
    assert core.next_wake() is None and core.tick(T0 + 3) == []
    assert logged(core.records) == kept


def test_leaving_at_once_with_nothing_on_its_way_writes_nothing() -> None:
    core, _ = registered()
    [chat] = sent(core.line("send bob hi", T0))
    core.receive(Ack("b-1", chat.id), BOB, honest_key(core, Ack("b-1", chat.id), BOB), T0 + 0.001)  # type: ignore[attr-defined]
    core.records.clear()
    out = core.leave_now()
    assert core.records == [] and prints(out) == [] and [type(m) for m in sent(out)] == [Deregister]


def test_leaving_at_once_keeps_the_outbox_before_what_is_on_its_way() -> None:
    core, _ = registered()
    [first] = sent(core.line("send_all kept while the registry is away", T0))
    run_until(core, T0 + 2.6)  # five tries: kept in the outbox
    assert core.outbox == (first,)
    [chat] = sent(core.line("send bob still typing", T0 + 3))
    core.leave_now()
    undelivered = logged(core.records)
    assert [m.id for m in undelivered] == [first.id, chat.id]  # type: ignore[attr-defined]


def test_quit_deregisters_then_exits_zero() -> None:
    core, _ = registered()
    out = core.line("/quit see you", T0)
    [dereg] = sent(out)
    assert dereg.quitting and dereg.farewell == "see you"  # type: ignore[attr-defined]
    out = core.receive(Ack("r-3", dereg.id), SERVER, REGISTRY_KEY, T0)  # type: ignore[attr-defined]
    assert pa.ExitPeer(0) in out


def test_a_farewell_over_the_limit_is_refused_and_the_peer_stays() -> None:
    core, _ = registered()
    out = core.line("/quit " + "g" * (MAX_FAREWELL + 1), T0)
    assert sent(out) == [] and pa.ExitPeer(0) not in out
    assert prints(out) == [
        f"[A farewell has at most {MAX_FAREWELL} characters; yours has {MAX_FAREWELL + 1}. "
        "Not quitting.]"
    ]
    [dereg] = sent(core.line("/quit " + "g" * MAX_FAREWELL, T0))
    assert dereg.farewell == "g" * MAX_FAREWELL  # type: ignore[attr-defined]


def test_quit_waits_for_a_direct_message_on_its_way() -> None:
    core, _ = registered()
    [chat] = sent(core.line("send bob typed just before quitting", T0))
    out = core.end_of_input(T0)
    assert sent(out) == [] and prints(out) == [QUITTING]
    out = core.receive(
        Ack("b-1", chat.id), BOB, honest_key(core, Ack("b-1", chat.id), BOB), T0 + 0.001
    )  # type: ignore[attr-defined]
    [dereg] = sent(out)
    assert prints(out) == [RECEIVED_BY.format("bob")]
    assert isinstance(dereg, Deregister) and dereg.quitting
    assert pa.ExitPeer(0) in core.receive(Ack("r-3", dereg.id), SERVER, REGISTRY_KEY, T0 + 0.002)


def test_quit_waits_until_an_unanswered_message_is_saved_and_keeps_the_farewell() -> None:
    core, _ = registered()
    core.line("send bob are you there?", T0)
    core.line("/quit off to lunch", T0)
    out = run_until(core, T0 + DIRECT_ROUND + 0.1)  # bob never answers: 5 tries, then the registry
    assert NO_ACK.format("bob") in prints(out)
    [save] = [m for m in sent(out) if isinstance(m, SaveMessage)]
    assert not any(isinstance(m, Deregister) for m in sent(out))
    assert (
        sent(core.receive(Ack("r-3", save.id), SERVER, REGISTRY_KEY, T0 + DIRECT_ROUND + 0.2)) == []
    )  # accepted...
    out = core.receive(
        Saved("r-4", save.id, "bob", False, ""), SERVER, REGISTRY_KEY, T0 + 5
    )  # ...and on disk
    assert SAVED in prints(out)
    [dereg] = [m for m in sent(out) if isinstance(m, Deregister)]
    assert dereg.farewell == "off to lunch"


def test_quit_does_not_wait_for_a_registry_that_is_down() -> None:
    core, _ = registered()
    core.line("send_all anyone?", T0)
    core.end_of_input(T0)
    out = run_until(core, T0 + 2.6)  # the registry does not answer: the post is kept
    assert KEPT_IN_OUTBOX in prints(out)
    assert [m for m in core.outbox if isinstance(m, ChannelPost)]
    assert any(isinstance(m, Deregister) for m in sent(out))
    out = run_until(core, T0 + 6)
    assert EXITING in prints(out) and pa.ExitPeer(0) in out


def test_quit_with_nothing_on_its_way_leaves_at_once_and_only_once() -> None:
    core, _ = registered()
    out = core.line("/quit", T0)
    assert prints(out) == [] and [type(m) for m in sent(out)] == [Deregister]
    assert sent(core.line("/quit", T0)) == []  # the Deregister is already on its way


def test_the_end_of_a_script_waits_for_the_rooms_it_asked_for() -> None:
    # found by trying it: `printf 'rooms\n' | ChatApp -c ...` listed the rooms half the time
    core, _ = registered()
    [ask] = sent(core.line("rooms", T0))
    assert not any(isinstance(m, Deregister) for m in sent(core.end_of_input(T0)))
    out = core.receive(RoomList("r-7", ask.id, ("team",), (2,)), SERVER, REGISTRY_KEY, T0 + 0.01)  # type: ignore[attr-defined]
    assert any("team" in line for line in prints(out))
    assert any(isinstance(m, Deregister) for m in sent(out))
