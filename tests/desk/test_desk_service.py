"""The desk's asyncio adapter over real loopback TCP, in one process: bad frames close one
connection only, the registry console is an operator, and transcripts are written."""

from __future__ import annotations

import asyncio
import json
import select
from collections.abc import Awaitable, Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from net.noise import public_bytes
from net.operator_key import key_path, read_key
from net.secure_stream import SecureStream
from registry.desk.history import HISTORY_FILE
from registry.desk.operators import NOBODY_WAITING
from registry.desk.service import READ_CHUNK, DeskService, accept_secure
from wire.codec import encode
from wire.desk.messages import (
    EST_MEASURED,
    EST_TYPICAL,
    DeskEnded,
    DeskGiveUp,
    DeskJoin,
    DeskLeave,
    DeskLine,
    DeskNotice,
    DeskOnDuty,
    DeskOperator,
    DeskPosition,
    DeskQueued,
    DeskQueueInfo,
    DeskQueueRequest,
    DeskRoom,
    DeskRoomRequest,
    DeskServed,
    DeskSession,
)
from wire.limits import MAX_FRAME
from wire.messages import Chat, Message
from wire.version import WIRE_VERSION

PHONE = "+44 7700 900123"


#: The desk's key in these tests, which every client pins.
DESK_KEY = X25519PrivateKey.generate()
DESK_PUBLIC = public_bytes(DESK_KEY)


class Client:
    """A raw desk connection speaking frames."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        desk_sides: dict[int, int] | None = None,
        key: bytes = DESK_PUBLIC,
    ) -> None:
        self.reader, self.writer = reader, writer
        self.decoder = SecureStream(X25519PrivateKey.generate(), remote=key)
        writer.write(self.decoder.output())
        self.inbox: list[Message] = []
        # the file descriptor of the desk's end of each connection, by the client's port
        # (see `readable_at_desk`)
        self._desk_sides = desk_sides or {}

    def readable_at_desk(self) -> None:
        """Wait, without letting the event loop run, until what this client sent can be
        read at the desk's end of the connection: it is there, not read yet, as for a
        registry stopped while it came."""
        side = self._desk_sides[self.writer.get_extra_info("sockname")[1]]
        readable, _, _ = select.select([side], [], [], 3.0)
        assert readable, "what was sent never reached the desk"

    def send(self, message: Message) -> None:
        self.decoder.send(message)
        self.writer.write(self.decoder.output())

    def send_encoded(self, body: bytes) -> None:
        """Send `body` as a message's encoding, in the secure session (a bad one)."""
        self.decoder.send_encoded(body)
        self.writer.write(self.decoder.output())

    async def next(self, kind: type, timeout: float = 3.0) -> Message:
        """The next message of `kind`, reading as needed."""

        async def find() -> Message:
            while True:
                for i, message in enumerate(self.inbox):
                    if isinstance(message, kind):
                        return self.inbox.pop(i)
                data = await self.reader.read(READ_CHUNK)
                if not data:
                    raise EOFError(f"closed while waiting for {kind.__name__}: {self.inbox}")
                self.inbox += self.decoder.feed(data)
                self.writer.write(self.decoder.output())

        return await asyncio.wait_for(find(), timeout)

    async def closed(self, timeout: float = 3.0) -> bool:
        async def drain() -> bool:
            while await self.reader.read(READ_CHUNK):
                pass
            return True

        return await asyncio.wait_for(drain(), timeout)


Connect = Callable[[], Awaitable[Client]]
Scenario = Callable[[DeskService, Connect, list[str]], Awaitable[None]]


