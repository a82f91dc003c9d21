"""A registry of a service that does not decide: it holds its peers' secure channels, hands
what they send to the registry that decides, and sends them what that one answers
(registry/cluster/link.py)."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from net.endpoint import Endpoint
from net.secure import SecureChannel
from net.secure_stream import SecureStream
from registry.cluster.link import (
    LEAD_SUBJECT,
    Addr,
    Inbound,
    Publisher,
    pack,
    registry_subject,
    unpack_outbound,
)
from registry.desk.closed import ClosedDesk
from registry.flood import FloodGate
from wire.codec import decode, encode
from wire.desk.messages import DESK_TYPES
from wire.errors import DecodeError
from wire.messages import Message


class Follower:
    """One registry that relays for the service (see the module's docstring)."""

    def __init__(
        self,
        nc: Client,
        me: str,
        static: X25519PrivateKey,
        log: Callable[[str], None],
        leader: Callable[[], str],
    ) -> None:
        """`me` names this registry to the others; `leader()` says where peers reach the
        registry that decides ("ip:port"), for those who ask here for the help desk."""
        self._nc = nc
        self._me = me
        self._log = log
        self._leader = leader
        self._keys: dict[Addr, bytes] = {}  # the key that last spoke from each address
        self._flood = FloodGate()
        self._publish = Publisher(nc.publish)
        self._sub: Subscription | None = None
        #: its peers' sessions, which the registry that takes over here goes on with
        self.channel = channel = SecureChannel(
            static, answers_key_requests=True, rehandshakes_on_silence=False
        )
        self.endpoint = Endpoint(
            self._received,
            channel=channel,
            key_for=self._keys.get,
            session=secrets.token_hex(4),
            handoff=(frozenset(DESK_TYPES), self._desk_asked),
            log=log,
            gate=self._admit,
            on_batch=self._received_batch,
            coalesce_drains=True,
        )

    async def start(self, bind: str, port: int) -> Addr:
        addr = await self.endpoint.open(bind, port)
        self._sub = await self._nc.subscribe(registry_subject(self._me), cb=self._outbound)
        return addr

    async def close(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()
        await self._publish.flushed()
        await self.endpoint.close()

    # -- from peers to the registry that decides ------------------------------------------

    def _admit(self, addr: Addr) -> bool:
        admitted, _ = self._flood.admit(addr, time.monotonic())
        return admitted

    def _received(self, message: Message, addr: Addr, key: bytes) -> None:
        self._forward([message], addr, key, datagram=False)

    def _received_batch(self, messages: list[Message], addr: Addr, key: bytes) -> None:
        self._forward(messages, addr, key, datagram=True)

    def _forward(self, messages: list[Message], addr: Addr, key: bytes, *, datagram: bool) -> None:
        if key:
            self._keys[addr] = key
        behind = self.endpoint.behind()
        encoded = [encode(message) for message in messages]
        inbound = Inbound(self._me, addr[0], addr[1], key, datagram, behind, encoded)
        self._publish(LEAD_SUBJECT, pack(inbound))

    def announce(self) -> None:
        """Tell the registry that decides (a new one) which peers this registry holds."""
        for (ip, port), key in self._keys.items():
            self._publish(LEAD_SUBJECT, pack(Inbound(self._me, ip, port, key, True, 0.0, [])))

    # -- from the registry that decides to peers ------------------------------------------

    async def _outbound(self, msg: Msg) -> None:
        try:
            out = unpack_outbound(msg.data)
            message = decode(out.message)
        except (msgspec.DecodeError, msgspec.ValidationError, DecodeError):
            self._log("dropped what the registry that decides sent: not ChatApp's")
            return
        for ip, port, key in out.to:
            if key:
                self._keys[(ip, port)] = key
            self.endpoint.send((ip, port), message, key=key)

    # -- the help desk is at the registry that decides ------------------------------------

    async def _desk_asked(
        self,
        first: Message,
        decoder: SecureStream,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        more: Sequence[Message] = (),
    ) -> None:
        """A help-desk client asked here: it is told where the desk is."""
        leader = self._leader()
        where = f"at {leader} (ChatApp -d {leader.replace(':', ' ')})" if leader else "elsewhere"
        told = f"The help desk of this service is {where}; please ask there."
        desk = ClosedDesk(Path(), "", told)
        await desk.handle_connection(first, decoder, reader, writer, more=more)
