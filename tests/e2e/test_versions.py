"""Another version of ChatApp meets this one (a version from before the secure channel,
whose messages come in clear; or one in the channel whose messages have other fields): the
real registry and a real peer refuse its requests by name, with a reason its user is
shown, instead of leaving it to retry in silence; and they go on serving everyone else."""

from __future__ import annotations

import socket

import pytest

from wire.version import WIRE_VERSION, wire_refusal

from .harness import HOST, TABLE_UPDATED, ChatEnv, direct
from .secure_socket import SecureSocket

from wire.codec import decode, encode  # isort: skip  (harness puts the repository on sys.path)
from wire.limits import FRAME_HEADER  # isort: skip
from wire.keys import key_from_text  # isort: skip
from wire.messages import VERSION_REFUSAL, Refused, Register, TooBig, Welcome  # isort: skip

#: What the versions before the wire version was sent register with (a field fewer).
OLDER_REGISTER = b'{"t":"Register","id":"v2-1","name":"older","port":9,"token":"","password":""}'
#: What a version with one field more in Chat would send.
OTHER_CHAT = b'{"t":"Chat","id":"v2-2","sender":"newer","to":"alice","text":"hi","v":2}'


def ask(port: int, data: bytes) -> object:
    """One datagram to `port` from a fresh socket, and the message it is answered with."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        sock.settimeout(5.0)
        sock.sendto(data, (HOST, port))
        return decode(sock.recv(65535))


def ask_over_tcp(port: int, data: bytes) -> list[object]:
    """One frame to `port` over a new connection, and what comes back until it closes or
    refuses the frame."""
    with socket.create_connection((HOST, port), timeout=5.0) as sock:
        sock.sendall(len(data).to_bytes(FRAME_HEADER, "big") + data)
        received = b""
        while chunk := sock.recv(65536):  # the refusal, then the end of the connection
            received += chunk
    return clear_frames(received)


def clear_frames(data: bytes) -> list[object]:
    """The messages in the clear frames `data` holds (`secure.stream.frame`), the last whole."""
    found: list[object] = []
    while data:
        end = FRAME_HEADER + int.from_bytes(data[:FRAME_HEADER], "big")
        found.append(decode(data[FRAME_HEADER:end]))
        data = data[end:]
    return found


@pytest.mark.timeout(30)
def test_another_versions_register_is_refused_with_a_reason_and_the_registry_serves_on(
    chat: ChatEnv,
) -> None:
    registry = chat.start_registry()
    assert chat.registry_port is not None
    # the refusal is bigger than the request, to an address not yet vouched for: TooBig
    # first, as for any big answer, then the refusal over TCP
    answer = ask(chat.registry_port, OLDER_REGISTER)
    assert isinstance(answer, TooBig) and answer.reply_to == "v2-1"
    (refused,) = ask_over_tcp(chat.registry_port, OLDER_REGISTER)
    assert isinstance(refused, Refused) and refused.reply_to == "v2-1"
    assert refused.reason == VERSION_REFUSAL
    registry.expect(r"dropped a Register in clear from .* before the secure channel")
    alice, bob = chat.start_peers("alice", "bob")
    direct(alice, bob, "the registry is fine")


@pytest.mark.timeout(30)
def test_a_register_of_another_wire_is_refused_at_once_with_both_wires(chat: ChatEnv) -> None:
    # a version whose Register reads the same but whose other messages may not: refused
    # before it takes a name, rather than registered and then failing message by message.
    # A registry of its own: a shared one may have logged a line in clear within the last
    # interval, and holds this one back until the interval ends.
    registry = chat.start_registry()
    assert chat.registry_port is not None
    name = chat.named("other")
    other = encode(Register("w-1", name, 9, "", "", "0badc0de"))
    (refused,) = ask_over_tcp(chat.registry_port, other)
    assert isinstance(refused, Refused) and refused.reply_to == "w-1"
    assert refused.reason == wire_refusal("0badc0de", "peer")
    assert "0badc0de" in refused.reason and WIRE_VERSION in refused.reason
    registry.expect(r"dropped a Register in clear from .* before the secure channel")
    # the same from a version in the secure channel: refused by the registry itself
    with SecureSocket() as newer:
        server = (HOST, chat.registry_port)
        newer.learn_key(server)
        refused = newer.ask(Register("w-2", name, 9, "", "", "0badc0de"), server, Refused)
    assert refused.reason == wire_refusal("0badc0de", "peer")
    registry.expect(r"refused registration from .*: ChatApp versions differ")
    # it never took the name: a peer of this version can
    alice, other = chat.start_peers("alice", "other")
    direct(alice, other, "the registry is fine")


@pytest.mark.timeout(30)
def test_a_peer_refuses_another_versions_direct_message_and_serves_on(
    shared_chat: ChatEnv,
) -> None:
    assert shared_chat.registry_port is not None
    alice, bob = shared_chat.start_peers("alice", "bob")
    with SecureSocket() as newer:
        server = (HOST, shared_chat.registry_port)
        newer.learn_key(server)
        register = Register("newer-reg", "newer", newer.address[1], "", "", WIRE_VERSION)
        welcome = newer.ask(register, server, Welcome)
        alice_key = next(key_from_text(e.key) for e in welcome.entries if e.name == alice.name)
        alice.expect_line(TABLE_UPDATED)  # alice knows newer's address and key
        newer.send(OTHER_CHAT, (HOST, alice.port), alice_key)
        answers: list[object] = []
        while not any(isinstance(m, Refused) for m in answers):
            answers += [m for m, _, _ in newer.receive(5.0)]  # the registry's pushes too
    refused = next(m for m in answers if isinstance(m, Refused))
    assert (refused.reply_to, refused.reason) == ("v2-2", VERSION_REFUSAL)
    direct(bob, alice, "alice is fine")
    assert alice.count(r"\bhi\b") == 0


@pytest.mark.timeout(30)
def test_a_peer_never_answers_an_unknown_address_with_more_than_it_sent(
    shared_chat: ChatEnv,
) -> None:
    # a spoofed source address must not turn a peer into an amplifier
    (alice,) = shared_chat.start_peers("alice")
    answer = ask(alice.port, OTHER_CHAT)
    assert isinstance(answer, TooBig) and answer.reply_to == "v2-2"