def run(tmp_path: Path, scenario: Scenario, **options: object) -> list[str]:
    """Serve a DeskService on a free loopback port and run `scenario` against it."""
    logs: list[str] = []

    async def main() -> None:
        desk = DeskService(tmp_path, logs.append, **options)  # type: ignore[arg-type]
        await desk.start()
        desk_sides: dict[int, int] = {}

        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            desk_sides[writer.get_extra_info("peername")[1]] = writer.get_extra_info(
                "socket"
            ).fileno()
            await accept_secure(desk, DESK_KEY, reader, writer)

        server = await asyncio.start_server(accept, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]

        async def connect() -> Client:
            return Client(*await asyncio.open_connection("127.0.0.1", port), desk_sides)

        try:
            await scenario(desk, connect, logs)
        finally:
            server.close()
            await desk.close()

    asyncio.run(main())
    return logs


def join(name: str, phone: str = PHONE, topic: int = 2, token: str = "") -> DeskJoin:
    return DeskJoin(f"j-{name}", name, phone, topic, "", token, WIRE_VERSION)


async def joined(connect: Connect, request: DeskJoin, until: type) -> Client:
    """A new connection that has sent `request` and been told `until` (queued, or served)."""
    client = await connect()
    client.send(request)
    await client.next(until)
    return client


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
        assert "ChatApp versions differ" in (await eve.next(DeskNotice)).text  # type: ignore[attr-defined]
        assert await eve.closed()

        # Alice is still first; Bob's place is held (a broken connection, not a leave).
        names = [p.name for p in desk.queue.waiting]
        assert names[:3] == ["Alice", "Bob", "Carol"]
        assert [p.conn is not None for p in desk.queue.waiting][:3] == [True, False, False]

    logs = run(tmp_path, scenario)
    assert any("bad frame" in line for line in logs)


def test_first_frames_arriving_together_are_all_handled(tmp_path: Path) -> None:
    async def scenario(desk: DeskService, connect: Connect, _: list[str]) -> None:
        alice = await connect()
        # The join and a .queue in one write: the second frame is not lost.
        alice.decoder.send(join("Alice"))
        alice.decoder.send(DeskQueueRequest("q1"))
        alice.writer.write(alice.decoder.output())  # both leave in one write, after the handshake
        await alice.next(DeskQueued)
        info = await alice.next(DeskQueueInfo)
        assert info.ahead == 0  # type: ignore[attr-defined]

    run(tmp_path, scenario)


class ConsoleScreen:
    """What the registry's console shows of the desk (`show` is its output), and a way to
    wait for a line to appear."""

    def __init__(self) -> None:
        self.printed: list[str] = []
        self._shown = asyncio.Event()

    def show(self, line: str) -> None:
        self.printed.append(line)
        self._shown.set()

    async def until(self, line: str, timeout: float = 5.0) -> None:
        """Wait until `line` has been shown."""
        while line not in self.printed:
            self._shown.clear()
            await asyncio.wait_for(self._shown.wait(), timeout)


def test_the_console_is_an_operator(tmp_path: Path) -> None:
    screen = ConsoleScreen()
    printed = screen.printed

    async def scenario(desk: DeskService, connect: Connect, _: list[str]) -> None:
        desk.set_console_output(screen.show)
        assert printed[-1] == "desk: [On duty as admin, serving all topics; 0 waiting.]"
        alice = await connect()
        alice.send(join("Alice"))
        served = await alice.next(DeskServed)
        assert served.operator == "admin"  # type: ignore[attr-defined]
        assert any("Now serving Alice, phone +447700900123" in line for line in printed)
        assert desk.console_in_session and desk.wants_console_line("hello")
        desk.console_line("hello Alice")
        assert (await alice.next(DeskLine)).text == "hello Alice"  # type: ignore[attr-defined]
        alice.send(DeskLine("l1", "", "thank you", served.session))  # type: ignore[attr-defined]
        await screen.until("desk: Alice: thank you")
        bob = await joined(connect, join("Bob", "+1 202 555 0147"), DeskQueued)
        desk.console_line(".room")
        assert any("1. Bob" in line and "*********47" in line for line in printed)
        desk.console_line(".quit")
        assert "stays on duty" in printed[-1]
        desk.console_line(".end")
        assert "ended the session" in (await alice.next(DeskEnded)).reason  # type: ignore[attr-defined]
        assert await alice.closed()
        await bob.next(DeskServed)
        desk.console_line(".serve 9")
        assert "Usage" in printed[-1]
        assert not desk.wants_console_line("who") or desk.console_in_session
        printed.clear()
        desk.console_line(".help")  # the console's own command is listed with the others
        assert printed[0] == "desk: Help-desk operator commands:"
        assert any(line.startswith("desk:   .send ") for line in printed)
        assert any(line.startswith("desk:   .room ") for line in printed)

    run(tmp_path, scenario, crisis_notice="  ")
    assert not any("Traceback" in line for line in printed)


