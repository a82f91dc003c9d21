"""PeerCore sends its outbox to the registry one message at a time, each once the one
before is answered: sent all at once, a lost one went again 500 ms later, after those typed
after it, and the registry stored or relayed them out of the order typed."""

from __future__ import annotations

from peer.core import actions as pa
from peer.core.dispatch import PeerCore
from peer.core.request_ends import KEPT_IN_OUTBOX, SERVER_NOT_RESPONDING
from tests.peer.core_kit import BOB, SERVER, T0, prints, run_until, sent
from tests.peer.honest import REGISTRY_KEY
from tests.peer.parts_kit import logged
from wire.messages import (
    Ack,
    Alive,
    ChannelPost,
    Entry,
    Keepalive,
    Message,
    SaveMessage,
    Welcome,
)
from wire.reliable import TIMEOUT

KEPT: tuple[Message, ...] = (
    ChannelPost("old-1", "alice", "tok", "first"),
    SaveMessage("old-2", "alice", "tok", "bob", "second"),
    ChannelPost("old-3", "alice", "tok", "third"),
)


def started(keepalive: float = 10.0) -> tuple[PeerCore, list[pa.Action]]:
    """A peer whose last run kept KEPT, just welcomed by the registry."""
    core = PeerCore(
        name="alice",
        port=6001,
        server=SERVER,
        session="a",
        outbox=KEPT,
        keepalive=keepalive,
        registry_key=REGISTRY_KEY,
    )
    [register] = sent(core.start(T0))
    entries = (Entry("alice", "127.0.0.1", 6001, True), Entry("bob", *BOB, False))
    welcome = Welcome("r-1", register.id, "alice", "tok", 3, entries, (), ())
    return core, core.receive(welcome, SERVER, REGISTRY_KEY, T0)


def kept_on_disk(core: PeerCore) -> list[str]:
    """The ids of what the sending log holds: KEPT, and the records since."""
    return [m.id for m in logged([*map(pa.Sending, KEPT), *core.records])]


def test_kept_messages_go_one_at_a_time_each_once_the_one_before_is_answered() -> None:
    core, out = started()
    assert [m.id for m in sent(out)] == ["old-1"]
    # the first is lost: only it goes again, TIMEOUT later; the second does not overtake it
    out = run_until(core, T0 + TIMEOUT + 0.1)
    assert [m.id for m in sent(out)] == ["old-1"]
    out = core.receive(Ack("r-2", "old-1"), SERVER, REGISTRY_KEY, T0 + TIMEOUT + 0.2)
    assert [m.id for m in sent(out)] == ["old-2"]
    assert "[Kept message received by Server: “first”]" in prints(out)
    assert [m.id for m in core.outbox] == ["old-2", "old-3"]
    out = core.receive(Ack("r-3", "old-2"), SERVER, REGISTRY_KEY, T0 + TIMEOUT + 0.3)
    assert [m.id for m in sent(out)] == ["old-3"]
    assert [m.id for m in core.outbox] == ["old-3"]
    out = core.receive(Ack("r-4", "old-3"), SERVER, REGISTRY_KEY, T0 + TIMEOUT + 0.4)
    assert sent(out) == [] and core.outbox == ()
    # answered, not yet known delivered: a peer killed now sends them again (shown once)
    assert kept_on_disk(core) == ["old-1", "old-2", "old-3"]


def test_copies_of_an_answer_send_nothing_twice() -> None:
    core, _ = started()
    out = core.receive(Ack("r-2", "old-1"), SERVER, REGISTRY_KEY, T0 + 0.01)
    out += core.receive(
        Ack("r-2", "old-1"), SERVER, REGISTRY_KEY, T0 + 0.01
    )  # duplicated on the way
    assert [m.id for m in sent(out)] == ["old-2"]


def test_a_line_typed_while_the_outbox_goes_out_goes_after_it() -> None:
    core, _ = started()
    assert sent(core.line("send_all typed now", T0 + 0.001)) == []  # waits its turn
    ids: list[str] = []
    for n, reply_to in enumerate(("old-1", "old-2", "old-3"), start=2):
        out = core.receive(Ack(f"r-{n}", reply_to), SERVER, REGISTRY_KEY, T0 + 0.01 * n)
        ids += [m.text for m in sent(out) if isinstance(m, ChannelPost | SaveMessage)]
    assert ids == ["second", "third", "typed now"]


def test_a_kept_message_given_up_on_stops_the_rest_until_the_registry_answers() -> None:
    core, _ = started(keepalive=1.0)
    out = run_until(core, T0 + 2.6)  # the registry went away again: old-1 tried 5 times
    assert {m.id for m in sent(out) if not isinstance(m, Keepalive)} == {"old-1"}
    assert [m.id for m in core.outbox] == ["old-1", "old-2", "old-3"]
    # its next keepalive probes with the first kept message, and only with it
    out = run_until(core, T0 + 5)
    assert {m.id for m in sent(out) if not isinstance(m, Keepalive)} == {"old-1"}
    [keepalive] = [m for m in sent(out) if isinstance(m, Keepalive)][-1:]
    out = core.receive(Alive("r-2", keepalive.id, 3), SERVER, REGISTRY_KEY, T0 + 5.01)
    # the probe went into the silence: it goes again at once, and alone
    assert [m.id for m in sent(out)] == ["old-1"]
    out = core.receive(Ack("r-3", "old-1"), SERVER, REGISTRY_KEY, T0 + 5.02)
    assert [m.id for m in sent(out)] == ["old-2"]


def test_a_line_typed_after_the_outbox_was_given_up_on_does_not_overtake_it() -> None:
    # The registry went away and came back (restarted): nothing tells the peer until
    # something is answered. A line typed now must not reach the registry before the
    # kept ones typed earlier; it goes after them, as a line typed while they go out.
    core, _ = started()
    run_until(core, T0 + 2.6)  # old-1 tried 5 times: the rest wait for the registry
    out = core.line("send_all typed now", T0 + 3)
    assert [m.id for m in sent(out)] == ["old-1"]  # the kept one first, as a probe
    texts: list[str] = []
    for n, reply_to in enumerate(("old-1", "old-2", "old-3"), start=2):
        out = core.receive(Ack(f"r-{n}", reply_to), SERVER, REGISTRY_KEY, T0 + 3 + 0.01 * n)
        texts += [m.text for m in sent(out) if isinstance(m, ChannelPost | SaveMessage)]
    assert texts == ["second", "third", "typed now"]


def test_a_line_typed_behind_a_kept_one_still_says_the_registry_is_away() -> None:
    core, _ = started()
    run_until(core, T0 + 2.6)
    core.line("send_all typed now", T0 + 3)
    # the probe's 5 tries are the typed one's: it is said kept when they run out
    out = run_until(core, T0 + 5.6)
    assert SERVER_NOT_RESPONDING in prints(out)
    assert KEPT_IN_OUTBOX in prints(out)
    assert not [m for m in sent(out) if isinstance(m, ChannelPost) and m.text == "typed now"]
    assert [m.text for m in core.outbox if isinstance(m, ChannelPost | SaveMessage)] == [
        "first",
        "second",
        "third",
        "typed now",
    ]
