"""The walk of one direct message, `send bob hi`, from alice's typed line to her receipt
(`[Message received by bob.]`), and of one channel line, `send_all hi`, until bob has
shown it and alice has the registry's answer and its relaying's outcome: every call into
the program's own code on the way, in alice and in bob, counted with a profiler. The
counts may only go down: a change that adds calls to every message raises them here
first (docs/ARCHITECTURE.md, "The life of `send bob hi`").

alice and bob are real PeerNodes (real cores, endpoints and secure channels) in this
process, on real sockets of 127.0.0.1, each with a key of its own; a real registry in its
own process introduces them and is not traced. Each walk starts settled: first contact is
made, and the timers of what went before have fired, so its count does not depend on
timing.
"""

from __future__ import annotations

import ast
import asyncio
import collections
import contextlib
import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from bench.common import HOST
from bench.harness import BenchPeer, start_registry
from peer.core.direct import RECEIVED_BY
from peer.core.request_ends import RECEIVED_BY_SERVER
from registry.adapter.server import RegistryServer
from registry.core.table import Record
from tests.registry.secure_peer import SecurePeer
from wire.keys import key_text
from wire.messages import Ack, ChannelMessage, ChannelPost, Relayed
from wire.version import build_name

ROOT = str(Path(__file__).resolve().parent.parent) + "/"
#: The program's own folders: what a call into counts.
PRODUCT = tuple(
    f"{ROOT}{folder}/"
    for folder in ("peer", "net", "secure", "disk", "terminal", "wire", "registry")
)
#: The most calls and files the walk may take. Lower them as the walk gets shorter. A
#: settled peer arms a timer for the message's retry (net/wake.py): one call, one file.
MOST_CALLS = 59
MOST_FILES = 15

Call = tuple[str, str]


def _compiled() -> set[str]:
    """setup.py's COMPILED: the modules the compiled build makes C of."""
    tree = ast.parse(Path(ROOT, "setup.py").read_text())
    return next(
        set(ast.literal_eval(node.value))
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "COMPILED" for t in node.targets)
    )


#: The same for a channel line (`send_all hi`), with alice's answer from the registry
#: and the outcome of its relaying.
MOST_RELAYED_CALLS = 112
MOST_RELAYED_FILES = 26


async def _walk(folder: Path, verb: str = "send bob") -> list[list[Call]]:
    """The calls of `send bob hi` (or `send_all hi`), walked twice, in order, as (file,
    function): until alice has her receipt, bob has shown the line, and alice has no
    outcome left to wait for."""
    with start_registry("asyncio") as registry:
        server = (HOST, registry.ready["port"])
        alice = BenchPeer("alice", server, folder / "alice")
        bob = BenchPeer("bob", server, folder / "bob")
        for peer in (alice, bob):
            await peer.open()
        await bob.register()
        await alice.register()
        shown: set[str] = set()
        alice.listeners.append(lambda peer, line: shown.add(line.text))
        bob.listeners.append(lambda peer, line: shown.add(line.text))
        receipt = RECEIVED_BY_SERVER if verb == "send_all" else RECEIVED_BY.format("bob")
        requests = alice.node.core.parts.shared.requests

        def done(text: str) -> bool:
            line = f"[Channel_Message alice: {text}]" if verb == "send_all" else receipt
            return {receipt, line} <= shown and not requests.records  # (no outcome awaited)

        walks = []
        # the first is first contact (pins, sessions): not the walk
        for text in ("warm-up", "hi", "hi"):
            await _settled(alice, bob)
            shown.clear()
            typed = functools.partial(alice.line, f"{verb} {text}")
            walks.append(await _traced(typed, functools.partial(done, text)))
        for peer in (alice, bob):
            await peer.close()
    return walks[1:]


async def _settled(*peers: BenchPeer) -> None:
    """Until nothing waits at any of `peers` but its next keepalive, a second away at
    least, and its timer is set for that: what went before was answered, and the wake-ups
    its retries armed came."""

    def settled(peer: BenchPeer) -> bool:
        core = peer.node.core
        at = core.parts.shared.requests.next_keepalive
        return core.alarm.at == core.next_wake() == at and at > time.monotonic() + 1.0

    async with asyncio.timeout(10.0):
        while not all(settled(peer) for peer in peers):
            await asyncio.sleep(0.01)


async def _traced(typed: Callable[[], None], done: Callable[[], bool]) -> list[Call]:
    """The calls from `typed` until `done()`."""
    calls: list[Call] = []

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code.co_filename.startswith(PRODUCT):
            calls.append((frame.f_code.co_filename[len(ROOT) :], frame.f_code.co_qualname))

    sys.setprofile(profile)
    try:
        typed()
        async with asyncio.timeout(10.0):
            while not done():
                await asyncio.sleep(0)
    finally:
        sys.setprofile(None)
    return calls


def _described(calls: list[Call]) -> str:
    by_file = collections.Counter(file for file, _ in calls)
    return "\n".join(
        [f"{len(calls)} calls in {len(by_file)} files:"]
        + [f"  {count:3} {file}" for file, count in by_file.most_common()]
        + ["in order:"]
        + [f"  {file} {name}" for file, name in calls]
    )


@pytest.mark.timeout(60)
@pytest.mark.needs_pure  # counts Python calls, which compiled code makes none of
def test_a_direct_message_walks_no_further_than_it_did(tmp_path: Path) -> None:
    calls, again = asyncio.run(_walk(tmp_path))
    files = {file for file, _ in calls}
    assert calls, "the profiler saw nothing"
    assert again == calls, _described(again)  # from a settled state, the walk is one
    assert len(calls) <= MOST_CALLS, _described(calls)
    assert len(files) <= MOST_FILES, _described(calls)
    assert files - _compiled() == set(), "on the walk, not in setup.py's COMPILED"