def test_a_console_line_begun_before_the_session_changed_is_not_sent_on(tmp_path: Path) -> None:
    # a line begun for Gus and finished after Ann was handed over is held for .send; one
    # begun once the notice named Ann is hers, however soon it comes
    now = [1000.0]
    printed: list[str] = []

    async def scenario(desk: DeskService, connect: Connect, _: list[str]) -> None:
        desk.set_console_output(printed.append)
        gus = await joined(connect, join("Gus"), DeskServed)
        desk.console_line("hello Gus")  # begun as it came, after the notice: not held
        assert (await gus.next(DeskLine)).text == "hello Gus"  # type: ignore[attr-defined]
        ann = await joined(connect, join("Ann", "+1 202 555 0147"), DeskQueued)
        begun_for_gus = now[0]
        now[0] += 1
        gus.send(DeskLeave("g2"))
        await ann.next(DeskServed)  # Ann's session begins the moment Gus leaves
        now[0] += 2
        assert desk.wants_console_line("ok Gus, see above", begun_for_gus)
        desk.console_line("ok Gus, see above", begun_for_gus)
        assert printed[-1] == (
            "desk: [Not sent: you began this line before Ann was handed over to you. .send "
            "sends it to Ann. The line was: ok Gus, see above]"
        )
        desk.console_line(".room", begun_for_gus)  # commands are not held back
        assert "Not sent" not in printed[-1]
        desk.console_line("hello Ann")  # begun after the notice named Ann: hers
        assert (await ann.next(DeskLine)).text == "hello Ann"  # type: ignore[attr-defined]
        begun_for_ann = now[0]
        now[0] += 1
        desk.console_line(".end")
        now[0] += 30  # however long it took to finish
        assert desk.wants_console_line("quit smoking, it helps", begun_for_ann)  # Ann's: held
        desk.console_line("quit smoking, it helps", begun_for_ann)
        assert printed[-1].startswith("desk: [Not sent (typed for the session before): quit")
        assert not desk.wants_console_line("who")  # begun now: the registry's again

    run(tmp_path, scenario, clock=lambda: now[0])


def test_a_registry_command_begun_before_a_person_came_is_held_for_send(
    tmp_path: Path,
) -> None:
    # the console, serving nobody, began `release bob` for the registry; Eve was handed
    # over before it was finished: it must not reach her as text
    now = [1000.0]
    printed: list[str] = []

    async def scenario(desk: DeskService, connect: Connect, _: list[str]) -> None:
        desk.set_console_output(printed.append)
        begun = now[0]
        now[0] += 1
        eve = await joined(connect, join("Eve"), DeskServed)
        now[0] += 2
        desk.console_line("release bob", begun)
        assert printed[-1] == (
            "desk: [Not sent: you began this line before Eve was handed over to you. .send "
            "sends it to Eve. The line was: release bob]"
        )
        desk.console_line(".send")  # it was for Eve after all
        assert (await eve.next(DeskLine)).text == "release bob"  # type: ignore[attr-defined]
        assert printed[-1] == "desk: [Sent to Eve: release bob]"
        desk.console_line(".send")
        assert "No line is held back" in printed[-1]

    run(tmp_path, scenario, clock=lambda: now[0])


