"""PeerCore's records (actions.Record): what the user sent is kept, from before its first
datagram until its fate is known, so that a peer killed at any moment loses nothing."""

from __future__ import annotations

from unittest.mock import ANY

import pytest

from peer.core import actions as pa
from peer.core.dispatch import PeerCore
from peer.core.request_ends import RECEIVED_BY_SERVER
from peer.core.requests import OUTCOME_WAIT
from peer.core.table import Rule
from tests.peer.core_kit import (
    BOB,
    DIRECT_ROUND,
    SERVER,
    T0,
    prints,
    registered,
    run_until,
    sent,
)
from tests.peer.honest import REGISTRY_KEY, honest_key
from tests.sim.world import SimNet
from wire.messages import (
    Ack,
    ChannelPost,
    Chat,
    Deregister,
    Join,
    Refused,
    Relayed,
    RoomPost,
    Saved,
    SaveMessage,
)


def kept(core: PeerCore) -> list[object]:
    """The messages the core's records keep since they were last taken (taken now)."""
    records = core.records[:]
    core.records.clear()
    return [
        r.message if isinstance(r, pa.Sending) else r for r in records if not isinstance(r, str)
    ]


def settled(core: PeerCore) -> list[str]:
    """The ids the core's records settle since they were last taken (taken now)."""
    records = core.records[:]
    core.records.clear()
    return [r for r in records if isinstance(r, str)]


def typed(core: PeerCore, line: str) -> tuple[object, list[pa.Action]]:
    out = core.line(line, T0)
    [message] = kept(core)
    return message, out


def test_a_direct_message_is_sent_then_kept_and_settled_by_its_ack() -> None:
    core, _ = registered()
    chat, out = typed(core, "send bob hello")
    assert isinstance(chat, Chat) and chat.text == "hello"
    # the very object sent, so that the adapter encodes it once for both
    assert sent(out)[0] is chat
    core.receive(Ack("b-1", chat.id), BOB, honest_key(core, Ack("b-1", chat.id), BOB), T0 + 0.01)
    assert settled(core) == [chat.id]
    core.receive(Ack("b-2", chat.id), BOB, honest_key(core, Ack("b-2", chat.id), BOB), T0 + 0.02)
    assert settled(core) == []  # a copy


def test_an_unanswered_direct_message_stays_kept_until_the_registry_has_it() -> None:
    core, _ = registered()
    chat, _ = typed(core, "send bob are you there")
    assert isinstance(chat, Chat)
    then = T0 + DIRECT_ROUND + 0.5
    out = run_until(core, then)  # five tries, then the registry
    assert settled(core) == []
    save, *_retries = [m for m in sent(out) if isinstance(m, SaveMessage)]  # and its retries
    assert save.id == chat.id
    # accepted is not yet stored or delivered: still kept until the outcome
    core.receive(Ack("r-5", save.id), SERVER, REGISTRY_KEY, then)
    assert settled(core) == []
    out = core.receive(Saved("r-6", save.id, "bob", False, ""), SERVER, REGISTRY_KEY, then)
    assert settled(core) == [chat.id]


def test_a_channel_message_is_settled_when_the_registry_has_relayed_it() -> None:
    """Its Ack says the registry has it; only its outcome says every member has it: a
    registry killed in between forgets the relay, and is asked again."""
    core, _ = registered()
    post, out = typed(core, "send_all hello all")
    assert isinstance(post, ChannelPost) and sent(out) == [post]
    out = core.receive(Ack("r-5", post.id), SERVER, REGISTRY_KEY, T0)
    assert settled(core) == [] and RECEIVED_BY_SERVER in prints(out)
    assert core.parts.leaving.undelivered() == (post,)
    out = core.receive(Relayed("r-6", post.id), SERVER, REGISTRY_KEY, T0)
    assert settled(core) == [post.id] and prints(out) == [] and sent(out) == []  # not acked
    assert core.parts.leaving.undelivered() == ()


def test_a_channel_message_without_its_outcome_is_asked_for_again_and_said_once() -> None:
    core, _ = registered()
    post, _ = typed(core, "send_all hello all")
    core.receive(Ack("r-5", post.id), SERVER, REGISTRY_KEY, T0)
    out = run_until(core, T0 + OUTCOME_WAIT + 0.1)
    # asked again: the registry dedupes, or relays it again
    assert [m for m in sent(out) if isinstance(m, ChannelPost)] == [post]
    out = core.receive(Ack("r-7", post.id), SERVER, REGISTRY_KEY, T0 + OUTCOME_WAIT + 0.2)
    assert prints(out) == []  # "received" was said once, at the first Ack
    out = core.receive(Relayed("r-8", post.id), SERVER, REGISTRY_KEY, T0 + OUTCOME_WAIT + 0.3)
    assert settled(core) == [post.id]


def test_a_channel_outcome_that_overtakes_the_ack_answers_the_post() -> None:
    core, _ = registered()
    post, _ = typed(core, "send_all hello all")
    out = core.receive(Relayed("r-6", post.id), SERVER, REGISTRY_KEY, T0)
    assert RECEIVED_BY_SERVER in prints(out) and settled(core) == [post.id]
    assert core.receive(Ack("r-5", post.id), SERVER, REGISTRY_KEY, T0) == []  # the late Ack: a copy
    later = run_until(core, T0 + OUTCOME_WAIT + 1)
    assert not any(isinstance(m, ChannelPost) for m in sent(later))  # nothing awaited


