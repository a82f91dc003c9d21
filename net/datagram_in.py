"""The receiving of datagrams by an `Endpoint` (net/endpoint.py): read in drains, opened
in the secure channel, decoded and handed to the endpoint's owner."""

from __future__ import annotations

import select
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from net.arrival import ANCILLARY_SIZE, SO_TIMESTAMPNS, TIMESPEC
from net.drop_log import Rejections
from net.outgoing import Outgoing
from net.served_stream import fmt_addr, why_bad
from secure.channel import DATA_KIND, Opened
from wire.codec import DECODE_ERRORS, clear_request, decode_datagram, encode, undecoded
from wire.errors import DecodeError, OtherVersion
from wire.ids import IdMaker
from wire.messages import VERSION_REFUSAL, Message, Refused, TooBig
from wire.refusals import RefusalCode
from wire.version import wire_refusal

if TYPE_CHECKING:
    from net.endpoint import Addr, OnBatch, OnMessage

#: Datagrams read per wake-up of the event loop. asyncio's DatagramProtocol reads one per
#: loop pass, so a burst (the acks of a broadcast) overflows the kernel buffer; reading all
#: that is waiting, up to this many, keeps up. Bounded so TCP and timers still get their turn.
DRAIN_BATCH = 512
#: Largest datagram read: above MAX_DATAGRAM, so an oversized one is seen and counted.
RECV_SIZE: Final = 65536
#: A drain's first datagrams: after each, a poll (a fifth of a read finding none) says if more wait.
DRAIN_PROBES: Final = 2

#: Drops counted but never logged: a datagram of a session this side no longer has comes
#: from a sender that makes a new one by itself, as WireGuard's does (its line every few
#: minutes looked like an alarm).
QUIET_DROPS = frozenset({"no such session"})


