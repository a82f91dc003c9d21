"""A registry that relays: it holds its peers' secure channels, hands what they send to the
registry that decides and sends them its answers; it delivers their table updates itself, by a
registry alone's TableWatch (neither copies nor acks cross NATS)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from net.endpoint import Endpoint
from net.listener import MAX_STREAMS, has_hung_up
from net.served_stream import Handed
from net.wake import WakeTimer
from registry.adapter.cluster.link import (
    HEARD_EVERY,
    LEAD_SUBJECT,
    OUTBOUNDS,
    Addr,
    Inbound,
    Outbound,
    Publisher,
    registry_subject,
)
from registry.adapter.desk.service import CLOSE_FLUSH
from registry.core.actions import Send, SendMany
from registry.core.flood import FloodGate, count_requests
from registry.core.liveness import AWAY_GRACE_PERIODS
from registry.core.table_watch import TableWatch
from secure.channel import SecureChannel
from wire.base import IdMaker
from wire.codec import DecodeError, decode, encode, encoded_once
from wire.desk.messages import DESK_TYPES, DeskRegistries
from wire.keys import key_text
from wire.messages import Ack, Acks, Alive, Keepalive, Message, TableSnapshot, TableUpdate, Welcome

#: Requests that came over TCP whose connection is remembered for their answer.
TCP_ASKED_KEPT = MAX_STREAMS
#: Keepalive periods between two calls of Follower.forget_silent: longer than a running peer
#: keeps silent while the service is away (registry/core/liveness.py).
FORGET_PERIODS = 2 * AWAY_GRACE_PERIODS


class Follower:
    def __init__(
        self,
        nc: Client,
        me: str,
        channel: SecureChannel,
        log: Callable[[str], None],
        desk: Callable[[], Awaitable[tuple[str, str, list[str]]]],
    ) -> None:
        """`desk()`: see ClusterRegistry._desk_where; `channel` outlives the relaying."""
        self._nc = nc
        self._me = me
        self._log = log
        self._desk = desk
        # the key that last spoke from each address: since the last `forget_silent`, and before
        self._keys: dict[Addr, bytes] = {}
        self._older: dict[Addr, bytes] = {}
        self._over_tcp: OrderedDict[str, Addr] = OrderedDict()
        self._flood = FloodGate()
        self._publish = Publisher(nc.publish)
        self._sub: Subscription | None = None
        self._heard: dict[Addr, bytes] = {}
        self._reporting: asyncio.Task[None] | None = None
        self.endpoint = Endpoint(
            self._received,
            channel=channel,
            session=secrets.token_hex(4),
            handoff=(frozenset(DESK_TYPES), self._desk_asked),
            log=log,
            gate=self._admit,
            on_batch=self._received_batch,
            coalesce_drains=True,
            arrival_stamps=True,  # `behind`, which Busy answers by
        )
        self._snapshot: TableSnapshot | None = None
        #: the table pushes in flight to this registry's peers
        self.watch = TableWatch(IdMaker(secrets.token_hex(4)), self._key_at, lambda: self._version)
        self._version = -1  # the newest version handed here
        # the peers of the last push with their keys (and as a list); its number
        self._peers: dict[Addr, bytes] = {}
        self._listed: list[Addr] = []
        self._number = 0
        self._timer = WakeTimer(self._due)

    async def start(self, bind: str, port: int) -> Addr:
        addr = await self.endpoint.open(bind, port)
        self._sub = await self._nc.subscribe(registry_subject(self._me), cb=self._outbound)
        self._reporting = asyncio.get_running_loop().create_task(self._report())
        return addr

    async def close(self) -> None:
        if self._reporting is not None:
            self._reporting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reporting
        if self._sub is not None:
            await self._sub.unsubscribe()
        self._timer.cancel()
        await self._publish.flushed()
        await self.endpoint.close()

    def _admit(self, addr: Addr, now: float | None = None) -> bool:
        admitted, _ = self._flood.admit(addr, time.monotonic() if now is None else now)
        return admitted

    def _received(self, message: Message, addr: Addr, key: bytes) -> None:
        # (a message read from a TCP connection: its answer goes back on it, or nowhere)
        self._over_tcp[message.id] = addr
        self._over_tcp.move_to_end(message.id)
        if len(self._over_tcp) > TCP_ASKED_KEPT:
            self._over_tcp.popitem(last=False)
        self._forward([message], addr, key, datagram=False)

    def _received_batch(self, messages: list[Message], addr: Addr, key: bytes) -> None:
        count_requests(messages, self._admit, addr, self.endpoint.read_at, self.endpoint.lagging)
        self._forward(messages, addr, key, datagram=True)

    def _forward(self, messages: list[Message], addr: Addr, key: bytes, *, datagram: bool) -> None:
        if key:
            self._keys[addr] = key
            self._heard[addr] = key
        messages = self.acked(messages, addr)
        for message in messages:
            if type(message) is Keepalive:  # (its Alive is told as a registry alone tells it)
                self.heard(addr, message.version)
        if messages:  # (else acks of the updates this registry delivers: heard, reported)
            encoded = [encode(message) for message in messages]
            behind = self.endpoint.behind()
            self._publish(LEAD_SUBJECT, Inbound(self._me, *addr, key, datagram, behind, encoded))

    async def _report(self) -> None:
        while True:
            await asyncio.sleep(HEARD_EVERY)
            heard, self._heard = self._heard, {}
            self._hand(heard)

    def announce(self) -> None:
        self._hand(self._older | self._keys)

    def _hand(self, peers: dict[Addr, bytes]) -> None:
        for (ip, port), key in peers.items():
            self._publish(LEAD_SUBJECT, Inbound(self._me, ip, port, key, True, 0.0, []))

    def held(self) -> int:
        return len(self._older.keys() | self._keys.keys())

    def forget_silent(self) -> None:
        """Forget the addresses silent since the call before, and stop pushing them the table."""
        self._older, self._keys = self._keys, {}
        self.watch.keep_only(self._older)

    def _key(self, addr: Addr) -> bytes:
        return self._keys.get(addr) or self._older.get(addr, b"")

    def _known(self, addr: Addr, key: bytes) -> str:
        key = key or self._key(addr)
        return key_text(key) if key else ""

    async def _outbound(self, msg: Msg) -> None:
        try:
            outs = [(out, decode(out.message)) for out in OUTBOUNDS.decode(msg.data)]
        except (msgspec.DecodeError, msgspec.ValidationError, DecodeError):
            self._log("dropped what the registry that decides sent: not ChatApp's")
            return
        pushes: list[tuple[list[Addr], TableUpdate]] = []
        with self.endpoint.packed():  # (what came together leaves together)
            for out, message in outs:
                if type(message) is TableSnapshot:
                    whole = self._whole(message, out.rows_as_before)
                    if whole is None:
                        continue
                    message = whole
                if out.push and type(message) is TableUpdate:
                    listed = self.listed(out)
                    if listed is None:
                        self.endpoint.rejections(
                            "table update over a list not held",
                            f"dropped a table update for peers not listed here ({out.since})",
                        )
                    else:
                        pushes.append((listed, message))  # (consecutive ones go as one push)
                    continue
                self._send(out.to, message)
            if pushes:
                self.push(pushes)

    def _send(self, to: list[tuple[str, int, bytes]], message: Message) -> None:
        if type(message) is Welcome:  # (the peer's table pushes start at its version)
            fetching = not message.entries
            for ip, port, key in to:
                known = self._known((ip, port), key)
                self.watch.welcomed((ip, port), known, message.version, fetching=fetching)
        elif type(message) is TableSnapshot:  # (or at the table it is sent)
            for ip, port, key in to:
                self.watch.sent_table((ip, port), self._known((ip, port), key), message.version)
        elif type(message) is Alive and len(to) == 1:  # (as a registry alone tells it)
            told = self.watch.told(to[0][:2], message.version)
            if told != message.version:
                message = msgspec.structs.replace(message, version=told)
        if len(to) > 1:  # (a push: encoded once for all)
            addrs = [(ip, port) for ip, port, _ in to]
            keys = [key or self._key((ip, port)) for ip, port, key in to]
            self.endpoint.send_many(addrs, keys, message)
            return
        for ip, port, key in to:
            if self._connection_gone(message, (ip, port)):
                continue
            if key:
                self._keys[(ip, port)] = key
            self.endpoint.send((ip, port), message, key)

    def _whole(self, snapshot: TableSnapshot, rows_as_before: bool) -> TableSnapshot | None:
        """`snapshot` with its rows encoded once, or those of the last sent whole (None: not
        kept, dropped as a datagram lost)."""
        kept = self._snapshot
        if not rows_as_before:
            snapshot = msgspec.structs.replace(snapshot, entries=encoded_once(snapshot.entries))
            self._snapshot = snapshot
            return snapshot
        if kept is None or kept.version != snapshot.version:
            self._log(f"dropped a table snapshot without rows: not kept here ({snapshot.version})")
            return None
        return msgspec.structs.replace(snapshot, entries=kept.entries)

    def _connection_gone(self, message: Message, addr: Addr) -> bool:
        """Whether `message` answers a TCP request from `addr` on a connection closed since."""
        reply_to: object = getattr(message, "reply_to", "")
        if not reply_to or self._over_tcp.get(str(reply_to)) != addr:
            return False
        if self.endpoint.connected(addr):
            return False
        what = type(message).__name__
        self.endpoint.rejections(
            "answer to a closed connection",
            f"dropped {what} for {addr[0]}:{addr[1]}: its request's TCP connection is closed",
        )
        return True

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

    def push(self, handed: list[tuple[list[Addr], TableUpdate]]) -> None:
        """Deliver each update to the peers listed with it, in the order handed, until acked or
        outdated (consecutive ones as one)."""
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
            flying = {update.id for update in self.watch.flying(addr)}  # (as the last left it)
            self.watch.acked(replies, addr, time.monotonic(), self._sent)  # (its own, if any)
            others = [reply for reply in replies if reply not in flying]
            if len(others) == len(replies):
                rest.append(message)
            elif len(others) == 1:
                rest.append(Ack(message.id, others[0]))
            elif others:
                rest.append(Acks(message.id, tuple(others)))
        return rest

    def heard(self, addr: Addr, held: int) -> None:
        """The peer at `addr` holds the table at `held`: what it missed is pushed."""
        self.watch.heard(addr, held, time.monotonic(), self._sent)

    def _push(self, run: list[TableUpdate], to: Sequence[Addr], now: float) -> None:
        """`run` to `to`, copies dropped; a peer the updates say went offline (not in `to`) is
        watched no more."""
        fresh = [update for update in run if update.version > self._version]
        if not fresh:
            return
        self._version = fresh[-1].version
        self.watch.push(fresh, to, now, self._sent)
        sent = set(to)
        for update in fresh:
            for row in update.entries:
                where = (row.ip, row.port)
                if not row.online and where not in sent:
                    self.watch.forget(where)

    def _due(self) -> None:
        self.watch.due(time.monotonic(), self._sent)
        self._timer.set(self.watch.in_flight.next_wake())

    def _sent(self, send: Send | SendMany) -> None:
        """`send`, a push of the watch, goes out; the watch's clock, armed, wakes it."""
        if type(send) is SendMany:
            self.endpoint.send_many(send.addrs, send.keys, send.message)
        elif isinstance(send, Send):
            self.endpoint.send(send.addr, send.message, send.key)
        self._timer.set(self.watch.in_flight.next_wake())

    def _key_at(self, addr: Addr) -> bytes:
        return self._peers.get(addr) or self._key(addr)

    async def _desk_asked(self, handed: Handed) -> None:
        """Tell a help-desk client where the desk is (DeskRegistries) and close; while no
        registry decides, wait up to DESK_WAIT seconds for one, else the desk is here."""
        decoder, reader, writer = handed.decoder, handed.reader, handed.writer

        def tell(desk: str) -> None:
            with contextlib.suppress(ConnectionError, OSError, ValueError):
                decoder.send(DeskRegistries(secrets.token_hex(4), desk, tuple(registries)))
                writer.write(decoder.output())

        here, desk, registries = await self._desk()
        try:
            waited = 0.0
            while not desk and waited < DESK_WAIT and not has_hung_up(reader, writer):
                await asyncio.sleep(DESK_POLL)
                waited += DESK_POLL
                here, desk, registries = await self._desk()
            if not has_hung_up(reader, writer):
                tell(desk or here)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(writer.drain(), CLOSE_FLUSH)
        except asyncio.CancelledError:  # this registry stops relaying (it decides now)
            tell(here)
            raise
        except (ConnectionError, OSError, ValueError):
            pass  # it is gone: there is nobody to tell
        finally:
            decoder.close()
            with contextlib.suppress(Exception):
                writer.close()  # (what was written goes first)


#: Seconds a desk client asking a relay waits at most for a registry to decide (one takes
#: the lead within about 2 s), and how often it is looked for meanwhile.
DESK_WAIT, DESK_POLL = 4.0, 0.25
