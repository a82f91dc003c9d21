"""PeerCore as a whole, what is typed: lines held until they can be carried out, or refused."""

from __future__ import annotations

from peer.core import actions as pa
from peer.core.dispatch import PeerCore
from peer.core.leaving import QUITTING
from peer.core.shared import NO_USER
from tests.peer.core_kit import (
    BOB,
    ENTRIES,
    GIVEN_UP_BY,
    QUIT_AFTER_ANSWER,
    SERVER,
    T0,
    prints,
    registered,
    run_until,
    sent,
)
from tests.peer.honest import REGISTRY_KEY, honest_key
from wire.messages import (
    Ack,
    ChannelPost,
    Chat,
    Deregister,
    Refused,
    Register,
    Relayed,
    Welcome,
)
from wire.reliable import TIMEOUT


def test_lines_typed_before_the_welcome_are_carried_out_after_it_in_order() -> None:
    # a script's lines arrive at once: they need the table and the token of the Welcome
    core = PeerCore(name="alice", port=6001, server=SERVER, session="a", registry_key=REGISTRY_KEY)
    [register] = sent(core.start(T0))
    assert core.line("send bob first", T0) == [] and core.line("send_all second", T0) == []
    out = core.end_of_input(T0)
    assert prints(out) == [] and sent(out) == [] and pa.ExitPeer(0) not in out
    welcome = Welcome("r-1", register.id, "alice", "tok", 3, ENTRIES, (), ())
    out = core.receive(welcome, SERVER, REGISTRY_KEY, T0)
    chat, post = [m for m in sent(out) if isinstance(m, Chat | ChannelPost)]
    assert isinstance(chat, Chat) and (chat.to, chat.text) == ("bob", "first")
    assert isinstance(post, ChannelPost) and post.token == "tok" and post.text == "second"
    assert not any("No one is called" in line for line in prints(out))
    out = core.receive(
        Ack("b-1", chat.id), BOB, honest_key(core, Ack("b-1", chat.id), BOB), T0
    ) + core.receive(Ack("r-2", post.id), SERVER, REGISTRY_KEY, T0)
    assert not any(isinstance(m, Deregister) for m in sent(out))  # the post is not relayed yet
    out = core.receive(Relayed("r-3", post.id), SERVER, REGISTRY_KEY, T0)
    [dereg] = [m for m in sent(out) if isinstance(m, Deregister)]  # then the end of input
    assert dereg.quitting


def test_lines_typed_before_a_registration_that_fails_are_said_not_carried_out() -> None:
    core = PeerCore(name="alice", port=6001, server=SERVER, session="a", registry_key=REGISTRY_KEY)
    core.start(T0)
    core.line("send_all hello everyone", T0)
    core.line("", T0)
    out = run_until(core, T0 + GIVEN_UP_BY)
    assert prints(out)[-2:] == [
        "[Could not register; is the registry running?]",
        "[Not carried out, as you are not registered: send_all hello everyone]",
    ]
    assert pa.ExitPeer(1) in out
    assert not any(isinstance(m, ChannelPost) for m in sent(out))


def test_the_end_of_input_says_it_waits_once_the_registrys_answer_is_late() -> None:
    core = PeerCore(name="alice", port=6001, server=SERVER, session="a", registry_key=REGISTRY_KEY)
    [register] = sent(core.start(T0))
    assert prints(core.end_of_input(T0 + 0.1)) == []
    out = run_until(core, T0 + TIMEOUT + 0.1)  # the registration is sent again: the answer is late
    assert [type(m) for m in sent(out)] == [Register]
    assert prints(out) == [QUIT_AFTER_ANSWER]
    assert prints(run_until(core, T0 + 2 * TIMEOUT + 0.1)) == []  # said once
    out = core.receive(
        Refused("r", register.id, "No."), SERVER, REGISTRY_KEY, T0 + 2 * TIMEOUT + 0.2
    )  # type: ignore[attr-defined]
    assert prints(out) == ["[No.]"] and pa.ExitPeer(1) in out
    # input that ends once the answer is late already says so at once
    late = PeerCore(name="alice", port=6001, server=SERVER, session="a", registry_key=REGISTRY_KEY)
    late.start(T0)
    assert prints(run_until(late, T0 + TIMEOUT + 0.1)) == []
    assert prints(late.end_of_input(T0 + 0.7)) == [QUIT_AFTER_ANSWER]
    assert prints(late.end_of_input(T0 + 0.8)) == []


def test_lines_after_quit_are_not_carried_out() -> None:
    # found by trying it: a paste of `send dan before` / `/quit` / `send dan AFTER`
    # delivered both messages, the second after the user had said they were leaving
    core, _ = registered()
    assert len(sent(core.line("send bob before", T0))) == 1
    assert prints(core.line("/quit", T0)) == [QUITTING]
    out = core.line("send bob AFTER", T0)
    assert sent(out) == []
    assert prints(out) == ["[Not carried out, as you are quitting: send bob AFTER]"]


def test_hints_in_a_room_show_commands_with_their_slash() -> None:
    # found by trying it: in a room a hint said "Type who", which there says "who" to the room
    core, _ = registered()
    [join] = sent(core.line("join r", T0))
    core.receive(Ack("r-2", join.id), SERVER, REGISTRY_KEY, T0)  # type: ignore[attr-defined]
    assert core.state.room == "r"
    assert prints(core.line("/send nobody hi", T0)) == [NO_USER.format("nobody", "/who")]
    assert prints(core.line("/dereg bob", T0)) == ["[You can only dereg yourself (/dereg alice).]"]
    core.line("/message", T0)
    assert prints(core.line("nobody", T0)) == [NO_USER.format("nobody", "/who")]
    assert prints(core.line("/help who", T0))[0].startswith("/who [-l]")
    # found by trying it: server:who and server:exit were said to the room, unexplained
    out = core.line("server:who -l", T0)
    assert sent(out) == []
    assert prints(out) == ["[Not said in r; in a room, commands need their /: /who -l]"]
    out = core.line("server:exit", T0)
    assert sent(out) == [] and not any(isinstance(a, pa.ExitPeer) for a in out)
    assert prints(out) == ["[Not said in r; in a room, commands need their /: /quit]"]
    # and outside a room, the bare words
    [leave] = sent(core.line("leave", T0))
    core.receive(Ack("r-3", leave.id), SERVER, REGISTRY_KEY, T0)  # type: ignore[attr-defined]
    assert prints(core.line("send nobody hi", T0)) == [NO_USER.format("nobody", "who")]