def test_a_channel_outcome_from_anyone_but_the_registry_is_ignored() -> None:
    core, _ = registered()
    post, _ = typed(core, "send_all hello all")
    core.receive(Ack("r-5", post.id), SERVER, REGISTRY_KEY, T0)
    forger = ("10.0.0.66", 5000)  # another machine: not the registry's IP
    assert core.receive(
        Relayed("x-1", post.id), forger, honest_key(core, Relayed("x-1", post.id), forger), T0
    ) == [pa.Rejected(Rule.REGISTRY.value, ANY)]
    assert core.parts.leaving.undelivered() == (post,)


def test_a_room_line_is_settled_when_the_registry_has_relayed_it() -> None:
    """As a channel message: a registry killed mid-relay is asked again, and says the
    line to the room again (the members show it once)."""
    core, _ = registered()
    [join] = sent(core.line("join r", T0))
    assert isinstance(join, Join)
    core.receive(Ack("r-2", join.id), SERVER, REGISTRY_KEY, T0)
    line, _ = typed(core, "hello room")
    assert isinstance(line, RoomPost) and line.room == "r"
    out = core.receive(Ack("r-3", line.id), SERVER, REGISTRY_KEY, T0)
    assert settled(core) == [] and prints(out) == []  # the typed line stays on the screen
    assert core.parts.leaving.undelivered() == (line,)
    out = run_until(core, T0 + OUTCOME_WAIT + 0.1)
    assert [m for m in sent(out) if isinstance(m, RoomPost)] == [line]  # asked again
    assert (
        prints(core.receive(Ack("r-4", line.id), SERVER, REGISTRY_KEY, T0 + OUTCOME_WAIT + 0.2))
        == []
    )
    out = core.receive(Relayed("r-5", line.id), SERVER, REGISTRY_KEY, T0 + OUTCOME_WAIT + 0.3)
    assert settled(core) == [line.id] and prints(out) == [] and sent(out) == []
    assert core.parts.leaving.undelivered() == ()


def test_a_channel_message_asked_again_and_refused_is_said_unconfirmed() -> None:
    """Its outcome did not come (lost, or the registry restarted and forgot it), and the
    registry now refuses it: whether everyone had it is not known, and it says so."""
    core, _ = registered()
    post, _ = typed(core, "send_all hello all")
    core.receive(Ack("r-5", post.id), SERVER, REGISTRY_KEY, T0)
    [dereg] = sent(core.line("dereg alice", T0 + 0.1))
    assert isinstance(dereg, Deregister)
    core.receive(Ack("r-6", dereg.id), SERVER, REGISTRY_KEY, T0 + 0.2)
    out = run_until(core, T0 + OUTCOME_WAIT + 0.1)
    assert [m for m in sent(out) if isinstance(m, ChannelPost)] == [post]
    out = core.receive(
        Refused("r-7", post.id, "You are offline."), SERVER, REGISTRY_KEY, T0 + OUTCOME_WAIT
    )
    assert prints(out) == [
        "[Not confirmed that everyone had your message “hello all”: You are offline.]"
    ]
    assert settled(core) == [post.id] and core.parts.leaving.undelivered() == ()


def test_a_message_to_someone_offline_is_kept_until_saved() -> None:
    core, _ = registered()
    chat, out = typed(core, "send carol later")  # offline in the table: to the registry
    assert isinstance(chat, Chat)
    [save] = sent(out)
    assert isinstance(save, SaveMessage) and save.id == chat.id
    core.receive(Ack("r-5", save.id), SERVER, REGISTRY_KEY, T0)
    out = core.receive(Saved("r-6", save.id, "carol", False, ""), SERVER, REGISTRY_KEY, T0)
    assert settled(core) == [chat.id]


def test_a_refused_message_is_settled_once_the_user_is_told() -> None:
    core, _ = registered()
    post, _ = typed(core, "send_all not for you")
    assert isinstance(post, ChannelPost)
    out = core.receive(Refused("r-5", post.id, "Not allowed."), SERVER, REGISTRY_KEY, T0)
    assert "[Not allowed.]" in [a.text for a in out if isinstance(a, pa.Print)]
    assert settled(core) == [post.id]


def test_nothing_is_kept_for_what_is_not_sent() -> None:
    core, _ = registered()
    for line in ("send nobody hi", "send bob", "who", "send_all"):
        core.line(line, T0)
        assert kept(core) == []


@pytest.mark.needs_pure  # replaces the compiled FileStore.carry_out (tests/sim/world.py)
def test_a_sender_killed_before_the_first_retry_delivers_after_its_restart() -> None:
    net = SimNet(seed=1)
    net.add_peer("ann", 6001)
    net.add_peer("bob", 6002)
    net.run(2)
    net.kill_peer("bob")  # every table still says bob is online: ann's datagram goes nowhere
    net.type("ann", "send bob typed-just-before-the-kill")
    net.run(0.1)
    net.kill_peer("ann")  # before the first retry would have held it in the outbox
    assert [m.text for m in net.hosts["ann"].outbox] == ["typed-just-before-the-kill"]  # type: ignore[attr-defined]
    net.start_peer("ann")
    net.run(5)
    assert "[1 message kept from your last session; sending now.]" in net.screen("ann")
    net.start_peer("bob")
    net.run(5)
    shown = [line for line in net.screen("bob") if line.endswith("typed-just-before-the-kill")]
    assert len(shown) == 1 and shown[0].startswith("ann: "), net.screen("bob")
