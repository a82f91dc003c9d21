"""Which datagrams leave a node's UDP socket, and when: the batching and ack-merging policy
of `net.endpoint.Endpoint`, sans-IO.

Its events are the messages to send (already encoded), each with its destination (an
address, and the key it is sealed for there), the acks to send, and the moments
that end a batch: the end of a drain of the socket (the datagrams read in one wake-up),
the end of a pass of the event loop, and the end of a `packed` block. For each it says
which datagrams go where now; the endpoint seals and sends them, and calls `flush` at the
end of the pass when asked to. No clock is needed: a batch ends with a pass or a drain,
never after a time, so nothing is held back longer than the work already in hand.

The rules (docs/PROTOCOL.md, "Ids, acks and retries"):
- the first datagram to an address in a pass of the event loop goes at once: an idle
  sender never waits; those that follow it in the same pass wait for the end of the pass
  and share datagrams (`wire.codec.pack_datagrams`), in order;
- acks that wait are merged into one Acks per address, after what else waits for it;
- with `coalesce_drains` (a relay), everything sent while a drain is handled waits for
  the end of the drain, except what the drain's first datagram to relay anything relays
  to many members: that leaves packed as soon as the datagram is handled, or with what
  its sender's next datagram in the drain relays (the endpoint calls `datagram_ends`), as
  one datagram (or as few as hold it, back to back) per member; a relay to the
  same members again in that drain is kept as one entry for all, not an entry per member,
  and leaves packed to each.

`DatagramOut`, which sends them on the socket without blocking the event loop, is the one
part here that is not sans-IO: what the kernel refuses, its send buffer full, waits in
order until the socket is writable.
"""

from __future__ import annotations

import asyncio
import collections
import enum
from collections.abc import Callable, Sequence
from typing import Protocol

from msgspec.json import encode as json_text

from wire.codec import encode, fits_datagram, pack_datagrams
from wire.limits import MAX_DATAGRAM
from wire.messages import Ack, Acks

Addr = tuple[str, int]
#: Where a datagram goes: an address, and the public key it is sealed for there.
Dest = tuple[Addr, bytes]
#: One datagram's bytes, before sealing, and where it goes.
Datagram = tuple[bytes, Dest]


class When(enum.Enum):
    """When a datagram given to `Outgoing` leaves."""

    #: it waits: what a later `flush`, `drain_ends` or `packed_ends` returns carries it
    LATER = "later"
    #: the caller sends it now
    NOW = "now"
    #: the caller sends it now, and calls `flush` at the end of this pass of the event loop
    NOW_THEN_FLUSH = "now, then flush at the end of the pass"


class _Relay:
    """Datagram-sized messages for the same members (`dests`), queued during one drain."""

    __slots__ = ("_members", "datas", "dests")

    def __init__(self, dests: Sequence[Dest], datas: list[bytes]) -> None:
        self.dests = dests
        self.datas = datas
        self._members: set[Dest] | None = None

    def _set(self) -> set[Dest]:
        if self._members is None:
            self._members = set(self.dests)
        return self._members

    def includes(self, dest: Dest) -> bool:
        return dest in self._set()

    def excludes(self, dests: dict[Dest, list[str]]) -> bool:
        return self._set().isdisjoint(dests)


