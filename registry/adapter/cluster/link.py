"""What the registries of one service hand each other on plain NATS subjects, as datagrams
(the core's retries make up for what is lost): `Inbound` from a relay's peers to the registry
that decides, `Outbound` back, split by `Elsewhere` by the registry each address came through
(docs/PROTOCOL.md, "Several registries")."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import time
from collections.abc import Awaitable, Callable

import msgspec
import nats.errors
from msgspec import Raw, Struct, msgpack

from registry.core.actions import Send, SendMany
from wire.codec import encode
from wire.messages import Alias, Entry, Message, TableSnapshot, TableUpdate

Addr = tuple[str, int]
#: Peers, each as its address and the key it is for (b"": the key that last spoke there).
Peers = list[tuple[str, int, bytes]]

LEAD_SUBJECT = "chatapp.lead.in"
#: The most bytes one NATS message carries (a server takes 1 MB by default).
BATCH_BYTES = 256 * 1024
#: Seconds between a relay's reports of the peers it heard: a tenth of the keepalive, so that
#: a report lost costs a peer nothing.
HEARD_EVERY = 1.0


def registry_subject(registry: str) -> str:
    return f"chatapp.registry.{registry}.out"


class Inbound(Struct, array_like=True, frozen=True):
    """What a peer sent to `registry`, encoded (none: the peer was heard); `datagram` and
    `behind` as RegistryCore.receive takes them."""

    registry: str
    ip: str
    port: int
    key: bytes
    datagram: bool
    behind: float
    messages: list[bytes]


class Outbound(Struct, array_like=True, frozen=True):
    """One encoded `message` for each of `to`. With `push`, the relay delivers it until acked
    to the peers of list `number`: `to`, or list `since` with `to` added and `gone` taken out.
    With `rows_as_before`, a TableSnapshot without the rows of the last whole one sent there."""

    to: Peers
    message: bytes
    push: bool = False
    rows_as_before: bool = False
    number: int = 0
    since: int = 0
    gone: list[Addr] = []


_encoder = msgpack.Encoder()
INBOUNDS = msgpack.Decoder(list[Inbound])
OUTBOUNDS = msgpack.Decoder(list[Outbound])


def batches(items: list[bytes]) -> list[bytes]:
    """NATS messages of `items`, in order, none over BATCH_BYTES unless an item is."""
    out: list[bytes] = []
    batch: list[Raw] = []
    size = 0
    for item in items:
        if batch and size + len(item) > BATCH_BYTES:
            out.append(_encoder.encode(batch))
            batch, size = [], 0
        batch.append(Raw(item))
        size += len(item)
    if batch:
        out.append(_encoder.encode(batch))
    return out


def queued_since(since: float | None, queued: int, now: float) -> float | None:
    """Since when the registry that decides is behind in what the others hand it (None: not),
    `queued` more waiting at `now`: a peer of another registry is asked to wait (Busy) by the
    same rule as one of its own."""
    if not queued:
        return None
    return now if since is None else since


class Publisher:
    """Publishes from code that cannot await: what one pass hands over goes out in order once
    it is over, in `batches`."""

    def __init__(self, publish: Callable[[str, bytes], Awaitable[None]]) -> None:
        self._publish = publish
        self._queued: dict[str, list[bytes]] = {}
        self._task: asyncio.Task[None] | None = None

    def __call__(self, subject: str, item: Inbound | Outbound) -> None:
        self._queued.setdefault(subject, []).append(_encoder.encode(item))
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._queued:
                queued, self._queued = self._queued, {}
                for subject, items in queued.items():
                    for data in batches(items):
                        # (lost, as a datagram: its sender's retries make up for it)
                        with contextlib.suppress(nats.errors.Error):
                            await self._publish(subject, data)
        finally:
            self._task = None

    async def flushed(self) -> None:
        if self._task is not None:
            await self._task


#: Hands one Outbound to the registry named.
Publish = Callable[[str, Outbound], None]
#: Seconds a registry is counted on to hold the rows of the last snapshot sent it whole: less
#: than a peer's tries of a request last, so that a lost copy is sent whole by its last try.
SNAPSHOT_KEPT = 2.0


def delivered_there(message: Message) -> bool:
    """Whether the registry a peer came through delivers `message` until acked (Outbound.push):
    a table update, not a probe (version 0), whose ack is this registry's to take."""
    return type(message) is TableUpdate and message.version > 0


