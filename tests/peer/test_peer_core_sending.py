"""PeerCore's Sending and Settled: what the user sent is kept, from before its first
datagram until its fate is known, so that a peer killed at any moment loses nothing."""

from __future__ import annotations

from peer import actions as pa
from peer.core import PeerCore
from tests.peer.test_peer_core import BOB, SERVER, T0, registered, run_until, sent
from tests.simulation import SimNet
from wire.messages import Ack, ChannelPost, Chat, Refused, Saved, SaveMessage


def kept(actions: list[pa.Action]) -> list[object]:
    return [a.message for a in actions if isinstance(a, pa.Sending)]


def settled(actions: list[pa.Action]) -> list[str]:
    return [a.id for a in actions if isinstance(a, pa.Settled)]


def typed(core: PeerCore, line: str) -> tuple[object, list[pa.Action]]:
    out = core.line(line, T0)
    [message] = kept(out)
    return message, out


def test_a_direct_message_is_kept_before_it_is_sent_and_settled_by_its_ack() -> None:
    core, _ = registered()
    chat, out = typed(core, "send bob hello")
    assert isinstance(chat, Chat) and chat.text == "hello"
    # the very object sent, so that the adapter encodes it once for both
    keep = next(i for i, a in enumerate(out) if isinstance(a, pa.Sending))
    send = next(i for i, a in enumerate(out) if isinstance(a, pa.Send))
    assert keep < send and sent(out)[0] is chat
    assert settled(core.receive(Ack("b-1", chat.id), BOB, T0 + 0.01)) == [chat.id]
    assert settled(core.receive(Ack("b-2", chat.id), BOB, T0 + 0.02)) == []  # a copy


def test_an_unanswered_direct_message_stays_kept_until_the_registry_has_it() -> None:
    core, _ = registered()
    chat, _ = typed(core, "send bob are you there")
    assert isinstance(chat, Chat)
    out = run_until(core, T0 + 3)  # five tries, then the registry
    assert settled(out) == []
    save, *_retries = [m for m in sent(out) if isinstance(m, SaveMessage)]  # and its retries
    assert save.id == chat.id
    # accepted is not yet stored or delivered: still kept until the outcome
    assert settled(core.receive(Ack("r-5", save.id), SERVER, T0 + 3)) == []
    out = core.receive(Saved("r-6", save.id, "bob", False, ""), SERVER, T0 + 3)
    assert settled(out) == [chat.id]


def test_a_channel_message_is_settled_when_the_registry_takes_it() -> None:
    core, _ = registered()
    post, out = typed(core, "send_all hello all")
    assert isinstance(post, ChannelPost) and sent(out) == [post]
    assert settled(core.receive(Ack("r-5", post.id), SERVER, T0)) == [post.id]


def test_a_message_to_someone_offline_is_kept_until_saved() -> None:
    core, _ = registered()
    chat, out = typed(core, "send carol later")  # offline in the table: to the registry
    assert isinstance(chat, Chat)
    [save] = sent(out)
    assert isinstance(save, SaveMessage) and save.id == chat.id
    core.receive(Ack("r-5", save.id), SERVER, T0)
    out = core.receive(Saved("r-6", save.id, "carol", False, ""), SERVER, T0)
    assert settled(out) == [chat.id]


def test_a_refused_message_is_settled_once_the_user_is_told() -> None:
    core, _ = registered()
    post, _ = typed(core, "send_all not for you")
    assert isinstance(post, ChannelPost)
    out = core.receive(Refused("r-5", post.id, "Not allowed."), SERVER, T0)
    assert "[Not allowed.]" in [a.text for a in out if isinstance(a, pa.Print)]
    assert settled(out) == [post.id]


def test_nothing_is_kept_for_what_is_not_sent() -> None:
    core, _ = registered()
    for line in ("send nobody hi", "send bob", "who", "send_all"):
        assert kept(core.line(line, T0)) == []


def test_a_sender_killed_before_the_first_retry_delivers_after_its_restart() -> None:
    net = SimNet(seed=1)
    net.add_peer("ann", 6001)
    net.add_peer("bob", 6002)
    net.run(2)
    net.kill_peer("bob")  # every table still says bob is online: ann's datagram goes nowhere
    net.type("ann", "send bob typed-just-before-the-kill")
    net.run(0.1)
    net.kill_peer("ann")  # before the first retry would have kept it in the outbox
    assert net.hosts["ann"].outbox == ()
    net.start_peer("ann")
    net.run(5)
    assert "[1 message kept from your last session; sending now.]" in net.screen("ann")
    net.start_peer("bob")
    net.run(5)
    shown = [line for line in net.screen("bob") if line.endswith("typed-just-before-the-kill")]
    assert len(shown) == 1 and shown[0].startswith("ann: "), net.screen("bob")
