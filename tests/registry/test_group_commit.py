"""Group commit in the registry adapter: an ack leaves only after the fsync that covers it."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from registry.adapter import store
from registry.adapter.commit import GroupCommit
from registry.adapter.server import RegistryServer
from registry.adapter.store import FileStore, StorageError, mail_line
from registry.core.actions import DropMail, SaveTable, Send, SendMany, StoreMail
from registry.core.table import Table
from tests.datagrams import messages_of
from wire.messages import Ack, ChannelMessage, Saved, StoredMessage

PEER = ("127.0.0.1", 40001)
PEER_KEY = b"p" * 32  # (the stubbed endpoint seals nothing)


def stored(i: int) -> StoredMessage:
    return StoredMessage(f"s-{i}", "alice", f"text {i}", "2026-01-01 10:00:00", "direct")


def test_appends_without_sync_become_durable_with_one_sync(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.append_line("bob", mail_line(stored(1)), sync=False)
    store.append_line("bob", mail_line(stored(2)), sync=False)
    store.append_line("carol", mail_line(stored(3)), sync=False)
    assert store.dirty
    store.sync()
    assert not store.dirty
    assert store.load_mail() == {"bob": [stored(1), stored(2)], "carol": [stored(3)]}


def test_sync_skips_a_mailbox_dropped_meanwhile(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.append_line("bob", mail_line(stored(1)), sync=False)
    store.drop("bob", ("s-1",))
    store.sync()
    assert store.load_mail() == {}


def test_a_failed_write_keeps_everything_waiting_and_a_retry_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileStore(tmp_path)
    store.append_line("bob", mail_line(stored(0)))
    for i in (1, 2, 3):
        store.append_line("bob", mail_line(stored(i)), sync=False)
    real_write = os.write

    def half_then_full_disk(fd: int, data: bytes) -> int:
        monkeypatch.setattr(os, "write", real_write)
        real_write(fd, data[: len(data) // 2])  # stops mid-line
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_full_disk)
    with pytest.raises(OSError):
        store.sync()
    assert store.dirty  # nothing was reported durable, so nothing is forgotten
    store.sync()
    assert store.load_mail() == {"bob": [stored(i) for i in range(4)]}
    # the torn half line, on a line of its own, set aside
    assert len((tmp_path / "mail" / "bob.jsonl.unreadable").read_text().splitlines()) == 1


def test_a_drop_sees_appends_still_waiting(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.append_line("bob", mail_line(stored(1)), sync=False)
    store.append_line("bob", mail_line(stored(2)), sync=False)
    store.drop("bob", ("s-1",))
    assert store.load_mail() == {"bob": [stored(2)]}


async def commits_made(server: RegistryServer) -> None:
    """Wait until the commits opened or being made are over (they run in a thread)."""
    async with asyncio.timeout(10):
        await server.commits.made()


def _server(
    tmp_path: Path, sent: list[object], out: Callable[[str], None] = lambda line: None
) -> RegistryServer:
    server = RegistryServer(data_dir=tmp_path, listen=("127.0.0.1", 0), out=out)
    server.endpoint.send = lambda addr, message, *key, **kw: sent.append(message)  # type: ignore[method-assign]
    return server


@pytest.mark.needs_pure  # replaces the endpoint's send
def test_ack_leaves_only_after_the_fsync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[object] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        events.append("fsync")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)

    async def scenario() -> None:
        server = _server(tmp_path, events)
        events.clear()  # the help desk's operator key, made and synced as the server starts
        acks = [Ack(f"r-{i}", f"s-{i}") for i in range(3)]
        for i, ack in enumerate(acks):  # three saves handled in the same loop pass
            server.run_actions([StoreMail("bob", stored(i)), Send(PEER, ack, PEER_KEY)])
        assert events == []  # written, not yet durable: nothing may leave
        await commits_made(server)  # after the pass: one commit for all three
        assert "fsync" in events
        last_fsync = max(i for i, e in enumerate(events) if e == "fsync")
        assert events[last_fsync + 1 :] == acks
        assert events.count("fsync") <= 2  # the mailbox, and its directory (a new file)
        assert FileStore(tmp_path).load_mail() == {"bob": [stored(0), stored(1), stored(2)]}
        await server.close()

    asyncio.run(scenario())


@pytest.mark.needs_pure  # replaces the endpoint's send
def test_saves_read_while_the_disk_syncs_share_the_next_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fsync runs beside the event loop: the registry goes on reading saves meanwhile,
    # and one fsync then covers them all (the busier, the more each fsync covers).
    mail_fsyncs: list[int] = []
    first_may_end = threading.Event()
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").endswith("bob.jsonl"):
            mail_fsyncs.append(fd)
            first_may_end.wait(10)
        real_fsync(fd)

    sent: list[object] = []

    async def scenario() -> None:
        server = _server(tmp_path, sent)
        monkeypatch.setattr(os, "fsync", fsync)
        server.run_actions([StoreMail("bob", stored(0)), Send(PEER, Ack("r-0", "s-0"), PEER_KEY)])
        async with asyncio.timeout(10):
            while not mail_fsyncs:
                await asyncio.sleep(0.001)
        for i in (1, 2, 3):  # read while the first fsync is under way
            server.run_actions(
                [StoreMail("bob", stored(i)), Send(PEER, Ack(f"r-{i}", f"s-{i}"), PEER_KEY)]
            )
            await asyncio.sleep(0)
        assert sent == [] and len(mail_fsyncs) == 1
        first_may_end.set()
        await commits_made(server)
        assert sent == [Ack(f"r-{i}", f"s-{i}") for i in range(4)]
        assert len(mail_fsyncs) == 2  # one for the first save, one for the three after it
        assert FileStore(tmp_path).load_mail() == {"bob": [stored(i) for i in range(4)]}
        await server.close()

    asyncio.run(scenario())


@pytest.mark.needs_pure  # replaces the endpoint's send
def test_while_a_failed_commit_waits_nothing_is_answered_until_it_is_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The core has recorded the save when its commit fails; the sender's retry is answered
    # from that record with nothing new to store. It must not leave before the data is on
    # disk: a registry killed then would have said "saved" of a message it lost.
    disk_broken = [True]
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if disk_broken[0]:
            raise OSError(5, "Input/output error")
        real_fsync(fd)

    sent: list[object] = []
    logs: list[str] = []

    async def scenario() -> None:
        server = _server(tmp_path, sent, logs.append)
        monkeypatch.setattr(os, "fsync", fsync)
        server.run_actions([StoreMail("bob", stored(1)), Send(PEER, Ack("r-1", "s-1"), PEER_KEY)])
        await commits_made(server)
        assert sent == []
        for retry in range(3):  # the sender's retries, each answered from the core's record
            server.run_actions([Send(PEER, Ack(f"r-{retry + 2}", "s-1"), PEER_KEY)])
            await commits_made(server)
        assert sent == []
        await asyncio.sleep(0)  # log lines are written after the pass's sends
        errors = [line for line in logs if "ERROR storing data" in line]
        assert len(errors) == 1 and "Input/output error" in errors[0]  # said once, not per retry
        disk_broken[0] = False
        server.run_actions([Send(PEER, Ack("r-9", "s-1"), PEER_KEY)])
        assert sent == []  # not before the commit that makes it durable
        await commits_made(server)
        assert sent == [Ack("r-9", "s-1")]
        await asyncio.sleep(0)
        assert FileStore(tmp_path).load_mail() == {"bob": [stored(1)]}
        assert any("storing data works again" in line for line in logs)
        server.run_actions(
            [Send(PEER, Ack("r-10", "x-1"), PEER_KEY)]
        )  # nothing waits: at once again
        assert sent[-1] == Ack("r-10", "x-1")
        await server.close()

    asyncio.run(scenario())


@pytest.mark.needs_pure  # replaces the endpoint's send
def test_sends_before_any_store_leave_at_once(tmp_path: Path) -> None:
    sent: list[object] = []

    async def scenario() -> None:
        server = _server(tmp_path, sent)
        server.run_actions(
            [
                Send(PEER, Ack("r-1", "x-1"), PEER_KEY),
                StoreMail("bob", stored(1)),
                Send(PEER, Ack("r-2", "s-1"), PEER_KEY),
            ]
        )
        assert sent == [Ack("r-1", "x-1")]
        await commits_made(server)
        assert sent == [Ack("r-1", "x-1"), Ack("r-2", "s-1")]

    asyncio.run(scenario())


@pytest.mark.needs_pure  # replaces the endpoint's sends
@pytest.mark.parametrize("syncing", [False, True], ids=["commit-open", "commit-being-made"])
def test_a_line_passed_on_waits_for_no_commit_only_behind_what_waits_for_its_peer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, syncing: bool
) -> None:
    # A channel line tells of nothing stored: it reaches the members while a save's fsync
    # is under way; the one member whose answer waits for that fsync gets it after the answer.
    sent: list[tuple[object, object]] = []
    member = ("127.0.0.1", 40002)
    in_fsync, may_end = threading.Event(), threading.Event()
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        in_fsync.set()
        may_end.wait(10)
        real_fsync(fd)

    async def scenario() -> None:
        server = _server(tmp_path, [])
        server.endpoint.send = lambda addr, message, *key, **kw: sent.append((addr, message))  # type: ignore[method-assign]
        server.endpoint.send_many = lambda addrs, keys, message: sent.extend(  # type: ignore[method-assign]
            (addr, message) for addr in addrs
        )
        monkeypatch.setattr(os, "fsync", fsync)
        ack, line = Ack("r-1", "s-1"), ChannelMessage("c-1", "carol", "hello")
        server.run_actions([StoreMail("bob", stored(1)), Send(PEER, ack, PEER_KEY)])
        if syncing:
            async with asyncio.timeout(10):
                while not in_fsync.is_set():
                    await asyncio.sleep(0.001)
        server.run_actions([SendMany((PEER, member), line, (PEER_KEY, PEER_KEY))])
        assert sent == [(member, line)]
        may_end.set()
        await commits_made(server)
        assert sent == [(member, line), (PEER, ack), (PEER, line)]
        await server.close()

    asyncio.run(scenario())


def test_what_waited_for_a_commit_leaves_packed_one_datagram_per_peer(tmp_path: Path) -> None:
    # A save's Ack and its Saved outcome wait for the same fsync: they leave together, so
    # the saving peer reads one datagram per commit, not one per message (bench.mailbox).
    datagrams: list[tuple[list[object], tuple[str, int]]] = []

    async def scenario() -> None:
        server = RegistryServer(data_dir=tmp_path, listen=("127.0.0.1", 0), out=lambda line: None)
        server.endpoint.outgoing.on_sent = lambda data, addr: datagrams.append(
            (list(messages_of(data)), addr)
        )
        saved = Saved("r-2", "s-1", "bob", False, "")
        server.run_actions(
            [
                StoreMail("bob", stored(1)),
                Send(PEER, Ack("r-1", "s-1"), PEER_KEY),
                Send(PEER, saved, PEER_KEY),
            ]
        )
        assert datagrams == []  # not before the fsync
        await commits_made(server)
        [(messages, addr)] = datagrams
        assert addr == PEER
        assert messages[0] == saved
        assert isinstance(messages[1], Ack) and messages[1].reply_to == "s-1"
        await server.close()

    asyncio.run(scenario())


@pytest.mark.needs_pure  # replaces the endpoint's send
def test_after_a_slow_commit_the_next_waits_as_long_and_takes_all_that_came_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a table of thousands in a join storm: written once per pass, it took most of the
    # registry's time; now the commits after a slow one gather what came meanwhile
    saves: list[float] = []
    real_text = store.table_text

    def slow_text(
        table: Table, rows: store.Rows | None = None, named: set[str] | None = None
    ) -> str:
        saves.append(time.monotonic())
        time.sleep(0.2)  # a big table on a slow machine (long: the passes below fit in it)
        return real_text(table, rows, named)

    monkeypatch.setattr(store, "table_text", slow_text)
    sent: list[object] = []

    async def scenario() -> None:
        server = _server(tmp_path, sent)
        server.run_actions([SaveTable(), Send(PEER, Ack("r-1", "s-1"), PEER_KEY)])
        while not sent:
            await asyncio.sleep(0.001)
        for i in range(2, 6):  # four passes, each with a change of the table and an answer
            server.run_actions([SaveTable(), Send(PEER, Ack(f"r-{i}", f"s-{i}"), PEER_KEY)])
            await asyncio.sleep(0)
        assert len(sent) == 1  # they wait for the next commit, paced by the last
        while len(sent) < 5:
            await asyncio.sleep(0.005)
        assert len(saves) == 2  # one write for the four
        assert saves[1] - saves[0] >= 0.4 - 0.005  # 200 ms of writing, then as long again

    asyncio.run(scenario())


def test_an_action_that_fails_waits_first_in_line_and_nothing_after_it_goes_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = FileStore(tmp_path, lambda line: None)
    real_drop = FileStore.drop
    fails = [1]

    def drop_once_failing(self: FileStore, owner: str, ids: tuple[str, ...]) -> None:
        if fails.pop() if fails else 0:
            raise OSError(28, "No space left on device")
        real_drop(self, owner, ids)

    monkeypatch.setattr(FileStore, "drop", drop_once_failing)
    for action in (
        StoreMail("bob", stored(1)),
        DropMail("bob", ("s-1",)),
        StoreMail("bob", stored(2)),
    ):
        files.carry_out(action)

    async def scenario() -> None:
        with pytest.raises(StorageError):
            await files.commit(Table())
        assert files.dirty
        assert FileStore(tmp_path).load_mail() == {}  # nothing after the failed drop went first
        await files.commit(Table())
        assert not files.dirty

    asyncio.run(scenario())
    assert FileStore(tmp_path).load_mail() == {"bob": [stored(2)]}


def test_a_mailbox_name_that_cannot_be_a_file_is_refused_at_once(tmp_path: Path) -> None:
    files = FileStore(tmp_path, lambda line: None)
    with pytest.raises(StorageError):
        files.carry_out(StoreMail("../bob", stored(1)))
    assert not files.dirty  # nothing waits that no commit could ever write


def test_what_waits_after_a_commit_is_called_once_it_was_made_or_failed(tmp_path: Path) -> None:
    # the help desk's answers: nobody is told of a change before the commit that keeps it
    async def scenario() -> None:
        kept = FileStore(tmp_path)
        released: list[object] = []
        commits = GroupCommit(kept, Table, released.extend, lambda line: None)
        called: list[str] = []
        commits.after(lambda: called.append("at once"))
        assert called == ["at once"]  # nothing waits: no commit
        kept.carry_out(StoreMail("bob", stored(1)))
        commits.after(lambda: called.append("after"))
        assert called == ["at once"] and commits.is_open
        await commits.made()
        assert called == ["at once", "after"] and not kept.dirty

    asyncio.run(scenario())