def test_an_end_begun_before_the_next_person_came_is_not_carried_out(tmp_path: Path) -> None:
    now = [1000.0]
    printed: list[str] = []

    async def scenario(desk: DeskService, connect: Connect, _: list[str]) -> None:
        desk.set_console_output(printed.append)
        ann = await joined(connect, join("Ann", "+1 202 555 0147"), DeskServed)
        bob = await joined(connect, join("Bob", "+1 202 555 0148"), DeskQueued)
        begun = now[0]
        now[0] += 1
        ann.send(DeskLeave("a2"))
        await bob.next(DeskServed)
        now[0] += 1
        desk.console_line(".end", begun)
        assert printed[-1] == (
            "desk: [.end not carried out: you began it before Bob was handed over to you. .end "
            "again ends the session with Bob.]"
        )
        assert desk.console_in_session
        desk.console_line("hello Bob")  # begun after the notice named Bob: his
        assert (await bob.next(DeskLine)).text == "hello Bob"  # type: ignore[attr-defined]

    run(tmp_path, scenario, clock=lambda: now[0])


def test_the_console_goes_off_duty_when_its_input_ends(tmp_path: Path) -> None:
    printed: list[str] = []

    async def scenario(desk: DeskService, connect: Connect, _: list[str]) -> None:
        desk.set_console_output(printed.append)
        dan = await joined(connect, join("Dan"), DeskQueued)  # at 0: served at once
        await dan.next(DeskServed)
        desk.console_ended()  # Ctrl-D: nobody can answer Dan there any more
        ended = await dan.next(DeskEnded)
        assert ended.requeued  # type: ignore[attr-defined]
        assert (await dan.next(DeskQueued)).position == 1  # type: ignore[attr-defined]
        off = "desk: [You are off duty; Dan is back at the front of the waiting room.]"
        assert printed[-1] == off
        zed = await connect()
        zed.send(join("Zed", "+1 202 555 0147"))
        assert (await zed.next(DeskQueued)).position == 2  # type: ignore[attr-defined]
        desk.console_line(".serve all")  # no console any more: nothing happens
        assert printed[-1] == off

    run(tmp_path, scenario)


def test_the_consoles_end_hands_nobody_over_before_what_is_already_there_is_read(
    tmp_path: Path,
) -> None:
    """The console's `.end` holds hand-overs as any operator's does (docs/DESK.md,
    "Connections that end together"): Carol, next in line, typed `.quit` at that moment,
    and was handed to the console before her `.quit` was read, for a session that never
    was (her full number shown, a transcript written)."""
    screen = ConsoleScreen()
    printed = screen.printed

    async def scenario(desk: DeskService, connect: Connect, logs: list[str]) -> None:
        desk.set_console_output(screen.show)
        dan = await joined(connect, join("Dan"), DeskServed)
        carol = await joined(connect, join("Carol", "+1 202 555 0147"), DeskQueued)
        carol.send(DeskLeave("c2"))
        carol.readable_at_desk()
        desk.console_line(".end")
        assert not any("Now serving Carol" in line for line in printed)
        assert "left the waiting room" in (await carol.next(DeskEnded)).reason  # type: ignore[attr-defined]
        assert "ended the session" in (await dan.next(DeskEnded)).reason  # type: ignore[attr-defined]
        await screen.until(f"desk: [{NOBODY_WAITING}]")  # said at the release
        assert not any("Now serving Carol" in line for line in printed)
        assert not any("admin serves Carol" in line for line in logs)
        assert not desk.console_in_session

    run(tmp_path, scenario)


