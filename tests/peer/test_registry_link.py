"""RegistryLink: the order of what goes to the registry, what follows an answer or a
give-up, keepalives, and moves between registries."""

from __future__ import annotations

from peer.core import actions as pa
from peer.core.lifecycle import LifePhase
from peer.core.request_kinds import Stage
from peer.core.requests import KEEPALIVE
from tests.peer.parts_kit import REGISTRY_KEY, SERVER, T0, link, sent, shared
from wire.messages import (
    ChannelPost,
    Deregister,
    Join,
    Keepalive,
    Register,
    RoomPost,
    SaveMessage,
)
from wire.refusals import RefusalCode
from wire.reliable import ATTEMPTS, TIMEOUT

GIVEN_UP = Stage.GIVEN_UP

KEPT = SaveMessage("k-1", "alice", "tok", "bob", "kept")


def test_what_is_typed_goes_after_the_kept_outbox_one_at_a_time() -> None:
    made = shared(outbox=(KEPT,))
    registry = link(made)
    out: list[pa.Action] = []
    post = ChannelPost("a-1", "alice", "tok", "hi")
    registry.request(post, T0, out.append)
    assert sent(out) == [KEPT]  # the first kept one goes as a probe
    made.requests.answer_came(KEPT.id)
    made.settling.stop_holding(KEPT)
    out.clear()
    registry.over(KEPT, T0, out.append)
    assert sent(out) == [post]  # then what was held behind it


def test_a_request_given_up_is_told_and_the_registry_is_away() -> None:
    made = shared()
    registry = link(made)
    out: list[pa.Action] = []
    registry.request(Join("a-1", "alice", "tok", "lobby"), T0, out.append)
    assert made.requests.any_of(Join)
    failed = [r for n in range(1, ATTEMPTS + 1) for r in registry.due(T0 + n * TIMEOUT, out.append)]
    assert [(r.message, r.stage) for r in failed] == [
        (Join("a-1", "alice", "tok", "lobby"), GIVEN_UP)
    ]


def test_the_first_registration_sent_again_makes_the_start_late() -> None:
    made = shared(registered=False)
    registry = link(made)
    out: list[pa.Action] = []
    registry.request(made.register_message(), T0, out.append)
    registry.due(T0 + TIMEOUT, out.append)
    assert [type(m) for m in sent(out)] == [Register, Register]
    assert made.life.phase is LifePhase.STARTING_LATE


def test_a_keepalive_goes_each_period_while_registered() -> None:
    made = shared()
    made.requests.registered(T0)
    registry = link(made)
    out: list[pa.Action] = []
    registry.tick(T0 + KEEPALIVE, out.append)
    # with the version of our table: the registry pushes what it lacks
    assert sent(out) == [Keepalive("a-1", "alice", "tok", made.table.version)]
    assert made.table.version == 3 and registry.sent(Keepalive) and not registry.sent(Deregister)


def test_coming_back_registers_again_quietly_once() -> None:
    made = shared()
    registry = link(made)
    out: list[pa.Action] = []
    registry.come_back(T0, out.append)
    registry.come_back(T0, out.append)
    assert [type(m) for m in sent(out)] == [Register]
    assert registry.counts_us_offline(RefusalCode.OFFLINE)
    assert not registry.counts_us_offline(RefusalCode.OTHER)


def test_outcomes_overdue_are_asked_for_again_quietly() -> None:
    made = shared()
    registry = link(made)
    post = RoomPost("a-1", "alice", "tok", "lobby", "hi")
    made.requests.accept(post, T0)
    out: list[pa.Action] = []
    registry.flush_outbox(T0 + 1, out.append, back=True)  # the registry restarted
    assert out == [pa.SendSealed(SERVER, post, REGISTRY_KEY)]
