"""PeerCore moving to another registry of a service, or finding its own started again: the
saves and posts on their way go to the registry that takes them one at a time, in the order
typed, so that the mailbox and the channel have them in that order."""

from __future__ import annotations

from peer.core import actions as pa
from peer.core.dispatch import PeerCore
from peer.core.request_ends import KEPT_IN_OUTBOX, SERVER_NOT_RESPONDING
from peer.core.requests import EXTRA_ROUNDS
from peer.core.shared import kept_registries
from tests.peer.core_kit import BOB, ME, ROUND, SERVER, T0, prints, run_until, sent
from tests.peer.honest import REGISTRY_KEY, honest_key
from tests.peer.retry_rule import REGISTER_ROUND
from wire.messages import (
    Ack,
    Deregister,
    Entry,
    Register,
    Restarted,
    SaveMessage,
    TableUpdate,
    TooBig,
    Welcome,
)
from wire.reliable import TIMEOUT

OTHER = ("127.0.0.1", 5001)
REGISTRIES = ("127.0.0.1:5000", "127.0.0.1:5001")
MOVED = "[Registry 127.0.0.1:5000 is not answering; now using 127.0.0.1:5001.]"


def in_a_service() -> PeerCore:
    """alice, registered at SERVER, one of the two registries of a service; bob offline."""
    core = PeerCore(
        name="alice",
        port=6001,
        server=SERVER,
        session="a",
        keepalive=600.0,
        registry_key=REGISTRY_KEY,
    )
    [register] = sent(core.start(T0))
    entries = (Entry("alice", *ME, True), Entry("bob", *BOB, False))
    welcome = Welcome("r-1", register.id, "alice", "tok", 2, entries, (), (), REGISTRIES)
    core.receive(welcome, SERVER, REGISTRY_KEY, T0)
    return core


def typed_saves(core: PeerCore, count: int, at: float = T0, first: int = 0) -> list[SaveMessage]:
    """`count` saves for bob (save<first>, ...), typed 10 ms apart from `at`: each goes at
    once."""
    saves = []
    for n in range(first, first + count):
        out = core.line(f"send bob save{n}", at + 0.01 * (n + 1))
        saves += [m for m in sent(out) if isinstance(m, SaveMessage)]
    assert [s.text for s in saves] == [f"save{n}" for n in range(first, first + count)]
    return saves


def told_ours_stopped(core: PeerCore, at: float) -> list[pa.Action]:
    """The service's news, from OTHER, that SERVER stopped: its list leaves SERVER out."""
    news = Restarted("o-1", ("127.0.0.1:5001",))
    return core.receive(news, OTHER, honest_key(core, news, OTHER), at)


def saves_to(out: list[pa.Action], addr: tuple[str, int]) -> list[str]:
    return [
        a.message.text
        for a in out
        if isinstance(a, pa.SendSealed) and a.addr == addr and isinstance(a.message, SaveMessage)
    ]


def test_saves_on_their_way_go_to_the_registry_taking_over_one_at_a_time_in_order() -> None:
    core = in_a_service()
    saves = typed_saves(core, 3)
    run_until(core, T0 + 1.0)  # unanswered: the registry is gone
    out = told_ours_stopped(core, T0 + 1.0)
    assert MOVED in prints(out)
    assert saves_to(out, OTHER) == ["save0"]
    # its first copy lost (say, while the new session was being made): only it goes again,
    # and nothing typed after it overtakes it
    out = run_until(core, T0 + 1.0 + TIMEOUT + 0.01)
    assert saves_to(out, OTHER) == ["save0"]
    out = core.receive(
        Ack("o-2", saves[0].id), OTHER, honest_key(core, Ack("o-2", saves[0].id), OTHER), T0 + 1.6
    )
    assert saves_to(out, OTHER) == ["save1"]
    out = core.receive(
        Ack("o-3", saves[1].id), OTHER, honest_key(core, Ack("o-3", saves[1].id), OTHER), T0 + 1.7
    )
    assert saves_to(out, OTHER) == ["save2"]
    out = core.receive(
        Ack("o-4", saves[2].id), OTHER, honest_key(core, Ack("o-4", saves[2].id), OTHER), T0 + 1.8
    )
    assert saves_to(out, OTHER) == [] and core.outbox == ()


