"""Nothing a stranger sends unauthenticated is answered with more bytes than it has, by the
registry or by a peer (docs/SECURITY.md): a spoofed source can never be made to receive
more than the spoofer sent. Each kind of datagram a stranger can send without a session
is tried against real processes, each from an address of its own."""

from __future__ import annotations

import os
import socket
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from .harness import HOST, ChatEnv
from .secure_socket import SecureSocket

from secure.channel import SecureChannel  # isort: skip  (harness puts the repository on sys.path)
from wire import messages  # isort: skip
from wire.keys import key_from_text  # isort: skip
from wire.version import WIRE_VERSION  # isort: skip
from tests.datagrams import seal_list

Addr = tuple[str, int]


def _initiation(to: Addr, key: bytes) -> tuple[SecureChannel, bytes]:
    """A fresh key's channel, and the handshake initiation it sends to `key` at `to`."""
    channel = SecureChannel(X25519PrivateKey.generate())
    [(initiation, _)] = seal_list(channel, [b"{}"], [(to, key)], time.monotonic())
    return channel, initiation


def _kinds(to: Addr, key: bytes) -> dict[str, bytes]:
    """Every kind of datagram a stranger can send to `to` (whose key is `key`) without a
    session, by name."""
    _, initiation = _initiation(to, key)
    old = (
        b'{"t":"Register","id":"old-1","name":"oldtimer","port":6000,"token":"",'
        b'"password":"","wire":"0"}'
    )
    return {
        "empty": b"",
        "one byte of no kind": b"\x00",
        "junk of no kind": b"\x09" * 300,
        "a key request": SecureChannel(X25519PrivateKey.generate()).ask_key(to),
        "a short key request": b"\x04",
        "a key answer not asked for": b"\x05" + bytes(32),
        "a handshake initiation": initiation,
        "a response to no handshake": b"\x02" + os.urandom(60),
        "data of no session": b"\x03" + os.urandom(60),
        "a short request in clear": b'{"t":"Register","id":"1"}',
        "a request in clear": old,
        "a batch in clear": b'[{"t":"Chat","id":"c-1"}]',
        "a long request in clear": old[:-1] + b',"pad":"' + b"x" * 1000 + b'"}',
        "random bytes": os.urandom(1200),
    }


def _answered(sock: socket.socket, to: Addr, key: bytes, datagram: bytes) -> int:
    """Bytes that come back to `sock` for `datagram` sent to `to`. A marker follows it (a
    handshake of a fresh key, always answered): what comes before the marker's answer is
    the datagram's, as the receiver answers in the order it reads."""
    sock.sendto(datagram, to)
    marker, initiation = _initiation(to, key)
    sock.sendto(initiation, to)
    answered, deadline = 0, time.monotonic() + 5
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data, _ = sock.recvfrom(65536)
        except TimeoutError:
            break
        if marker.open(data, to, time.monotonic()).key == key:
            return answered
        answered += len(data)
    raise AssertionError("the marker was not answered")


def _peer_key(chat: ChatEnv, server: Addr, name: str) -> bytes:
    """`name`'s key, as the registry's table gives it to anyone who registers."""
    with SecureSocket() as look:
        look.learn_key(server)
        register = messages.Register("l-1", "looker", look.address[1], "", "", WIRE_VERSION)
        welcome = look.ask(register, server, messages.Welcome)
    key = next(key_from_text(e.key) for e in welcome.entries if e.name == name)
    assert key is not None
    return key


@pytest.mark.timeout(60)
def test_no_answer_to_a_datagram_without_a_session_is_larger_than_it(chat: ChatEnv) -> None:
    chat.start_registry()
    (alice,) = chat.start_peers("alice")
    assert chat.registry_port is not None
    server = (HOST, chat.registry_port)
    with SecureSocket() as probe:
        registry_key = probe.learn_key(server)
    targets = {"registry": (server, registry_key), "peer": ((HOST, alice.port), b"")}
    targets["peer"] = ((HOST, alice.port), _peer_key(chat, server, "alice"))
    larger: list[str] = []
    n = 0
    for target, (to, key) in targets.items():
        for kind, datagram in _kinds(to, key).items():
            n += 1
            source = f"127.0.0.{2 + n % 9}"  # spread over 9 addresses
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.bind((source, 0))
                answered = _answered(sock, to, key, datagram)
            if answered > len(datagram):
                larger.append(f"{target}: {kind} ({len(datagram)} B) answered {answered} B")
    assert not larger, larger
