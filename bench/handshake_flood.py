"""Handshake initiations, replayed and forged, from many spoofed source addresses at a
steady rate: what any host on a LAN with a raw socket can send a registry or a peer.

Every datagram is a secure-channel initiation (secure/channel.py) to the target's public key:
three in four are replays of valid initiations, made once here by a few keys of the
attacker's own (exactly what a capture of someone's initiation gives: it opens, and its
time is old after its first use); one in four is forged (random bytes of the same size).
Each claims one of `--sources` source addresses in 127.200.0.0/16, a new one each time,
round robin. Sent on a raw IP socket: root only. Loopback only.

    python -m bench.handshake_flood 127.0.0.1:PORT KEY [--rate 8000] [--seconds 5]

KEY is the target's public key, as ChatApp shows it (43 characters). Prints one JSON line
when done: how many were sent, and in how many seconds. Stops by itself after `--seconds`
or when its standard input closes (so that a test that dies takes it along).
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import select
import socket
import struct
import sys
import time

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from secure.channel import INITIATION, SecureChannel
from wire.keys import key_from_text

#: The attacker's own keys whose initiations are replayed.
REPLAYED_KEYS = 16
#: Datagrams sent per batch; batches are spread evenly over each second.
BATCH = 40
_IP = struct.Struct("!BBHHHBBH4s4s")
_UDP = struct.Struct("!HHHH")


def initiations(target: tuple[str, int], key: bytes) -> list[bytes]:
    """Valid initiations to `key` at `target`, one per attacker key, as the project's own
    channel makes them (so they are in this checkout's format)."""
    made = []
    for _ in range(REPLAYED_KEYS):
        channel = SecureChannel(X25519PrivateKey.generate())
        packets: list[tuple[bytes, tuple[str, int]]] = []
        channel.seal([b""], [(target, key)], 0.0, packets.append)
        made += [packet for packet, _ in packets if packet[:1] == bytes([INITIATION])]
    return made


def source(i: int) -> tuple[str, int]:
    """The `i`th spoofed source: an address of 127.200.0.0/16 and a port."""
    ip = str(ipaddress.IPv4Address(0x7FC80000 + i % 65536))
    return ip, 10_000 + (i * 7919) % 50_000


def headers(sources: int, target: tuple[str, int], size: int) -> list[bytes]:
    """The IPv4 and UDP headers of a datagram of `size` bytes from each source to `target`
    (the kernel fills the IP checksum; a UDP checksum of 0 means none)."""
    dst = socket.inet_aton(target[0])
    made = []
    for i in range(sources):
        ip, port = source(i)
        ip_header = _IP.pack(0x45, 0, 28 + size, 0, 0, 64, socket.IPPROTO_UDP, 0,
                             socket.inet_aton(ip), dst)  # fmt: skip
        made.append(ip_header + _UDP.pack(port, target[1], 8 + size, 0))
    return made


def flood(target: tuple[str, int], key: bytes, rate: float, seconds: float, sources: int) -> int:
    """Send `rate` initiations a second to `target` for `seconds` (or until standard input
    closes); return how many were sent."""
    valid = initiations(target, key)
    size = len(valid[0])
    forged = [bytes([INITIATION]) + os.urandom(size - 1) for _ in range(64)]
    heads = headers(sources, target, size)
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
    print(json.dumps({"started": True}), flush=True)
    sent, start = 0, time.monotonic()
    every = BATCH / rate
    due = start
    while (now := time.monotonic()) - start < seconds:
        if due > now:
            if select.select([sys.stdin], [], [], due - now)[0] and not sys.stdin.readline():
                break  # the parent closed our input: it is gone or done
            continue
        for _ in range(BATCH):
            payload = forged[sent % 64] if sent % 4 == 3 else valid[sent % len(valid)]
            with contextlib.suppress(OSError):  # a full buffer: lost, as on a real LAN
                sock.sendto(heads[sent % sources] + payload, (target[0], 0))
            sent += 1
        # batches the machine left no CPU for are not made up: the rate holds, never a
        # burst of them at once (a flooder starved for a second sent 60,000 in a burst)
        due = max(due + every, now)
    sock.close()
    return sent


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("target", help="HOST:PORT (loopback)")
    parser.add_argument("key", help="the target's public key (43 characters)")
    parser.add_argument("--rate", type=float, default=8000.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--sources", type=int, default=60_000)
    args = parser.parse_args(argv)
    host, _, port = args.target.rpartition(":")
    if not ipaddress.IPv4Address(host).is_loopback:
        parser.error("the target must be on loopback")
    key = key_from_text(args.key)
    if key is None:
        parser.error("not a public key")
    started = time.monotonic()
    sent = flood((host, int(port)), key, args.rate, args.seconds, args.sources)
    print(json.dumps({"sent": sent, "seconds": round(time.monotonic() - started, 2)}), flush=True)


if __name__ == "__main__":
    main()
