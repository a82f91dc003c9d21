"""PeerCore as a whole, the registry away, back, restarted; requests in order."""

from __future__ import annotations

import pytest

from peer.core import actions as pa
from peer.core.dispatch import PeerCore
from peer.core.request_ends import (
    KEPT_IN_OUTBOX,
    RECEIVED_BY_SERVER,
    SAVED,
    SERVER_NOT_RESPONDING,
)
from peer.core.requests import OUTCOME_WAIT
from tests.peer.core_kit import (
    BOB,
    FORGED,
    ROUND,
    SERVER,
    T0,
    prints,
    registered,
    run_until,
    sent,
)
from tests.peer.honest import REGISTRY_KEY, honest_key
from wire.messages import (
    Ack,
    Alive,
    ChannelPost,
    Chat,
    Keepalive,
    Register,
    Relayed,
    Restarted,
    Saved,
    SaveMessage,
    TableUpdate,
    TooBig,
)
from wire.reliable import ATTEMPTS


def test_too_big_answers_are_fetched_over_tcp() -> None:
    core = PeerCore(name="alice", port=6001, server=SERVER, session="a", registry_key=REGISTRY_KEY)
    [register] = sent(core.start(T0))
    out = core.receive(TooBig("r-1", register.id), SERVER, REGISTRY_KEY, T0)  # type: ignore[attr-defined]
    assert out == [pa.SendSealed(SERVER, register, REGISTRY_KEY, stream=True)]  # type: ignore[arg-type]


def test_channel_post_kept_in_the_outbox_and_flushed_when_the_server_answers() -> None:
    core, _ = registered()
    [post] = sent(core.line("send_all hello", T0))
    out = run_until(core, T0 + 3)
    assert SERVER_NOT_RESPONDING in prints(out)
    assert core.outbox == (post,)
    out = core.receive(
        TableUpdate("r-9", 4, ()), SERVER, REGISTRY_KEY, T0 + 4
    )  # the registry is back
    assert "[Server is back.]" in prints(out)
    assert post in sent(out)
    core.receive(Ack("r-10", post.id), SERVER, REGISTRY_KEY, T0 + 4.1)  # type: ignore[attr-defined]
    assert core.outbox == ()


def test_a_silent_registry_is_asked_for_its_key_and_one_that_answers_is_not() -> None:
    # A registry that answers with another key (a new one, or someone else at its address)
    # looks silent through the secure channel: asking its key in clear tells the two apart.
    core, _ = registered()
    out: list[pa.Action] = []
    while (wake := core.next_wake()) is not None and wake <= T0 + 25:  # each keepalive answered
        ticked = core.tick(wake)
        for keepalive in (m for m in sent(ticked) if isinstance(m, Keepalive)):
            ticked += core.receive(Alive(f"r-{wake}", keepalive.id, 3), SERVER, REGISTRY_KEY, wake)
        out += ticked
    assert any(isinstance(m, Keepalive) for m in sent(out))
    assert not any(isinstance(a, pa.AskRegistryKey) for a in out)
    out = run_until(core, T0 + 60)  # silent from now on
    asked = [a for a in out if isinstance(a, pa.AskRegistryKey)]
    keepalives = [m for m in sent(out) if isinstance(m, Keepalive)]
    assert asked and len(asked) <= len(keepalives)