class Outgoing:
    """The datagrams waiting to leave packed, and the rules that say when they go."""

    def __init__(self, new_id: Callable[[], str], *, coalesce_drains: bool = False) -> None:
        """`new_id` makes the ids of the acks merged here; `coalesce_drains`: see the
        module's docstring."""
        self._new_id = new_id
        self._coalesce_drains = coalesce_drains
        # datagrams waiting for the end of this pass of the event loop, by destination; an
        # address with an empty list had its first datagram of the pass sent at once
        self._batches: dict[Dest, list[bytes]] = {}
        # ids acked in this drain, or in this pass after the first datagram to the address
        # left: merged into one Acks
        self._acks: dict[Dest, list[str]] = {}
        # with coalesce_drains: what a drain relays to the same members, kept as one entry
        # rather than an entry per member (see `relay`)
        self._relay: _Relay | None = None
        #: the relay entry holds what the datagram being handled, the drain's first to
        #: relay, relays: `datagram_ends` sends it (an attribute, read after every datagram)
        self.relaying_early = False
        # a `flush` at the end of this pass was asked for
        self._flush_asked = False
        # sends wait for the end of the drain, or of the `packed` block, being handled
        self._holding = False
        # a drain is being handled, whose end flushes: no flush at the end of the pass
        self._in_drain = False

    # -- what ends a batch ---------------------------------------------------------------

    def drain_begins(self) -> None:
        """The datagrams read in one wake-up are about to be handled."""
        self._holding = self._coalesce_drains
        self._in_drain = True

    def drain_ends(self) -> list[Datagram]:
        """They have been: what answers them leaves now, not at the end of the loop's pass
        (a process serving many sockets, or busy with much else, would otherwise hold every
        ack back until all of them are done, and the senders would time out)."""
        self._holding = self._in_drain = False
        if self._acks or self._relay is not None or any(self._batches.values()):
            return self.flush()
        # nothing waits: a peer's drain, its answers sent at once; the pass's first
        # datagram to each address is behind us (as `flush` would leave it)
        self._batches.clear()
        self._flush_asked = False
        return []

    def packed_begins(self) -> bool:
        """What is sent from now until `packed_ends` waits for it, and then leaves packed,
        acks merged, as what answers a drain of the socket does with `coalesce_drains`.
        Returns whether sends waited already (for `packed_ends`)."""
        was, self._holding = self._holding, True
        return was

    def packed_ends(self, was: bool) -> list[Datagram]:
        """The block begun by the `packed_begins` that returned `was` is over: what waited
        for it, unless sends waited already before it (then they still do)."""
        self._holding = was
        if was or not (self._batches or self._acks or self._relay is not None):
            return []
        return self.flush()

    def datagram_ends(self) -> list[Datagram]:
        """A datagram read in a drain has been handled: what it relayed, if it is the
        drain's first relaying datagram, to leave now, packed for each member. What later
        datagrams of the drain relay to the same members waits for the drain's end."""
        relay = self._relay
        if relay is None or not self.relaying_early:
            return []
        self.relaying_early = False
        packets, relay.datas = pack_datagrams(relay.datas), []
        return [(packet, dest) for dest in relay.dests for packet in packets]

    def flush(self) -> list[Datagram]:
        """Everything that waits, to leave now: at the end of the pass of the event loop
        (when `When.NOW_THEN_FLUSH` asked for it), or as the endpoint closes. Acks merged,
        each address's datagrams packed, in order."""
        self._flush_asked = False
        out: list[Datagram] = []
        relay = self._relay
        if relay is not None:
            if self._acks and not relay.excludes(self._acks):
                self._unpack_relay()  # its members' acks follow its messages
            else:
                self._relay, self.relaying_early = None, False
                packets = pack_datagrams(relay.datas)  # each member's back to back
                out += [(packet, dest) for dest in relay.dests for packet in packets]
        batches, self._batches = self._batches, {}
        acks, self._acks = self._acks, {}
        for dest, replies in acks.items():
            batches.setdefault(dest, []).extend(self._merged_acks(replies))
        # A relay queues the same messages for every member: the same list is packed once
        # (the comparison is of the same bytes objects, so it costs little).
        packed: list[bytes] = []
        last: list[bytes] = []
        for dest, waiting in batches.items():
            if waiting:
                if waiting != last:
                    packed, last = pack_datagrams(waiting), waiting
                out += [(packet, dest) for packet in packed]
        return out

    # -- what is sent --------------------------------------------------------------------

    def datagram(self, data: bytes, dest: Dest, ack_of: str = "") -> When:
        """When `data`, one datagram-sized message for `dest`, leaves (see the module's
        docstring). Order is kept, except that acks which wait go after the rest: an Ack
        (of the message `ack_of`) waits when something else for `dest` went or waits in
        this pass, or while sends wait for the end of a drain, merged with the other acks
        for `dest` into one Acks; else it goes as any datagram."""
        if ack_of and (self._holding or dest in self._batches):
            self._acks.setdefault(dest, []).append(ack_of)
            return When.LATER
        if self._relay is not None and self._relay.includes(dest):
            self._unpack_relay()
        waiting = self._batches.get(dest)
        if waiting is not None:
            waiting.append(data)
            return When.LATER
        if self._holding:
            self._batches[dest] = [data]  # the end of the drain (or packed block) flushes
            return When.LATER
        self._batches[dest] = []
        # within a drain, its end flushes: no pass of the loop for that
        if self._flush_asked or self._in_drain:
            return When.NOW
        self._flush_asked = True
        return When.NOW_THEN_FLUSH

    def acks(self, dest: Dest, replies: Sequence[str]) -> list[bytes]:
        """Acks of each of `replies` for `dest` (those of one datagram): merged with the
        acks that wait for it, as `datagram` would merge each (then none to send now), else as
        few datagram-sized messages as hold them, for the caller to send in order."""
        if dest in self._batches or self._holding:
            self._acks.setdefault(dest, []).extend(replies)
            return []
        return self._merged_acks(list(replies))

    def relay(self, dests: Sequence[Dest], data: bytes) -> When | None:
        """While sends wait (for the end of a drain, or of a `packed` block), when `data`
        goes to each of `dests` (a relay to many members): with no relay entry yet and
        nothing waiting for any of them, an entry is opened with it, to leave at the end of
        the datagram being handled (`datagram_ends`), or of the drain or block, whichever
        comes first; an entry for the same members (a burst) keeps it, to leave packed
        with the rest. Both `When.LATER`. Otherwise None: the caller gives it to
        `datagram` for each member (and any entry becomes per-address batches)."""
        if not self._holding:
            return None
        relay = self._relay
        if relay is None:
            if not self._batches or self._batches.keys().isdisjoint(dests):
                # The first relaying datagram of a drain is relayed as soon as it is handled,
                # as a peer's first answer leaves: the members of an idle registry never
                # wait for the rest of the drain, and what one datagram relays (the lines
                # typed together) reaches each member in one datagram.
                self._relay, self.relaying_early = _Relay(dests, [data]), True
                return When.LATER
            return None
        if relay.dests == dests:
            relay.datas.append(data)
            return When.LATER
        self._unpack_relay()
        return None

    # -- within ----------------------------------------------------------------------------

    def _unpack_relay(self) -> None:
        """The relay entry as per-address batches (before anything else queued for one of
        its members, which must follow it)."""
        relay, self._relay, self.relaying_early = self._relay, None, False
        if relay is not None:
            batches = self._batches
            for dest in relay.dests:
                batches.setdefault(dest, []).extend(relay.datas)

    def _merged_acks(self, replies: list[str]) -> list[bytes]:
        """Acks waiting for one address, as few datagram-sized messages as hold them: one
        Ack alone, several in an Acks. An Acks is smaller than the requests it answers
        together, so merging never amplifies. Too many for one are cut where each part is
        full, from each id's encoded size: each part is encoded once."""
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


