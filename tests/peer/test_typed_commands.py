"""Commands: the channel, who and whois, dereg and reg, help and the mistakes said."""

from __future__ import annotations

from peer.core import actions as pa
from peer.core.direct import DirectChats
from peer.core.shared import NO_USER, Shared
from peer.core.typed_commands import Commands
from tests.peer.parts_kit import T0, link, prints, sent, shared
from wire.messages import ChannelPost, Deregister, Register, RoomsRequest
from wire.reliable import ATTEMPTS, DIRECT_TIMEOUT


def commands(*, registered: bool = True, made: Shared | None = None) -> Commands:
    """The part, over `made` (alice's state, if not given)."""
    made = shared(registered=registered) if made is None else made
    registry = link(made)
    return Commands(made, registry, DirectChats(made, registry, DIRECT_TIMEOUT, ATTEMPTS))


def test_a_channel_post_is_kept_until_settled_and_sent() -> None:
    made, out = shared(), list[pa.Action]()
    registry = link(made)
    typed = Commands(made, registry, DirectChats(made, registry, DIRECT_TIMEOUT, ATTEMPTS))
    typed.send_all("hi all", T0, out.append)
    post = ChannelPost("a-1", "alice", "tok", "hi all")
    assert made.settling.records == [post] and sent(out) == [post]


def test_dereg_and_reg_are_for_ourselves_and_only_when_they_change_something() -> None:
    typed, out = commands(), list[pa.Action]()
    typed.dereg("bob", T0, out.append)
    typed.reg("alice", T0, out.append)
    assert prints(out) == [
        "[You can only dereg yourself (dereg alice).]",
        "[You are already registered.]",
    ]
    typed.dereg("ALICE", T0, out.append)
    assert sent(out) == [Deregister("a-1", "alice", "tok", False, "")]
    offline, out = commands(registered=False), []
    offline.reg("alice", T0, out.append)
    assert [type(m) for m in sent(out)] == [Register]


def test_who_help_rooms_and_mistakes() -> None:
    made = shared()
    typed, out = commands(made=made), list[pa.Action]()
    typed.who("", T0, out.append)
    assert prints(out)[0] == "[Registered names:]"
    out.clear()
    typed.help("who", T0, out.append)
    typed.mistake("Usage: who [-l]", T0, out.append)
    typed.list_rooms(T0, out.append)
    assert prints(out)[-1] == "[Usage: who [-l]]" and sent(out) == [RoomsRequest("a-1")]
    made.state.room = "lobby"
    typed.for_server("/who", T0, out.append)
    assert prints(out)[-1] == "[Not said in lobby; in a room, commands need their /: /who]"


def test_whois_gives_both_fingerprints_or_says_why_not() -> None:
    typed, out = commands(), list[pa.Action]()
    # as send and message say it: the same words, and where to see the names
    typed.whois("dave", T0, out.append)
    assert out == [pa.Print(NO_USER.format("dave", "who"), "error")]
    typed.whois("carol", T0, out.append)
    assert "has no key yet" in prints(out)[1]
