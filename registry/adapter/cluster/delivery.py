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
from collections.abc import Callable, Sequence

from net.wake import WakeTimer
from registry.adapter.cluster.link import Addr
from registry.core.pushes import Pushes
from wire.codec import travels_by_stream
from wire.messages import Ack, Acks, Message
from wire.reliable import ATTEMPTS, TIMEOUT

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
        #: Pushes given up on (their peers acked none of the copies), for the log.
        self.given_up = 0

    def deliver(self, to: Sequence[tuple[Addr, bytes]], message: Message) -> None:
        """Push `message` to each (address, key) of `to` until it acks."""
        addrs = self.pushes.add(message, "table", [("", addr) for addr, _ in to], time.monotonic())
        if addrs:
            keys = dict(to)
            self._send_many(addrs, [keys[addr] for addr in addrs], message)
        self._timer.set(self.pushes.next_wake())

    def acked(self, message: Message, addr: Addr) -> Message | None:
        """`message` came from the peer at `addr`: what of it is left for the registry that
        decides once the acks of the pushes delivered here are taken out (None: nothing)."""
        if isinstance(message, Ack):
            replies: tuple[str, ...] = (message.reply_to,)
        elif isinstance(message, Acks):
            replies = message.replies
        else:
            return message
        answered, released = self.pushes.answer(replies, addr, time.monotonic())
        for push in released:
            self._send_many([push.addr], [self._key_at(push.addr)], push.message)
        if not answered:
            return message
        taken = {flight.message.id for flight, _ in answered}
        left = tuple(reply for reply in replies if reply not in taken)
        if not left:
            return None
        return Acks(message.id, left) if len(left) > 1 else Ack(message.id, left[0])

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
