"""What the registries of one service hand each other on plain NATS subjects, as datagrams
(the core's retries make up for what is lost): `Inbound` from a relay's peers to the registry
that decides, `Outbound` back (docs/PROTOCOL.md, "Several registries")."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import nats.errors
from msgspec import Raw, Struct, msgpack

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