def test_requests_still_in_flight_go_again_at_once_when_the_registry_is_back() -> None:
    """Seen in tmux after a registry restart: "[Server is back.]", then "[Server not
    responding]" for a keepalive sent during the outage whose tries ran out just after the
    comeback, then "[Server is back.]" again, about a registry that was there."""
    core, _ = registered()
    [post] = sent(core.line("send_all hello", T0 + 9.5))
    out = run_until(core, T0 + 12.1)  # the post gave up at 12.0; the keepalive of 10.0 not
    assert prints(out) == [
        SERVER_NOT_RESPONDING,
        KEPT_IN_OUTBOX,
    ]
    [keepalive] = {m for m in sent(out) if isinstance(m, Keepalive)}
    out = core.receive(
        TableUpdate("r-9", 4, ()), SERVER, REGISTRY_KEY, T0 + 12.2
    )  # the registry is back
    assert prints(out)[0] == "[Server is back.]"
    # the kept post goes, and the keepalive again: its last copy may have been lost
    assert [m for m in sent(out) if not isinstance(m, Ack)] == [post, keepalive]
    # the registry answers these copies (it never had the keepalive's earlier ones)
    core.receive(Ack("r-10", post.id), SERVER, REGISTRY_KEY, T0 + 12.3)  # type: ignore[attr-defined]
    core.receive(Alive("r-11", keepalive.id, 4), SERVER, REGISTRY_KEY, T0 + 12.3)
    out = run_until(core, T0 + 15)
    assert prints(out) == []
    assert core.outbox == ()


def test_a_registry_away_is_probed_by_the_kept_message_alone_a_round_each_period() -> None:
    """A keepalive beside it, in a round of its own, doubled what a probe costs."""
    core, _ = registered()
    [post] = sent(core.line("send_all hello", T0))
    copies = sent(run_until(core, T0 + 62.9))  # its first round, then a probe at 10, ... 60
    assert copies == [post] * (ATTEMPTS - 1 + 6 * ATTEMPTS)


def test_a_restarted_registry_saying_so_gets_the_outbox_at_once() -> None:
    """Without it, the kept post waits for the next probe, up to a period."""
    core, _ = registered()
    [post] = sent(core.line("send_all hello", T0))
    run_until(core, T0 + 105)  # the registry is away (probed at 100, given up at 102.5)
    assert core.outbox == (post,)
    out = core.receive(Restarted("r2-1"), SERVER, REGISTRY_KEY, T0 + 105)
    assert prints(out) == ["[Server is back.]"]
    assert sent(out) == [post]
    assert pa.AcksLater(SERVER, REGISTRY_KEY, ["r2-1"]) in out  # acked: it is pushed


def test_a_restarted_registry_is_asked_again_at_once_for_outcomes_it_forgot() -> None:
    """A post the old registry acked and was relaying when it died: the new one has
    forgotten it, and relays it again once asked (the members show it once)."""
    core, _ = registered()
    [post] = sent(core.line("send_all hello", T0))
    core.receive(Ack("r-5", post.id), SERVER, REGISTRY_KEY, T0)  # type: ignore[attr-defined]
    out = core.receive(Restarted("r2-1"), SERVER, REGISTRY_KEY, T0 + 1)
    assert prints(out) == [] and sent(out) == [post]
    assert pa.AcksLater(SERVER, REGISTRY_KEY, ["r2-1"]) in out
    assert core.receive(
        Restarted("x-1"),
        ("10.0.0.66", 5000),
        honest_key(core, Restarted("x-1"), ("10.0.0.66", 5000)),
        T0 + 2,
    ) == [FORGED]  # a forgery


@pytest.mark.parametrize("restarted", [True, False])
def test_a_post_acked_before_the_registry_died_goes_again_before_those_typed_after_it(
    restarted: bool,
) -> None:
    """The registry acked the first line and died before relaying it; the second was never
    answered. Back (saying it restarted, or heard from again), it is sent the first again
    before the second: it relays lines as they come, and members show them so."""
    core, _ = registered()
    first, second = [m for text in ("one", "two") for m in sent(core.line(f"send_all {text}", T0))]
    core.receive(Ack("r-5", first.id), SERVER, REGISTRY_KEY, T0)  # type: ignore[attr-defined]
    if restarted:
        out = core.receive(Restarted("r2-1"), SERVER, REGISTRY_KEY, T0 + 1)
    else:
        run_until(core, T0 + 25)  # both asked, unanswered: the registry is away
        out = core.receive(TableUpdate("r2-1", 4, ()), SERVER, REGISTRY_KEY, T0 + 25)
    assert [m for m in sent(out) if m in (first, second)] == [first]
    out = core.receive(Ack("r2-2", first.id), SERVER, REGISTRY_KEY, T0 + 31)  # type: ignore[attr-defined]
    assert [m for m in sent(out) if m in (first, second)] == [second] and prints(out) == []
    out = core.receive(Ack("r2-3", second.id), SERVER, REGISTRY_KEY, T0 + 31)  # type: ignore[attr-defined]
    assert prints(out) == ["[Kept message received by Server: “two”]"]
    for n, post in enumerate((first, second)):
        core.receive(Relayed(f"r2-{n + 4}", post.id), SERVER, REGISTRY_KEY, T0 + 31)  # type: ignore[attr-defined]
    assert core.outbox == () and core.parts.leaving.undelivered() == ()


