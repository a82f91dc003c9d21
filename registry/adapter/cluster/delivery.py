"""The table updates a relaying registry delivers to its own peers for the registry that
decides, by the same watch as the registry on its own (registry/core/table_watch.py): one
push in flight per peer, from the version it acked, sent again at its round trip, its late
ack answered with every row changed since in one push. The updates the relay was handed
are its log (registry/core/table_changes.py), from which those catch-ups are made; neither
the updates' copies nor their acks cross NATS. The registry that decides sends each update
once per registry and tracks none of them (registry/core/pusher.py, `handed_over`); it
judges the peers running by this registry's reports of whom it heard
(registry/adapter/cluster/link.py, Heard), not by their acks. A push given up is dropped,
as the registry on its own drops one: the peer finds the gap at its next update or
keepalive and asks for what it missed. A peer that went offline, or is silent here for
a turn of the follower's (FORGET_PERIODS), is forgotten here.

Each push names the peers it goes to as a change of the list of the push before
(link.Outbound); this registry keeps that list, and seals each push for the key it gives,
else the key that spoke last from the address. A push over a list not held here (one
lost on the way) is dropped as a lost one is; the list comes whole again within seconds.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Container, Sequence

from net.endpoint import Endpoint
from net.wake import WakeTimer
from registry.adapter.cluster.link import Addr, Outbound
from registry.core.table_changes import TableLog
from registry.core.table_watch import Sends, TableWatch
from wire.ids import IdMaker
from wire.keys import key_text
from wire.messages import Ack, Acks, Message, TableUpdate

#: Updates for the address of each peer listed with them, in the order handed.
Handed = Sequence[tuple[Sequence[Addr], TableUpdate]]


class Delivery:
    """The table pushes in flight from `endpoint` to this registry's peers."""

    def __init__(self, endpoint: Endpoint, key_of: Callable[[Addr], bytes]) -> None:
        """`key_of(addr)`: the key that spoke last from `addr` (b"": none lately)."""
        self._endpoint = endpoint
        self._key_of = key_of
        self._log = TableLog()
        self._watch = TableWatch(self._log, IdMaker(secrets.token_hex(4)))
        self._version = -1  # the newest version handed here
        # the peers of the last push, with their keys, as handed (and their addresses, as a
        # list); its number
        self._peers: dict[Addr, bytes] = {}
        self._listed: list[Addr] = []
        self._number = 0
        self._timer = WakeTimer(self._due)

    def listed(self, out: Outbound) -> list[Addr] | None:
        """The addresses of the peers the push `out` goes to (link.Outbound: `number`,
        `since`, `gone`), or None for one over a list not held here (one lost on the way):
        it is dropped."""
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
        """Deliver each update of `handed` to its peers until they ack it or a newer one:
        consecutive updates for the same peers go as one push."""
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
        self._timer.set(self._watch.next_wake())

    def welcomed(self, addr: Addr, key: bytes, version: int, *, fetching: bool) -> None:
        """The peer at `addr`, of public key `key`, was welcomed at table `version`: its
        pushes start there; or, `fetching` (a Welcome without rows), from the table it is
        sent next (`answered`), as a registry on its own pushes (TableWatch.welcomed)."""
        self._watch.welcomed(addr, key_text(key) if key else "", version, fetching=fetching)

    def answered(self, addr: Addr, key: bytes, version: int) -> None:
        """The peer at `addr`, or of public key `key` (over TCP), was sent the table at
        `version`: its pushes start there, not before."""
        self._watch.answered(addr, key_text(key) if key else "", version)

    def told(self, addr: Addr, version: int) -> int:
        """The table version to tell the peer at `addr` in an Alive that says `version`: the
        one it acked while a push is on its way to it (TableWatch.told)."""
        return self._watch.told(addr, version)

    def acked(self, messages: list[Message], addr: Addr) -> list[Message]:
        """`messages` came from `addr`: the acks of pushes delivered here are taken (what
        they let out is sent); the rest of `messages` is returned, an Ack or Acks of
        something else included, for the registry that decides."""
        if not self._watch.flying(addr):
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

    def keep_only(self, addrs: Container[Addr]) -> None:
        """Push nothing more to a peer not at one of `addrs` (one that moved or left)."""
        self._watch.keep_only(addrs)

    def in_flight(self) -> int:
        """Peers a table push is in flight to from here."""
        return self._watch.in_flight()

    def close(self) -> None:
        self._timer.cancel()

    def _push(self, run: list[TableUpdate], to: Sequence[Addr], now: float) -> None:
        """`run`, consecutive updates, to the peers `to`, through the watch. The registry
        that decides sends each version here once, so one not newer than the newest handed
        is a copy and is dropped: the peers have it, or their catch-ups bring it. A peer the
        updates say went offline, and not sent them, is watched no more."""
        fresh = [update for update in run if update.version > self._version]
        if not fresh:
            return
        for update in fresh:
            self._log.add(update)  # (a gap starts the log again)
        self._version = fresh[-1].version
        self._send(self._watch.push(fresh, to, now))
        sent = set(to)
        for update in fresh:
            for row in update.entries:
                where = (row.ip, row.port)
                if not row.online and where not in sent:
                    self._watch.forget(where)

    def _answer(self, replies: Sequence[str], addr: Addr) -> list[str]:
        """Take the acks of `replies` from `addr`; the replies that answer nothing here."""
        flying = {update.id for update in self._watch.flying(addr)}
        mine = [reply for reply in replies if reply in flying]
        if not mine:
            return list(replies)
        _, sends = self._watch.acked(mine, addr, self._version, time.monotonic())
        self._send(sends)
        self._timer.set(self._watch.next_wake())
        return [reply for reply in replies if reply not in flying]

    def _due(self) -> None:
        self._send(self._watch.due(self._version, time.monotonic()))
        self._timer.set(self._watch.next_wake())

    def _send(self, sends: Sends) -> None:
        for addrs, update in sends:
            if not addrs:
                continue
            keys = [self._peers.get(addr) or self._key_of(addr) for addr in addrs]
            if len(addrs) == 1:
                self._endpoint.send(addrs[0], update, keys[0])
            else:
                self._endpoint.send_many(addrs, keys, update)
