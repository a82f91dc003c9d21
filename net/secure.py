"""The secure channel every datagram travels in: sans-IO, bytes in and bytes out.

Composed as WireGuard's protocol is (the WireGuard paper, sections 5.4 and 6), from the
Noise IK handshake of `net.noise`:

- Two programs that know each other's static key run a Noise IK handshake (an initiation,
  a response) and split it into two session keys, one per direction.
- Data then travels as DATA datagrams: the receiver's session index, a 64-bit counter
  used as the nonce, and the ChaCha20-Poly1305 ciphertext with the header as associated
  data. The receiver checks the counter against a sliding anti-replay window.
- Sessions are made afresh after REKEY_AFTER seconds and refused after REJECT_AFTER, so a
  datagram replayed later, or after either side restarted, opens under no session.
- An initiation carries a timestamp; one no newer than the last from the same key is a
  replay and is dropped.
- A responder sends under a session only once the initiator's first DATA opened on it
  (key confirmation), so a replayed initiation makes no session anyone uses.
- A program that sent to a key and heard nothing back from it within REHANDSHAKE_AFTER
  makes a new handshake with its next datagram (WireGuard's rule, on ChatApp's 500 ms
  retries): the other side may have restarted, and forgotten the session. The try after
  that travels in the new session. It does so once until it hears data again: a side
  that answered the handshake holds the session, and is only slow.
- An unanswered initiation is sent again (a new one) after HANDSHAKE_RETRY, then after
  twice as long each time, up to HANDSHAKE_RETRY_MAX; the last INITIATIONS_KEPT stay
  valid, so a responder slower than the retry still completes one. A busy responder is
  never buried under handshakes it cannot finish in time.

Anything that does not open is dropped and counted, never answered. The one datagram
answered in clear is KEY_REQUEST (by a registry, with its public key: how a peer pins it on
first use), and its answer is smaller than the request.

The layout of each datagram is in docs/PROTOCOL.md ("The secure channel").
"""

from __future__ import annotations

import collections
import secrets
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from net.noise import MAX_MESSAGE, TAGLEN, Handshake, NoiseError, nonce_bytes, public_bytes
from net.replay import ReplayWindow

Addr = tuple[str, int]
Out = list[tuple[bytes, Addr]]

#: The first byte of each kind of datagram. A clear JSON message (a previous version of
#: ChatApp) begins with "{" or "[" instead.
INITIATION, RESPONSE, DATA, KEY_REQUEST, KEY_ANSWER = 1, 2, 3, 4, 5
#: Bound into every handshake: a program of another protocol or version cannot complete one.
PROLOGUE = b"ChatApp secure channel 1"
#: Seconds after which a session is replaced by a new handshake when next used to send,
#: and after which it is refused altogether (WireGuard's REKEY_AFTER_TIME, REJECT_AFTER_TIME).
REKEY_AFTER = 120.0
REJECT_AFTER = 180.0
#: Messages after which a session's counter is used up (WireGuard's REJECT_AFTER_MESSAGES).
REJECT_AFTER_MESSAGES = 2**64 - 2**13 - 1
#: Seconds before an unanswered initiation is sent again, when there is something to send:
#: below the protocol's 500 ms retry, so that a request's first retry finds a fresh one out.
#: Each further one waits twice as long, up to HANDSHAKE_RETRY_MAX (WireGuard's
#: REKEY_TIMEOUT), and the last INITIATIONS_KEPT are all answered.
HANDSHAKE_RETRY = 0.4
HANDSHAKE_RETRY_MAX = 5.0
INITIATIONS_KEPT = 3
#: Seconds after a datagram sent to a key with nothing heard back from it since, after
#: which the next datagram to it also makes a new handshake. Below
#: the protocol's 500 ms retry, so that a request's first retry finds the other side again
#: after it restarted. A send after UNANSWERED_STALE of silence begins a new wait: a
#: conversation that paused is not taken for one that failed.
REHANDSHAKE_AFTER = 0.45
UNANSWERED_STALE = 5.0
#: Seconds a datagram waits for its session's handshake before it is dropped, and how many
#: may wait for one key. Less than the protocol's 500 ms retry: the sender's next try sends
#: a fresh copy, and nothing waits here to arrive after its sender gave up on it (a rename
#: said not done must not be done later).
QUEUE_FOR = 0.45
QUEUE_MAX = 256
#: Keys (each at an address) with sessions kept at once; beyond this, the one met first is
#: forgotten (its next datagram makes a new handshake). Bounds what strangers can make us
#: hold.
MAX_KEYS = 20_000
#: Sessions kept per key: the current one, the one before it (datagrams still on their way
#: when it was replaced) and one being confirmed.
KEYPAIRS_KEPT = 3
#: Bytes a DATA datagram adds to what it carries: header (type, index, counter) and tag.
OVERHEAD = 1 + 4 + 8 + 16
#: A KEY_REQUEST is padded to this size, so that its answer (33 bytes) is smaller.
KEY_REQUEST_SIZE = 64