def test_a_save_given_up_goes_to_the_next_registry_before_one_typed_after_it() -> None:
    core = in_a_service()
    [first] = typed_saves(core, 1)
    # the registry is heard after the first save, then goes: the first save is given a
    # round more (heard during its tries), the second, sent after, is given up first
    core.receive(TableUpdate("r-2", 3, ()), SERVER, REGISTRY_KEY, T0 + 0.05)
    [second] = typed_saves(core, 1, at=T0 + 0.1, first=1)
    out = run_until(core, T0 + 0.11 + ROUND + 0.01)
    assert prints(out) == [SERVER_NOT_RESPONDING, KEPT_IN_OUTBOX]
    out = told_ours_stopped(core, T0 + 2.8)
    assert list(core.outbox) == [first, second]  # the order typed
    assert prints(out) == [MOVED, "[Server is back.]"] and saves_to(out, OTHER) == ["save0"]
    out = core.receive(
        Ack("o-2", first.id), OTHER, honest_key(core, Ack("o-2", first.id), OTHER), T0 + 2.9
    )
    assert saves_to(out, OTHER) == ["save1"]


def test_a_registry_silent_keeps_its_peers_until_the_service_says_it_stopped() -> None:
    # silence is no proof: a registry busy in a join storm, or a peer's own process held
    # up, is silent too. Whatever goes unanswered is kept for it, and said, as alone.
    core = in_a_service()
    [save] = typed_saves(core, 1)
    out = run_until(core, T0 + 600.0 + (EXTRA_ROUNDS + 1) * ROUND + 0.01)
    assert prints(out) == [SERVER_NOT_RESPONDING, KEPT_IN_OUTBOX]
    assert all(a.addr == SERVER for a in out if isinstance(a, pa.SendSealed))
    assert list(core.outbox) == [save]


def test_a_registry_silent_is_left_for_another_of_the_service_that_reaches_the_peer() -> None:
    # the peer missed the service's news (asleep while a new lead told it): ours is gone,
    # and the lead's probe, from another of its registries, is the service reaching it
    core = in_a_service()
    [save] = typed_saves(core, 1)
    out = run_until(core, T0 + 0.01 + ROUND + 0.01)
    assert prints(out) == [SERVER_NOT_RESPONDING, KEPT_IN_OUTBOX] and list(core.outbox) == [save]
    probe = TableUpdate("o-1", 0, ())
    out = core.receive(probe, OTHER, honest_key(core, probe, OTHER), T0 + 30)
    assert prints(out) == [MOVED, "[Server is back.]"] and core.server == OTHER
    assert saves_to(out, OTHER) == ["save0"]


def test_a_request_whose_answer_over_tcp_never_comes_is_kept_for_its_registry() -> None:
    core = in_a_service()
    [save] = typed_saves(core, 1)
    out = core.receive(TooBig("r-2", save.id), SERVER, REGISTRY_KEY, T0 + 0.1)
    assert [a.message for a in out if isinstance(a, pa.SendSealed) and a.stream] == [save]
    assert run_until(core, T0 + 60) == []  # waited for while its connection is open
    out = core.stream_ended(save.id, T0 + 60)  # closed unanswered: asked again at once
    assert prints(out) == [] and saves_to(out, SERVER) == ["save0"]
    out = run_until(core, T0 + 60 + ROUND + 0.01)  # and that round, silent too, gives up
    assert prints(out) == [SERVER_NOT_RESPONDING, KEPT_IN_OUTBOX] and list(core.outbox) == [save]
    assert all(a.addr == SERVER for a in out if isinstance(a, pa.SendSealed))


def test_a_late_answer_from_the_registry_left_is_taken_and_moves_nobody_back() -> None:
    core = in_a_service()
    saves = typed_saves(core, 2)
    out = told_ours_stopped(core, T0 + 0.5)
    assert prints(out) == [MOVED] and saves_to(out, OTHER) == ["save0"]
    late = Ack("r-9", saves[0].id)  # the registry left answers after all
    out = core.receive(late, SERVER, honest_key(core, late, SERVER), T0 + 0.6)
    assert prints(out) == [] and saves_to(out, OTHER) == ["save1"]  # taken; still at OTHER
    # only the service's news that a registry stopped moves a peer
    news = Restarted("r-10", ("127.0.0.1:5000",))
    out = core.receive(news, SERVER, honest_key(core, news, SERVER), T0 + 0.7)
    assert prints(out) == ["[Registry 127.0.0.1:5001 is not answering; now using 127.0.0.1:5000.]"]