def test_a_kept_save_sent_again_whose_outcome_overtakes_its_ack_says_its_text() -> None:
    core, _ = registered()
    [save] = sent(core.line("send carol hi", T0))
    run_until(core, T0 + 25)  # unanswered: kept (between two probes)
    out = core.receive(Restarted("r2-1"), SERVER, REGISTRY_KEY, T0 + 25)
    assert sent(out) == [save]
    saved = Saved("r2-2", save.id, "carol", False, "")  # type: ignore[attr-defined]
    out = core.receive(saved, SERVER, REGISTRY_KEY, T0 + 30.1)
    assert prints(out) == ["[Kept message for carol saved at the server: “hi”]"]
    assert core.outbox == ()


def test_an_outcome_asked_again_unanswered_is_still_awaited_and_its_line_said_once() -> None:
    """Posts the registry accepted, whose outcomes were asked again while it was silent
    (a service storing nothing while NATS elects a leader): they stay accepted, not kept
    anew in the outbox, which would send them again and say again they were received."""
    core, _ = registered()
    posts = [m for text in ("one", "two") for m in sent(core.line(f"send_all {text}", T0))]
    for n, post in enumerate(posts):
        out = core.receive(Ack(f"r-{n}", post.id), SERVER, REGISTRY_KEY, T0 + 0.1)
        assert prints(out) == [RECEIVED_BY_SERVER]
    asked = T0 + OUTCOME_WAIT + ROUND + 1
    out = run_until(core, asked)  # asked again, unanswered a whole round
    assert [m for m in sent(out) if m in posts] and core.outbox == ()
    out = core.receive(TableUpdate("r-7", 4, ()), SERVER, REGISTRY_KEY, asked + 0.1)
    assert prints(out) == ["[Server is back.]"]
    out = core.receive(Relayed("r-8", posts[1].id), SERVER, REGISTRY_KEY, asked + 0.2)
    out += run_until(core, asked + OUTCOME_WAIT)  # the first asked again, answered
    assert {m.id for m in sent(out) if m in posts} == {posts[0].id}  # type: ignore[attr-defined]
    out = core.receive(Ack("r-9", posts[0].id), SERVER, REGISTRY_KEY, asked + OUTCOME_WAIT)
    out += core.receive(Relayed("r-10", posts[0].id), SERVER, REGISTRY_KEY, asked + OUTCOME_WAIT)
    assert not [line for line in prints(out) if "received" in line] and core.outbox == ()
    assert not core.parts.shared.requests.undelivered(())


def test_a_restarted_registry_before_our_welcome_changes_nothing() -> None:
    """A start of this peer on the port the registry counted online: what it kept goes
    once it is registered (and back in its room)."""
    kept = ChannelPost("a0-7", "alice", "tok", "typed while it was away")
    core = PeerCore(
        name="alice",
        port=6001,
        server=SERVER,
        session="a",
        outbox=(kept,),
        registry_key=REGISTRY_KEY,
    )
    [register] = sent(core.start(T0))
    assert isinstance(register, Register)
    out = core.receive(Restarted("r2-1"), SERVER, REGISTRY_KEY, T0 + 0.1)
    assert sent(out) == [] and pa.AcksLater(SERVER, REGISTRY_KEY, ["r2-1"]) in out


