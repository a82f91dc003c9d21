"""A mailbox keeps room for the people its owner writes to, tried with real processes:
strangers with four keys at two addresses flood carol's mailbox while she is away, then
alice, whom carol once left a message for, writes to her."""

from __future__ import annotations

import pytest

from .harness import HOST, SAVED, YOU_HAVE_MESSAGES, ChatEnv, mail_line
from .secure_socket import SecureSocket

from wire import messages  # isort: skip  (harness puts the repository on sys.path)
from wire.version import WIRE_VERSION  # isort: skip

#: The strangers: two keys at each of two addresses.
STRANGERS = [("127.0.0.2", 0), ("127.0.0.2", 1), ("127.0.0.3", 0), ("127.0.0.3", 1)]


def _flood(server: tuple[str, int], host: str, n: int, to: str, count: int, suffix: str) -> int:
    """Register a name of its own (ending in `suffix`) from `host` with a new key, then save
    `count` messages
    for `to`, a hundred at a time, each batch answered before the next: how many were
    saved."""
    saved = 0
    with SecureSocket(host=host) as sock:
        sock.learn_key(server)
        name = f"stranger{host[-1]}{n}{suffix}"
        register = messages.Register(f"{name}-r", name, sock.address[1], "", "", WIRE_VERSION)
        welcome = sock.ask(register, server, messages.Welcome)
        for batch in range(0, count, 100):
            for k in range(batch, batch + 100):
                text = f"flood {k} " + "x" * 400
                sock.send(
                    messages.SaveMessage(f"{name}-{k}", name, welcome.token, to, text), server
                )
            for message, _, _ in sock.receive(3.0):
                if isinstance(message, messages.Acks):
                    saved += len(message.replies)
                elif isinstance(message, messages.Ack):
                    saved += 1
    return saved


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_four_keys_at_two_addresses_cannot_take_alices_room_in_carols_mailbox(
    shared_chat: ChatEnv,
) -> None:
    chat = shared_chat
    alice = chat.start_peer("alice", data_dir=chat.root / "alice")
    carol = chat.start_peer("carol", data_dir=chat.root / "carol")
    alice.send("/quit")
    assert alice.wait_exit() == 0
    carol.send(f"send {alice.name} see you tomorrow")  # carol leaves alice a message
    carol.expect_line(SAVED)
    carol.send("/quit")
    assert carol.wait_exit() == 0
    assert chat.registry_port is not None
    server = (HOST, chat.registry_port)
    saved = sum(_flood(server, host, n, carol.name, 300, chat.suffix) for host, n in STRANGERS)
    alice = chat.start_peer("alice", port=alice.port, data_dir=alice.data_dir)
    alice.send(f"send {carol.name} the real one")
    alice.expect_line(SAVED)
    assert saved <= 500, saved  # the strangers, together, half of carol's 1,000 at most
    carol = chat.start_peer("carol", port=carol.port, data_dir=carol.data_dir, wait=False)
    carol.expect_line(YOU_HAVE_MESSAGES)
    carol.expect(mail_line(alice.name, "the real one"), timeout=20)
