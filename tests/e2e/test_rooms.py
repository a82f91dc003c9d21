"""Rooms, renames and /quit end to end: real processes over loopback, each test with
its own peers and data directory, on the shared registry unless it restarts one."""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import threading
import time

import pytest

from peer.core.direct import RECEIVED_BY
from peer.core.table_news import NOW_KNOWN_AS
from wire.version import WIRE_VERSION

from .harness import (
    HOST,
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
from .secure_socket import SecureSocket

from wire.messages import Ack, Join, Message, Register, Welcome  # isort: skip

ROOMS_DOWN = (
    "[Rooms are unavailable while the registry does not answer; direct messages still work.]"
)


@pytest.mark.timeout(40)
def test_seed_003_flow(shared_chat: ChatEnv) -> None:
    """Alice and Bob join teamchat; Alice's Hello team! reaches Bob; Bob leaves and Alice
    sees it; Alice messages Bob after he deregisters; Bob gets it when he registers again."""
    chat = shared_chat
    registry = chat.registry
    assert registry is not None
    alice, bob = chat.start_peers("Alice", "Bob")
    a, b, room = alice.name, bob.name, chat.named("teamchat")

    alice.send(f"join {room}")
    alice.expect_line(f"[You joined {room} (a new room)]")
    bob.send(f"join {room}")
    bob.expect_line(f"[You joined {room} with {a}]")
    alice.expect_line(f"[{b} joined {room}]")

    # addressed to the server, not said to the room (found by trying it: they were)
    alice.send("server:who")
    alice.expect_line(f"[Not said in {room}; in a room, commands need their /: /who]")
    alice.send("/help")  # what it shows in a room works in a room
    alice.expect(r"^>>>   /quit \[farewell\] +leave ChatApp, .*  \[also /exit, Ctrl-D, Ctrl-C\]$")
    alice.send("Hello team!")
    bob.expect_line(f"{a} (in {room}): Hello team!")
    assert not any("server:who" in row for row in bob.transcript)  # the room keeps order
    registry.send("rooms")  # the registry's console lists rooms and members
    registry.expect(rf"^  {room}\s+2 in it: {a}, {b}$")

    bob.send("leave")
    bob.expect_line(f"[You left {room}.]")
    alice.expect_line(f"[{b} left {room}]")

    bob.send(f"dereg {b}")  # outside the room again, bare words are commands
    bob.expect_line(OFFLINE_BYE)
    alice.expect_line(TABLE_UPDATED)
    alice.send("leave")
    alice.expect_line(f"[You left {room}.]")
    alice.send(f"send {b} see you when you are back")
    alice.expect_line(SAVED)

    bob.send(f"reg {b}")
    bob.expect_line(WELCOME)
    bob.expect_line(YOU_HAVE_MESSAGES)
    bob.expect(rf"^>>> {a}: {STAMP} see you when you are back$")

    alice.send("rooms")
    alice.expect_line("[No rooms yet. join <room> makes one.]")


@pytest.mark.timeout(40)
def test_history_rename_and_quit_seen_by_everyone(shared_chat: ChatEnv) -> None:
    chat = shared_chat
    a, b, c, cl, d, room = map(chat.named, ("alice", "bob", "carol", "caroline", "dave", "lobby"))
    alice, bob, carol, dave = chat.start_peers("alice", "bob", "carol", "dave")
    alice.send(f"join {room}")
    alice.expect_line(f"[You joined {room} (a new room)]")
    bob.send(f"join {room}")
    alice.expect_line(f"[{b} joined {room}]")
    carol.send(f"join {room}")
    alice.expect_line(f"[{c} joined {room}]")
    bob.expect_line(f"[{c} joined {room}]")

    # Room history on join: the last messages, marked as history, before anything live.
    for i in range(3):
        alice.send(f"earlier {i}")
        bob.expect_line(f"{a} (in {room}): earlier {i}")
        carol.expect_line(f"{a} (in {room}): earlier {i}")
    dave.send(f"/join {room.upper()}")
    dave.expect_line(f"[You joined {room} with {a}, {b}, {c}]")
    for i in range(3):
        dave.expect(rf"^>>> \[history \d\d:\d\d\] {a} \(in {room}\): earlier {i}$")
    bob.send("now live")
    dave.expect_line(f"{b} (in {room}): now live")
    assert dave.count(r"\[history") == 3

    # A rename is seen by the room and in everyone's table.
    carol.send(f"/nick {cl}")
    carol.expect_line(NOW_KNOWN_AS.format(cl))
    for peer in (alice, bob, dave):  # the table change may come a moment after the notice
        peer.expect_all([line(f"[{c} is now known as {cl}]"), line(TABLE_UPDATED)])
    dave.send("leave")
    dave.expect_line(f"[You left {room}.]")
    dave.send("who")
    dave.expect_line("[Registered names:]")
    names = [dave.expect(r"^>>>   (\S+)\s").group(1) for _ in range(4)]
    assert names == [a, b, cl, d]
    kept = carol.data_dir / "peers"
    assert (kept / f"{cl}.json").exists() and (kept / f"{cl}.seen").exists()
    assert not (kept / f"{c}.seen").exists()
    # the old name's file only says where the name went (no token under two names)
    assert json.loads((kept / f"{c}.json").read_text()) == {"renamed_to": cl}
    dave.send(f"send {c} to the old name")  # told the new name, and sent there
    dave.expect_line(f"[{c} is now known as {cl}]")
    dave.expect_line(RECEIVED_BY.format(cl))
    carol.expect_line(f"{d}: to the old name")
    carol.send(f"/dm {d} and back")
    dave.expect_line(f"{cl}: and back")

    # /quit is announced to everyone online, in the room or not, and exits with 0.
    bob.send("/quit see you all")
    bob.expect_line(OFFLINE_BYE)
    assert bob.wait_exit() == 0
    for peer in (alice, carol, dave):
        peer.expect_line(f"[{b} has quit (see you all)]")
    alice.send("still here?")
    carol.expect_line(f"{a} (in {room}): still here?")
    for peer in (alice, carol, dave):
        assert peer.count(line(f"[{b} left {room}]")) == 0
        assert peer.count(r"Traceback") == 0


@pytest.mark.timeout(40)
def test_registry_down_rooms_unavailable_direct_chat_goes_on(chat: ChatEnv) -> None:
    registry = chat.start_registry()
    alice, bob = chat.start_peers("alice", "bob")
    alice.send("join r")
    alice.expect_line("[You joined r (a new room)]")
    bob.send("join r")
    bob.expect_line("[You joined r with alice]")
    alice.expect_line("[bob joined r]")
    registry.kill()  # SIGKILL: whatever it had not written is gone

    alice.send("anyone there?")
    bob.send("/rooms")
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
    alice.expect_line(RECEIVED_BY.format("bob"))

    # The registry comes back with its rooms (their members are in its table file): the
    # room line alice's outbox kept reaches bob, and both are still in the room.
    registry = chat.start_registry()
    assert registry.count(r"2 known names, 0 stored messages, 1 room$") == 1
    bob.expect_line("alice (in r): anyone there?", timeout=15)
    bob.send("still in r")
    alice.expect_line("bob (in r): still in r")
    assert alice.count(r"no longer in r") == 0


class _Members:
    """Names registered from the test over their own sockets (any client of the protocol
    may do so), each in a room of its own. A thread acks every push they get, as a peer
    would, so that the registry keeps them online and in their rooms."""

    def __init__(self, port: int, names: list[str]) -> None:
        self.server = (HOST, port)
        self.names = names
        self.joined: set[str] = set()
        self.all_joined = threading.Event()
        self._selector = selectors.DefaultSelector()
        self._socks = [SecureSocket() for _ in names]
        key = self._socks[0].learn_key(self.server)
        for sock in self._socks:
            sock.keys[self.server] = key
            sock.sock.setblocking(False)
            self._selector.register(sock.sock, selectors.EVENT_READ, sock)
        # acking from the first registration on: the registry probes a name silent for 3
        # keepalive periods, and takes one that does not answer for offline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._ack_pushes, daemon=True)
        self._thread.start()
        self._tokens = [
            self._register(sock, name) for sock, name in zip(self._socks, names, strict=True)
        ]

    def _register(self, sock: SecureSocket, name: str) -> str:
        register = Register(f"{name}-reg", name, sock.address[1], "", "", WIRE_VERSION)
        welcome = sock.over_tcp(register, self.server, Welcome)
        assert isinstance(welcome, Welcome)
        return welcome.token

    def join(self, rooms: list[str]) -> bool:
        """Each member joins its room (the i-th of `rooms`), asking again every 0.5 s as a
        peer would until the registry acks it (a datagram may be lost on a loaded machine);
        whether every join was acked within 15 s."""
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            for name, token, sock, room in zip(
                self.names, self._tokens, self._socks, rooms, strict=True
            ):
                if f"{name}-join" not in self.joined:
                    sock.send(Join(f"{name}-join", name, token, room), self.server)
            if self.all_joined.wait(0.5):
                return True
        return False

    def _ack_pushes(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(0.05):
                sock = key.data
                assert isinstance(sock, SecureSocket)
                with contextlib.suppress(BlockingIOError):
                    for message, addr in sock.take():
                        self._answer(sock, addr, message)

    def _answer(self, sock: SecureSocket, addr: tuple[str, int], message: Message) -> None:
        if isinstance(message, Ack):
            if message.reply_to.endswith("-join"):
                self.joined.add(message.reply_to)
                if len(self.joined) == len(self.names):
                    self.all_joined.set()
        else:
            sock.send(Ack(f"ack-{message.id}", message.id), addr)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._selector.close()
        for sock in self._socks:
            sock.close()


@pytest.mark.timeout(40)
def test_a_room_list_too_big_for_a_datagram_comes_over_tcp(shared_chat: ChatEnv) -> None:
    """40 rooms with 32-character names do not fit one datagram: the registry answers
    TooBig, the peer asks again over TCP, and the user sees every room, in order."""
    chat = shared_chat
    assert chat.registry_port is not None
    [alice] = chat.start_peers("alice")
    names = [chat.named(f"m{i:02d}") for i in range(40)]
    rooms = [chat.named(f"room-{i:02d}").ljust(32, "x") for i in range(40)]
    members = _Members(chat.registry_port, names)
    try:
        assert members.join(rooms), f"joins acked: {len(members.joined)} of 40"
        alice.send("rooms")
        alice.expect_line("[Rooms:]")
        for room in rooms:
            alice.expect_line(f"  {room}  1 member")
    finally:
        members.close()


@pytest.mark.timeout(40)
def test_a_start_under_the_name_given_up_by_a_rename_starts_as_the_new_one(
    shared_chat: ChatEnv,
) -> None:
    """By habit, `-c alice` after `/nick alicia`: the peer starts as alicia, with alicia's
    mailbox, rather than register alice afresh as a second, empty account."""
    chat = shared_chat
    a, ai, Ai, b = map(chat.named, ("alice", "alicia", "Alicia", "bob"))
    alice, bob = chat.start_peers("alice", "bob")
    alice.send(f"/nick {ai}")
    alice.expect_line(NOW_KNOWN_AS.format(ai))
    bob.expect_line(TABLE_UPDATED)
    alice.send(f"/nick {Ai}")  # a change of case only: one spelling everywhere after it
    alice.expect_line(NOW_KNOWN_AS.format(Ai))
    bob.expect_line(TABLE_UPDATED)
    alice.send("/quit")
    alice.expect_line(OFFLINE_BYE)
    assert alice.wait_exit() == 0
    bob.expect_line(TABLE_UPDATED)
    bob.send(f"send {ai} while you were away")
    bob.expect_line(SAVED)
    again = chat.start_peer("alice", port=alice.port, data_dir=alice.data_dir, wait=False)
    again.expect_line(f"[You renamed {a} to {Ai}; starting as {Ai}.]")
    again.expect_line(WELCOME)
    again.expect_line(YOU_HAVE_MESSAGES)
    again.expect(rf"^>>> {b}: {STAMP} while you were away$")
    again.send("who")
    again.expect_line("[Registered names:]")
    names = [again.expect(r"^>>>   (\S+)\s").group(1) for _ in range(2)]
    assert names == [Ai, b]


@pytest.mark.slow
@pytest.mark.timeout(40)
def test_a_peer_killed_during_its_rename_is_known_by_its_token_after_a_registry_restart(
    chat: ChatEnv,
) -> None:
    """A peer killed while its /nick was done: the registry renamed it, its files still
    say the old name. Once the registry restarted (its aliases gone), `-c bobby` with the
    kept token is welcomed as bert, with bert's mail, rather than as a new, empty bobby
    (the former names are kept with the table)."""
    registry = chat.start_registry()
    bobby, carol = chat.start_peers("bobby", "carol")
    peers = bobby.data_dir / "peers"
    before = {f.name: f.read_bytes() for f in peers.iterdir() if f.name.startswith("bobby.")}
    bobby.send("/nick bert")
    bobby.expect_line(NOW_KNOWN_AS.format("bert"))
    carol.expect_line(TABLE_UPDATED)
    bobby.kill()
    for f in peers.iterdir():  # as if killed before it could write down the new name
        if f.name.startswith(("bobby.", "bert.")):
            f.unlink()
    for file_name, data in before.items():
        (peers / file_name).write_bytes(data)
    registry.kill()
    chat.start_registry()
    carol.send("send bert kept while you were away")
    carol.expect_line(SAVED, timeout=15)
    again = chat.start_peer("bobby", port=bobby.port, data_dir=bobby.data_dir, wait=False)
    again.expect_line("[bobby was renamed bert as ChatApp stopped; you are bert.]")
    again.expect_line(YOU_HAVE_MESSAGES)
    again.expect(rf"^>>> carol: {STAMP} kept while you were away$")
    again.send("who")
    again.expect_line("[Registered names:]")
    names = [again.expect(r"^>>>   (\S+)\s").group(1) for _ in range(2)]
    assert names == ["bert", "carol"]
    table = json.loads((chat.registry_dir / "table.json").read_text())
    assert sorted(row["name"] for row in table["names"]) == ["bert", "carol"]


@pytest.mark.timeout(40)
def test_a_member_whose_name_was_taken_while_it_was_away_leaves_its_room(
    shared_chat: ChatEnv,
) -> None:
    """kim, in a room, stopped until the registry gave up on it; its name released on the
    registry's console and taken by another. Back, its quiet registration is refused: it
    says so, and that it is in no room (it stayed in it, offline, before)."""
    chat = shared_chat
    registry = chat.registry  # judging silence by the test peers' keepalive
    assert registry is not None
    (kim,) = chat.start_peers("kim")
    room = chat.named("r")
    kim.send(f"join {room}")
    kim.expect_line(f"[You joined {room} (a new room)]")
    os.kill(kim.pid, signal.SIGSTOP)
    try:
        registry.expect(rf"{kim.name} silent for \d+ s; offline", timeout=15)
        registry.send(f"release {kim.name}")
        registry.expect(rf"released {kim.name}\b")
        chat.start_peer(kim.name, data_dir=chat.root / "other")
    finally:
        os.kill(kim.pid, signal.SIGCONT)
    kim.expect_line(f"[The name {kim.name} is in use by a peer that is online.]", timeout=15)
    kim.expect_line(f"[You are no longer in {room}.]")
    kim.expect_line(f"[You are offline. Type reg {kim.name} to retry.]")


@pytest.mark.timeout(60)
def test_a_restarted_peer_goes_back_to_its_room_under_its_new_name(chat: ChatEnv) -> None:
    """The room a peer is in is kept in its state files, and moves with them on a rename:
    killed and started again (by habit under its old name), it is back in its room and
    sees what was said there meanwhile. On a registry of its own that takes a silent peer
    for gone only after some 40 s: the restart comes first however long it takes to start
    (on the shared registry's 4 s, a loaded machine's start lost the race, and bob was told
    that alice left for not answering)."""
    chat.start_registry(options=["--keepalive", "5"])
    a, ai, b, room = map(chat.named, ("alice", "alicia", "bob", "teamchat"))
    alice, bob = chat.start_peers("alice", "bob")
    alice.send(f"join {room}")
    alice.expect_line(f"[You joined {room} (a new room)]")
    bob.send(f"join {room}")
    alice.expect_line(f"[{b} joined {room}]")
    alice.send(f"/nick {ai}")
    alice.expect_line(NOW_KNOWN_AS.format(ai))
    bob.expect_line(f"[{a} is now known as {ai}]")
    alice.kill()
    again = chat.start_peer("alice", port=alice.port, data_dir=alice.data_dir, wait=False)
    again.expect_line(f"[You renamed {a} to {ai}; starting as {ai}.]")
    again.expect_line(WELCOME)
    again.expect_line(f"[Back to {room}, the room you were in.]")
    again.expect_line(f"[You joined {room} with {b}]")
    bob.expect_line(f"[{ai} left {room} (restarted)]")
    bob.expect_line(f"[{ai} joined {room}]")
    bob.send("welcome back")
    again.expect_line(f"{b} (in {room}): welcome back")
    again.send("/leave")
    again.expect_line(f"[You left {room}.]")
    again.send("/quit")
    assert again.wait_exit() == 0
    third = chat.start_peer("alicia", port=alice.port, data_dir=alice.data_dir, wait=False)
    third.expect_line(WELCOME)
    third.send("who")
    third.expect_line("[Registered names:]")
    assert third.count(r"Back to") == 0


def test_a_room_everyone_left_still_has_its_history(chat: ChatEnv) -> None:
    """Found by trying it: a team quits for the night, and in the morning teamchat was "a
    new room", what was said there gone. Now its last lines are kept (on disk, across a
    registry restart too) for whoever makes the room again."""
    registry = chat.start_registry()
    alice, bob = chat.start_peers("alice", "bob")
    for peer in (alice, bob):
        peer.send("join teamchat")
        peer.expect(r"^>>> \[You joined teamchat")
    alice.send("the plan: ship on friday")
    bob.expect_line("alice (in teamchat): the plan: ship on friday")
    for peer in (alice, bob):
        peer.send("/quit")
        assert peer.wait_exit() == 0
    registry.kill()
    chat.start_registry()
    carol = chat.start_peer("carol")
    carol.send("join teamchat")
    carol.expect_line("[You joined teamchat (nobody else is in it)]")
    carol.expect(r"^>>> \[history [^\]]+\] alice \(in teamchat\): the plan: ship on friday$")


def scripted(chat: ChatEnv, *lines: str) -> list[str]:
    """The lines a peer named "script" shows (those starting `>>> `) with `lines` piped in
    before the registry answered its start, once it has exited, as it must, with 0."""
    script = chat.start_peer("script", wait=False)
    for typed in lines:
        script.send(typed)
    script.close_stdin()
    said = [text for text in script.collect() if text.startswith(">>> ")]
    assert script.wait_exit() == 0
    return said


@pytest.mark.timeout(40)
def test_a_scripts_lines_are_answered_in_the_order_written(shared_chat: ChatEnv) -> None:
    """`join lobby` then `/who`, written before the registry answered the start: the join
    is said before the list (the registry acks a join after its notice)."""
    lobby = shared_chat.named("lobby")  # a room's history outlives the test
    said = scripted(shared_chat, f"join {lobby}", "/who")
    joined = said.index(f">>> [You joined {lobby} (a new room)]")
    assert joined < said.index(">>> [Registered names:]")


@pytest.mark.timeout(40)
def test_a_scripts_leave_after_join_comes_after_the_rooms_history(
    shared_chat: ChatEnv,
) -> None:
    """`join lobby` then `leave` piped in: the history is shown in the room, before `[You
    left lobby.]` (it came after it: the notice before the history was taken as the join's
    answer, and the leave carried out on it)."""
    lobby = shared_chat.named("lobby")  # a room's history outlives the test
    alice, bob = shared_chat.start_peers("alice", "bob")
    alice.send(f"join {lobby}")
    alice.expect_line(f"[You joined {lobby} (a new room)]")
    bob.send(f"join {lobby}")
    bob.expect_line(f"[You joined {lobby} with {alice.name}]")
    alice.send("said before the script came")
    bob.expect_line(f"{alice.name} (in {lobby}): said before the script came")  # in history
    said = scripted(shared_chat, f"join {lobby}", "leave")
    [history] = [i for i, text in enumerate(said) if "said before the script came" in text]
    assert said.index(f">>> [You joined {lobby} with {alice.name}, {bob.name}]") < history
    assert history < said.index(f">>> [You left {lobby}.]")


@pytest.mark.timeout(40)
def test_lines_written_right_after_join_go_to_the_room_and_dereg_then_eof_exits(
    shared_chat: ChatEnv,
) -> None:
    """A script writes its lines at once: those after `join` are room lines, as typed, and
    a script that ends with `dereg` exits once offline (found by trying it with a pipe)."""
    room = shared_chat.named("fastroom")  # a room's history outlives the test
    alice, piper = shared_chat.start_peers("alice", "piper")
    alice.send(f"join {room}")
    alice.expect_line(f"[You joined {room} (a new room)]")
    piper.send(f"join {room}")
    piper.send("line one in room")
    piper.send("line two in room")
    piper.send("leave")
    piper.send(f"dereg {piper.name}")
    piper.close_stdin()
    alice.expect_line(f"{piper.name} (in {room}): line one in room")
    alice.expect_line(f"{piper.name} (in {room}): line two in room")
    piper.expect_line(OFFLINE_BYE)
    assert piper.wait_exit() == 0
    assert not any("Not a command" in text for text in piper.transcript)
