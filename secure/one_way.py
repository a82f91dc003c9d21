"""Noise's one-way messages as a stream of records (Noise §7.4, §11.4): each is one
Noise_X handshake message (the same in every record: the Diffie-Hellmans are done once),
the nonce (8 bytes, little-endian), then a transport message. Each opens alone, in any
order. What X gives holds (secure.noise.seal); nothing refuses a repeat: the caller must.
"""

from __future__ import annotations

import struct
from collections import OrderedDict

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from secure.noise import DHLEN, MAX_NONCE, TAGLEN, CipherState, Handshake, NoiseError

#: Bytes of the handshake message at the head of every record (an empty payload).
HEADER = DHLEN + (DHLEN + TAGLEN) + TAGLEN
_NONCE = struct.Struct("<Q")
#: Bytes before the transport message: the handshake message and the nonce.
PREFIX = HEADER + _NONCE.size
#: Streams a `OneWayOpener` remembers, least recently used forgotten first.
OPENED_KEPT = 64


class OneWaySealer:
    """Seals records to one recipient's static key, from `sender`'s. NoiseError for a
    low-order recipient key."""

    def __init__(self, sender: X25519PrivateKey, recipient: bytes, prologue: bytes) -> None:
        handshake = Handshake(
            "X", initiator=True, prologue=prologue, static=sender, remote_static=recipient
        )
        self._header = handshake.write_message(b"")
        self._cipher, _ = handshake.split()  # (the recipient never sends: §7.4)
        self._nonce = 0

    def seal(self, plaintext: bytes) -> bytes:
        nonce = self._nonce
        if nonce >= MAX_NONCE - 1:
            raise ValueError("this stream's nonces are spent: make another")
        self._nonce += 1
        return self._header + _NONCE.pack(nonce) + self._cipher.encrypt(nonce, b"", plaintext)


class OneWayOpener:
    """Opens records sealed to `recipient`, remembering the streams it has read."""

    def __init__(self, recipient: X25519PrivateKey, prologue: bytes) -> None:
        self._recipient = recipient
        self._prologue = prologue
        # handshake message -> (the sender's static key, the stream's cipher)
        self._streams: OrderedDict[bytes, tuple[bytes, CipherState]] = OrderedDict()

    def open(self, record: bytes) -> tuple[bytes, bytes]:
        """(the sender's static public key, the plaintext), or NoiseError."""
        if len(record) < PREFIX + TAGLEN:
            raise NoiseError("record too short")
        header = record[:HEADER]
        (nonce,) = _NONCE.unpack_from(record, HEADER)
        sender, cipher = self._stream(header)
        return sender, cipher.decrypt(nonce, b"", record[PREFIX:])

    def _stream(self, header: bytes) -> tuple[bytes, CipherState]:
        stream = self._streams.get(header)
        if stream is not None:
            self._streams.move_to_end(header)
            return stream
        handshake = Handshake("X", initiator=False, prologue=self._prologue, static=self._recipient)
        handshake.read_message(header)  # (an empty payload: its tag authenticates the rest)
        _, cipher = handshake.split()
        assert handshake.remote_static is not None
        stream = self._streams[header] = (handshake.remote_static, cipher)
        if len(self._streams) > OPENED_KEPT:
            self._streams.popitem(last=False)
        return stream
