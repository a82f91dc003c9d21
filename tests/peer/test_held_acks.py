"""The acks a peer holds for the registry (peer/core/held_acks.py): each id acked once, in
order, by ACK_DELAY after it was held; one Acks per address for all held."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from peer.core import actions as pa
from peer.core.held_acks import ACK_DELAY, HeldAcks
from wire.messages import Ack, Acks
from wire.reliable import Alarm, IdMaker

REGISTRY = ("127.0.0.1", 5000)
OTHER = ("127.0.0.2", 5000)
KEY = b"r" * 32


def acked(actions: list[pa.Action]) -> list[tuple[pa.Addr, str]]:
    """(address, id) of every ack sent, in order."""
    out: list[tuple[pa.Addr, str]] = []
    for action in actions:
        assert isinstance(action, pa.Send)
        message = action.message
        replies = message.replies if isinstance(message, Acks) else (message.reply_to,)  # type: ignore[union-attr]
        out += [(action.addr, reply) for reply in replies]
    return out


def test_the_acks_of_a_moment_leave_as_one_acks_at_the_deadline() -> None:
    alarm = Alarm()
    held = HeldAcks(IdMaker("a"), alarm)
    held.hold(REGISTRY, KEY, "r-1", 10.0)
    held.hold(REGISTRY, KEY, "r-2", 10.005)
    assert alarm.at == 10.0 + ACK_DELAY and held
    out: list[pa.Action] = []
    held.tick(10.0 + ACK_DELAY / 2, out.append)
    assert out == []
    held.tick(10.0 + ACK_DELAY, out.append)
    assert out == [pa.Send(REGISTRY, Acks("a-1", ("r-1", "r-2")), KEY)]
    assert not held and held.due_at is None


def test_one_held_alone_is_an_ack() -> None:
    held = HeldAcks(IdMaker("a"), Alarm())
    held.hold(REGISTRY, KEY, "r-1", 0.0)
    out: list[pa.Action] = []
    held.send(out.append)
    assert out == [pa.Send(REGISTRY, Ack("a-1", "r-1"), KEY)]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["hold", "tick", "send"]),
            st.floats(min_value=0.0, max_value=0.05),
            st.sampled_from([REGISTRY, OTHER]),
        ),
        max_size=60,
    )
)
def test_every_id_held_is_acked_once_in_order_and_in_time(
    steps: list[tuple[str, float, pa.Addr]],
) -> None:
    """Holds, ticks (no later than the alarm, as the adapter's timer wakes the core) and
    early sends in any order: each id is acked exactly once, in the order held per
    address, and never later than ACK_DELAY after it was held."""
    alarm = Alarm()
    held = HeldAcks(IdMaker("a"), alarm)
    now, n = 0.0, 0
    when: dict[str, float] = {}
    order: dict[pa.Addr, list[str]] = {REGISTRY: [], OTHER: []}
    out: list[pa.Action] = []
    for kind, gap, addr in steps:
        # time moves on, but the timer fires by the alarm
        later = now + gap
        if alarm.at is not None and later >= alarm.at:
            now = alarm.at  # (early, if what was due went already: nothing is sent)
            held.tick(now, out.append)
            alarm.at = held.due_at  # as PeerCore.tick sets it
        now = max(now, later)
        if kind == "hold":
            n += 1
            msg_id = f"r-{n}"
            held.hold(addr, KEY, msg_id, now)
            when[msg_id] = now
            order[addr].append(msg_id)
        elif kind == "tick":
            held.tick(now, out.append)
        else:
            held.send(out.append)
        done = {msg_id for _, msg_id in acked(out)}
        assert all(when[msg_id] <= now for msg_id in done)
        oldest = min((t for msg_id, t in when.items() if msg_id not in done), default=now)
        assert held.due_at is None or held.due_at <= oldest + ACK_DELAY
    held.send(out.append)
    sent = acked(out)
    assert sorted(i for _, i in sent) == sorted(when)  # each once
    for addr, ids in order.items():
        assert [i for a, i in sent if a == addr] == ids
