"""The table updates a relaying registry delivers to its own peers for the registry that
decides: sent, retried and acked here, by the windows and retries the registry on its own
uses (registry/core/pushes.py), so that neither the updates' copies nor their acks cross
NATS. The registry that decides sends each update once per registry and tracks none of
them (registry/core/pusher.py, `handed_over`); it judges the peers running by this
registry's reports of whom it heard (registry/adapter/cluster/link.py, Heard), not by
their acks. An update given up is dropped, as the registry on its own drops one: the peer
finds the gap at its next update or keepalive and asks for what it missed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from net.endpoint import Endpoint
from net.wake import WakeTimer
from registry.adapter.cluster.link import Addr
from registry.core.pushes import Pushes
from wire.codec import travels_by_stream
from wire.messages import Ack, Acks, Message
from wire.reliable import ATTEMPTS, TIMEOUT


class Delivery:
    """The table updates in flight from `endpoint` to this registry's peers."""

    def __init__(self, endpoint: Endpoint) -> None:
        self._endpoint = endpoint
        self._pushes = Pushes(TIMEOUT, ATTEMPTS, streamed=travels_by_stream)
        self._keys: dict[Addr, bytes] = {}  # the key each push to an address is sealed for
        self._timer = WakeTimer(self._due)
        #: updates given up (their peer never acked any copy), for the log's counts
        self.given_up = 0

    def push(self, to: Sequence[tuple[str, int, bytes]], message: Message) -> None:
        """Deliver `message` to each (ip, port, key) of `to` until it acks."""
        for ip, port, key in to:
            if key:
                self._keys[(ip, port)] = key
        targets = [("", (ip, port)) for ip, port, _ in to]
        self._send(self._pushes.add(message, "table", targets, time.monotonic()), message)
        self._timer.set(self._pushes.next_wake())

    def acked(self, messages: list[Message], addr: Addr) -> list[Message]:
        """`messages` came from `addr`: the acks of updates delivered here are taken (what
        they let out of a window is sent); the rest of `messages` is returned, an Ack or
        Acks of something else included, for the registry that decides."""
        if self._pushes.next_wake() is None:  # (nothing in flight, so nothing queued)
            return messages
        rest: list[Message] = []
        for message in messages:
            if type(message) is Ack:
                replies: Sequence[str] = (message.reply_to,)
            elif type(message) is Acks:
                replies = message.replies
            else:
                rest.append(message)
                continue
            others = self._answer(replies, addr)
            if len(others) == len(replies):
                rest.append(message)
            elif len(others) == 1:
                rest.append(Ack(message.id, others[0]))
            elif others:
                rest.append(Acks(message.id, tuple(others)))
        return rest

    def close(self) -> None:
        self._timer.cancel()

    def _answer(self, replies: Sequence[str], addr: Addr) -> list[str]:
        """Take the acks of `replies` from `addr`; the replies that answer nothing here."""
        answered, released = self._pushes.answer(replies, addr, time.monotonic())
        for push in released:
            self._send([push.addr], push.message)
        if not answered:
            return list(replies)
        mine = {flight.message.id for flight, _ in answered}
        return [reply for reply in replies if reply not in mine]

    def _due(self) -> None:
        again, failed, released = self._pushes.due(time.monotonic())
        for addrs, message in again:
            self._send(addrs, message)
        for push in released:
            self._send([push.addr], push.message)
        self.given_up += len(failed)
        self._timer.set(self._pushes.next_wake())

    def _send(self, addrs: Sequence[Addr], message: Message) -> None:
        if not addrs:
            return
        keys = [self._keys.get(addr, b"") for addr in addrs]
        if len(addrs) == 1:
            self._endpoint.send(addrs[0], message, keys[0])
        else:
            self._endpoint.send_many(addrs, keys, message)