_DATA_HEADER = struct.Struct("<BIQ")
_HEADER_SIZE = _DATA_HEADER.size
_DATA_KIND = bytes((DATA,))
#: The longest DATA datagram: a Noise transport message (at most 65535 bytes) after its
#: header. Longer ones are dropped unopened.
_DATA_MAX = _HEADER_SIZE + MAX_MESSAGE
#: The most a DATA datagram carries: a Noise message less its tag.
_PLAINTEXT_MAX = MAX_MESSAGE - TAGLEN
_INDEX = struct.Struct("<I")


class Opened(msgspec.Struct):
    """What became of one datagram: `data` and the sender's `key` when it opened as DATA;
    `send`, datagrams to send in answer (a handshake response, data that waited for a
    session); `dropped`, why it was dropped ("" when it was not); `clear`, True for a
    datagram in clear (a previous version of ChatApp); `learned`, a public key a
    KEY_ANSWER brought. A Struct: one is made for every datagram read, in C."""

    data: bytes | None = None
    key: bytes = b""
    send: Sequence[tuple[bytes, Addr]] = ()
    dropped: str = ""
    clear: bool = False
    learned: bytes = b""


@dataclass(slots=True)
class _Session:
    """One handshake's pair of session keys (each direction's ChaCha20-Poly1305, its nonce
    the DATA counter), with the other side's `key` and `addr`."""

    local: int
    remote: int
    key: bytes
    addr: Addr
    sending: ChaCha20Poly1305
    receiving: ChaCha20Poly1305
    made: float
    confirmed: bool
    peer: _Peer
    counter: int = 0
    window: ReplayWindow = field(default_factory=ReplayWindow)


@dataclass(slots=True)
class _Initiation:
    """A handshake we began and that awaits its response."""

    local: int
    key: bytes
    addr: Addr
    handshake: Handshake
    sent: float


@dataclass(slots=True)
class _Peer:
    """Everything kept about one other key at one address. By address too: two programs
    may share a key (two names started from one data directory), and each has sessions
    of its own."""

    sessions: list[_Session] = field(default_factory=list)
    # the last initiations sent since the last session was made, oldest first (each still
    # valid), and how many were sent in all since then
    initiations: collections.deque[_Initiation] = field(default_factory=collections.deque)
    tries: int = 0
    waiting: collections.deque[tuple[bytes, Addr, float]] = field(default_factory=collections.deque)
    last_stamp: bytes = b""
    # when we sent to it first since we last heard from it (None: heard since), and
    # whether that silence made a new handshake already
    unanswered_since: float | None = None
    rehandshaken: bool = False


