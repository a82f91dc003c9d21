"""Someone on the LAN posing as the registry at a peer's first contact: it floods the peer
with key answers carrying keys of its own, forged from the registry's address (a raw IP
socket) and sent from other addresses and ports, and, reading the loopback interface as a
sniffer on the LAN would, plays the registry to whatever the peer sends to one of its
keys: it answers the handshake, as the registry's address, and opens what follows. Root
only (see capture.can_capture)."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from secure.channel import KEY_ANSWER, SecureChannel
from secure.noise import CHANNEL_PROTOCOL
from tests.datagrams import messages_of
from wire.codec import DecodeError
from wire.messages import Message, Register

from .capture import ETH_P_ALL, LINK_HEADER, PACKET_OUTGOING, parse_packet, spoofed_packet

Addr = tuple[str, int]
#: Key answers sent per burst, and the pause between bursts (seconds): some 20,000 a
#: second from Python, enough that one is waiting whenever the peer asks.
BURST, PAUSE = 40, 0.002


class Spoofer:
    """Poses as the registry at `registry` to the peer listening at `victim`, with `keys`
    keys of its own (each key's answers from every source in turn). `registers`: the
    Registers that reached one of its keys; `handshakes`: initiations to its keys."""

    def __init__(self, registry: Addr, victim: Addr, keys: int = 3, others: int = 3) -> None:
        self.registry, self.victim = registry, victim
        self.channels = [SecureChannel(X25519PrivateKey.generate()) for _ in range(keys)]
        #: Forged from the registry's address, and from its IP on another port; and sent
        #: from `others` other loopback addresses (which need no forging).
        self._forged = [registry, (registry[0], registry[1] + 1)]
        self._plain = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(others)]
        for n, sock in enumerate(self._plain):
            sock.bind((f"127.0.0.{n + 2}", registry[1]))
        self._raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        self._sniff = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(ETH_P_ALL))
        self._sniff.bind(("lo", 0))
        self.sent = 0
        self.handshakes = 0
        self.registers: list[Register] = []
        self.opened: list[Message] = []
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._flood, daemon=True),
            threading.Thread(target=self._play_registry, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _flood(self) -> None:
        answers = [
            bytes([KEY_ANSWER]) + channel.public + CHANNEL_PROTOCOL for channel in self.channels
        ]
        packets = [spoofed_packet(a, src, self.victim) for a in answers for src in self._forged]
        n = 0
        while not self._stop.is_set():
            for _ in range(BURST):
                n += 1
                with contextlib.suppress(OSError):  # a full buffer: the next one goes
                    self._raw.sendto(packets[n % len(packets)], (self.victim[0], 0))
                    plain = self._plain[n % len(self._plain)]
                    plain.sendto(answers[n % len(answers)], self.victim)
                    self.sent += 2
            time.sleep(PAUSE)

    def _play_registry(self) -> None:
        """Whatever the peer sends to the registry's address, opened with each of our keys;
        a handshake answered as the registry's address, as a LAN attacker would."""
        while not self._stop.is_set():
            ready, _, _ = select.select([self._sniff], [], [], 0.05)
            if not ready:
                continue
            frame, addr = self._sniff.recvfrom(65_600)
            packet = parse_packet(frame[LINK_HEADER:]) if addr[2] != PACKET_OUTGOING else None
            if packet is None or packet.proto != "udp" or packet.src != self.victim:
                continue
            if packet.dst == self.registry:
                self._open(packet.payload)

    def _open(self, payload: bytes) -> None:
        for channel in self.channels:
            opened = channel.open(payload, self.victim, time.monotonic())
            if opened.send:
                self.handshakes += 1
            for data, to in opened.send:
                self._raw.sendto(spoofed_packet(data, self.registry, to), (to[0], 0))
            if opened.data is None:
                continue
            with contextlib.suppress(DecodeError):
                for message in messages_of(opened.data):
                    self.opened.append(message)
                    if isinstance(message, Register):
                        self.registers.append(message)

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(2)
        for sock in (self._raw, self._sniff, *self._plain):
            sock.close()
