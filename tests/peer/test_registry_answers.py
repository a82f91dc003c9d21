"""RequestEnds: the registry's answers matched to our requests and
taken, its refusals said, and the requests it never answered."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from peer.core import actions as pa
from peer.core.direct import DirectChats
from peer.core.leaving import Leaving
from peer.core.lifecycle import LifePhase
from peer.core.request_ends import (
    KEPT_IN_OUTBOX,
    RECEIVED_BY_SERVER,
    ROOMS_DOWN,
    SAVED,
    SERVER_NOT_RESPONDING,
    RequestEnds,
)
from peer.core.request_kinds import KINDS, RequestRecord
from peer.core.room_membership import Membership
from peer.core.shared import Shared
from tests.peer.parts_kit import REGISTRY_KEY, SERVER, T0, link, prints, sent, shared
from wire.messages import (
    Ack,
    Busy,
    ChannelPost,
    Join,
    Keepalive,
    Message,
    Refused,
    Register,
    RoomPost,
    RoomsRequest,
    Saved,
    SaveMessage,
    TooBig,
)
from wire.refusals import RefusalCode
from wire.reliable import ATTEMPTS, DIRECT_TIMEOUT
from wire.version import WIRE_VERSION

#: Every part and method that takes an answer (request_kinds.KINDS): here, a recorder.
PARTS = {row.answered.split(".")[0] for row in KINDS.values() if row.answered}
METHODS = {row.answered.split(".")[1] for row in KINDS.values() if row.answered}


@dataclass
class Registry:
    """RequestEnds over alice's shared state; `taken` records what it hands on."""

    made: Shared
    ends: RequestEnds
    taken: list[tuple[Message, Message]]


def registry(*, registered: bool = True) -> Registry:
    made = shared(registered=registered)
    link_ = link(made)
    membership = Membership(made, link_)
    leaving = Leaving(made, link_, DirectChats(made, link_, DIRECT_TIMEOUT, ATTEMPTS))
    taken: list[tuple[Message, Message]] = []
    recorder = SimpleNamespace(
        **{name: lambda m, r, now, out: taken.append((m, r)) for name in METHODS}
    )
    ends = RequestEnds(made, link_, membership, leaving, dict.fromkeys(PARTS, recorder))
    return Registry(made, ends, taken)


def test_an_answer_is_taken_once() -> None:
    # (only the registry's reach here: peer.core.table judged each by its key)
    r, out = registry(), list[pa.Action]()
    post = ChannelPost("a-1", "alice", "tok", "hi")
    r.made.requests.send(post, T0, out.append)
    r.ends.match_reply(Ack("r-1", "a-1"), "a-1", T0, out.append)
    r.ends.match_reply(Ack("r-2", "a-1"), "a-1", T0, out.append)  # a copy
    assert r.taken == [(post, Ack("r-1", "a-1"))]


def test_a_too_big_answer_sends_the_request_again_over_tcp() -> None:
    r, out = registry(), list[pa.Action]()
    post = ChannelPost("a-1", "alice", "tok", "hi")
    r.made.requests.send(post, T0, out.append)
    r.ends.match_reply(TooBig("r-1", "a-1"), "a-1", T0, out.append)
    assert out[-1] == pa.SendSealed(SERVER, post, REGISTRY_KEY, stream=True) and r.taken == []


def test_a_channel_post_accepted_is_said_once_and_its_outcome_awaited() -> None:
    r, out = registry(), list[pa.Action]()
    post = ChannelPost("a-1", "alice", "tok", "hi")
    r.ends.accepted(post, Ack("r-1", "a-1"), T0, out.append)
    r.ends.accepted(post, Ack("r-2", "a-1"), T0, out.append)  # asked again: not said again
    assert prints(out) == [RECEIVED_BY_SERVER]
    assert r.made.requests.accepted("a-1")
    r.ends.relay_outcome("a-1", T0, out.append)
    assert not r.made.requests.accepted("a-1")


def test_a_save_outcome_is_said_by_what_became_of_it() -> None:
    r, out = registry(), list[pa.Action]()
    save = SaveMessage("a-1", "alice", "tok", "carol", "later")
    r.ends.accepted(save, Ack("r-1", "a-1"), T0, out.append)
    r.ends.save_outcome(Saved("r-2", "a-1", "carol", False, ""), T0, out.append)
    r.ends.save_outcome(Saved("r-3", "a-1", "carol", False, ""), T0, out.append)  # a copy
    assert prints(out) == [SAVED]


