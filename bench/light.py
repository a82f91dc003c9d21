"""Minimal ChatApp clients, the counterpart of bench/ircd.py's minimal IRC clients.

Measuring the registry against ngircd with 100 real PeerNodes on the receiving side
measures, mostly, 100 Python peers sharing one process and one core: each decodes,
records, shows and acks every message. ngircd's clients in the same bench only split
lines and count. A LightClient does the least the protocol asks of a peer, the way a
real peer's endpoint does it: it registers (over TCP, so the Welcome with the whole table
arrives in one frame), reads what waits on its socket per wake-up (more only after a
packed datagram), decodes each as a peer's endpoint does (wire.codec.decode_datagram,
to typed messages), counts the channel messages it has not seen, and acks what that
wake-up read with as few Acks as hold the ids (a peer's endpoint also merges the acks it
makes in one pass of its loop, after sending the first at once). The registry under test
is the real one, unchanged.

Registered with the real registry, a client speaks the secure channel as a peer does
(secure/channel.py: each datagram sealed and opened, the registry's key asked first); with
bench/bare_relay.py, which has none, it speaks clear JSON.

The bench runs 100 such clients in one process, where 100 peers would run on 100
machines. Sent at once, each client's ack would hold up every client read after it on
this one core, a delay no real peer has. So a client counts as soon as it reads, and the
acks of all clients leave together once none has read for ACK_QUIET (AckSender; at most
ACK_WAIT later): every ack still leaves, and the registry still waits for each, but no
client's delivery waits for another's ack.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from bench.common import HOST
from net.discovery import ask_key
from secure.channel import SecureChannel
from secure.stream import SecureStream
from wire.codec import decode_datagram, encode, pack_datagrams
from wire.messages import Ack, Acks, Busy, ChannelMessage, ChannelPost, Register, Relayed, Welcome
from wire.version import WIRE_VERSION

Addr = tuple[str, int]

#: Datagrams read per wake-up at most (a real peer's endpoint reads up to 256).
DRAIN = 64
_DRAIN = range(DRAIN)  # (made once: a range made per wake-up costs more than a read)
#: Ids per Acks: ids of up to ~40 bytes keep an Acks within a datagram.
ACKS_PER_DATAGRAM = 24


#: Longest an ack waits for the clients' core to be idle: far below the registry's 500 ms
#: retry timeout, so the registry never resends for want of it.
ACK_WAIT = 0.02
#: Seconds without a read after which the acks leave. A relay's datagrams come some 10 us
#: apart, and the clients catch up with it now and then: acks sent at the first pass of the
#: loop that read nothing (one round in ten) held up the rest of that round.
ACK_QUIET = 0.0002


class AckSender:
    """The acks of all the light clients on one loop, sent once none has read for ACK_QUIET
    (or after ACK_WAIT): on 100 machines, no peer's delivery would wait for the other 99 to
    send their acks, and on this one core it would."""

    def __init__(self) -> None:
        self._waiting: list[LightClient] = []
        #: datagrams read by any client, ever (a client counts its own: a call less each)
        self.reads = 0
        self._reads_seen = -1
        self._since = self._read_at = 0.0  # when the first ack waited; when a pass last read

    def owed(self, client: LightClient) -> None:
        """`client` read what it must ack."""
        if not self._waiting:
            loop = asyncio.get_running_loop()
            self._since = self._read_at = loop.time()
            self._reads_seen = self.reads
            loop.call_soon(self._check)
        self._waiting.append(client)

    def _check(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self.reads != self._reads_seen:  # reads in the last pass
            self._reads_seen, self._read_at = self.reads, now
        if now - self._read_at < ACK_QUIET and now - self._since < ACK_WAIT:
            loop.call_soon(self._check)  # look again after the next pass
            return
        waiting, self._waiting = self._waiting, []
        for client in waiting:
            client.send_acks()


class LightClient:
    """One registered name on its own UDP socket, counting channel messages."""

    def __init__(self, name: str, server: Addr, acks: AckSender | None = None) -> None:
        self.name = name
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        self.sock.bind((HOST, 0))
        self.sock.setblocking(False)
        self.port: int = self.sock.getsockname()[1]
        self.seen: set[str] = set()
        self.channel = 0
        self.on_channel: Callable[[LightClient, int], None] = lambda client, new: None
        self._acks = 0
        self._posts = 0
        self.token = ""
        self._unacked: list[str] = []  # ids read, not yet acked
        self._ack_sender = acks or AckSender()
        # the secure channel, once registered with a registry (None: clear, a bare relay)
        self._channel: SecureChannel | None = None
        self._registry_key = b""

    async def register(self, registry_key: bytes = b"") -> None:
        """Register over TCP in the secure channel (the registry's key asked first, unless
        given) and wait for the Welcome; then listen on UDP. Asked to wait (Busy, in a join
        storm), it asks again after the wait, as a peer does."""
        key = registry_key or await ask_key(*self.server)
        if key is None:
            raise ConnectionError(f"{self.name}: the registry gave no key")
        static = X25519PrivateKey.generate()
        self._channel, self._registry_key = SecureChannel(static), key
        attempt = 0
        while True:
            attempt += 1
            register = Register(
                f"{self.name}-reg{attempt}", self.name, self.port, "", "", WIRE_VERSION
            )
            answer = await self._ask(SecureStream(static, remote=key), register)
            if isinstance(answer, Welcome):
                self.token = answer.token
                break
            await asyncio.sleep(answer.wait_ms / 1000)  # the wait the registry asked for
        self.listen()

    async def _ask(self, stream: SecureStream, register: Register) -> Welcome | Busy:
        """Send `register` on a new connection: the Welcome, or the Busy, it is answered."""
        stream.send(register)
        reader, writer = await asyncio.open_connection(*self.server)
        writer.write(stream.output())
        try:
            while True:
                data = await asyncio.wait_for(reader.read(65536), 20.0)
                if not data:
                    raise ConnectionError(f"{self.name}: registry closed before the Welcome")
                messages = stream.feed(data)
                writer.write(stream.output())
                for message in messages:
                    if isinstance(message, Welcome | Busy):
                        return message
        finally:
            writer.close()

    def _send(self, data: bytes, addr: Addr) -> None:
        """`data` to `addr`: sealed for the registry, or in clear to a bare relay."""
        if self._channel is None:
            self.sock.sendto(data, addr)
            return
        sealed: list[tuple[bytes, Addr]] = []
        self._channel.seal([data], [(addr, self._registry_key)], time.monotonic(), sealed.append)
        for packet, to in sealed:
            self.sock.sendto(packet, to)

    def listen(self) -> None:
        """Read and count what arrives on the UDP socket (register() calls this; a client of
        bench/bare_relay.py, which has no registration, calls it alone). The socket is
        connected to the server: the kernel drops what comes from elsewhere, as a TCP
        client's does, so a read names no sender (ngircd's clients read so)."""
        self.sock.connect(self.server)
        asyncio.get_running_loop().add_reader(self.sock.fileno(), self._readable)

    def _readable(self) -> None:
        new = 0
        addr, recv, acks = self.server, self.sock.recv, self._ack_sender
        for _ in _DRAIN:
            try:
                data = recv(65536)
            except OSError:  # nothing more (or the server gone: the bench ends)
                break
            acks.reads += 1
            if self._channel is not None:
                opened = self._channel.open(data, addr, time.monotonic())
                for packet, to in opened.send:
                    self.sock.sendto(packet, to)
                if opened.data is None:
                    continue
                data = opened.data
            decoded = decode_datagram(data)
            messages = decoded if isinstance(decoded, list) else (decoded,)
            for message in messages:
                kind = type(message)
                if kind is Ack or kind is Acks or kind is Relayed:
                    continue  # answers, not pushes: a peer acks none of them
                msg_id = message.id
                if not self._unacked:
                    acks.owed(self)
                self._unacked.append(msg_id)
                if kind is ChannelMessage and msg_id not in self.seen:
                    self.seen.add(msg_id)
                    new += 1
            if messages is not decoded:
                # A message alone: its sender had nothing queued, so another read would
                # most likely find nothing (a syscall per member per relay); the loop calls
                # again if more is waiting.
                break
        if new:
            self.channel += new
            self.on_channel(self, new)

    def send_acks(self) -> None:
        """Ack every id read since the last time, in as few Acks as hold them."""
        unacked, self._unacked, addr = self._unacked, [], self.server
        if self.sock.fileno() < 0:
            return  # closed while its acks waited for the pass to end: nothing to answer
        for start in range(0, len(unacked), ACKS_PER_DATAGRAM):
            self._acks += 1
            ids = tuple(unacked[start : start + ACKS_PER_DATAGRAM])
            self._send(encode(Acks(f"{self.name}-{self._acks}", ids)), addr)

    def post(self, texts: list[str]) -> None:
        """send_all each of `texts`, packed into as few datagrams as they fit (as a peer's
        endpoint packs what is typed in one go); the registry's acks are read and ignored."""
        posts = []
        for text in texts:
            self._posts += 1
            post = ChannelPost(f"{self.name}-p{self._posts}", self.name, self.token, text)
            posts.append(encode(post))
        for packet in pack_datagrams(posts):
            self._send(packet, self.server)

    def close(self) -> None:
        with_loop = asyncio.get_running_loop()
        with_loop.remove_reader(self.sock.fileno())
        self.sock.close()


async def light_clients(
    count: int,
    server: Addr,
    prefix: str,
    batch: int = 50,
    register: bool = True,
    joined: Callable[[list[LightClient]], Awaitable[None]] | None = None,
) -> list[LightClient]:
    """`count` light clients, registered `batch` at a time (or only listening, for a server
    without registration); after each batch, `joined` is awaited with those registered."""
    acks = AckSender()
    clients = [LightClient(f"{prefix}{i}", server, acks) for i in range(count)]
    if not register:
        for c in clients:
            c.listen()
        return clients
    key = await ask_key(*server)
    if key is None:
        raise ConnectionError("the registry gave no key")
    for i in range(0, count, batch):
        await asyncio.gather(*(c.register(key) for c in clients[i : i + batch]))
        if joined is not None:
            await joined(clients[: i + batch])
    return clients