@pytest.mark.timeout(60)
@pytest.mark.skipif(build_name() != "compiled", reason="the compiled build's walk")
def test_a_compiled_direct_message_runs_none_of_our_code_interpreted(tmp_path: Path) -> None:
    # every module on the walk is in setup.py's COMPILED: the profiler sees no call of ours
    calls, again = asyncio.run(_walk(tmp_path))
    assert calls == again == [], _described(calls + again)


@pytest.mark.timeout(60)
@pytest.mark.needs_pure  # counts Python calls, which compiled code makes none of
def test_a_channel_line_walks_no_further_than_it_did(tmp_path: Path) -> None:
    # the registry's Ack and its outcome (Relayed) may come in one wake-up or two: each
    # walk is bounded, not the same
    for calls in asyncio.run(_walk(tmp_path, "send_all")):
        assert calls, "the profiler saw nothing"
        assert len(calls) <= MOST_RELAYED_CALLS, _described(calls)
        files = {file for file, _ in calls}
        assert len(files) <= MOST_RELAYED_FILES, _described(calls)
        assert files - _compiled() == set(), "on the walk, not in setup.py's COMPILED"


@pytest.mark.timeout(60)
@pytest.mark.skipif(build_name() != "compiled", reason="the compiled build's walk")
def test_a_compiled_channel_line_runs_none_of_our_code_interpreted(tmp_path: Path) -> None:
    # a relayed line's path at the sender and at a member is in setup.py's COMPILED too
    calls, again = asyncio.run(_walk(tmp_path, "send_all"))
    assert calls == again == [], _described(calls + again)


async def _registry_walk(folder: Path) -> list[Call]:
    """The registry's calls as it reads a channel line of ann's and relays it to bob and
    cy, the registry in this process (its drain called here, traced), its peers SecurePeers
    (tests/registry/secure_peer.py) that ack what they receive. The first line makes the
    members' sessions: the second is the walk."""
    server = RegistryServer(data_dir=folder, listen=(HOST, 0), out=lambda line: None)
    peers = [SecurePeer(server.endpoint.channel.public) for _ in range(3)]
    for name, peer in zip(("ann", "bob", "cy"), peers, strict=True):
        record = Record(name, HOST, peer.address[1], True, "t" * 32)
        record.key = key_text(peer.channel.public)
        server.core.table.records[name] = record
    address = await server.start()
    for peer in peers:
        await peer.take_news(address)
    ann, *members = peers
    ann.send(ChannelPost("ann-0", "ann", "t" * 32, "warm-up"), address)
    for member in members:
        while not (copies := [m for m in await member.receive() if type(m) is ChannelMessage]):
            pass
        member.send(Ack(f"ack-{copies[0].id}", copies[0].id), address)
    while not any(type(m) is Relayed for m in await ann.receive()):  # the relay is over
        pass
    ann.send(ChannelPost("ann-1", "ann", "t" * 32, "hi"), address)
    assert server.endpoint.wait_readable(5.0)
    calls = await _traced(server.endpoint.drain, lambda: True)
    for peer in peers:
        peer.sock.close()
    await server.close()
    return calls


async def _first_message(folder: Path) -> tuple[bool, int]:
    """Whether alice's first message, typed as her registration ends, was received, and
    how many messages bob dropped meanwhile."""
    with start_registry("asyncio") as registry:
        server = (HOST, registry.ready["port"])
        alice = BenchPeer("alice", server, folder / "alice")
        bob = BenchPeer("bob", server, folder / "bob")
        for peer in (alice, bob):
            await peer.open()
        await bob.register()
        await alice.register()
        receipt = asyncio.Event()
        alice.listeners.append(
            lambda peer, line: line.text == RECEIVED_BY.format("bob") and receipt.set()
        )
        alice.line("send bob first")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(receipt.wait(), 10.0)
        dropped = sum(bob.node.core.trust.dropped.values())
        for peer in (alice, bob):
            await peer.close()
    return receipt.is_set(), dropped


@pytest.mark.timeout(60)
@pytest.mark.needs_pure  # counts Python calls, which compiled code makes none of
def test_the_registry_relays_a_channel_line_through_compiled_modules_only(
    tmp_path: Path,
) -> None:
    # the pure build's walk names the files the compiled build must make C of
    files = {file for file, _ in asyncio.run(_registry_walk(tmp_path))}
    assert files, "the profiler saw nothing"
    assert files - _compiled() == set(), "on the walk, not in setup.py's COMPILED"


@pytest.mark.timeout(60)
@pytest.mark.skipif(build_name() != "compiled", reason="the compiled build's walk")
def test_a_compiled_registry_relays_a_channel_line_running_none_of_our_code_interpreted(
    tmp_path: Path,
) -> None:
    # what the registry does from reading a post to its copies and its answer is in
    # setup.py's COMPILED too
    calls = asyncio.run(_registry_walk(tmp_path))
    assert calls == [], _described(calls)


@pytest.mark.timeout(60)
def test_a_first_message_that_overtakes_its_senders_row_is_not_dropped(tmp_path: Path) -> None:
    # alice's chat can reach bob before the table update with her row (the registry
    # gathers changes for a moment): bob holds it for the row, rather than drop it and
    # wait for her retry
    received, dropped = asyncio.run(_first_message(tmp_path))
    assert received and dropped == 0