class SecureChannel:
    """The sessions of one program with every key it talks to.

    `seal` turns what a core sends into the datagrams to send; `open` turns a datagram that
    arrived into what it carried and from whom, or into nothing. Both take `now` from a
    monotonic clock; `stamp` gives the wall-clock time an initiation carries (WireGuard's
    TAI64N: it must grow across restarts, which a monotonic clock does not).
    """

    def __init__(
        self,
        static: X25519PrivateKey,
        *,
        answers_key_requests: bool = False,
        rehandshakes_on_silence: bool = True,
        stamp: Callable[[], int] = time.time_ns,
    ) -> None:
        """`answers_key_requests`: a registry's (see KEY_REQUEST). `rehandshakes_on_silence`:
        whether a silence of REHANDSHAKE_AFTER makes a new handshake (see `seal`); a
        registry's does not, as a restarted peer makes one of its own when it registers."""
        #: Our key pair, and its public key.
        self.static = static
        self.public = public_bytes(static)
        self._answers_key_requests = answers_key_requests
        self._rehandshakes_on_silence = rehandshakes_on_silence
        self._stamp = stamp
        self._last_stamp = 0
        self._peers: collections.OrderedDict[tuple[bytes, Addr], _Peer] = collections.OrderedDict()
        self._by_index: dict[int, _Session | _Initiation] = {}
        self._asked_keys: set[Addr] = set()
        #: Datagrams dropped, by reason: what `open` said of each.
        self.dropped: collections.Counter[str] = collections.Counter()

    # -- sending ------------------------------------------------------------------------

    def seal(self, data: bytes, addr: Addr, key: bytes, now: float) -> Out:
        """The datagrams that carry `data` to `key` at `addr`: one DATA datagram under the
        current session, or, with none yet, an initiation (at most one per HANDSHAKE_RETRY)
        while `data` waits for the response. Data over a Noise message's bound (64 KiB) is
        the caller's error (ValueError)."""
        if len(data) > _PLAINTEXT_MAX:
            raise ValueError("a Noise message is at most 65535 bytes")
        peer = self._peer(key, addr)
        since = peer.unanswered_since
        if since is None or now - since > UNANSWERED_STALE:
            since = peer.unanswered_since = now
            peer.rehandshaken = False
        session = self._sending(peer, now)
        if session is None:
            out: Out = []
            self._wait(peer, data, addr, now)
            self._initiate(peer, key, addr, now, out)
            return out
        out = [(self._data(session, data), addr)]
        # Not kept for the new session as well: a datagram is sent once, or a copy could
        # arrive long after its sender moved on. The sender's next try uses the new one.
        if (
            not peer.rehandshaken
            and now - since >= REHANDSHAKE_AFTER
            and self._rehandshakes_on_silence
        ):
            peer.rehandshaken = True
            self._initiate(peer, key, addr, now, out)
        elif now - session.made >= REKEY_AFTER:
            self._initiate(peer, key, addr, now, out)
        return out

    def _wait(self, peer: _Peer, data: bytes, addr: Addr, now: float) -> None:
        """Keep `data` to send once a handshake under way is over."""
        self._expire_waiting(peer, now)
        if len(peer.waiting) >= QUEUE_MAX:
            peer.waiting.popleft()
            self.dropped["waited too long for a session"] += 1
        peer.waiting.append((data, addr, now))

    def ask_key(self, addr: Addr) -> bytes:
        """A KEY_REQUEST for `addr`, whose KEY_ANSWERs `open` then takes, every one (a
        registry's key, asked the first time a peer uses it, to pin it)."""
        self._asked_keys.add(addr)
        return bytes([KEY_REQUEST]) + bytes(KEY_REQUEST_SIZE - 1)

    def _sending(self, peer: _Peer, now: float) -> _Session | None:
        """The newest confirmed session to `peer` still fit to send on."""
        for session in reversed(peer.sessions):
            if (
                session.confirmed
                and now - session.made < REJECT_AFTER
                and session.counter < REJECT_AFTER_MESSAGES
            ):
                return session
        return None

    def _data(self, session: _Session, data: bytes) -> bytes:
        counter = session.counter
        session.counter = counter + 1
        header = _DATA_HEADER.pack(DATA, session.remote, counter)
        # in range: `seal` takes no data over the bound, and `_sending` gives no session
        # whose counter is used up
        return header + session.sending.encrypt(nonce_bytes(counter), data, header)

    def _initiate(self, peer: _Peer, key: bytes, addr: Addr, now: float, out: Out) -> None:
        """Send a new initiation to `key` at `addr`, unless the last one is younger than
        its retry interval (HANDSHAKE_RETRY, doubled for each one since the last session)."""
        initiations = peer.initiations
        if initiations:
            wait = HANDSHAKE_RETRY * 2 ** min(peer.tries - 1, 8)
            if now - initiations[-1].sent < min(wait, HANDSHAKE_RETRY_MAX):
                return
            if len(initiations) >= INITIATIONS_KEPT:
                self._by_index.pop(initiations.popleft().local, None)
        handshake = Handshake(
            "IK", initiator=True, prologue=PROLOGUE, static=self.static, remote_static=key
        )
        local = self._new_index()
        # the stamp, strictly growing within this run even if the wall clock steps back
        self._last_stamp = max(self._stamp(), self._last_stamp + 1)
        payload = _stamp_bytes(self._last_stamp) + _INDEX.pack(local)
        try:
            message = handshake.write_message(payload)
        except NoiseError:  # a key no handshake can use (a low-order point): a bad table row
            self.dropped["not sent: a key no handshake can use"] += 1
            return
        initiation = _Initiation(local, key, addr, handshake, now)
        initiations.append(initiation)
        peer.tries += 1
        self._by_index[local] = initiation
        out.append((bytes([INITIATION]) + message, addr))

    # -- receiving ----------------------------------------------------------------------

    def open(self, datagram: bytes, addr: Addr, now: float) -> Opened:
        """What `datagram`, from `addr`, carries: see Opened. Never raises for any bytes."""
        if datagram[:1] != _DATA_KIND:
            return self._open_other(datagram, addr, now)
        # DATA, the usual datagram: opened here, without a further call
        if not OVERHEAD <= len(datagram) <= _DATA_MAX:
            return self._drop("too short" if len(datagram) < OVERHEAD else "too long")
        _, index, counter = _DATA_HEADER.unpack_from(datagram)
        session = self._by_index.get(index)
        if type(session) is not _Session or now - session.made >= REJECT_AFTER:
            return self._drop("no such session")
        if addr != session.addr:
            # a copy sent on from another address (a captured datagram raced ahead of
            # its original): whatever answers it must not go there
            return self._drop("from another address than its session's")
        if counter >= REJECT_AFTER_MESSAGES:  # never a nonce: Noise reserves the last
            return self._drop("does not open")
        try:
            data = session.receiving.decrypt(
                nonce_bytes(counter), datagram[_HEADER_SIZE:], datagram[:_HEADER_SIZE]
            )
        except InvalidTag:
            return self._drop("does not open")
        if not session.window.accept(counter):
            return self._drop("replayed")
        peer = session.peer
        peer.unanswered_since = None
        peer.rehandshaken = False
        if session.confirmed:
            return Opened(data, session.key)
        session.confirmed = True
        send: Out = []
        self._flush(peer, session, now, send)
        return Opened(data, session.key, send)

    def _open_other(self, datagram: bytes, addr: Addr, now: float) -> Opened:
        """`open` for anything but DATA."""
        if not datagram:
            return self._drop("empty")
        kind = datagram[0]
        if kind == INITIATION:
            return self._open_initiation(datagram, addr, now)
        if kind == RESPONSE:
            return self._open_response(datagram, now)
        if kind == KEY_REQUEST:
            if self._answers_key_requests and len(datagram) == KEY_REQUEST_SIZE:
                return Opened(send=[(bytes([KEY_ANSWER]) + self.public, addr)])
            return self._drop("key request not answered here")
        if kind == KEY_ANSWER:
            # every answer from an address asked is handed over, not only the first: at
            # first contact, a second key answering is what gives away someone posing as
            # the registry (peer/first_contact.py)
            if addr in self._asked_keys and len(datagram) == 1 + len(self.public):
                return Opened(learned=datagram[1:])
            return self._drop("key answer not asked for")
        if kind in b"{[":
            return Opened(clear=True, dropped="in clear")
        return self._drop("unknown kind")

    def _open_initiation(self, datagram: bytes, addr: Addr, now: float) -> Opened:
        handshake = Handshake("IK", initiator=False, prologue=PROLOGUE, static=self.static)
        try:
            payload = handshake.read_message(datagram[1:])
        except NoiseError:
            return self._drop("does not open")
        key = handshake.remote_static
        if key is None or len(payload) != 12 + _INDEX.size:
            return self._drop("malformed handshake")
        peer = self._peer(key, addr)
        stamp = payload[:12]
        if stamp <= peer.last_stamp:
            return self._drop("replayed handshake")
        peer.last_stamp = stamp
        (remote,) = _INDEX.unpack_from(payload, 12)
        local = self._new_index()
        response = handshake.write_message(_INDEX.pack(local))
        sending, receiving = handshake.split()
        session = _Session(local, remote, key, addr, sending.aead, receiving.aead, now, False, peer)
        self._keep(peer, session)
        return Opened(send=[(bytes([RESPONSE]) + _INDEX.pack(remote) + response, addr)])

    def _open_response(self, datagram: bytes, now: float) -> Opened:
        if len(datagram) < 1 + _INDEX.size:
            return self._drop("too short")
        (index,) = _INDEX.unpack_from(datagram, 1)
        initiation = self._by_index.get(index)
        if not isinstance(initiation, _Initiation):
            return self._drop("no such handshake")
        try:
            payload = initiation.handshake.read_message(datagram[1 + _INDEX.size :])
        except NoiseError:
            return self._drop("does not open")
        if len(payload) != _INDEX.size:
            return self._drop("malformed handshake")
        peer = self._peer(initiation.key, initiation.addr)
        for done in peer.initiations:  # answered: the others are not needed any more
            self._by_index.pop(done.local, None)
        peer.initiations.clear()
        peer.tries = 0
        # it holds the session now: a silence from here on is one of a slow side, which a
        # new handshake would not end (see `seal`)
        peer.rehandshaken = True
        self._by_index.pop(index, None)
        (remote,) = _INDEX.unpack(payload)
        sending, receiving = initiation.handshake.split()
        session = _Session(
            index, remote, initiation.key, initiation.addr, sending.aead, receiving.aead, now,
            True, peer,
        )  # fmt: skip
        self._keep(peer, session)
        send: Out = []
        self._flush(peer, session, now, send)
        return Opened(key=initiation.key, send=send)

    # -- bookkeeping --------------------------------------------------------------------

    def _flush(self, peer: _Peer, session: _Session, now: float, out: Out) -> None:
        """Send what waited for a session, now that `session` may carry it."""
        self._expire_waiting(peer, now)
        while peer.waiting:
            data, addr, _ = peer.waiting.popleft()
            out.append((self._data(session, data), addr))

    def _expire_waiting(self, peer: _Peer, now: float) -> None:
        while peer.waiting and now - peer.waiting[0][2] > QUEUE_FOR:
            peer.waiting.popleft()
            self.dropped["waited too long for a session"] += 1

    def _keep(self, peer: _Peer, session: _Session) -> None:
        """Add `session`, forgetting the oldest beyond KEYPAIRS_KEPT (an unconfirmed one
        first: a confirmed session is never pushed out by handshakes nobody finished)."""
        self._by_index[session.local] = session
        peer.sessions.append(session)
        while len(peer.sessions) > KEYPAIRS_KEPT:
            unconfirmed = [s for s in peer.sessions[:-1] if not s.confirmed]
            gone = unconfirmed[0] if unconfirmed else peer.sessions[0]
            peer.sessions.remove(gone)
            self._by_index.pop(gone.local, None)

    def _peer(self, key: bytes, addr: Addr) -> _Peer:
        peer = self._peers.get((key, addr))
        if peer is None:
            peer = self._peers[(key, addr)] = _Peer()
            if len(self._peers) > MAX_KEYS:
                _, gone = self._peers.popitem(last=False)
                for session in gone.sessions:
                    self._by_index.pop(session.local, None)
                for initiation in gone.initiations:
                    self._by_index.pop(initiation.local, None)
        return peer

    def _new_index(self) -> int:
        while True:
            index = secrets.randbits(32)
            if index not in self._by_index:
                return index

    def _drop(self, why: str) -> Opened:
        self.dropped[why] += 1
        return Opened(dropped=why)


def _stamp_bytes(nanoseconds: int) -> bytes:
    """A wall-clock time as WireGuard's TAI64N: 8 bytes of seconds, 4 of nanoseconds, big-
    endian, so that a later time compares greater byte by byte."""
    seconds, nanos = divmod(nanoseconds, 1_000_000_000)
    return (seconds + 2**62).to_bytes(8, "big") + nanos.to_bytes(4, "big")
