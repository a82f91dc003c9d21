"""The acks a peer holds for the registry (peer/core/held_acks.py): each id acked once, in
order, at the next `send`; one Acks per address for all held."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from peer.core import actions as pa
from peer.core.held_acks import HeldAcks
from wire.ids import IdMaker
from wire.messages import Ack, Acks

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


def test_the_acks_of_a_read_leave_as_one_acks_when_it_ends() -> None:
    held = HeldAcks(IdMaker("a"))
    held.hold(REGISTRY, KEY, ["r-1"])
    held.hold(REGISTRY, KEY, ["r-2"])
    assert held
    out: list[pa.Action] = []
    held.send(out.append)
    assert out == [pa.Send(REGISTRY, Acks("a-1", ("r-1", "r-2")), KEY)]
    assert not held
    held.send(out.append)  # nothing more held: nothing more sent
    assert len(out) == 1


def test_one_held_alone_is_an_ack() -> None:
    held = HeldAcks(IdMaker("a"))
    held.hold(REGISTRY, KEY, ["r-1"])
    out: list[pa.Action] = []
    held.send(out.append)
    assert out == [pa.Send(REGISTRY, Ack("a-1", "r-1"), KEY)]


ADDRS = st.lists(st.sampled_from([REGISTRY, OTHER]), min_size=1, max_size=5)


@given(st.lists(st.one_of(st.none(), ADDRS), max_size=40))
def test_every_id_held_is_acked_once_in_order_by_the_next_send(
    steps: list[list[pa.Addr] | None],
) -> None:
    """Holds (of ids to addresses, in any mix) and sends (None) in any order: each id is
    acked exactly once, by the first send after it was held, in the order held per
    address."""
    held = HeldAcks(IdMaker("a"))
    order: dict[pa.Addr, list[str]] = {REGISTRY: [], OTHER: []}
    out: list[pa.Action] = []
    for n, addrs in enumerate(steps):
        if addrs is None:
            held.send(out.append)
            assert not held
            assert sorted(i for _, i in acked(out)) == sorted(
                i for ids in order.values() for i in ids
            )
        else:
            owed = [(addr, f"r-{n}-{k}") for k, addr in enumerate(addrs)]
            for addr, msg_id in owed:
                held.hold(addr, KEY, [msg_id])
                order[addr].append(msg_id)
    held.send(out.append)
    sent = acked(out)
    for addr, ids in order.items():
        assert [i for a, i in sent if a == addr] == ids