class DatagramSocket(Protocol):
    """What a DatagramOut sends on: a non-blocking UDP socket (`socket.socket`), or a
    stand-in of its shape. A Protocol, not the class: compiled (setup.py), DatagramOut
    takes any object that has these, as the pure one does."""

    def sendto(self, data: bytes, address: Addr, /) -> int: ...

    def fileno(self) -> int: ...


#: Datagrams held while the kernel's send buffer is full; beyond this they are dropped
#: (the sender's retries cope, as for any lost datagram).
SEND_QUEUE = 10_000


class DatagramOut:
    """Sends each datagram at once on `sock` (non-blocking), or on `transport` where the
    event loop cannot tell when a socket is writable (Windows' proactor), or nowhere when
    given neither (an endpoint not open, or closed). What the kernel refuses, and every
    datagram after it, waits in order for the socket to be writable. `errors` counts the
    datagrams the kernel would not take, and those dropped beyond SEND_QUEUE."""

    def __init__(
        self,
        sock: DatagramSocket | None = None,
        transport: asyncio.DatagramTransport | None = None,
    ) -> None:
        self._sock = sock
        self._transport = transport
        self._unsent: collections.deque[tuple[bytes, Addr]] = collections.deque()
        self.errors = 0

    def send(self, data: bytes, addr: Addr) -> None:
        """Send `data` to `addr` now, or after what waits already."""
        if self._transport is not None:
            self._transport.sendto(data, addr)
            return
        sock = self._sock
        if sock is None:
            return
        if not self._unsent:
            try:
                sock.sendto(data, addr)
                return
            except (BlockingIOError, InterruptedError):
                asyncio.get_running_loop().add_writer(sock.fileno(), self._writable)
            except OSError:
                self.errors += 1
                return
        if len(self._unsent) < SEND_QUEUE:
            self._unsent.append((data, addr))
        else:
            self.errors += 1

    def close(self) -> None:
        """Send nothing more: what waits is dropped (the socket is its owner's to close)."""
        if self._unsent and self._sock is not None:
            asyncio.get_running_loop().remove_writer(self._sock.fileno())
        self._unsent.clear()
        self._sock = self._transport = None

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
