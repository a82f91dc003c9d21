"""The table updates a relay delivers to its own peers for the registry that decides, by a
registry alone's TableWatch; neither copies nor acks cross NATS."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence

from net.endpoint import Endpoint
from net.wake import WakeTimer
from registry.adapter.cluster.link import Addr, Outbound
from registry.core.table_watch import Sends, TableWatch
from wire.ids import IdMaker
from wire.messages import Ack, Acks, Message, TableUpdate

#: Updates for the address of each peer listed with them, in the order handed.
Handed = Sequence[tuple[Sequence[Addr], TableUpdate]]


class Delivery:
    """The table pushes in flight from `endpoint`; `key_of(addr)`: the key last heard there."""

    def __init__(self, endpoint: Endpoint, key_of: Callable[[Addr], bytes]) -> None:
        self._endpoint = endpoint
        self._key_of = key_of
        self.watch = TableWatch(IdMaker(secrets.token_hex(4)))
        self._version = -1  # the newest version handed here
        # the peers of the last push with their keys (and as a list); its number
        self._peers: dict[Addr, bytes] = {}
        self._listed: list[Addr] = []
        self._number = 0
        self._timer = WakeTimer(self._due)

    def listed(self, out: Outbound) -> list[Addr] | None:
        """The addresses the push `out` goes to (None: over a list not held here)."""
        if not out.since:
            self._peers = {(ip, port): key for ip, port, key in out.to}
            self._listed = list(self._peers)
        elif out.since != self._number:
            return None
        elif out.to or out.gone:
            for addr in out.gone:
                self._peers.pop(addr, None)
            for ip, port, key in out.to:
                self._peers[(ip, port)] = key
            self._listed = list(self._peers)
        self._number = out.number
        return self._listed

    def push(self, handed: Handed) -> None:
        """Deliver each update to its peers until acked or outdated (consecutive ones as one)."""
        now = time.monotonic()
        run: list[TableUpdate] = []
        to: Sequence[Addr] = ()
        for peers, update in handed:
            if run and (peers != to or update.start() != run[-1].version):
                self._push(run, to, now)
                run = []
            to = peers
            run.append(update)
        if run:
            self._push(run, to, now)
        self._timer.set(self.watch.next_wake())

    def acked(self, messages: list[Message], addr: Addr) -> list[Message]:
        """`messages` from `addr` but the acks of pushes delivered here."""
        if not self.watch.flying(addr):
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

    def heard(self, addr: Addr, held: int) -> None:
        """The peer at `addr` holds the table at `held`: what it missed is pushed."""
        self._send(self.watch.heard(addr, held, self._version, time.monotonic()))
        self._timer.set(self.watch.next_wake())

    def close(self) -> None:
        self._timer.cancel()

    def _push(self, run: list[TableUpdate], to: Sequence[Addr], now: float) -> None:
        """`run` to `to`, copies dropped; a peer the updates say went offline (not in `to`) is
        watched no more."""
        fresh = [update for update in run if update.version > self._version]
        if not fresh:
            return
        self._version = fresh[-1].version
        self._send(self.watch.push(fresh, to, now))
        sent = set(to)
        for update in fresh:
            for row in update.entries:
                where = (row.ip, row.port)
                if not row.online and where not in sent:
                    self.watch.forget(where)

    def _answer(self, replies: Sequence[str], addr: Addr) -> list[str]:
        flying = {update.id for update in self.watch.flying(addr)}
        mine = [reply for reply in replies if reply in flying]
        if not mine:
            return list(replies)
        _, sends = self.watch.acked(mine, addr, self._version, time.monotonic())
        self._send(sends)
        self._timer.set(self.watch.next_wake())
        return [reply for reply in replies if reply not in flying]

    def _due(self) -> None:
        self._send(self.watch.due(self._version, time.monotonic()))
        self._timer.set(self.watch.next_wake())

    def _send(self, sends: Sends) -> None:
        for addrs, update in sends:
            if not addrs:
                continue
            keys = [self._peers.get(addr) or self._key_of(addr) for addr in addrs]
            if len(addrs) == 1:
                self._endpoint.send(addrs[0], update, keys[0])
            else:
                self._endpoint.send_many(addrs, keys, update)