def test_a_serve_hands_nobody_over_before_what_is_already_there_is_read(
    tmp_path: Path,
) -> None:
    """`.serve` may hand someone over (a topic nobody served before), so it holds
    hand-overs as an end does: Carol, the only one waiting, typed `.quit` just as the
    console chose to serve everyone, and was not handed to it for a session that never
    was."""
    screen = ConsoleScreen()
    printed = screen.printed

    async def scenario(desk: DeskService, connect: Connect, logs: list[str]) -> None:
        desk.set_console_output(screen.show)
        desk.console_line(".serve none")
        carol = await connect()
        carol.send(join("Carol", "+1 202 555 0147"))
        assert (await carol.next(DeskQueued)).position == 1  # type: ignore[attr-defined]
        carol.send(DeskLeave("c2"))
        carol.readable_at_desk()
        desk.console_line(".serve all")
        assert not any("Now serving Carol" in line for line in printed)
        assert "left the waiting room" in (await carol.next(DeskEnded)).reason  # type: ignore[attr-defined]
        # served once the hold is released: by then, Carol is gone
        _ann = await joined(connect, join("Ann"), DeskServed)  # held: dropped, it closes
        assert not any("Carol" in line for line in printed)
        assert not any("admin serves Carol" in line for line in logs)

    run(tmp_path, scenario)


def test_the_console_going_off_duty_hands_its_person_to_nobody_gone(tmp_path: Path) -> None:
    """The console's input ending (a `DeskLeave`) holds hand-overs too: Dan, put back at
    the front, is not handed to ann, whose `.quit` is there to read."""

    async def scenario(desk: DeskService, connect: Connect, logs: list[str]) -> None:
        desk.set_console_output(lambda line: None)
        dan = await joined(connect, join("Dan"), DeskQueued)  # at 0: served at once
        await dan.next(DeskServed)
        ann = await connect()
        key = read_key(key_path(tmp_path))
        ann.send(DeskOperator("o1", "ann", (1, 2, 3, 4, 5, 6), key, WIRE_VERSION))
        await ann.next(DeskOnDuty)
        ann.send(DeskLeave("o2"))
        ann.readable_at_desk()
        desk.console_ended()
        assert (await dan.next(DeskEnded)).requeued  # type: ignore[attr-defined]
        queued = await dan.next(DeskQueued)
        assert queued.position == 1 and queued.operators == 0  # type: ignore[attr-defined]
        assert await ann.closed()
        assert not any("ann serves Dan" in line for line in logs)

    run(tmp_path, scenario)


def test_what_the_console_serves_is_kept_across_a_restart(tmp_path: Path) -> None:
    def on_duty(desk: DeskService) -> list[str]:
        printed: list[str] = []
        desk.set_console_output(printed.append)
        return printed

    async def paused(desk: DeskService, connect: Connect, _: list[str]) -> None:
        printed = on_duty(desk)
        desk.console_line(".serve none")  # the admin walks away
        assert "serving no topics" in printed[-2]
        desk.console_line(".serve")  # alone: shows what the console serves
        assert "no topics" in printed[-1]

    async def restarted(desk: DeskService, connect: Connect, _: list[str]) -> None:
        printed = on_duty(desk)
        assert printed == [
            "desk: [On duty as admin, serving no topics; 0 waiting.]",
            "desk: [You take nobody until you choose topics: .serve all or .serve 1,3.]",
            "desk: [Serving what .serve chose before the registry restarted; .serve all "
            "takes every topic.]",
        ]
        # not handed to a console nobody watches
        alice = await joined(connect, join("Alice"), DeskQueued)
        desk.console_line(".serve 2")
        await alice.next(DeskServed)

    async def serving_topic_2(desk: DeskService, connect: Connect, _: list[str]) -> None:
        printed = on_duty(desk)
        assert printed[0].startswith("desk: [On duty as admin, serving topics 2 ")
        desk.console_line(".serve all")

    async def serving_all(desk: DeskService, connect: Connect, _: list[str]) -> None:
        assert on_duty(desk) == ["desk: [On duty as admin, serving all topics; 0 waiting.]"]

    for life in (paused, restarted, serving_topic_2):
        run(tmp_path, life)
    assert not (tmp_path / "desk-console.json").exists()  # every topic: the default again
    run(tmp_path, serving_all)


