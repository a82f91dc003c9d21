"""Each peer name has a key of its own, even two started by one account from one data
folder; and a peer whose key changed is said as soon as the table tells it, before any
message goes to the new key."""

from __future__ import annotations

import re

import pytest

from peer.core.direct import RECEIVED_BY

from .harness import TABLE_UPDATED, ChatEnv, direct


def changed(name: str) -> str:
    """The start of the line that says `name`'s key changed."""
    return re.escape(f"[{name}'s key has changed since you last talked; compare fingerprints")


@pytest.mark.timeout(40)
def test_two_names_of_one_account_have_keys_of_their_own(shared_chat: ChatEnv) -> None:
    alice, bob = shared_chat.start_peers("alice", "bob")  # one data folder, as one user's
    assert alice.data_dir == bob.data_dir
    alice.send(f"/whois {bob.name}")
    whois = alice.expect(rf"\[{re.escape(bob.name)}'s key: ([\d ]+); yours: ([\d ]+)\.")
    assert whois[1] != whois[2]
    direct(alice, bob, "two people, two keys")


@pytest.mark.timeout(60)
def test_a_changed_key_is_said_before_a_message_goes_to_it(shared_chat: ChatEnv) -> None:
    chat = shared_chat
    alice = chat.start_peer("alice")
    bob = chat.start_peer("bob", password="sesame-sesame")
    alice.expect_line(TABLE_UPDATED)
    direct(alice, bob, "hello bob")  # alice pins bob's key
    bob.send("/quit")
    bob.wait_exit()
    # bob on a new machine: another folder, another key; his password moves the name
    chat.start_peer("bob", data_dir=chat.root / "bob-new", password="sesame-sesame")
    alice.expect(changed(bob.name))  # told by the table, before alice has sent anything
    alice.send(f"send {bob.name} are you you?")
    alice.expect_line(RECEIVED_BY.format(bob.name))
    alice.drain()
    assert alice.count(changed(bob.name)) == 1
