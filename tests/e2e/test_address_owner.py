"""An address belongs to its key, tried with real processes: another user of alice's
machine, with a key of its own, registers its own name at alice's port while she runs."""

from __future__ import annotations

import pytest

from .harness import HOST, ChatEnv
from .secure_socket import SecureSocket

from wire import messages  # isort: skip  (harness puts the repository on sys.path)
from wire.version import WIRE_VERSION  # isort: skip


@pytest.mark.timeout(60)
def test_a_registration_at_alices_port_does_not_take_her_offline_while_she_answers(
    shared_chat: ChatEnv,
) -> None:
    chat = shared_chat
    registry = chat.registry
    assert registry is not None
    alice = chat.start_peer("alice", data_dir=chat.root / "alice")
    bob = chat.start_peer("bob", data_dir=chat.root / "bob")
    den = chat.named("den")
    alice.send(f"join {den}")
    alice.expect_line(f"[You joined {den} (a new room)]")
    bob.send(f"join {den}")
    bob.expect_line(f"[You joined {den} with {alice.name}]")
    assert chat.registry_port is not None
    server = (HOST, chat.registry_port)
    # two other users of the machine, each with a key of its own, at alice's port
    for n in range(2):
        with SecureSocket(host=HOST) as mallory:
            mallory.learn_key(server)
            grab = messages.Register(
                f"m-{n}", chat.named(f"mallory{n}"), alice.port, "", "", WIRE_VERSION
            )
            refused = mallory.ask(grab, server, messages.Refused)  # not a Welcome
        assert refused.reason == (
            f"The address {HOST}:{alice.port} is in use by {alice.name}, which answered just now; "
            "choose another port."
        )
    # alice is still online, and still in her room
    bob.send("still here?")
    alice.expect_line(f"{bob.name} (in {den}): still here?")
    registry.send("who")
    registry.expect(rf"{alice.name}\b.*\bonline")
    registry.drain()
    assert not registry.count(rf"{alice.name} offline"), registry.tail()