def test_busy_is_said_once_and_the_request_sent_again_after_the_wait() -> None:
    r, out = registry(), list[pa.Action]()
    join = Join("a-1", "alice", "tok", "lobby")
    link(r.made).request(join, T0, out.append)
    r.ends.busy(Busy("r-1", "a-1", 2000), T0, out.append)
    r.ends.busy(Busy("r-2", "a-1", 2000), T0 + 0.1, out.append)
    assert prints(out) == ["[The registry is busy; trying again in 2.0 s.]"]
    out.clear()
    r.ends.tick(T0 + 2.2, out.append)
    assert sent(out) == [join]


def test_a_join_shown_done_by_its_rooms_notice_is_taken_when_its_ack_is_lost() -> None:
    r, out = registry(), list[pa.Action]()
    join = Join("j-1", "alice", "tok", "lobby")
    r.made.requests.send(join, T0, out.append)
    r.ends.joined_by_notice("LOBBY", T0, out.append)
    request = r.made.requests.records["j-1"]
    assert request.noticed
    r.ends.failed(request, T0 + 3, out.append, False)
    assert r.taken == [(join, Ack("a-1", "j-1"))] and prints(out) == []


def test_a_refused_save_says_which_message() -> None:
    r, out = registry(), list[pa.Action]()
    save = SaveMessage("a-1", "alice", "tok", "carol", "later")
    r.ends.refused(save, Refused("r-1", "a-1", "Mailbox full."), T0, out.append)
    assert prints(out) == ["[Message for carol not saved (Mailbox full): “later”]"]


def test_a_refused_keepalive_registers_again_and_a_refused_reregistration_is_offline() -> None:
    r, out = registry(), list[pa.Action]()
    keepalive = Keepalive("a-1", "alice", "tok")
    r.ends.refused(
        keepalive, Refused("r-1", "a-1", "Offline.", RefusalCode.OFFLINE), T0, out.append
    )
    [register] = sent(out)
    assert isinstance(register, Register)
    r.ends.refused(register, Refused("r-2", register.id, "Wrong token."), T0, out.append)
    assert prints(out) == ["[Wrong token.]", "[You are offline. Type reg alice to retry.]"]
    assert r.made.life.phase is LifePhase.OFFLINE


def test_the_name_unknown_is_said_as_released_first() -> None:
    r, out = registry(), list[pa.Action]()
    post = ChannelPost("a-1", "alice", "tok", "hi")
    refusal = Refused("r-1", "a-1", "No one is called alice.", RefusalCode.NAME_UNKNOWN)
    r.ends.refused(post, refusal, T0, out.append)
    assert prints(out)[0].startswith("[The registry released the name alice")
    assert prints(out)[-1] == "[the registry released the name alice.]"


def test_a_first_registration_refused_ends_the_start() -> None:
    r, out = registry(registered=False), list[pa.Action]()
    register = Register("a-1", "alice", 6001, "", "", WIRE_VERSION)
    r.ends.refused(register, Refused("r-1", "a-1", "Name taken."), T0, out.append)
    assert prints(out) == ["[Name taken.]"] and out[-1] == pa.ExitPeer(1)


def test_a_message_unanswered_is_kept_in_the_outbox_and_said_once() -> None:
    r, out = registry(), list[pa.Action]()
    post = ChannelPost("a-1", "alice", "tok", "hi")
    r.ends.failed(RequestRecord(post), T0, out.append, False)
    assert prints(out) == [
        SERVER_NOT_RESPONDING,
        KEPT_IN_OUTBOX,
    ]
    assert r.made.settling.outbox == (post,) and r.made.requests.down


def test_a_room_line_unanswered_says_rooms_are_down_once_an_outage() -> None:
    r, out = registry(), list[pa.Action]()
    for n in (1, 2):
        post = RoomPost(f"a-{n}", "alice", "tok", "", "hi")
        r.ends.failed(RequestRecord(post), T0, out.append, False)
    assert prints(out).count(ROOMS_DOWN) == 1


def test_a_give_up_takes_the_registry_as_away_and_asks_its_key_once_an_outage() -> None:
    r, out = registry(), list[pa.Action]()
    r.ends.failed(RequestRecord(RoomsRequest("a-1")), T0 + 3, out.append, False)
    assert r.made.requests.down  # silent: perhaps another key
    r.ends.failed(RequestRecord(RoomsRequest("a-2")), T0 + 3.5, out.append, False)
    assert out.count(pa.AskRegistryKey()) == 1  # asked as it goes away, not at each give-up


def test_the_first_registration_unanswered_exits_taking_the_name_offline() -> None:
    r, out = registry(registered=False), list[pa.Action]()
    register = Register("a-1", "alice", 6001, "", "", WIRE_VERSION)
    r.ends.failed(RequestRecord(register), T0, out.append, False)
    assert "[Could not register; is the registry running?]" in prints(out)
    assert [type(m).__name__ for m in sent(out)] == ["Deregister"]
    assert out[-1] == pa.ExitPeer(1)
