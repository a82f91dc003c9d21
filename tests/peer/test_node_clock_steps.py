"""A peer's retries run on the monotonic clock: the time of day stepped an hour ahead, then
an hour behind, while a registration or a direct message is being retried (NTP, a laptop
waking) neither fires the retries at once nor holds them back. The real PeerNode, its real
Endpoint on loopback, toward addresses where nobody answers."""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from peer.adapter.node import PeerNode
from peer.adapter.start import PeerSettings
from peer.core.actions import Print
from peer.core.direct import NO_ACK
from secure.noise import public_bytes
from tests.peer.retry_rule import REGISTER_WAITS
from wire.keys import key_text
from wire.messages import Chat, Entry, Message, Register, Welcome
from wire.reliable import ATTEMPTS, DIRECT_TIMEOUT

pytestmark = pytest.mark.timeout(30)

HOUR = 3600.0
#: The slack of a loaded machine, in seconds, beyond a retry's wait.
SLACK = 1.5


@pytest.fixture
def silent() -> Iterator[tuple[str, int]]:
    """A loopback UDP address where nothing ever answers (what arrives is left unread)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()
    sock.close()


class Lines:
    """A console that keeps the lines shown."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def show(self, line: Print) -> None:
        self.lines.append(line.text)

    def start(self, on_line: Callable[[str], None], on_end: Callable[[], None]) -> None:
        pass

    def set_prompt(self, text: str) -> None:
        pass

    def after_printed(self, then: Callable[[], None]) -> None:
        then()


class SteppedClock:
    """`time.time` as a clock that NTP steps: an hour ahead once `ahead_after` copies have
    been sent, an hour behind the real time once `behind_after` have."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, ahead_after: int, behind_after: int):
        self._real = time.time
        self._offset = 0.0
        self._steps = {ahead_after: HOUR, behind_after: -HOUR}
        monkeypatch.setattr(time, "time", self.time)

    def time(self) -> float:
        return self._real() + self._offset

    def copies_sent(self, count: int) -> None:
        self._offset = self._steps.get(count, self._offset)


class Watched:
    """What a PeerNode did: every message it sent, the times its copies of one kind left
    at (monotonic), the lines it showed, and `over`, set once all ATTEMPTS copies have
    left and the core has said what it does about it."""

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.times: list[float] = []
        self.lines: list[str] = []
        self.over = asyncio.Event()


def retried_node(
    tmp_path: Path, server: tuple[str, int], kind: type[Message], clock: SteppedClock
) -> tuple[PeerNode, Watched]:
    """A PeerNode whose registry is at `server`, watched for its copies of `kind`."""
    watched = Watched()

    def show(line: Print) -> None:
        watched.lines.append(line.text)
        # (a first registration's round over: it says it keeps trying, later)
        gave_up = any(said in line.text for said in ("answer from", "No ACK"))
        if gave_up and len(watched.times) >= ATTEMPTS:
            watched.over.set()

    console = Lines()
    console.show = show  # type: ignore[method-assign]
    node = PeerNode(
        name="alice",
        server=server,
        data_dir=tmp_path,
        settings=PeerSettings(port=0, bind="127.0.0.1"),
        console=console,
    )
    node.core.trust.registry = public_bytes(X25519PrivateKey.generate())  # as pinned
    real_send = node.endpoint.send

    def send(addr: tuple[str, int], message: Message, key: bytes, *, stream: bool = False) -> None:
        watched.sent.append(message)
        if type(message) is kind:
            watched.times.append(time.monotonic())
            clock.copies_sent(len(watched.times))
        real_send(addr, message, key, stream=stream)

    node.endpoint.send = send  # type: ignore[method-assign]
    return node, watched


def assert_spaced_as_ever(times: list[float], waits: list[float]) -> None:
    """ATTEMPTS copies, each its wait of `waits` after the one before (within the machine's
    slack): a step that fired a retry at once would leave a gap near 0; one that held it
    back, an hour."""
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(times) == ATTEMPTS, gaps
    assert all(w * 0.7 < gap < w + SLACK for gap, w in zip(gaps, waits, strict=False)), gaps


@pytest.mark.slow
@pytest.mark.needs_pure  # replaces the endpoint's send
def test_a_registration_is_retried_as_ever_across_steps_of_the_clock(
    tmp_path: Path, silent: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = SteppedClock(monkeypatch, ahead_after=2, behind_after=3)

    async def main() -> list[float]:
        node, watched = retried_node(tmp_path, silent, Register, clock)
        await node.endpoint.open("127.0.0.1", 0)
        try:
            node.start()
            await asyncio.wait_for(watched.over.wait(), 20)
        finally:
            node.stop()
            await node.endpoint.close()
        return watched.times

    assert_spaced_as_ever(asyncio.run(main()), REGISTER_WAITS)


@pytest.mark.needs_pure  # replaces the endpoint's send
def test_a_direct_message_is_retried_as_ever_across_steps_of_the_clock(
    tmp_path: Path, silent: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = SteppedClock(monkeypatch, ahead_after=2, behind_after=3)
    bob = key_text(public_bytes(X25519PrivateKey.generate()))

    async def main() -> list[float]:
        # the registry and bob both silent: the registration is answered by hand below
        node, watched = retried_node(tmp_path, silent, Chat, clock)
        address = await node.endpoint.open("127.0.0.1", 0)
        try:
            node.start()
            [register] = watched.sent
            entries = (
                Entry("alice", *address, True, key_text(public_bytes(X25519PrivateKey.generate()))),
                Entry("bob", *silent, True, bob),
            )
            welcome = Welcome("r-1", register.id, "alice", "tok", 2, entries, (), ())
            node.received_batch([welcome], node.core.server, node.core.trust.registry, node.now())
            node.typed("send bob hello")
            await asyncio.wait_for(watched.over.wait(), 20)
        finally:
            node.stop()
            await node.endpoint.close()
        assert NO_ACK.format("bob") in watched.lines
        return watched.times

    assert_spaced_as_ever(asyncio.run(main()), [DIRECT_TIMEOUT] * ATTEMPTS)
