"""The pushes a relaying registry delivers to its own peers, for the registry that decides.

The registry that decides hands on the pushes whose give-up it only drops (table changes,
outcomes: registry/core/pusher.py, HANDED_ON) to the registry that serves each peer. That
one sends them, takes its peers' acks, and sends again what is not acked, with the very
flights and windows the registry that decides keeps for its own peers
(registry/core/pushes.py). So the work of each push falls on the registry its peer chose;
the one that decides sends it once, and hears nothing back of it.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from net.wake import WakeTimer
from registry.adapter.cluster.link import Addr
from registry.core.pushes import Pushes
from wire.codec import travels_by_stream
from wire.messages import Ack, Acks, Message
from wire.reliable import ATTEMPTS, TIMEOUT

#: The most ids of pushes delivered here that are remembered (an ack of an older one goes
#: on to the registry that decides, which ignores it): a join storm of 5,000 makes a few
#: thousand table changes.
MINE_KEPT = 65536
#: Seconds after which an ack of pushes delivered here goes on all the same, if nothing
#: else of its peer did: the registry that decides counts a peer silent for three of its
#: keepalive periods (10 s) as gone, and anything it hears from a peer counts.
HEARD_EVERY = 5.0
#: Sends one message to each address, each sealed for the key in the same place.
SendMany = Callable[[Sequence[Addr], Sequence[bytes], Message], None]


class Delivery:
    """The pushes in flight to this registry's peers; `key_at` says which key is online at
    an address (the one that last spoke from there)."""

    def __init__(
        self,
        send_many: SendMany,
        key_at: Callable[[Addr], bytes],
        timing: tuple[float, int] = (TIMEOUT, ATTEMPTS),
    ) -> None:
        """Each push sent again every `timing[0]` seconds, `timing[1]` times in all."""
        self._send_many = send_many
        self._key_at = key_at
        self.pushes = Pushes(*timing, streamed=travels_by_stream)
        self._timer = WakeTimer(self._due)
        # the ids of the pushes delivered here, newest last: an ack of one of them stays
        # here even once its push is over (the ack of a copy sent again, or one that came
        # after the give-up), as the registry that decides knows nothing of it
        self._mine: OrderedDict[str, None] = OrderedDict()
        # when the registry that decides was last handed something from each peer
        self._heard: OrderedDict[Addr, float] = OrderedDict()
        #: Pushes given up on (their peers acked none of the copies), for the log.
        self.given_up = 0

    def deliver(self, to: Sequence[tuple[Addr, bytes]], message: Message) -> None:
        """Push `message` to each (address, key) of `to` until it acks."""
        self._mine[message.id] = None
        if len(self._mine) > MINE_KEPT:
            self._mine.popitem(last=False)
        addrs = self.pushes.add(message, "table", [("", addr) for addr, _ in to], time.monotonic())
        if addrs:
            keys = dict(to)
            self._send_many(addrs, [keys[addr] for addr in addrs], message)
        self._timer.set(self.pushes.next_wake())

    def acked(self, message: Message, addr: Addr) -> Message | None:
        """`message` came from the peer at `addr`: what of it is left for the registry that
        decides once the acks of the pushes delivered here are taken out (None: nothing).
        An ack is left whole, though all its pushes were delivered here, when that one has
        not heard from the peer for HEARD_EVERY seconds: it counts as the peer heard."""
        now = time.monotonic()
        if isinstance(message, Ack):
            replies: tuple[str, ...] = (message.reply_to,)
        elif isinstance(message, Acks):
            replies = message.replies
        else:
            return self._told(message, addr, now)
        mine = self._mine
        if not any(reply in mine for reply in replies):
            return self._told(message, addr, now)
        _, released = self.pushes.answer(replies, addr, now)
        for push in released:
            self._send_many([push.addr], [self._key_at(push.addr)], push.message)
        left = tuple(reply for reply in replies if reply not in mine)
        if not left and now - self._heard.get(addr, -HEARD_EVERY) < HEARD_EVERY:
            return None
        if left and len(left) < len(replies):
            message = Acks(message.id, left) if len(left) > 1 else Ack(message.id, left[0])
        return self._told(message, addr, now)

    def _told(self, message: Message, addr: Addr, now: float) -> Message:
        """`message` goes on to the registry that decides at `now`: it hears `addr`."""
        heard = self._heard
        heard[addr] = now
        heard.move_to_end(addr)
        if len(heard) > MINE_KEPT:
            heard.popitem(last=False)
        return message

    def _due(self) -> None:
        again, failed, released = self.pushes.due(time.monotonic())
        for addrs, message in again:
            self._send_many(addrs, [self._key_at(addr) for addr in addrs], message)
        for push in released:
            self._send_many([push.addr], [self._key_at(push.addr)], push.message)
        self.given_up += len(failed)
        self._timer.set(self.pushes.next_wake())

    def close(self) -> None:
        """Stop: what was not acked is not sent again."""
        self._timer.cancel()
