"""The two dispatchers: Received (each message to its part, forgeries dropped) and
TypedInput (each line carried out, held, or refused), over a PeerCore's parts."""

from __future__ import annotations

from peer import actions as pa
from peer.core import PeerCore
from tests.peer.parts_kit import ME, SERVER, T0, prints, sent
from wire.messages import Ack, Chat, Entry, Join, Notice, Register, TableUpdate, Welcome

ELSEWHERE = ("10.0.0.9", 5000)
#: A peer on the registry's machine: its IP address, another port.
BESIDE = (SERVER[0], 6002)


def registered() -> PeerCore:
    core = PeerCore(name="alice", port=ME[1], server=SERVER, session="a")
    [register] = sent(core.start(T0))
    assert isinstance(register, Register)
    welcome = Welcome("r-1", register.id, "alice", "tok", 3, (Entry("alice", *ME, True),), (), ())
    core.receive(welcome, SERVER, T0)
    return core


def test_what_only_the_registry_sends_is_dropped_from_elsewhere() -> None:
    core, out = registered(), list[pa.Action]()
    received = core._received
    update = TableUpdate("r-2", 4, (Entry("dave", "127.0.0.1", 6004, True),))
    received.receive(update, ELSEWHERE, T0, out.append)
    received.receive(Notice("r-3", "x", ""), ELSEWHERE, T0, out.append)
    assert out == []
    received.receive(update, SERVER, T0, out.append)
    assert sent(out) == [Ack("a-2", "r-2")] and "dave" in core.table


def test_what_a_peer_sends_is_handled_without_counting_as_the_registry_heard() -> None:
    # A chat or an ack from a peer, even one on the registry's machine, says nothing of the
    # registry: it is handled, and the registry stays silent; anything from the registry's
    # address tells that it is heard from.
    core, out = registered(), list[pa.Action]()
    watch = core._shared.watch
    heard_at = watch.heard_at
    core.receive(Chat("b-1", "bob", "alice", "hi"), BESIDE, T0 + 5, out.append)
    core.receive(Ack("b-2", "a-9"), BESIDE, T0 + 5, out.append)
    assert watch.heard_at == heard_at
    assert "bob: hi" in prints(out) and Ack("a-2", "b-1") in sent(out)
    core._received.receive(Ack("r-9", "a-9"), SERVER, T0 + 6, out.append)
    assert watch.heard_at == T0 + 6


def test_lines_wait_for_the_welcome_then_for_a_change_on_its_way() -> None:
    core = PeerCore(name="alice", port=ME[1], server=SERVER, session="a")
    out: list[pa.Action] = []
    typed = core._typed
    typed.line("who", T0, out.append)
    assert out == [] and core._shared.lines.take_early() == ["who"]
    core = registered()
    typed = core._typed
    typed.line("join lobby", T0, out.append)
    typed.line("who", T0, out.append)  # is it room text? the join's answer says
    assert [type(m) for m in sent(out)] == [Join] and core._shared.lines.waiting


def test_lines_are_refused_while_quitting_and_said_offline_when_offline() -> None:
    core, out = registered(), list[pa.Action]()
    core._parts.leaving.quit("bye", T0, out.append)
    core._typed.line("send bob hi", T0, out.append)
    assert prints(out)[-1] == "[Not carried out, as you are quitting: send bob hi]"
    core = registered()
    core._typed.line("dereg alice", T0, out.append)
    dereg = sent(out)[-1]
    core.receive(Ack("r-9", dereg.id), SERVER, T0)
    out = []
    core._typed.line("who", T0, out.append)
    assert prints(out) == ["[You are offline. Type reg alice to come back, or /quit.]"]