class Elsewhere:
    """The router of the registry that decides: which registry each peer's address last came
    through (none: this one), forgotten when not heard since the `forget_silent` before."""

    in_a_service = True

    def __init__(self, publish: Publish, linked: Callable[[], bool] = lambda: True) -> None:
        self.linked = linked
        self._publish = publish
        self._via: dict[Addr, str] = {}
        self._older: dict[Addr, str] = {}
        # the rows and aliases of the last snapshot sent whole to each registry, and when
        self._snapshots: dict[str, tuple[tuple[Entry, ...], tuple[Alias, ...], float]] = {}
        # the peers of the last push to each registry, the list's number, and when it went
        # whole; numbers start anywhere, so that no registry takes another lead's for its own
        self._lists: dict[str, tuple[dict[Addr, bytes], int, float]] = {}
        self._numbers = itertools.count(secrets.randbelow(1 << 31) + 1)

    def heard_here(self, addr: Addr) -> None:
        self._via.pop(addr, None)
        self._older.pop(addr, None)

    def heard_via(self, addr: Addr, registry: str) -> None:
        self._via[addr] = registry
        self._older.pop(addr, None)

    def __contains__(self, addr: object) -> bool:
        return addr in self._via or addr in self._older

    def via(self, addr: Addr) -> str | None:
        return self._via.get(addr) or self._older.get(addr)

    def forget_silent(self) -> None:
        self._older, self._via = self._via, {}

    def forget(self, registry: str) -> None:
        for routes in (self._via, self._older):
            for addr in [addr for addr, via in routes.items() if via == registry]:
                del routes[addr]

    def send(self, action: Send | SendMany | None) -> Send | SendMany | None:
        if action is None:
            return None
        if isinstance(action, Send):
            via = self.via(action.addr)
            if via is None:
                return action
            message = action.message
            if type(message) is TableSnapshot:
                message, as_before = self._snapshot(via, message)
                to = [(*action.addr, action.key)]
                self._publish(via, Outbound(to, encode(message), rows_as_before=as_before))
                return None
            self._hand(via, {action.addr: action.key}, encode(message), delivered_there(message))
            return None
        here: list[Addr] = []
        keys: list[bytes] = []
        by_registry: dict[str, dict[Addr, bytes]] = {}
        for addr, key in zip(action.addrs, action.keys, strict=True):
            registry = self.via(addr)
            if registry is None:
                here.append(addr)
                keys.append(key)
            else:
                by_registry.setdefault(registry, {})[addr] = key
        if by_registry:
            data, push = encode(action.message), delivered_there(action.message)
            for via, peers in by_registry.items():
                self._hand(via, peers, data, push)
        if len(here) == len(action.addrs):
            return action
        return SendMany(tuple(here), action.message, tuple(keys)) if here else None

    def _hand(self, via: str, peers: dict[Addr, bytes], data: bytes, push: bool) -> None:
        """`data` to `peers` of registry `via`; a push lists them as a change of the last."""
        if not push:
            self._publish(via, Outbound(_listed(peers), data))
            return
        now = time.monotonic()
        kept = self._lists.get(via)
        if kept is None or now - kept[2] >= SNAPSHOT_KEPT:
            number = next(self._numbers)
            self._lists[via] = (peers, number, now)
            self._publish(via, Outbound(_listed(peers), data, push, number=number))
            return
        before, since, whole_at = kept
        if peers == before:
            self._publish(via, Outbound([], data, push, number=since, since=since))
            return
        added = {addr: key for addr, key in peers.items() if before.get(addr) != key}
        new = sum(1 for addr in added if addr not in before)
        # (none gone when every one before is still listed: the usual case, a list growing)
        gone = (
            [addr for addr in before if addr not in peers] if len(peers) - new < len(before) else []
        )
        number = next(self._numbers)
        self._lists[via] = (peers, number, whole_at)
        self._publish(
            via, Outbound(_listed(added), data, push, number=number, since=since, gone=gone)
        )

    def _snapshot(self, via: str, snapshot: TableSnapshot) -> tuple[Message, bool]:
        """`snapshot` for `via`, without its rows (True) when sent them whole lately."""
        now = time.monotonic()
        sent = self._snapshots.get(via)
        if (
            sent is not None
            and sent[0] is snapshot.entries
            and sent[1] == snapshot.aliases
            and now - sent[2] < SNAPSHOT_KEPT
        ):
            return msgspec.structs.replace(snapshot, entries=()), True
        self._snapshots[via] = (snapshot.entries, snapshot.aliases, now)
        return snapshot, False


def _listed(peers: dict[Addr, bytes]) -> Peers:
    return [(ip, port, key) for (ip, port), key in peers.items()]