def test_news_from_another_registry_that_lists_ours_moves_nobody() -> None:
    # a new lead tells every peer the service's registries, some through no registry of
    # theirs yet (a route not learnt, or datagrams held up in a registry that was paused):
    # while the list names ours, ours runs, and the peer stays where it is
    core = in_a_service()
    [save] = typed_saves(core, 1)
    news = Restarted("o-1", REGISTRIES)
    out = core.receive(news, OTHER, honest_key(core, news, OTHER), T0 + 0.5)
    assert prints(out) == [] and core.server == SERVER
    assert saves_to(out, OTHER) == [] and list(core.outbox) == [save]


def test_a_late_answer_from_the_registry_left_does_not_say_the_one_in_use_is_back() -> None:
    core = in_a_service()
    [save] = typed_saves(core, 1)
    told_ours_stopped(core, T0 + 0.5)
    out = run_until(core, T0 + 0.5 + 6 * ROUND)  # the registry taking over is silent too
    assert list(core.outbox) == [save] and core.server == OTHER
    late = Ack("r-9", save.id)  # the registry left answers the first copy after all
    out = core.receive(late, SERVER, honest_key(core, late, SERVER), T0 + 6 * ROUND + 0.6)
    assert prints(out) == [] and saves_to(out, OTHER) == []  # OTHER is still silent


def test_a_registry_heard_from_but_slow_keeps_its_peers() -> None:
    # it pushes every half second and never answers the save: slow, not gone. The save is
    # given up after its rounds and kept; the peer stays, and sends nothing to the others
    core = in_a_service()
    [save] = typed_saves(core, 1)
    out: list[pa.Action] = []
    at, version = T0 + 0.5, 3
    while at < T0 + 5 * ROUND * (EXTRA_ROUNDS + 1):
        out += run_until(core, at)
        push = TableUpdate(f"r-{version}", version, ())
        out += core.receive(push, SERVER, REGISTRY_KEY, at)
        at, version = at + 0.5, version + 1
    assert MOVED not in prints(out)
    assert list(core.outbox) == [save]  # given up on, kept for this registry
    assert all(a.addr == SERVER for a in out if isinstance(a, pa.SendSealed))


def test_a_registry_heard_while_its_answer_over_tcp_is_late_keeps_its_peer() -> None:
    # busy, not gone: it pushes meanwhile; the request is asked of it again
    core = in_a_service()
    [save] = typed_saves(core, 1)
    core.receive(TooBig("r-2", save.id), SERVER, REGISTRY_KEY, T0 + 0.1)
    core.receive(TableUpdate("r-3", 3, ()), SERVER, REGISTRY_KEY, T0 + 5)
    out = core.stream_ended(save.id, T0 + 15)
    assert prints(out) == [] and saves_to(out, SERVER) == ["save0"]


def test_a_registry_alone_left_unanswered_keeps_what_was_sent_as_before() -> None:
    core = PeerCore(
        name="alice",
        port=6001,
        server=SERVER,
        session="a",
        keepalive=600.0,
        registry_key=REGISTRY_KEY,
    )
    [register] = sent(core.start(T0))
    entries = (Entry("alice", *ME, True), Entry("bob", *BOB, False))
    core.receive(
        Welcome("r-1", register.id, "alice", "tok", 2, entries, (), ()), SERVER, REGISTRY_KEY, T0
    )
    typed_saves(core, 2)
    out = run_until(core, T0 + 0.02 + ROUND)
    assert prints(out) == [SERVER_NOT_RESPONDING, KEPT_IN_OUTBOX] * 2
    assert all(a.addr == SERVER for a in out if isinstance(a, pa.SendSealed))


