"""The desk's asyncio adapter over real loopback TCP, in one process: bad frames close one
connection only, the timer pushes positions, closing tells everyone, and what is kept on
disk (transcripts, session lengths) is written."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from disk.operator_key import key_path, read_key
from registry.adapter.desk.files import HISTORY_FILE
from registry.adapter.desk.service import DeskService
from tests.desk.desk_service_harness import DESK_KEY, PHONE, Client, Connect, join, joined, run
from tests.desk.standalone_desk import accept_secure
from wire.codec import encode
from wire.desk.messages import (
    EST_MEASURED,
    EST_TYPICAL,
    DeskEnded,
    DeskGiveUp,
    DeskLeave,
    DeskLine,
    DeskLook,
    DeskNotice,
    DeskOnDuty,
    DeskOperator,
    DeskPosition,
    DeskQueued,
    DeskRoom,
    DeskServed,
    DeskSession,
)
from wire.limits import MAX_FRAME
from wire.messages import Chat, Message
from wire.version import WIRE_VERSION


def test_bad_frames_close_one_connection_and_the_queue_stays(tmp_path: Path) -> None:
    async def scenario(desk: DeskService, connect: Connect, _: list[str]) -> None:
        alice = await connect()
        alice.send(join("Alice"))
        assert (await alice.next(DeskQueued)).position == 1  # type: ignore[attr-defined]
        bob = await connect()
        bob.send(join("Bob", "+1 202 555 0147"))
        assert (await bob.next(DeskQueued)).position == 2  # type: ignore[attr-defined]

        # Malformed JSON in a well-formed frame: Bob's connection only is closed.
        bob.send_encoded(b'{"t":"DeskLine","id":')
        notice = await bob.next(DeskNotice)
        assert "bad frame" in notice.text  # type: ignore[attr-defined]
        assert await bob.closed()

        # An oversized frame header closes that connection before any body is read.
        carol = await joined(connect, join("Carol", "+49 151 2345 6701"), DeskQueued)
        carol.writer.write((MAX_FRAME + 1).to_bytes(4, "big"))
        assert await carol.closed()

        # A message that is not a desk message on a desk connection.
        dan = await joined(connect, join("Dan", "+1 303 555 0100"), DeskQueued)
        dan.send(Chat("c1", "dan", "bob", "hi"))
        assert "Chat on a help-desk connection" in (await dan.next(DeskNotice)).text  # type: ignore[attr-defined]

        # A desk message of another version of ChatApp (a field more): said so.
        eve = await joined(connect, join("Eve", "+1 404 555 0100"), DeskQueued)
        eve.send_encoded(b'{"t":"DeskLine","id":"l-1","text":"hi","mood":"calm"}')
        said = (await eve.next(DeskNotice)).text  # type: ignore[attr-defined]
        assert "ChatApp versions differ" in said and "DeskLine" not in said  # plain words
        assert await eve.closed()

        # Alice is still first; Bob's place is held (a broken connection, not a leave).
        names = [p.name for p in desk.queue.state.waiting]
        assert names[:3] == ["Alice", "Bob", "Carol"]
        assert [p.conn is not None for p in desk.queue.state.waiting][:3] == [True, False, False]

    logs = run(tmp_path, scenario)
    assert any("bad frame" in line for line in logs)


def test_first_frames_arriving_together_are_all_handled(tmp_path: Path) -> None:
    async def scenario(desk: DeskService, connect: Connect, _: list[str]) -> None:
        alice = await connect()
        # The join and a .queue in one write: the second frame is not lost.
        alice.decoder.send(join("Alice"))
        alice.decoder.send(DeskLook("q1"))
        alice.writer.write(alice.decoder.output())  # both leave in one write, after the handshake
        await alice.next(DeskQueued)
        info = await alice.next(DeskPosition)
        assert info.position == 1  # type: ignore[attr-defined]

    run(tmp_path, scenario)


def test_closing_tells_everyone_and_saves_transcripts(tmp_path: Path) -> None:
    async def scenario(desk: DeskService, connect: Connect, _: list[str]) -> None:
        relayed = asyncio.Event()
        desk.console.set_output(lambda line: relayed.set() if "Alice: call me" in line else None)
        alice = await connect()
        alice.send(join("Alice", topic=1))
        served = await alice.next(DeskServed)
        said = f"call me on {PHONE}"
        alice.send(DeskLine("l1", "", said, served.session))  # type: ignore[attr-defined]
        await asyncio.wait_for(relayed.wait(), 5)  # the line reached the operator
        bob = await joined(connect, join("Bob", "+1 202 555 0147"), DeskQueued)
        await desk.close()
        assert "closing" in (await alice.next(DeskEnded)).reason  # type: ignore[attr-defined]
        assert "closing" in (await bob.next(DeskEnded)).reason  # type: ignore[attr-defined]

    logs = run(tmp_path, scenario)
    files = list((tmp_path / "desk-transcripts").glob("*.txt"))
    assert len(files) == 1
    # names, topics, conversations: for the registry's user only
    assert (tmp_path / "desk-transcripts").stat().st_mode & 0o777 == 0o700
    assert files[0].stat().st_mode & 0o777 == 0o600
    text = files[0].read_text()
    assert "Topic: 1 Depression" in text and "call me on **********23" in text
    assert "registry closing" in text
    for blob in [text, *logs]:
        assert "7700 900123" not in blob and "7700900123" not in blob


def test_positions_are_pushed_by_the_timer(tmp_path: Path) -> None:
    async def scenario(desk: DeskService, connect: Connect, _: list[str]) -> None:
        people = []
        for i, name in enumerate(("Alice", "Bob", "Carol")):
            client = await joined(connect, join(name, f"+1 555 010 000{i}"), DeskQueued)
            people.append(client)
        people[0].send(DeskLeave("x"))
        # Carol joined moments ago: her new position comes from the timer, within a second.
        position = await people[2].next(DeskPosition, timeout=2.5)
        assert position.position == 2  # type: ignore[attr-defined]

    run(tmp_path, scenario)


def test_encode_is_the_wire_format() -> None:
    assert encode(join("Alice")).startswith(b'{"t":"DeskJoin"')


def test_each_person_is_known_by_the_address_they_joined_from(tmp_path: Path) -> None:
    # the per-address limit (registry.core.desk.limits.MAX_PER_ADDRESS) counts what this records
    async def scenario(desk: DeskService, connect: Connect, _: list[str]) -> None:
        _alice = await joined(connect, join("Alice"), DeskQueued)  # held: dropped, it closes
        assert [p.address for p in desk.queue.state.waiting] == ["127.0.0.1"]

    run(tmp_path, scenario)


def test_the_history_of_session_lengths_survives_a_restart(tmp_path: Path) -> None:
    phones = ("+1 202 555 0101", "+1 202 555 0102", "+1 202 555 0103", "+1 202 555 0104")

    async def serve_three(desk: DeskService, connect: Connect, _: list[str]) -> None:
        desk.console.set_output(lambda _line: None)
        for number, phone in enumerate(phones[:3]):
            person = await joined(connect, join(f"P{number}", phone), DeskServed)
            desk.console.typed(".end")
            await person.next(DeskEnded)

    async def after_restart(desk: DeskService, connect: Connect, _: list[str]) -> None:
        desk.console.set_output(lambda _line: None)
        first, second = await connect(), await connect()
        first.send(join("First", phones[0]))
        await first.next(DeskServed)
        second.send(join("Second", phones[3]))
        queued = await second.next(DeskQueued)
        assert queued.estimate.kind == EST_MEASURED  # type: ignore[attr-defined]

    run(tmp_path, serve_three)
    kept = json.loads((tmp_path / HISTORY_FILE).read_text())
    assert kept["overall"]["count"] == 3
    logs = run(tmp_path, after_restart)
    assert not any("history" in line for line in logs)


def test_a_damaged_history_is_one_log_line_and_the_desk_runs(tmp_path: Path) -> None:
    (tmp_path / HISTORY_FILE).write_text("{damaged")

    async def scenario(desk: DeskService, connect: Connect, _: list[str]) -> None:
        desk.console.set_output(lambda _line: None)
        _alice = await joined(connect, join("Alice"), DeskServed)  # held: dropped, it closes
        bob = await connect()
        bob.send(join("Bob", "+1 202 555 0147"))
        assert (await bob.next(DeskQueued)).estimate.kind == EST_TYPICAL  # type: ignore[attr-defined]

    logs = run(tmp_path, scenario)
    said = [line for line in logs if HISTORY_FILE in line]
    assert len(said) == 1 and "wait estimates start with no history" in said[0]


def test_attempts_their_clients_gave_up_on_before_they_were_read_change_nothing(
    tmp_path: Path,
) -> None:
    """A registry stopped with SIGSTOP still accepts connections, and its clients try again
    every few seconds, each attempt given up after a while: once it runs again, those are
    read only after their clients closed them. Found by trying it: each took the place back
    and lost it again (or went on duty and was lost), a burst of log lines, and every
    one started the person's grace period again. In the secure channel such an attempt
    carries nothing but its handshake (a message waits for the answer, which never came),
    so even a give-up is not carried out: the place stays held for its grace period."""
    logs: list[str] = []

    async def main() -> None:
        desk = DeskService(tmp_path, logs.append)
        await desk.start()
        running = asyncio.Event()
        running.set()
        handled: asyncio.Queue[None] = asyncio.Queue()

        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await running.wait()  # while "stopped", accepted by the kernel, read by nobody
            try:
                await accept_secure(desk, DESK_KEY, reader, writer)
            finally:
                handled.put_nowait(None)

        server = await asyncio.start_server(accept, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]

        async def connect() -> Client:
            return Client(*await asyncio.open_connection("127.0.0.1", port))

        async def given_up(message: Message) -> None:
            client = await connect()
            client.send(message)
            await client.writer.drain()
            client.writer.close()
            await client.writer.wait_closed()

        try:
            tokens = {}
            for name, phone in (("Alice", PHONE), ("Carol", "+1 202 555 0147")):
                client = await connect()
                client.send(join(name, phone))
                tokens[name] = (await client.next(DeskQueued)).token  # type: ignore[attr-defined]
                client.writer.close()
            for _ in range(2):
                await handled.get()  # both lost: their places held
            [alice, carol] = desk.queue.state.waiting
            lost_at = alice.held_until
            assert lost_at is not None and carol.held_until is not None
            before = len(logs)

            key = read_key(key_path(tmp_path))  # as an operator's client reads it
            assert key is not None
            running.clear()
            await given_up(join("Alice", PHONE, token=tokens["Alice"]))
            await given_up(DeskOperator("o-1", "ann", (1, 2, 3, 4, 5, 6), key, WIRE_VERSION))
            await given_up(join("Bob", "+49 151 1234 5670"))
            await given_up(DeskGiveUp("g-1", "+1 202 555 0147", tokens["Carol"], WIRE_VERSION))
            running.set()
            for _ in range(4):
                await handled.get()

            # Nothing happened, nor was logged: Carol's place is held as before.
            assert logs[before:] == []
            assert desk.queue.state.waiting == [alice, carol] and alice.conn is None
            assert alice.held_until == lost_at  # its grace period was not started again
            assert not desk.queue.state.operators
        finally:
            server.close()
            await desk.close()

    asyncio.run(main())


def test_a_busy_operator_is_not_told_of_a_newcomer_the_free_console_takes(
    tmp_path: Path,
) -> None:
    """The desk reads a join with hand-overs held (HANDS_OVER): ann, busy with Zed, is
    not told that Lee is waiting, since the console, free, takes Lee as they are released."""
    printed: list[str] = []

    async def scenario(desk: DeskService, connect: Connect, _: list[str]) -> None:
        ann = await connect()
        key = read_key(key_path(tmp_path))
        ann.send(DeskOperator("o1", "ann", (1, 2, 3, 4, 5, 6), key, WIRE_VERSION))
        await ann.next(DeskOnDuty)
        _zed = await joined(connect, join("Zed", "+1 999 888 7777"), DeskServed)
        await ann.next(DeskSession)
        desk.console.set_output(printed.append)  # the console comes on duty, free
        lee = await connect()
        lee.send(join("Lee Chan", "+1 555 000 0300", topic=6))
        assert (await lee.next(DeskServed)).operator == "admin"  # type: ignore[attr-defined]
        ann.send(DeskLook("r1"))
        await ann.next(DeskRoom)  # whatever was sent to ann before it has been read
        told = [m.text for m in ann.inbox if isinstance(m, DeskNotice)]  # type: ignore[attr-defined]
        assert not [text for text in told if "Lee Chan" in text]

    run(tmp_path, scenario)