class ReceivingDatagrams:
    """The datagram side of `Endpoint`, which holds the state named here: what it reads it
    opens, decodes and hands over (to `on_batch` a datagram at a time, else `on_message`)."""

    rejections: Rejections
    errors = 0  # reads the socket failed (ICMP errors and the like; sends: Outgoing)
    bad_datagrams = 0
    bad_frames = 0
    _sock: socket.socket | None = None
    #: Polls `_sock` alone, without waiting: whether a drain's first datagram was the last
    #: (None once closed).
    _probe: select.poll | None = None
    _clock: Callable[[], float]
    #: The wall clock, as the kernel's stamps are (net/arrival.py).
    _wall: Callable[[], float]
    #: Whether the system stamps each datagram's arrival (net/arrival.py), which `behind`
    #: then counts from: when asked to (`arrival_stamps`) and able to; known once open
    #: (read-only outside).
    arrival_stamped = False
    #: The wall-clock time the first datagram of the last drain arrived (its stamp), or,
    #: unstamped, the start of the first drain that stopped at DRAIN_BATCH with more waiting
    #: since the socket was last empty: what `behind` counts from. None once a drain empties it.
    _arrived: float | None = None
    #: Whether the last drain stopped short, datagrams still waiting: the socket lags.
    lagging = False
    #: When the drain being handled began, on `clock`: the `now` of each datagram it
    #: reads (one clock read per wake-up, not per datagram; a drain lasts milliseconds at
    #: most), which `on_batch` may take as its event's `now` (read-only outside).
    read_at: float = 0.0
    _on_drained: Callable[[], None] | None
    _on_batch: OnBatch | None
    _on_message: OnMessage
    _gate: Callable[[Addr], bool] | None
    #: Given, what DATA is offered to instead of `_gate`, once opened, and only while the
    #: socket lags (EndpointOptions).
    _key_gate: Callable[[Addr, bytes], bool] | None
    #: What sends each datagram, sealed or in clear (net/outgoing.py).
    outgoing: Outgoing
    _new_id: IdMaker

    def send(self, addr: Addr, message: Message, key: bytes, *, stream: bool = False) -> None:
        """The endpoint's (Endpoint.send)."""
        raise NotImplementedError

    def behind(self) -> float:
        """Seconds the first datagram of the drain being handled (or the last) waited since it
        reached the host, by the kernel's stamp (those after it waited less): 0 once a drain
        empties the socket. Without stamps, the time since the first drain that stopped at
        DRAIN_BATCH with more waiting (the longest a datagram read now may have waited)."""
        since = self._arrived
        return 0.0 if since is None else max(0.0, self._wall() - since)

    def wait_readable(self, timeout: float) -> bool:
        """Whether a datagram waits on the socket, waiting up to `timeout` seconds for one
        (blocking: for a caller that runs `drain` itself, at a moment of its choosing)."""
        sock = self._sock
        return sock is not None and bool(select.select([sock], [], [], timeout)[0])

    def drain(self) -> None:
        """Read, open and hand over what waits on the socket (DRAIN_BATCH datagrams at most),
        then send what answers them (see DRAIN_PROBES)."""
        outgoing = self.outgoing
        outgoing.holding, outgoing.draining = outgoing.coalesce_drains, True
        self.read_at, emptied, n = self._clock(), False, -1
        stamped, probe = self.arrival_stamped, self._probe
        last: Addr | None = None  # the sender of the datagram handled last
        try:
            while (n := n + 1) < DRAIN_BATCH:  # (no range object: every wake-up)
                sock = self._sock
                if sock is None:  # closed by a handler
                    return
                try:
                    if stamped and n == 0:  # the drain's first: those after it came later
                        data, ancillary, _, peer = sock.recvmsg(RECV_SIZE, ANCILLARY_SIZE)
                        if ancillary and ancillary[0][1] == SO_TIMESTAMPNS:
                            seconds, nanoseconds = TIMESPEC.unpack_from(ancillary[0][2])
                            self._arrived = seconds + nanoseconds * 1e-9
                    else:
                        data, peer = sock.recvfrom(RECV_SIZE)
                except (BlockingIOError, InterruptedError):
                    emptied = True
                    break
                except OSError:  # ICMP port unreachable and the like: retries cope
                    self.errors += 1
                    continue
                if outgoing.relaying_early and peer != last:
                    # what the last sender relayed leaves now, before another's is handled
                    outgoing.datagram_ends()
                self._datagram(data, peer)  # (host, port): the socket is IPv4
                last = peer
                if n < DRAIN_PROBES and probe is not None and not probe.poll(0):
                    emptied = True
                    break
        finally:  # the drain is over: what answers it leaves
            if emptied or self._arrived is None:  # (unstamped: from a short drain's start)
                self._arrived = None if emptied else self._wall() - (self._clock() - self.read_at)
            self.lagging, outgoing.draining = not emptied, False
            if outgoing.holding or outgoing.flush_asked:
                outgoing.drain_ends()
            else:  # (`drain_ends`, written out: every drain)
                outgoing.went.clear()
            if self._on_drained is not None:
                self._on_drained()

    def receive(self, data: bytes, addr: Addr, now: float) -> None:
        """Open, decode and hand over one datagram read elsewhere, as a drain does."""
        self.read_at = now
        self._datagram(data, addr)

    def ask_key(self, addr: Addr) -> None:
        """Ask `addr` for its public key in clear; the answer comes to `on_key`."""
        self.outgoing.send_sealed(((self.outgoing.channel.ask_key(addr), addr),))

    #: Told of a key a registry answered with (see `ask_key`).
    on_key: Callable[[Addr, bytes], None] = staticmethod(lambda addr, key: None)
    #: Told of each handshake the side with `key` at `addr` answered, with a response or,
    #: under load, a cookie reply: it runs, though no message of it may have come yet.
    on_handshake: Callable[[Addr, bytes], None] = staticmethod(lambda addr, key: None)

    def _datagram(self, data: bytes, at: Any) -> None:
        """Open, decode and hand over one datagram read from `at`, an Addr (handed on as it is)."""
        addr: Addr = at
        key_gate = self._key_gate
        if data[:1] == DATA_KIND:
            # opened before any gate, as WireGuard opens transport data (see
            # EndpointOptions.gate), and counted by its key only while the socket lags
            if not self.lagging:
                key_gate = None
        elif self._gate is not None and not self._gate(at):
            return  # flood control: dropped before any work is spent on it
        else:
            key_gate = None
        opened = self.outgoing.channel.open(data, at, self.read_at)
        body = opened.data
        if body is None or opened.send:
            body = self._not_only_data(opened, data, addr)
            if body is None:
                return
        key = opened.key
        if key_gate is not None and not key_gate(at, key):
            return  # over its key's rate while we lag: dropped before it is decoded
        try:
            decoded = decode_datagram(body)
        except DECODE_ERRORS as exc:
            self._undecoded(undecoded(body, exc), addr, key)
            return
        messages = decoded if isinstance(decoded, list) else [decoded]
        if self._on_batch is not None:
            self._on_batch(messages, at, key)
            return
        for message in messages:
            self._on_message(message, at, key)

    def _not_only_data(self, opened: Opened, data: bytes, addr: Addr) -> bytes | None:
        """Carry out what `opened` holds besides data (answers, a key learned, a datagram in
        clear, a drop, a handshake answered): the data to hand over, or None."""
        if opened.send:
            self.outgoing.send_sealed(opened.send)
        if opened.learned:
            self.on_key(addr, opened.learned)
        if opened.clear:  # a version of ChatApp from before the secure channel
            self.bad_datagrams += 1
            refused = self._clear_refusal(data, addr)
            if refused is not None:
                # answered in clear by the refusal, or TooBig (asked again over TCP), no
                # bigger than the request: its source is not proven (no amplification)
                reply = encode(refused)
                if len(reply) > len(data):
                    reply = encode(TooBig(self._new_id(), refused.reply_to))
                if len(reply) <= len(data):
                    self.outgoing.send_sealed(((reply, addr),))
            return None
        if opened.data is not None:
            return opened.data
        if opened.dropped in QUIET_DROPS:
            pass  # counted by the channel (the registry's `stats`), not logged: see QUIET_DROPS
        elif opened.dropped:  # counted by the channel too
            self.rejections(
                "unopened datagram",
                f"dropped a datagram from {fmt_addr(addr)}: {opened.dropped} "
                f"(#{self.outgoing.channel.dropped.total()})",
            )
        elif opened.key or opened.under_load:  # a handshake answered
            self.on_handshake(addr, opened.key or opened.under_load)
        return None

    def _undecoded(self, exc: DecodeError, addr: Addr, key: bytes) -> None:
        """An opened datagram is no message: counted and logged; a request of another
        version of ChatApp is told so."""
        self.bad_datagrams += 1
        self.rejections(
            "bad datagram",
            f"dropped bad datagram #{self.bad_datagrams} from {fmt_addr(addr)}: {why_bad(exc)}",
        )
        if isinstance(exc, OtherVersion) and exc.request_id:
            # which it cannot read: its sender is told why, rather than left to wait out
            # its retries in silence
            refused = Refused(self._new_id(), exc.request_id, VERSION_REFUSAL, RefusalCode.VERSION)
            self.send(addr, refused, key)

    def _clear_refusal(self, data: bytes, addr: Addr) -> Refused | None:
        """The answer, in clear, to a request in clear: versions differ (None for anything
        else). Logged as bad input is."""
        request = clear_request(data)
        count = self.bad_datagrams + self.bad_frames
        what = f"a {request[0]}" if request is not None else "a message"
        self.rejections(
            "in clear",
            f"dropped {what} in clear from {fmt_addr(addr)} (#{count}): a version of ChatApp "
            "from before the secure channel?",
        )
        if request is None:
            return None
        _, request_id, wire = request
        reason = wire_refusal(wire, "peer") if wire else VERSION_REFUSAL
        return Refused(self._new_id(), request_id, reason, RefusalCode.VERSION)
