"""A named pipe where a data file should be (`mkfifo`) is refused with one clear line: the
start neither hangs nor ignores Ctrl-C waiting for a writer that never comes."""

from __future__ import annotations

import os
import re

import pytest

from .harness import WELCOME, ChatEnv

NAMED_PIPE = "not a regular file (a named pipe)"


@pytest.mark.timeout(30)
def test_a_registry_with_a_named_pipe_for_a_mailbox_refuses_to_start(chat: ChatEnv) -> None:
    (chat.registry_dir / "mail").mkdir()
    os.mkfifo(chat.registry_dir / "mail" / "zz.jsonl")
    (line,) = [each for each in chat.refused_registry() if each.strip()]
    assert line.endswith(f"zz.jsonl: {NAMED_PIPE}"), line


@pytest.mark.timeout(30)
def test_a_peer_with_a_named_pipe_for_its_shown_list_says_so_and_chats(
    shared_chat: ChatEnv,
) -> None:
    chat, name = shared_chat, shared_chat.named("alice")
    peers = chat.peer_dir / "peers"
    peers.mkdir()
    os.mkfifo(peers / f"{name}.seen")
    alice = chat.start_peer(name, wait=False)
    pipe = NAMED_PIPE.replace("(", ".").replace(")", ".")
    alice.expect(rf"Could not read .*{re.escape(name)}\.seen \({pipe}\)")
    alice.expect_line(WELCOME)
    alice.send(f"send {name} hi")
    alice.expect(rf"Could not keep the list of messages shown on disk: {NAMED_PIPE[:18]}")
    alice.expect(f"{name}: hi")
