"""The registry is away only when nothing at all came from it while a request was tried: a
request whose copies or answers were lost while the registry went on sending other things
is tried again, quietly, for a few more rounds, and neither `[Server not responding]` nor
a kept message is said. Lines typed behind a join wait for it meanwhile."""

from __future__ import annotations

from peer.core import actions as pa
from peer.core.dispatch import ROOMS_DOWN
from peer.core.request_ends import RECEIVED_BY_SERVER, SERVER_NOT_RESPONDING
from peer.core.requests import EXTRA_ROUNDS
from tests.peer.core_kit import SERVER, T0, prints, registered, run_until, sent
from tests.peer.honest import REGISTRY_KEY
from tests.peer.retry_rule import heard_for
from wire.messages import (
    Ack,
    ChannelMessage,
    ChannelPost,
    Join,
    Keepalive,
    RoomMessage,
    RoomPost,
)
from wire.reliable import ATTEMPTS, TIMEOUT

ROUND = ATTEMPTS * TIMEOUT  # from a request's first copy to the end of its tries


def with_registry_talking(core: object, end: float, start: float = T0) -> list[pa.Action]:
    """Run `core` to `end`, the registry relaying it a channel message every second (its
    answers to our requests all lost)."""
    out: list[pa.Action] = []
    t, k = start + 0.3, 0
    while t < end:
        out += run_until(core, t)  # type: ignore[arg-type]
        relay = ChannelMessage(f"r-c{k}", "bob", f"c{k}")
        out += core.receive(relay, SERVER, REGISTRY_KEY, t)  # type: ignore[attr-defined]
        t, k = t + 1.0, k + 1
    return out + run_until(core, end)  # type: ignore[arg-type]


def test_a_post_unanswered_while_the_registry_relays_is_tried_again_not_kept() -> None:
    core, _ = registered()
    [post] = sent(core.line("send_all hello", T0))
    out = with_registry_talking(core, T0 + heard_for(3) - 0.1)
    said = prints(out)
    assert SERVER_NOT_RESPONDING not in said and not any("Kept" in line for line in said)
    assert core.outbox == ()
    copies = [m for m in sent(out) if isinstance(m, ChannelPost)]
    assert len(copies) == 3 * ATTEMPTS - 1  # the first was sent as typed
    out = core.receive(Ack("r-9", post.id), SERVER, REGISTRY_KEY, T0 + heard_for(3) + 0.1)  # type: ignore[attr-defined]
    assert prints(out) == [RECEIVED_BY_SERVER]


def test_a_post_is_given_up_after_its_extra_rounds_and_kept_as_before() -> None:
    core, _ = registered()
    sent(core.line("send_all hello", T0))
    end = heard_for(1 + EXTRA_ROUNDS)
    out = with_registry_talking(core, T0 + end - 0.01)
    assert SERVER_NOT_RESPONDING not in prints(out)
    out = with_registry_talking(core, T0 + end + 0.01, start=T0 + end - 0.01)
    assert SERVER_NOT_RESPONDING in prints(out)
    assert [type(m) for m in core.outbox] == [ChannelPost]


def test_a_keepalive_unanswered_for_a_round_is_not_said_when_nothing_else_came() -> None:
    # an idle peer on a lossy network: nothing but its keepalive's answers would come
    core, _ = registered()
    out = run_until(core, T0 + 10 + (1 + EXTRA_ROUNDS) * ROUND - 0.01)
    assert [m for m in sent(out) if isinstance(m, Keepalive)]
    assert prints(out) == []
    out = run_until(core, T0 + 10 + (1 + EXTRA_ROUNDS) * ROUND + 0.01)
    assert prints(out) == [SERVER_NOT_RESPONDING]  # the registry is away after all


def in_room_r() -> object:
    core, _ = registered()
    [join] = sent(core.line("join r", T0))
    core.receive(Ack("r-5", join.id), SERVER, REGISTRY_KEY, T0 + 0.001)  # type: ignore[attr-defined]
    return core


def test_lines_typed_behind_a_join_whose_answers_are_lost_wait_and_are_said_in_its_room() -> None:
    core, _ = registered()
    [join] = sent(core.line("join r", T0))
    assert isinstance(join, Join)
    core.line("r-p0-017", T0 + 0.1)
    core.line("r-p0-018", T0 + 0.2)
    # the registry keeps sending (a room line of the room being joined: not yet ours)
    out: list[pa.Action] = []
    for k in range(6):
        out += run_until(core, T0 + 0.5 * k + 0.4)
        line = RoomMessage(f"r-l{k}", "bob", "other", f"x{k}", "2026-01-01 00:00:00", False)
        out += core.receive(line, SERVER, REGISTRY_KEY, T0 + 0.5 * k + 0.4)
    out += run_until(core, T0 + 2 * ROUND - 0.1)
    said = prints(out)
    assert ROOMS_DOWN not in said and not any(s.startswith("[Not a command") for s in said)
    assert [m for m in sent(out) if isinstance(m, Join)]  # tried again
    out = core.receive(Ack("r-6", join.id), SERVER, REGISTRY_KEY, T0 + 2 * ROUND)  # type: ignore[attr-defined]
    posts = [m for m in sent(out) if isinstance(m, RoomPost)]
    assert [(p.room, p.text) for p in posts] == [("r", "r-p0-017"), ("r", "r-p0-018")]
    assert not any(s.startswith("[Not a command") for s in prints(out))
