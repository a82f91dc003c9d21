"""PeerCore as a whole, what is believed of which key."""

from __future__ import annotations

import pytest

from peer.core import actions as pa
from peer.core.change_lines import (
    TABLE_UPDATED,
)
from peer.core.table import Rule
from tests.peer.core_kit import (
    BOB,
    T0,
    prints,
    registered,
)
from tests.peer.honest import honest_key
from wire.limits import MAX_TEXT
from wire.messages import (
    Chat,
    Entry,
    Notice,
    RoomMessage,
    RoomNotice,
    TableUpdate,
)


def test_what_only_the_registry_says_is_not_taken_from_another_machine() -> None:
    # found by trying it: a forged update pointed bob at the forger's port, and alice's
    # next message to bob went there ("[Message received by bob.]")
    core, _ = registered()
    version = core.table.version
    forger = ("10.0.0.66", 5000)
    for forged in (
        TableUpdate("f-1", version + 1, (Entry("bob", *forger, True),)),
        Notice("f-2", "The registry released the name alice"),
        RoomNotice("f-3", "teamchat", "bob has quit (forged)"),
        RoomMessage("f-4", "bob", "secret", "forged line", False, ""),
    ):
        out = core.receive(forged, forger, honest_key(core, forged, forger), T0)
        assert [type(a) for a in out] == [pa.Rejected] and out[0].why == Rule.REGISTRY.value
    assert core.table.version == version and core.table.entry("bob").ip == BOB[0]


@pytest.mark.parametrize(
    "chat",
    [
        Chat("c-1", "", "alice", "no sender"),
        Chat("c-2", TABLE_UPDATED, "alice", "a line of ours"),
        Chat("c-3", "bob", "alice", "x" * (MAX_TEXT + 1)),
    ],
)
def test_a_direct_message_no_peer_of_ours_could_send_is_not_shown(chat: Chat) -> None:
    core, _ = registered()
    assert prints(core.receive(chat, BOB, honest_key(core, chat, BOB), T0)) == []
