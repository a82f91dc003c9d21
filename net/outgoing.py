"""What leaves a node's UDP socket, and when, each datagram sealed in the endpoint's
channel. A batch ends with a pass of the event loop, a drain of the socket (the datagrams
read in one wake-up) or a `packed` block: nothing but a peer's acks to a relay is held back
longer than the work already in hand.

- The first datagram to an address since a drain or batch ended goes at once (an idle
  sender never waits); those after it share datagrams as their drain or pass ends, in order.
- Acks that wait are merged into one Acks per address, after what else waits for it.
- A peer's acks to a relay (`acks_later`) wait up to ACK_DELAY, as TCP's delayed ACK,
  then leave merged: one datagram wakes the relay once for many (its sender waits on none).
  What is sent there meanwhile takes them along first: a `dereg` never overtakes them.
- With `coalesce_drains` (a relay), everything sent in a drain waits for its end, except
  what the drain's first relaying datagram relays to many members: that leaves, packed
  for each member, once its sender's datagrams are handled (`datagram_ends`). A relay to
  the same members again in the drain is kept as one entry for all.

What the kernel refuses, its send buffer full, waits in order until the socket is writable.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import socket
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from msgspec.json import encode as json_text

from secure.channel import Opened, Send
from wire.codec import encode, fits_datagram, pack_datagrams
from wire.limits import MAX_DATAGRAM
from wire.messages import Ack, Acks

Addr = tuple[str, int]
#: Where a datagram goes: an address, and the public key it is sealed for there.
Dest = tuple[Addr, bytes]
#: Datagram-sized messages for the same members (its Dests), queued during one drain.
Relay = tuple[Sequence[Dest], list[bytes]]


class DatagramChannel(Protocol):
    """The secure channel (secure/channel.py states each contract), or a stand-in."""

    @property
    def static(self) -> X25519PrivateKey: ...

    @property
    def public(self) -> bytes: ...

    @property
    def dropped(self) -> collections.Counter[str]: ...

    def seal(self, datas: list[bytes], dests: Sequence[Dest], now: float, send: Send) -> None: ...

    def open(self, datagram: bytes, addr: Addr, now: float) -> Opened: ...

    def ask_key(self, addr: Addr) -> bytes: ...


#: Seconds a peer's acks to a relay wait at most, QUIC's default max_ack_delay (RFC 9000,
#: 18.2): the relay retries after 0.5 s, and keeps 64 datagrams in flight to a member, some
#: 600 lines, so a burst waits for them rarely; a busy room's lines share acks.
ACK_DELAY = 0.025

#: Datagrams held while the kernel's send buffer is full; beyond, dropped (retries cope).
SEND_QUEUE = 10_000


class AckDelay:
    """Runs each function given it ACK_DELAY later at most, on one timer for all: what every
    Outgoing on one event loop shares."""

    def __init__(self, call_later: Callable[[float, Callable[[], object]], object]) -> None:
        self._call_later, self._due = call_later, list[Callable[[], object]]()

    def __call__(self, then: Callable[[], object]) -> None:
        if not self._due:
            self._call_later(ACK_DELAY, self._run)
        self._due.append(then)

    def _run(self) -> None:
        due, self._due = self._due, []
        for then in due:
            then()


class Outgoing:
    """The datagrams waiting to leave packed, and the socket they go on. `new_id` makes the
    ids of the acks merged here; `channel` seals each datagram at the time `clock` reads.
    Nothing is sent until `open`."""

    def __init__(
        self,
        new_id: Callable[[], str],
        channel: DatagramChannel,
        clock: Callable[[], float],
        *,
        coalesce_drains: bool = False,
    ) -> None:
        self._new_id = new_id
        self.channel = channel  #: (replaceable, as a benchmark does)
        self._clock = clock
        # datagrams waiting for the end of this pass of the event loop, by destination
        self._batches: dict[Dest, list[bytes]] = {}
        self.went: set[Dest] = set()  #: where a first datagram left at once (the module docstring)
        self._acks: dict[Dest, list[str]] = {}  # ids acked that wait, merged into one Acks
        self._owed: dict[Dest, list[str]] = {}  # ids acked after a while: `acks_later`
        self._acks_leave = self.acks_leave  # (bound once: `acks_later` hands it on each time)
        # with coalesce_drains: what a drain relays to the same members, kept as one entry
        # rather than an entry per member (see `relay`); the last members, as a set
        self._relay: Relay | None = None
        self._members: tuple[Sequence[Dest], frozenset[Dest]] = ((), frozenset())
        #: the relay entry holds what the datagram being handled, the drain's first to
        #: relay, relays: `datagram_ends` sends it (an attribute, read after every datagram)
        self.relaying_early = False
        #: A `flush` at the end of this drain or pass was asked for (read-only outside).
        self.flush_asked = False
        #: Sends wait, to leave packed: in a drain with `coalesce_drains`, or a `packed` block.
        self.holding = False
        self.draining = False  #: set while the endpoint drains: what waits leaves as it ends
        self.coalesce_drains = coalesce_drains
        # the socket: see `open`; what it would not take yet, in order
        self._sock: socket.socket | None = None
        self._sendto: Callable[[bytes, Addr], int] | None = None  # its `sendto`, bound once
        self._call_soon: Callable[[Callable[[], object]], object] | None = None
        self._later: Callable[[Callable[[], object]], object] | None = None
        self._unsent: collections.deque[tuple[bytes, Addr]] = collections.deque()
        self.errors = 0  #: datagrams the kernel would not take, or beyond SEND_QUEUE
        #: Told each datagram as it leaves, before it is sealed, and its address (a log's,
        #: a test's or a benchmark's watch).
        self.on_sent: Callable[[bytes, Addr], None] | None = None

    # -- the socket ------------------------------------------------------------------------

    def open(
        self,
        call_soon: Callable[[Callable[[], object]], object],
        later: Callable[[Callable[[], object]], object],
        sock: socket.socket | None = None,
    ) -> None:
        """Send on `sock` (None: nowhere, `on_sent` still told); `call_soon` runs a function at
        the end of this pass of the event loop, `later` within ACK_DELAY (an AckDelay)."""
        self._sock, self._call_soon, self._later = sock, call_soon, later
        self._sendto = None if sock is None else sock.sendto

    def close(self) -> None:
        """Send nothing more: what waits for the socket is dropped."""
        if self._unsent and self._sock is not None:
            asyncio.get_running_loop().remove_writer(self._sock.fileno())
        self._unsent.clear()
        self._sock = self._sendto = None

    def send_sealed(self, packet: tuple[bytes, Any]) -> None:  # (hot path: Any, kept boxed)
        """Send `packet`, (datagram, address), now, or after what waits already: sealed, or
        in clear (what the channel answers, or asks, by itself)."""
        data, addr = packet
        sendto = self._sendto
        if sendto is None or self._unsent:
            self._hold(data, addr)
            return
        try:
            sendto(data, addr)
        except OSError as exc:
            self._refused(data, addr, exc)

    def _refused(self, data: bytes, addr: Addr, exc: OSError) -> None:
        sock = self._sock
        if isinstance(exc, BlockingIOError | InterruptedError) and sock is not None:
            asyncio.get_running_loop().add_writer(sock.fileno(), self._writable)
            self._hold(data, addr)
        else:
            self.errors += 1

    def _hold(self, data: bytes, addr: Addr) -> None:
        """Keep `data` for when the socket takes it (closed, or none: dropped)."""
        if self._sock is None:
            return
        if len(self._unsent) < SEND_QUEUE:
            self._unsent.append((data, addr))
        else:
            self.errors += 1

    def _writable(self) -> None:
        sock = self._sock
        while self._unsent and sock is not None:
            data, addr = self._unsent[0]
            try:
                sock.sendto(data, addr)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self.errors += 1
            self._unsent.popleft()
        if sock is not None:
            asyncio.get_running_loop().remove_writer(sock.fileno())

    def _sent(self, groups: list[tuple[list[bytes], Sequence[Dest]]]) -> None:
        seal, now, on_sent, send = self.channel.seal, self._clock(), self.on_sent, self.send_sealed
        for datas, dests in groups:
            seal(datas, dests, now, send)  # each datagram sent as it is sealed
            if on_sent is not None:
                for (addr, _), data in itertools.product(dests, datas):
                    on_sent(data, addr)

    # -- what ends a batch ---------------------------------------------------------------

    def drain_ends(self) -> None:
        """The datagrams read in one wake-up have been handled: what answers them and waits
        leaves now, not at the end of the loop's pass (a busy process would hold every ack
        back, and the senders would time out), and what went at once is forgotten."""
        self.holding = False
        self.flush()

    @contextlib.contextmanager
    def packed(self) -> Iterator[None]:
        """Within it, what is sent waits for its end and then leaves packed, acks merged, as
        in a drain with `coalesce_drains` (the registry's sends held for one group commit:
        an Ack and the Saved outcome of the same save share a datagram)."""
        was, self.holding = self.holding, True
        try:
            yield
        finally:
            self.holding = was
            if not was and (self._batches or self._acks or self._relay is not None):
                self.flush()

    def datagram_ends(self) -> None:
        """A datagram read in a drain has been handled: what it relayed, if it is the
        drain's first relaying datagram, leaves now, packed for each member."""
        relay = self._relay
        if relay is not None and self.relaying_early:
            self.relaying_early = False
            self._relayed(relay)

    def flush(self) -> None:
        """Send everything that waits, now, acks merged, each address's datagrams packed."""
        self.flush_asked = False
        self.went.clear()
        relay = self._relay
        if relay is not None:
            if self._acks and not self._members_of(relay).isdisjoint(self._acks):
                self._unpack_relay()  # its members' acks follow its messages
            else:
                self._relay, self.relaying_early = None, False
                self._relayed(relay)  # first: nothing else waits for its members
        batches, self._batches = self._batches, {}
        acks, self._acks = self._acks, {}
        for dest, replies in acks.items():
            batches.setdefault(dest, []).extend(self._merged_acks(replies))
        # A relay queues the same messages for every member: the same list is packed once
        # (the comparison is of the same bytes objects, so it costs little).
        later: list[tuple[list[bytes], Sequence[Dest]]] = []
        last: list[bytes] = []
        dests: list[Dest] = []
        for dest, waiting in batches.items():
            if waiting != last:
                dests, last = [], waiting
                later.append((pack_datagrams(waiting), dests))
            dests.append(dest)
        if later:
            self._sent(later)

    # -- what is sent --------------------------------------------------------------------

    def datagram(self, data: bytes, at: Any, ack: Ack | None = None) -> bool:  # (hot path: Any)
        """Send `data`, one datagram-sized message for `at`, a Dest: whether now
        (else later, in order). Or `ack` (`data` then b""), encoded only if it leaves alone:
        it waits, merged with the other acks for `at`, when something else for `at` went or
        waits, or while sends wait; else it goes as any datagram (it fits: ids are short)."""
        went, batches = self.went, self._batches  # (empty: not asked; each test hashes `at`)
        if ack is not None:
            if self.holding or (went and at in went) or (batches and at in batches):
                self._acks.setdefault(at, []).append(ack.reply_to)
                return self._waits()
            data = encode(ack)
        if self._relay is not None and at in self._members_of(self._relay):
            self._unpack_relay()
        if self._owed and at in self._owed:  # after the acks owed there
            self._waits()
            batches.setdefault(at, []).extend(self._merged_acks(self._owed.pop(at)))
        waiting = batches.get(at) if batches else None
        if waiting is not None:
            waiting.append(data)
            return False
        if self.holding or (went and at in went):
            batches[at] = [data]
            return self._waits()
        went.add(at)
        sealed: list[tuple[bytes, Any]] = []  # (hot path: Any, kept boxed)
        self.channel.seal([data], [at], self._clock(), sealed.append)
        sendto = self._sendto
        for packet, to in sealed:  # (hot path: `send_sealed` written out)
            if sendto is None or self._unsent:
                self._hold(packet, to)
                continue
            try:
                sendto(packet, to)
            except OSError as exc:
                self._refused(packet, to, exc)
        if self.on_sent is not None:
            self.on_sent(data, at[0])
        return True

    def _waits(self) -> bool:
        """Something now waits: `flush` runs as this drain, else pass, ends (unless sends wait)."""
        if not self.holding and not self.flush_asked:
            if not self.draining and self._call_soon is not None:
                self._call_soon(self.pass_ends)  # (else `drain_ends` sends it)
            self.flush_asked = True
        return False

    def acks_later(self, dest: Any, replies: Sequence[str]) -> None:  # (hot path: Any)
        """Ack `replies`, of one datagram, to the Dest `dest` within ACK_DELAY (see the module)."""
        if not self._owed and self._later is not None:
            self._later(self._acks_leave)
        self._owed.setdefault(dest, []).extend(replies)

    def acks_leave(self) -> None:
        owed, self._owed = self._owed, {}
        dest: Any  # (hot path: Any, kept boxed)
        for dest, replies in owed.items():
            for data in self._merged_acks(replies):
                self.datagram(data, dest)

    def pass_ends(self) -> None:
        """The pass ends: what waits leaves (not the acks owed: `acks_leave`)."""
        if self.flush_asked:
            self.flush()
        self.went.clear()  # (a batch ended: the next datagram to each address goes at once)

    def send_acks(self, dest: Dest, acks: Acks) -> None:
        """Send `acks` to `dest`: merged with those that wait, as `datagram` would, else
        itself when it fits a datagram, or as few as hold its ids."""
        if self.holding or dest in self.went or dest in self._batches:
            self._acks.setdefault(dest, []).extend(acks.replies)
            self._waits()
            return
        data = encode(acks)
        for each in [data] if fits_datagram(data) else self._merged_acks(list(acks.replies)):
            self.datagram(each, dest)

    def relay(self, dests: Sequence[Dest], data: bytes) -> bool:
        """While sends wait, whether `data` for each of `dests` (a relay to many members)
        waits in the relay entry: a new entry when none is open and nothing waits for any
        of them, or the entry for the same members. Otherwise False: the caller gives it
        to `datagram` for each member (and any entry becomes per-address batches)."""
        if not self.holding:
            return False
        relay = self._relay
        if relay is None:
            if not self._batches or self._batches.keys().isdisjoint(dests):
                # The first relaying datagram of a drain is relayed as soon as it is handled,
                # as a peer's first answer leaves: the members of an idle registry never
                # wait for the rest of the drain, and what one datagram relays (the lines
                # typed together) reaches each member in one datagram.
                self._relay, self.relaying_early = (dests, [data]), True
                return True
            return False
        if relay[0] == dests:
            relay[1].append(data)
            return True
        self._unpack_relay()
        return False

    # -- within ----------------------------------------------------------------------------

    def _members_of(self, relay: Relay) -> frozenset[Dest]:
        members = self._members
        if members[0] is not relay[0]:
            members = self._members = (relay[0], frozenset(relay[0]))
        return members[1]

    def _relayed(self, relay: Relay) -> None:
        """Send what `relay` holds, packed for each member (a member's back to back)."""
        packets = pack_datagrams(relay[1])
        relay[1].clear()
        self._sent([(packets, relay[0])])

    def _unpack_relay(self) -> None:
        """The relay entry as per-address batches, before anything else queued for them."""
        relay, self._relay, self.relaying_early = self._relay, None, False
        if relay is not None:
            batches = self._batches
            for dest in relay[0]:
                batches.setdefault(dest, []).extend(relay[1])

    def _merged_acks(self, replies: list[str]) -> list[bytes]:
        """Acks waiting for one address, as few datagram-sized messages as hold them (an
        Acks is smaller than the requests it answers: merging never amplifies)."""
        if len(replies) == 1:
            return [encode(Ack(self._new_id(), replies[0]))]
        first = self._new_id()
        data = encode(Acks(first, tuple(replies)))
        if fits_datagram(data):
            return [data]  # the usual case
        parts: list[tuple[str, list[str]]] = []
        size = MAX_DATAGRAM
        for reply in replies:
            more = len(json_text(reply)) + 1  # the id, quoted and escaped, and a comma
            if size + more > MAX_DATAGRAM:
                part_id = self._new_id() if parts else first
                parts.append((part_id, []))
                size = len(encode(Acks(part_id, ())))
            parts[-1][1].append(reply)
            size += more
        return [
            encode(Ack(part_id, part[0]) if len(part) == 1 else Acks(part_id, tuple(part)))
            for part_id, part in parts
        ]