def test_keepalives_go_back_to_their_period_once_the_registry_answers() -> None:
    core, _ = registered()
    run_until(core, T0 + 100)  # the registry is away
    out = core.receive(TableUpdate("r-9", 4, ()), SERVER, REGISTRY_KEY, T0 + 100.5)
    assert "[Server is back.]" in prints(out)
    assert (
        core.next_wake() is not None
        and core.next_wake() <= T0 + 100.5 + core.parts.shared.requests.keepalive
    )


def test_a_message_typed_after_a_long_one_goes_at_once_naming_it() -> None:
    # A message too long for a datagram goes over TCP, slower than a datagram sent after it:
    # that one names it as the one before it, and bob shows it after (peer.core.inbox).
    core, _ = registered()
    long_text = "paragraph " + "x" * 3000
    out = core.line(f"send bob {long_text}", T0) + core.line("send bob short", T0)
    long_chat, short = [a.message for a in out if isinstance(a, pa.SendSealed) and a.addr == BOB]
    assert (long_chat.text, short.text, short.after) == (long_text, "short", long_chat.id)  # type: ignore[attr-defined]


def test_what_follows_a_long_request_to_the_registry_waits_for_its_answer() -> None:
    # send_all and messages to offline people go to the registry: a long one over TCP,
    # which the short ones after it would overtake (the channel, a mailbox out of order)
    core, _ = registered()
    long_text = "q" * 3000
    out = core.line(f"send_all {long_text}", T0)
    out += core.line("send_all short", T0)
    out += core.line("send carol to the mailbox", T0)  # carol is offline
    [post] = sent(out)
    assert post.text == long_text  # type: ignore[attr-defined]
    out = core.receive(Ack("r-2", post.id), SERVER, REGISTRY_KEY, T0 + 0.01)  # type: ignore[attr-defined]
    assert [type(m).__name__ for m in sent(out)] == ["ChannelPost", "SaveMessage"]
    assert [m.text for m in sent(out)] == ["short", "to the mailbox"]  # type: ignore[attr-defined]
    # short requests are not held behind each other
    assert len(sent(core.line("send_all a", T0) + core.line("send_all b", T0))) == 2


def test_an_outcome_that_overtakes_the_ack_of_a_long_save_lets_the_next_go() -> None:
    core, _ = registered()
    [save] = sent(core.line("send carol " + "s" * 3000, T0))  # carol is offline
    assert sent(core.line("send carol next", T0)) == []  # held behind the long one
    out = core.receive(Saved("r-2", save.id, "carol", False, ""), SERVER, REGISTRY_KEY, T0 + 0.01)  # type: ignore[attr-defined]
    assert SAVED in prints(out)
    assert [m.text for m in sent(out) if isinstance(m, SaveMessage)] == ["next"]


def test_the_views_of_what_is_on_its_way_follow_a_message_until_it_is_confirmed() -> None:
    # what tests/simulation.py reads to know which confirmations are due
    core, _ = registered()
    direct, requests, leaving = core.parts.direct, core.parts.shared.requests, core.parts.leaving
    [chat] = sent(core.line("send bob hi", T0))
    assert isinstance(chat, Chat)
    assert direct.awaiting_ack(chat.id) and not requests.holds(chat.id)
    assert [m.id for m in leaving.undelivered()] == [chat.id]  # as the save it would become
    core.receive(Ack("b-1", chat.id), BOB, honest_key(core, Ack("b-1", chat.id), BOB), T0)
    assert not direct.awaiting_ack(chat.id) and leaving.undelivered() == ()
    [save] = sent(core.line("send carol hello", T0))  # carol is offline: to the registry
    assert isinstance(save, SaveMessage)
    assert requests.holds(save.id) and not direct.awaiting_ack(save.id)
    core.receive(Ack("r-2", save.id), SERVER, REGISTRY_KEY, T0)
    assert requests.holds(save.id)  # accepted: its outcome is still to come
    assert [m.id for m in leaving.undelivered()] == [save.id]
    core.receive(Saved("r-3", save.id, "carol", False, ""), SERVER, REGISTRY_KEY, T0)
    assert not requests.holds(save.id) and leaving.undelivered() == ()
