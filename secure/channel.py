"""The secure channel every datagram travels in, sans-IO: WireGuard's protocol (the paper,
sections 5.4 and 6) on the Noise IK handshake of `secure.noise`, cookies from
`secure.cookie`; the datagrams are in docs/PROTOCOL.md ("The secure channel").

Anything that does not open is dropped and counted, never answered. Only two datagrams are
answered without a session, each smaller than what it answers: an initiation under load
(a cookie reply), and KEY_REQUEST (a registry's public key in clear)."""

from __future__ import annotations

import collections
import hmac
import struct
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from secure import cookie, noise, sessions
from secure.cookie import COOKIE_REFRESH, MACS_SIZE, CookieChecker
from secure.noise import CHANNEL_PROTOCOL, Handshake, NoiseError, nonce_bytes, public_bytes
from secure.sessions import REJECT_AFTER_MESSAGES, Initiation, Peer, Session, Sessions
from wire.limits import MAX_DATAGRAM
from wire.reliable import RTO_MAX, SOONEST_RETRY

Addr = tuple[str, int]
Out = list[tuple[bytes, Addr]]
#: Where a datagram goes: an address (hot path: Any, kept boxed) and the key sealed for there.
Dest = tuple[Any, bytes]
Send = Callable[[tuple[bytes, Addr]], object]

#: The first byte of each kind of datagram (an older ChatApp's clear JSON: "{" or "[").
INITIATION, RESPONSE, KEY_REQUEST, KEY_ANSWER, COOKIE_REPLY = 1, 2, 4, 5, 6
DATA: Final = 3
#: Bound into every handshake: a program of another protocol or version cannot complete one.
PROLOGUE = b"ChatApp secure channel 1"
#: Seconds after which a session is replaced by a new handshake when next used to send,
#: and after which it is refused altogether (WireGuard's REKEY_AFTER_TIME, REJECT_AFTER_TIME).
REKEY_AFTER: Final = 120.0
REJECT_AFTER: Final = 180.0
#: Seconds before an unanswered initiation is sent again, when there is something to send:
#: below every retry (wire.reliable.SOONEST_RETRY), so that a message's first retry finds
#: a fresh one out. Each further one waits twice as long, up to HANDSHAKE_RETRY_MAX
#: (WireGuard's REKEY_TIMEOUT), unless a key answer says the network lost the last (`_lost`);
#: the last INITIATIONS_KEPT (secure/sessions.py) are all answered.
HANDSHAKE_RETRY = 0.8 * SOONEST_RETRY
HANDSHAKE_RETRY_MAX = 5.0
#: Seconds of silence from a key we sent to after which the next datagram to it also makes
#: a new handshake, once per silence: below SOONEST_RETRY, so that a message's first retry
#: finds a restarted side. A send within it of hearing from the key answers (an ack): it
#: begins no silence. A send after UNANSWERED_STALE of silence begins a new one (a paused
#: conversation did not fail): twice RTO_MAX, so all copies of a backed-off sender are in it.
REHANDSHAKE_AFTER: Final = 0.9 * SOONEST_RETRY
UNANSWERED_STALE: Final = 2 * RTO_MAX
#: Both waits above are at least twice the longest a handshake of the other side took
#: (`Peer.slowest`), up to this: a side slowed by a join storm is not taken again and
#: again for one that restarted, and one that restarts is still found within it.
SLOW_WAIT_MAX: Final = 2.5
#: Seconds after data last opened from an address during which a responder under load
#: drops an initiation from it: that session works, and its sender only found us slower
#: than REHANDSHAKE_AFTER. A sender that restarted meanwhile is answered after it.
WORKS_FOR = 2.0
#: Bytes a DATA datagram adds to what it carries: header (type, index, counter) and tag.
OVERHEAD: Final = 1 + 4 + 8 + 16
#: A KEY_REQUEST is padded to this size, so that its answer (33 bytes) is smaller.
KEY_REQUEST_SIZE = 64

_DATA_HEADER: Final = struct.Struct("<BIQ")
_HEADER_SIZE: Final = _DATA_HEADER.size
#: The first byte of a DATA datagram, as bytes (`datagram[:1]` never raises).
DATA_KIND: Final = bytes((DATA,))
#: The longest DATA datagram: a datagram's messages (wire.limits) sealed. Longer: dropped.
_DATA_MAX: Final = OVERHEAD + MAX_DATAGRAM
_INDEX = struct.Struct("<I")
#: The sizes of the handshake's datagrams: kind, index, Noise's message and MACs; a cookie
#: reply is its kind and secure.cookie's body (docs/PROTOCOL.md, "The secure channel").
DHLEN, TAGLEN = noise.DHLEN, noise.TAGLEN
INITIATION_SIZE = 1 + 4 + DHLEN + (DHLEN + TAGLEN) + (12 + TAGLEN) + MACS_SIZE
RESPONSE_SIZE = 1 + 4 + DHLEN + (4 + TAGLEN) + cookie.MAC_SIZE
COOKIE_REPLY_SIZE = 1 + cookie.COOKIE_REPLY_BODY


