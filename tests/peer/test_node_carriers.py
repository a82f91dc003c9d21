"""PeerNode carries out each action of the core by the carrier of its type: every type has
one, and a MailTaken waits for the lines before it only when it goes as a datagram."""

from __future__ import annotations

import asyncio
import typing
from pathlib import Path

import pytest

from peer.core.actions import Action, SendSealed
from tests.peer.test_node_batches import SERVER, started_node
from wire.messages import MailTaken, Message

pytestmark = pytest.mark.timeout(10)


@pytest.mark.needs_pure  # replaces the endpoint's send
def test_every_type_of_action_has_a_carrier(tmp_path: Path) -> None:
    async def main() -> set[type]:
        node = started_node(tmp_path, [])
        node.stop()
        return set(node.carriers)

    assert asyncio.run(main()) == set(typing.get_args(Action))


@pytest.mark.needs_pure  # replaces the endpoint's send
@pytest.mark.parametrize(("stream", "waits"), [(False, True), (True, False)])
def test_a_mail_taken_waits_for_the_lines_before_it_only_as_a_datagram(
    tmp_path: Path, stream: bool, waits: bool
) -> None:
    # A datagram's MailTaken empties the registry's mailbox: it leaves once the mail is on
    # the screen. Sent again over TCP (it was too big), it waited the first time already.
    taken = MailTaken("a-9", "alice", "tok", ("m-1",))

    async def main() -> tuple[list[Message], list[Message]]:
        events: list[object] = []
        node = started_node(tmp_path, events, slow=True)
        events.clear()
        node.carry_out(SendSealed(SERVER, taken, node.core.trust.registry, stream))
        before = [m for kind, m in events if kind == "send"]  # type: ignore[misc]
        node.console.printed()  # type: ignore[attr-defined]
        after = [m for kind, m in events if kind == "send"]  # type: ignore[misc]
        node.stop()
        return before, after

    before, after = asyncio.run(main())
    assert before == ([] if waits else [taken])
    assert after == [taken]