def test_an_unreadable_console_topics_file_means_every_topic_and_is_logged(
    tmp_path: Path,
) -> None:
    (tmp_path / "desk-console.json").write_text('{"topics": [9]}')

    async def scenario(desk: DeskService, connect: Connect, _: list[str]) -> None:
        printed: list[str] = []
        desk.set_console_output(printed.append)
        assert printed == ["desk: [On duty as admin, serving all topics; 0 waiting.]"]

    logs = run(tmp_path, scenario)
    assert any("desk-console.json (it holds no list of topics)" in line for line in logs)


def test_closing_tells_everyone_and_saves_transcripts(tmp_path: Path) -> None:
    async def scenario(desk: DeskService, connect: Connect, _: list[str]) -> None:
        relayed = asyncio.Event()
        desk.set_console_output(lambda line: relayed.set() if "Alice: call me" in line else None)
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
    # the per-address limit (registry.desk.limits.MAX_PER_ADDRESS) counts what this records
    async def scenario(desk: DeskService, connect: Connect, _: list[str]) -> None:
        _alice = await joined(connect, join("Alice"), DeskQueued)  # held: dropped, it closes
        assert [p.address for p in desk.queue.waiting] == ["127.0.0.1"]

    run(tmp_path, scenario)


def test_the_history_of_session_lengths_survives_a_restart(tmp_path: Path) -> None:
    phones = ("+1 202 555 0101", "+1 202 555 0102", "+1 202 555 0103", "+1 202 555 0104")

    async def serve_three(desk: DeskService, connect: Connect, _: list[str]) -> None:
        desk.set_console_output(lambda _line: None)
        for number, phone in enumerate(phones[:3]):
            person = await joined(connect, join(f"P{number}", phone), DeskServed)
            desk.console_line(".end")
            await person.next(DeskEnded)

    async def after_restart(desk: DeskService, connect: Connect, _: list[str]) -> None:
        desk.set_console_output(lambda _line: None)
        first, second = await connect(), await connect()
        first.send(join("First", phones[0]))
        await first.next(DeskServed)
        second.send(join("Second", phones[3]))
        queued = await second.next(DeskQueued)
        assert queued.est_kind == EST_MEASURED  # type: ignore[attr-defined]

    run(tmp_path, serve_three)
    kept = json.loads((tmp_path / HISTORY_FILE).read_text())
    assert kept["overall"]["count"] == 3
    logs = run(tmp_path, after_restart)
    assert not any("history" in line for line in logs)


def test_a_damaged_history_is_one_log_line_and_the_desk_runs(tmp_path: Path) -> None:
    (tmp_path / HISTORY_FILE).write_text("{damaged")

    async def scenario(desk: DeskService, connect: Connect, _: list[str]) -> None:
        desk.set_console_output(lambda _line: None)
        _alice = await joined(connect, join("Alice"), DeskServed)  # held: dropped, it closes
        bob = await connect()
        bob.send(join("Bob", "+1 202 555 0147"))
        assert (await bob.next(DeskQueued)).est_kind == EST_TYPICAL  # type: ignore[attr-defined]

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
            [alice, carol] = desk.queue.waiting
            lost_at = alice.dropped
            assert lost_at is not None and carol.dropped is not None
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
            assert desk.queue.waiting == (alice, carol) and alice.conn is None
            assert alice.dropped == lost_at  # its grace period was not started again
            assert desk.queue.operators == ()
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
        desk.set_console_output(printed.append)  # the console comes on duty, free
        lee = await connect()
        lee.send(join("Lee Chan", "+1 555 000 0300", topic=6))
        assert (await lee.next(DeskServed)).operator == "admin"  # type: ignore[attr-defined]
        ann.send(DeskRoomRequest("r1"))
        await ann.next(DeskRoom)  # whatever was sent to ann before it has been read
        told = [m.text for m in ann.inbox if isinstance(m, DeskNotice)]  # type: ignore[attr-defined]
        assert not [text for text in told if "Lee Chan" in text]

    run(tmp_path, scenario)