def test_a_registry_started_again_gets_what_was_on_its_way_in_order() -> None:
    core = in_a_service()
    saves = typed_saves(core, 2)
    out = core.receive(Restarted("r-2", REGISTRIES), SERVER, REGISTRY_KEY, T0 + 0.3)
    assert saves_to(out, SERVER) == ["save0"]
    out = core.receive(Ack("r-3", saves[0].id), SERVER, REGISTRY_KEY, T0 + 0.4)
    assert saves_to(out, SERVER) == ["save1"]


def test_a_peer_offline_moves_when_its_registry_leaves_a_copy_unanswered() -> None:
    # the service tells the peers online of a registry gone; one offline, typing reg, finds
    # out itself, as soon: the first copy unanswered moves it, and each registry is tried once
    core = in_a_service()
    [dereg] = [m for m in sent(core.line("dereg alice", T0 + 0.1)) if isinstance(m, Deregister)]
    out = core.receive(Ack("r-2", dereg.id), SERVER, REGISTRY_KEY, T0 + 0.2)
    assert prints(out) == ["[You are Offline. Bye.]"]
    [register] = [m for m in sent(core.line("reg alice", T0 + 1)) if isinstance(m, Register)]
    out = run_until(core, T0 + 1 + TIMEOUT)
    assert prints(out) == [MOVED]
    assert [a.addr for a in out if isinstance(a, pa.SendSealed) and a.message == register] == [
        OTHER
    ]
    out = run_until(core, T0 + 1 + TIMEOUT + REGISTER_ROUND + 0.01)  # the other is silent too
    assert MOVED not in prints(out) and SERVER_NOT_RESPONDING in prints(out)
    assert all(a.addr == OTHER for a in out if isinstance(a, pa.SendSealed))


def test_a_peer_offline_stays_with_its_registry_while_it_is_heard_from() -> None:
    # a registry that pushes meanwhile is slow, not gone: the reg is given its rounds there
    core = in_a_service()
    [dereg] = [m for m in sent(core.line("dereg alice", T0 + 0.1)) if isinstance(m, Deregister)]
    core.receive(Ack("r-2", dereg.id), SERVER, REGISTRY_KEY, T0 + 0.2)
    core.line("reg alice", T0 + 1)
    out: list[pa.Action] = []
    for n in range(1, 20):  # past a round's end: it is given another
        at = T0 + 1 + 0.4 * n
        out += run_until(core, at)
        out += core.receive(TableUpdate(f"r-{n + 2}", n + 2, ()), SERVER, REGISTRY_KEY, at)
    assert MOVED not in prints(out)
    assert all(a.addr == SERVER for a in out if isinstance(a, pa.SendSealed))


def test_the_services_registries_are_kept_when_they_change() -> None:
    core = PeerCore(name="alice", port=6001, server=SERVER, session="a", registry_key=REGISTRY_KEY)
    [register] = sent(core.start(T0))
    welcome = Welcome("r-1", register.id, "alice", "tok", 2, (), (), (), REGISTRIES)
    out = core.receive(welcome, SERVER, REGISTRY_KEY, T0)
    assert kept_registries((SERVER, OTHER), REGISTRY_KEY) in out
    out = told_ours_stopped(core, T0 + 1)
    assert [a for a in out if isinstance(a, pa.Keep) and a.what == "registries"] == [
        kept_registries((OTHER,), REGISTRY_KEY)
    ]
    out = told_ours_stopped(core, T0 + 2)  # the same list: nothing to keep
    assert not [a for a in out if isinstance(a, pa.Keep) and a.what == "registries"]


def test_a_start_whose_registry_is_silent_moves_to_another_kept_from_the_last_run() -> None:
    core = PeerCore(name="alice", port=6001, server=SERVER, session="a", registry_key=REGISTRY_KEY)
    core.parts.shared.registries = (OTHER,)  # what the adapter read (PeerStateFile)
    [register] = sent(core.start(T0))
    out = run_until(core, T0 + TIMEOUT)
    assert prints(out) == [MOVED]
    assert [a.addr for a in out if isinstance(a, pa.SendSealed) and a.message == register] == [
        OTHER
    ]
    welcome = Welcome("r-1", register.id, "alice", "tok", 2, (), (), (), ("127.0.0.1:5001",))
    assert "[Welcome, You are registered.]" in prints(
        core.receive(welcome, OTHER, REGISTRY_KEY, T0 + 1)
    )
