"""Rooms, renames and /quit end to end (issue 3): real processes over loopback, each test
with its own registry, peers and data directory."""

from __future__ import annotations

import pytest

from .harness import (
    OFFLINE_BYE,
    SAVED,
    SERVER_NOT_RESPONDING,
    STAMP,
    TABLE_UPDATED,
    WELCOME,
    YOU_HAVE_MESSAGES,
    ChatEnv,
    line,
)

ROOMS_DOWN = (
    "[Rooms are unavailable while the registry does not answer; direct messages still work.]"
)


@pytest.mark.timeout(40)
def test_seed_003_flow(chat: ChatEnv) -> None:
    """Alice and Bob join teamchat; Alice's Hello team! reaches Bob; Bob leaves and Alice
    sees it; Alice messages Bob after he deregisters; Bob gets it when he registers again."""
    registry = chat.start_registry()
    alice, bob = chat.start_peers("Alice", "Bob")

    alice.send("join teamchat")
    alice.expect_line("[You joined teamchat (a new room)]")
    bob.send("join teamchat")
    bob.expect_line("[You joined teamchat with Alice]")
    alice.expect_line("[Bob joined teamchat]")

    alice.send("Hello team!")
    bob.expect_line("Alice (in teamchat): Hello team!")
    registry.send("rooms")  # the registry's console lists rooms and members
    registry.expect(r"^  teamchat\s+2 in it: Alice, Bob$")

    bob.send("leave")
    bob.expect_line("[You left teamchat.]")
    alice.expect_line("[Bob left teamchat]")

    bob.send("dereg Bob")  # outside the room again, bare words are commands
    bob.expect_line(OFFLINE_BYE)
    alice.expect_line(TABLE_UPDATED)
    alice.send("leave")
    alice.expect_line("[You left teamchat.]")
    alice.send("send Bob see you when you are back")
    alice.expect_line(SAVED)

    bob.send("reg Bob")
    bob.expect_line(WELCOME)
    bob.expect_line(YOU_HAVE_MESSAGES)
    bob.expect(rf"^>>> Alice: {STAMP} see you when you are back$")

    alice.send("rooms")
    alice.expect_line("[No rooms yet. join <room> makes one.]")


@pytest.mark.timeout(40)
def test_history_rename_and_quit_seen_by_everyone(chat: ChatEnv) -> None:
    chat.start_registry()
    alice, bob, carol, dave = chat.start_peers("alice", "bob", "carol", "dave")
    alice.send("join lobby")
    alice.expect_line("[You joined lobby (a new room)]")
    bob.send("join lobby")
    alice.expect_line("[bob joined lobby]")
    carol.send("join lobby")
    alice.expect_line("[carol joined lobby]")
    bob.expect_line("[carol joined lobby]")

    # Room history on join: the last messages, marked as history, before anything live.
    for i in range(3):
        alice.send(f"earlier {i}")
        bob.expect_line(f"alice (in lobby): earlier {i}")
        carol.expect_line(f"alice (in lobby): earlier {i}")
    dave.send("/join LOBBY")
    dave.expect_line("[You joined lobby with alice, bob, carol]")
    for i in range(3):
        dave.expect(rf"^>>> \[history \d\d:\d\d\] alice \(in lobby\): earlier {i}$")
    bob.send("now live")
    dave.expect_line("bob (in lobby): now live")
    assert dave.count(r"\[history") == 3

    # A rename is seen by the room and in everyone's table.
    carol.send("/nick caroline")
    carol.expect_line("[You are now known as caroline.]")
    for peer in (alice, bob, dave):  # the table change may come a moment after the notice
        peer.expect_all([line("[carol is now known as caroline]"), line(TABLE_UPDATED)])
    dave.send("leave")
    dave.expect_line("[You left lobby.]")
    dave.send("who")
    dave.expect_line("[Registered names:]")
    names = [dave.expect(r"^>>>   (\S+)\s").group(1) for _ in range(4)]
    assert names == ["alice", "bob", "caroline", "dave"]
    kept = carol.data_dir / "peers"
    assert (kept / "caroline.json").exists() and (kept / "caroline.seen").exists()
    assert not (kept / "carol.json").exists() and not (kept / "carol.seen").exists()
    dave.send("send carol to the old name")  # told the new name, and sent there
    dave.expect_line("[carol is now known as caroline.]")
    dave.expect_line("[Message received by caroline.]")
    carol.expect_line("dave: to the old name")
    carol.send("/dm dave and back")
    dave.expect_line("caroline: and back")

    # /quit is announced to everyone online, in the room or not, and exits with 0.
    bob.send("/quit see you all")
    bob.expect_line(OFFLINE_BYE)
    assert bob.wait_exit() == 0
    for peer in (alice, carol, dave):
        peer.expect_line("[bob has quit (see you all)]")
    alice.send("still here?")
    carol.expect_line("alice (in lobby): still here?")
    for peer in (alice, carol, dave):
        assert peer.count(line("[bob left lobby]")) == 0
        assert peer.count(r"Traceback") == 0


@pytest.mark.timeout(40)
def test_registry_down_rooms_unavailable_direct_chat_goes_on(chat: ChatEnv) -> None:
    registry = chat.start_registry()
    alice, bob = chat.start_peers("alice", "bob")
    alice.send("join r")
    alice.expect_line("[You joined r (a new room)]")
    registry.kill()

    alice.send("anyone there?")
    bob.send("rooms")
    bob.send("/nick robert")
    alice.expect_line(SERVER_NOT_RESPONDING)
    alice.expect_line(ROOMS_DOWN)
    bob.expect_all(
        [
            line(ROOMS_DOWN),
            line("[Renames need the registry; you are still bob.]"),
        ]
    )
    alice.send("/dm bob direct still works")
    bob.expect_line("alice: direct still works")
    alice.expect_line("[Message received by bob.]")

    # The registry comes back without its rooms (they live in memory): the kept room line
    # is refused, and alice is told she is no longer in the room.
    chat.start_registry()
    alice.expect_line('[Not sent to r ("anyone there?"): You are not in a room.]', timeout=15)
    alice.expect_line("[You are no longer in r; /join r to go back.]")
    alice.send("join r")
    alice.expect_line("[You joined r (a new room)]")