class Opened(msgspec.Struct, gc=False):
    """What became of one datagram: `data` and the sender's `key` when it opened as DATA; `send`,
    datagrams to send in answer; `dropped`, why it was dropped ("" when it was not); `clear`,
    a datagram in clear (a previous ChatApp); `learned`, a KEY_ANSWER's key and protocol;
    `under_load`, the key of a responder that answered our initiation with a cookie reply."""

    data: bytes | None = None
    key: bytes = b""
    send: Sequence[tuple[bytes, Addr]] = ()
    dropped: str = ""
    clear: bool = False
    learned: bytes = b""
    under_load: bytes = b""


class SecureChannel:
    """The sessions of one program with every key it talks to: `seal` turns what a core
    sends into datagrams, `open` a datagram into what it carried and from whom, or nothing.
    Both take a monotonic `now`; `stamp` gives the wall-clock time an initiation carries
    (WireGuard's TAI64N: it must grow across restarts, which a monotonic clock does not)."""

    def __init__(
        self,
        static: X25519PrivateKey,
        *,
        answers_key_requests: bool = False,
        rehandshakes_on_silence: bool = True,
        stamp: Callable[[], int] = time.time_ns,
    ) -> None:
        """`answers_key_requests`: a registry's (see KEY_REQUEST). `rehandshakes_on_silence`:
        whether a silence of REHANDSHAKE_AFTER makes a new handshake (see `seal`); not a
        registry's: a restarted peer makes one when it registers."""
        self.static = static
        self.public = public_bytes(static)
        self._answers_key_requests = answers_key_requests
        self._rehandshakes_on_silence = rehandshakes_on_silence
        self._stamp = stamp
        self._last_stamp = 0
        self._sessions = Sessions()
        self._by_index = self._sessions.by_index  # read for every datagram: one lookup less
        self._peers = self._sessions.peers
        self._cookies = CookieChecker(self.public)
        # addresses whose key we asked, with our latest initiation there as we asked
        self._asked_keys: dict[Addr, int | None] = {}
        #: Datagrams dropped, by reason: what `open` said of each.
        self.dropped: collections.Counter[str] = collections.Counter()

    # -- sending ------------------------------------------------------------------------

    def seal(self, datas: list[bytes], dests: Sequence[Dest], now: float, send: Send) -> None:
        """`send` the datagrams that carry each of `datas` to each (address, key) of `dests`, a
        key's back to back: DATA under its current session, or, with none yet, an initiation
        (one per HANDSHAKE_RETRY at most) while it waits. Over MAX_DATAGRAM: ValueError."""
        if max(map(len, datas), default=0) > MAX_DATAGRAM:
            raise ValueError(f"a datagram carries at most {MAX_DATAGRAM} bytes")
        for addr, key in dests:
            peer = self._sessions.by_addr.get(addr)  # (nearly always; sending keeps no peer)
            if peer is None or peer.key != key:
                peer = self._peers.get((key, addr)) or self._sessions.peer(key, addr)
            since = peer.unanswered_since
            if since is None or now - since > UNANSWERED_STALE:
                since = now
                if now - peer.heard_at >= REHANDSHAKE_AFTER:  # (else an answer: it starts none)
                    peer.unanswered_since, peer.rehandshaken = now, False
            # the newest confirmed session, if fit to send on (an older one is older still)
            session = peer.current
            if (
                session is None
                or (age := now - session.made) >= REJECT_AFTER
                or session.counter + len(datas) > REJECT_AFTER_MESSAGES
            ):
                for data in datas:
                    peer.wait(data, addr, now, self.dropped)
                self._initiate(peer, now, send)
                continue
            # DATA under it, each once: kept for a new session too, a copy could arrive
            # long after its sender moved on (whose next try uses the new one)
            for data in datas:
                counter = session.counter
                session.counter = counter + 1
                header = _DATA_HEADER.pack(DATA, session.remote, counter)
                sealed = session.sending.encrypt(nonce_bytes(counter), data, header)
                send((header + sealed, addr))
            if (
                now - since >= REHANDSHAKE_AFTER  # (nearly always `since` is `now`: first)
                and self._rehandshakes_on_silence  # (a registry's does not: one test)
                and not peer.rehandshaken
                and now - since >= _at_least(REHANDSHAKE_AFTER, peer.slowest)
            ):
                peer.rehandshaken = True
                self._initiate(peer, now, send)
            elif age >= REKEY_AFTER:
                self._initiate(peer, now, send)

    def sessions_at(self, addr: Addr) -> list[Session]:
        """The sessions kept with the peer last met at `addr`, to look at."""
        peer = self._sessions.by_addr.get(addr)
        return [] if peer is None else list(peer.sessions)

    def ask_key(self, addr: Addr) -> bytes:
        """A KEY_REQUEST for `addr`, whose KEY_ANSWERs `open` then takes, every one."""
        peer = self._sessions.by_addr.get(addr)
        self._asked_keys[addr] = peer.initiations[-1].local if peer and peer.initiations else None
        return bytes([KEY_REQUEST]) + bytes(KEY_REQUEST_SIZE - 1)

    def _initiate(self, peer: Peer, now: float, out: Send, *, at_once: bool = False) -> None:
        """Send a new initiation to `peer`, unless the last one is younger than its retry
        interval (HANDSHAKE_RETRY, doubled for each one since the last session; see
        SLOW_WAIT_MAX) and not `at_once`. It bears the mac2 of the cookie the peer last
        gave us, if that is younger than COOKIE_REFRESH."""
        key, addr, initiations = peer.key, peer.addr, peer.initiations
        if initiations:
            wait = _at_least(HANDSHAKE_RETRY * 2 ** min(peer.tries - 1, 8), peer.slowest)
            if now - initiations[-1].sent < min(wait, HANDSHAKE_RETRY_MAX) and not at_once:
                return
            if len(initiations) >= sessions.INITIATIONS_KEPT:
                self._by_index.pop(initiations.pop(0).local, None)
        handshake = Handshake(
            "IK", initiator=True, prologue=PROLOGUE, static=self.static, remote_static=key
        )
        local = self._sessions.new_index()
        # the stamp, strictly growing within this run even if the wall clock steps back
        self._last_stamp = max(self._stamp(), self._last_stamp + 1)
        try:
            message = handshake.write_message(sessions.stamp_bytes(self._last_stamp))
        except NoiseError:  # a key no handshake can use (a low-order point): a bad table row
            self.dropped["not sent: a key no handshake can use"] += 1
            return
        fresh = now - peer.cookie_at < COOKIE_REFRESH
        head = bytes([INITIATION]) + _INDEX.pack(local) + message
        datagram = cookie.add_macs(head, cookie.mac1_key(key), peer.cookie if fresh else None)
        initiation = Initiation(local, key, addr, handshake, now, cookie.mac1_of(datagram))
        initiations.append(initiation)
        peer.tries += 1
        self._by_index[local] = initiation
        out((datagram, addr))

    # -- receiving ----------------------------------------------------------------------

    def open(self, datagram: bytes, addr: Addr, now: float) -> Opened:
        """What `datagram`, from `addr`, carries: see Opened. Never raises for any bytes."""
        if not datagram or datagram[0] != DATA:
            return self._open_other(datagram, addr, now)
        # DATA, the usual datagram: opened here, without a call (its header read bytewise)
        if not OVERHEAD <= len(datagram) <= _DATA_MAX:
            return self._drop("too short" if len(datagram) < OVERHEAD else "too long")
        index = datagram[1] | datagram[2] << 8 | datagram[3] << 16 | datagram[4] << 24
        low = datagram[5] | datagram[6] << 8 | datagram[7] << 16 | datagram[8] << 24
        high = datagram[9] | datagram[10] << 8 | datagram[11] << 16 | datagram[12] << 24
        counter = low | high << 32
        session = self._by_index.get(index)
        if type(session) is not Session or now - session.made >= REJECT_AFTER:
            return self._drop("no such session")
        if addr != session.addr:
            # a copy sent on from another address (a captured datagram raced ahead of
            # its original): whatever answers it must not go there
            return self._drop("from another address than its session's")
        if counter >= REJECT_AFTER_MESSAGES:  # Noise reserves the last
            return self._drop("does not open")
        try:
            data = session.receiving.decrypt(
                nonce_bytes(counter), datagram[_HEADER_SIZE:], datagram[:_HEADER_SIZE]
            )
        except InvalidTag:
            return self._drop("does not open")
        if not session.window.accept(counter):
            return self._drop("replayed")
        if (peer := session.peer) is not self._sessions.last:  # now the most recently used
            self._sessions.last = peer
            self._peers.move_to_end(peer.ident)
        since = peer.unanswered_since
        if peer.rehandshaken and since is not None and session.made <= since:
            # a silence taken for a restart, that the session outlived: a slow side
            peer.slowest = max(peer.slowest, now - since)
        peer.unanswered_since = None
        peer.rehandshaken = False
        peer.heard_at = now
        if session.confirmed:
            return Opened(data, session.key)
        session.confirmed = True
        self._sessions.confirmed(peer)
        send = self._flush(peer, now)
        return Opened(data, session.key, send)

    def _open_other(self, datagram: bytes, addr: Addr, now: float) -> Opened:
        if not datagram:
            return self._drop("empty")
        kind = datagram[0]
        if kind == INITIATION:
            return self._open_initiation(datagram, addr, now)
        if kind == RESPONSE:
            return self._open_response(datagram, addr, now)
        if kind == COOKIE_REPLY:
            return self._open_cookie_reply(datagram, now)
        if kind == KEY_REQUEST:
            if self._answers_key_requests and len(datagram) == KEY_REQUEST_SIZE:
                return Opened(send=[(bytes([KEY_ANSWER]) + self.public + CHANNEL_PROTOCOL, addr)])
            return self._drop("key request not answered here")
        if kind == KEY_ANSWER:
            # every answer from an address asked is handed over: at first contact, a second
            # key answering gives away someone posing as the registry (peer/core/first_contact.py)
            if addr in self._asked_keys and 1 + DHLEN <= len(datagram) <= KEY_REQUEST_SIZE:
                return Opened(learned=datagram[1:], send=self._lost(addr, datagram[1:], now))
            return self._drop("key answer not asked for")
        if kind in b"{[":
            return Opened(clear=True, dropped="in clear")
        return self._drop("unknown kind")

    def _lost(self, addr: Addr, answer: bytes, now: float) -> Out:
        """`answer` (a key, our protocol) came from `addr` while data waits, or in a silence: our
        latest initiation as asked, still unanswered, was lost; unless under load, one goes now."""
        peer = self._sessions.by_addr.get(addr)
        silent = peer is not None and (peer.waiting or peer.unanswered_since is not None)
        ours = peer is not None and peer.key + CHANNEL_PROTOCOL == answer
        if not peer or not silent or not ours or now - peer.cookie_at < COOKIE_REFRESH:
            return []
        out: Out = []
        if peer.initiations and peer.initiations[-1].local == self._asked_keys[addr]:
            peer.tries = 0
            self._initiate(peer, now, out.append, at_once=True)
        return out

    def _open_initiation(self, datagram: bytes, addr: Addr, now: float) -> Opened:
        """An initiation: checked by its mac1 (a hash), then, under load, its mac2 (or it
        is answered with a cookie reply only) and its source's budget; only then opened
        (the Diffie-Hellmans), and answered if its time is the newest from its key."""
        if len(datagram) != INITIATION_SIZE:
            return self._drop("malformed handshake")
        if not self._cookies.mac1_ok(datagram):
            return self._drop("bad mac1")
        if self._cookies.under_load(now):
            known = self._sessions.by_addr.get(addr)
            if known is not None and now - known.heard_at < WORKS_FOR:
                # its sender's session works: it took our lag for a restart (see `seal`)
                return self._drop("under load: a session at its address works")
            source = cookie.source_bytes(addr)
            if not self._cookies.mac2_ok(datagram, source, now):
                self.dropped["under load: answered with a cookie"] += 1
                body = self._cookies.reply(datagram, datagram[1:5], source, now)
                reply = bytes([COOKIE_REPLY]) + body
                return Opened(send=[(reply, addr)], dropped="under load: answered with a cookie")
            if not self._cookies.sources.take(addr[0], now):
                return self._drop("under load: its address is over its handshake budget")
        handshake = Handshake("IK", initiator=False, prologue=PROLOGUE, static=self.static)
        try:
            stamp = handshake.read_message(datagram[5:-MACS_SIZE])
        except NoiseError:  # (its mac1 says it knew our key)
            return self._drop("handshake does not open: another version of ChatApp?")
        key = handshake.remote_static
        if key is None or len(stamp) != 12:
            return self._drop("malformed handshake")
        if not self._sessions.newer_stamp(key, stamp):
            return self._drop("replayed handshake")
        peer = self._sessions.peer(key, addr)
        (remote,) = _INDEX.unpack_from(datagram, 1)
        local = self._sessions.new_index()
        response = bytes([RESPONSE]) + datagram[1:5] + handshake.write_message(_INDEX.pack(local))
        response += cookie.mac(cookie.mac1_key(key), response)
        sending, receiving = (state.aead for state in handshake.split())
        session = Session(local, remote, key, addr, sending, receiving, now, False, peer)
        self._sessions.keep(peer, session)
        return Opened(send=[(response, addr)])

    def _open_response(self, datagram: bytes, addr: Addr, now: float) -> Opened:
        """A response: to an initiation of ours still awaited, from where that went (a
        service's registries share a key), checked by its mac1 before it is opened."""
        if len(datagram) != RESPONSE_SIZE:
            return self._drop("malformed handshake")
        (index,) = _INDEX.unpack_from(datagram, 1)
        initiation = self._by_index.get(index)
        if not isinstance(initiation, Initiation) or addr != initiation.addr:
            return self._drop("no such handshake")  # (none went to `addr`)
        body, mac1 = datagram[: -cookie.MAC_SIZE], datagram[-cookie.MAC_SIZE :]
        if not hmac.compare_digest(cookie.mac(self._cookies.mac1_key, body), mac1):
            return self._drop("bad mac1")
        try:
            payload = initiation.handshake.read_message(body[1 + _INDEX.size :])
        except NoiseError:
            return self._drop("does not open")
        if len(payload) != _INDEX.size:
            return self._drop("malformed handshake")
        peer = self._sessions.peer(initiation.key, initiation.addr)
        # answered: it and those before it are not needed any more; a later one's response
        # makes the session to use, as the responder keeps the newest it answered
        while (done := peer.initiations.pop(0)) is not initiation:
            self._by_index.pop(done.local, None)
        peer.tries, peer.slowest = 0, now - initiation.sent
        # it holds the session now: a silence from here on is a slow side's (see `seal`)
        peer.rehandshaken = True
        self._by_index.pop(index, None)
        (remote,) = _INDEX.unpack(payload)
        sending, receiving = (state.aead for state in initiation.handshake.split())
        session = Session(index, remote, peer.key, peer.addr, sending, receiving, now, True, peer)
        self._sessions.keep(peer, session)
        send = self._flush(peer, now)
        return Opened(key=initiation.key, send=send)

    def _open_cookie_reply(self, datagram: bytes, now: float) -> Opened:
        """A cookie reply to an initiation of ours still awaited: its cookie is kept for the
        next initiation's mac2, sent at its retry, or at once if data waits and our latest
        bore no mac2 (forged replies make one more at most); if our latest was a silence's new
        handshake (see `seal`), with the next datagram. It says the responder runs
        (`Opened.under_load`), as whoever saw our initiation could say."""
        if len(datagram) != COOKIE_REPLY_SIZE:
            return self._drop("malformed cookie reply")
        (index,) = _INDEX.unpack_from(datagram, 1)
        initiation = self._by_index.get(index)
        if not isinstance(initiation, Initiation):
            return self._drop("no such handshake")
        got = cookie.open_cookie(datagram[1:], initiation.key, initiation.mac1)
        if got is None:
            return self._drop("does not open")
        peer = self._sessions.peer(initiation.key, initiation.addr)
        had_cookie = now - peer.cookie_at < COOKIE_REFRESH
        peer.cookie, peer.cookie_at = got, now
        peer.slowest = max(peer.slowest, now - initiation.sent)
        latest = peer.initiations[-1] if peer.initiations else None
        if initiation is latest:  # not made: the silence's new handshake is still to make
            peer.rehandshaken = False
        if had_cookie or not peer.waiting or initiation is not latest:
            return Opened(under_load=initiation.key)
        out: Out = []
        self._initiate(peer, now, out.append, at_once=True)
        return Opened(send=out, under_load=initiation.key)

    # -- bookkeeping --------------------------------------------------------------------

    def _flush(self, peer: Peer, now: float) -> Out:
        """What waited for a session, sealed now that one may carry it."""
        peer.expire(now, self.dropped)
        out: Out = []
        if peer.waiting:
            datas = [data for data, _, _ in peer.waiting]
            peer.waiting.clear()
            self.seal(datas, [(peer.addr, peer.key)], now, out.append)
        return out

    def _drop(self, why: str) -> Opened:
        self.dropped[why] += 1
        return Opened(dropped=why)


def _at_least(wait: float, slowest: float) -> float:
    """`wait`, or twice `slowest` if longer, up to SLOW_WAIT_MAX."""
    return max(wait, min(2 * slowest, SLOW_WAIT_MAX))
