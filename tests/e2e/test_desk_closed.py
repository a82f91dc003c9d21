"""A registry whose help-desk key file holds no key (emptied, or binary) still chats: the
desk alone is closed, its console says why in one line, and desk clients are told so."""

from __future__ import annotations

import re

import pytest

from .harness import HOST, ChatEnv, direct


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("content", "why"),
    [(b"", "is empty"), (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xd8", "is not text")],
)
def test_a_bad_desk_key_closes_the_desk_not_the_chat(
    chat: ChatEnv, content: bytes, why: str
) -> None:
    key_file = chat.registry_dir / "desk-key"
    key_file.write_bytes(content)
    registry = chat.start_registry(options=["--no-desk-console"])
    registry.expect(
        rf"^The help desk's operator key file {re.escape(str(key_file))} {why}.*"
        r"delete the file to have a new key made, or put a key in it"
    )
    alice, bob = chat.start_peers("alice", "bob")
    direct(alice, bob, "the chat works without the desk")

    assert chat.registry_port is not None
    person = chat.spawn(
        "-d", HOST, str(chat.registry_port), "--data-dir", str(chat.root / "person"),
        label="person",
    )  # fmt: skip
    person.send("Vera")
    person.send("+44 7700 955555")
    person.send("1")
    person.expect(r"The help desk is closed at this registry")
    assert person.wait_exit(10) == 1

    chat.env["CHATAPP_DESK_KEY"] = "anything"
    ann = chat.spawn("-o", "ann", HOST, str(chat.registry_port), *chat.trusting(), label="operator")
    ann.expect(r"The help desk is closed at this registry")
    assert ann.wait_exit(10) == 1

    assert key_file.read_bytes() == content  # never replaced: operators may hold that key
    for proc in (registry, person, ann):
        assert proc.count("Traceback") == 0
