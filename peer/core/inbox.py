"""What came to this peer, as it is taken in: each message shown once, and every copy of
one acked (docs/PROTOCOL.md: at least once on the wire, exactly once on the screen). A
datagram is taken as one: the ids it brought first are recorded in one Shown, before any
of its lines or acks; its acks leave together, as one Acks, once all of it is taken.
Sans-IO: Shown and Send actions.

The acks owed the registry are held until the peer has taken in all that woke it, so
that one Acks answers everything one wake-up brought: QUIC's rule that the ack-eliciting
packets received in one read are acked together (RFC 9000, 13.2.1), with no timer. A
relayed line costs a receiving peer about as much to ack as to take in; held, the acks of
a burst of pushes leave as one datagram, after the peer's work on the lines. Acks to
other peers are not held: their sender waits for the ack to tell its user the message
arrived. When the first is held the core says AcksHeld; the adapter calls
`PeerCore.read_ended` once the wake-up is over (at the end of its event loop's pass),
which sends them (`send_held`). They go at once before any request to the registry (as
TCP's ride on its data): a `dereg` never overtakes the acks of what came before it, which
the registry would otherwise give up on and keep in the mailbox.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence

from peer.core.actions import AcksHeld, Action, Addr, Emit, Print, Send, Shown
from peer.core.lifecycle import Lifecycle
from wire.ids import IdMaker
from wire.messages import Ack, Acks
from wire.names import name_key

#: Message ids remembered for showing each message once.
SEEN_IDS = 50_000


class Inbox:
    """The (sender, id) pairs shown, the last `limit` of them, senders ignoring case; for
    the datagram being taken in, the acks it is owed and the pairs it showed first; and
    the acks held for the registry, per (address, key), oldest first."""

    def __init__(
        self,
        life: Lifecycle,
        new_id: IdMaker,
        shown: Iterable[tuple[str, str]] = (),
        limit: int = SEEN_IDS,
    ) -> None:
        """`life`: the peer's (a deregistered peer takes nothing); `new_id` makes the acks'
        ids; `shown`: the pairs shown in earlier runs, oldest first (see Shown)."""
        self._life = life
        self._new_id = new_id
        self._held: dict[tuple[Addr, bytes], list[str]] = {}
        self._limit = limit
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict(
            ((name_key(sender), msg_id), None) for sender, msg_id in shown
        )
        # the ids of the copies in the datagram being taken in, each owed an ack (`taken`)
        self._owed: list[str] = []
        # the pairs the datagram being taken in showed first, to be kept (`taken`)
        self._new: list[tuple[str, str]] = []

    def accept(self, sender: str, msg_id: str, *, kept: bool = True) -> bool:
        """Whether message `msg_id` from `sender`, a copy in the datagram being taken in,
        is shown for the first time: then it is recorded, in the datagram's one Shown
        (`taken`; unless not `kept`: shown once this run only). Every copy is acked where
        the datagram came from, unless this peer is deregistered: it takes nothing then, so
        that senders fall back to the registry's mailbox."""
        if not self._life.registered:
            return False
        self._owed.append(msg_id)
        key, seen = (name_key(sender), msg_id), self._seen
        if key in seen:  # (`_first`, written out: every line)
            return False
        seen[key] = None
        while len(seen) > self._limit:
            seen.popitem(last=False)
        if kept:
            self._new.append(key)
        return True

    def handed_over(self, sender: str, msg_id: str, emit: Emit) -> bool:
        """Whether message `msg_id` from `sender`, handed over in an answer (the mailbox,
        our own room line taken), is shown for the first time: then it is recorded at once
        (a Shown handed to `emit`). It is acked otherwise, not here."""
        key = (name_key(sender), msg_id)
        if not self._first(key):
            return False
        emit(Shown((key,)))
        return True

    def _first(self, key: tuple[str, str]) -> bool:
        """Whether `key` is seen for the first time: remembered then."""
        seen = self._seen
        if key in seen:
            return False
        seen[key] = None
        while len(seen) > self._limit:
            seen.popitem(last=False)
        return True

    def taken(
        self, addr: Addr, key: bytes, from_registry: bool, later: Sequence[Action], emit: Emit
    ) -> None:
        """The datagram from `addr`, sealed by `key`, is taken in; `later` is what its
        messages decided, in order. Handed to `emit`: its new pairs in one Shown (carried
        out before any line is printed or ack leaves, so a killed peer never shows a
        message twice), then `later` and the acks owed, sealed by `key`: one Ack, or one
        Acks. A peer's lines come after its acks: the sender waits on the ack, not on our
        screen. The registry's acks are held to the end of the read (`send_held`), AcksHeld
        said as the first is."""
        if self._new:
            emit(Shown(tuple(self._new)))
            self._new = []
        owed, self._owed = self._owed, []
        if from_registry:
            for action in later:
                emit(action)
            if owed:
                if not self._held:
                    emit(AcksHeld())
                self._held.setdefault((addr, key), []).extend(owed)
            return
        for action in later:
            if type(action) is not Print:
                emit(action)
        if owed:
            ack = Ack(self._new_id(), owed[0]) if len(owed) == 1 else Acks(self._new_id(), (*owed,))
            emit(Send(addr, ack, key))
        for action in later:
            if type(action) is Print:
                emit(action)

    @property
    def acks_held(self) -> bool:
        """Whether acks to the registry are held (`send_held` sends them)."""
        return bool(self._held)

    def send_held(self, emit: Emit) -> None:
        """Send every ack held for the registry now: one Ack, or one Acks, per address (the
        endpoint splits an Acks too big for a datagram)."""
        if not self._held:
            return
        held, self._held = self._held, {}
        new_id = self._new_id
        for (addr, key), ids in held.items():
            ack = Acks(new_id(), tuple(ids)) if len(ids) > 1 else Ack(new_id(), ids[0])
            emit(Send(addr, ack, key))
