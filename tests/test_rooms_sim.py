"""Rooms and renames with real peers and a real registry on a simulated network
(tests/sim/world.py): deterministic, no sleeps.

Datagrams take a fixed time unless a test says otherwise, so what one peer sees arrives in
the order the registry sent it.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest

from peer.core.change_lines import TABLE_UPDATED
from peer.core.commands import ROOM_RULE
from peer.core.direct import RECEIVED_BY
from peer.core.leaving import OFFLINE_BYE
from peer.core.registration import WELCOME
from peer.core.request_ends import (
    CLIENT_EXISTS,
    EXITING,
    KEPT_IN_OUTBOX,
    RECEIVED_BY_SERVER,
    SAVED,
    SERVER_NOT_RESPONDING,
)
from peer.core.requests import OUTCOME_WAIT
from peer.core.table_news import NOW_KNOWN_AS
from registry.core.rooms import MAX_ROOMS, ROOM_HISTORY, Room
from tests.peer.honest import honest_key
from tests.sim.world import REGISTRY, SimNet
from wire.messages import (
    Chat,
    Join,
    Message,
    RoomMessage,
    RoomNotice,
    SaveMessage,
    TableUpdate,
)
from wire.reliable import ATTEMPTS, TIMEOUT

Addr = tuple[str, int]


def net_of(*names: str, **kwargs: object) -> SimNet:
    kwargs.setdefault("delay", (0.001, 0.001))
    net = SimNet(**kwargs)  # type: ignore[arg-type]
    for i, name in enumerate(names):
        net.add_peer(name, 6001 + i)
    net.run(3)
    return net


def after(net: SimNet, name: str, mark: int) -> list[str]:
    """What `name` printed since its screen had `mark` lines."""
    return net.screen(name)[mark:]


def marks(net: SimNet) -> dict[str, int]:
    return {name: len(host.screen) for name, host in net.hosts.items()}


def room_of(net: SimNet, name: str) -> str:
    core = net.hosts[name].core
    assert core is not None
    return core.state.room


def members(net: SimNet, room: str) -> list[str]:
    assert net.registry is not None
    found = net.registry.rooms.get(room)
    return [] if found is None else [m.name for m in found.members]


def block(net: SimNet, drop: Callable[[Addr, Addr, Message], bool]) -> Callable[[], None]:
    """Drop every datagram for which `drop(src, dst, message)` is true; return what
    lifts that."""
    net.drop = drop

    def lift() -> None:
        net.drop = None

    return lift


def x_y_z_in_r() -> SimNet:
    """x, y and z registered, and in room r, in that order."""
    net = net_of("x", "y", "z")
    for name in "xyz":
        net.type(name, "join r")
    net.run(1)
    return net


def in_room_r_then_given_up_on() -> SimNet:
    """x and y in room r; x then silent (frozen: a laptop asleep) until the registry gave
    up on it and took it out of r, and awake again, though it has not heard so yet."""
    net = net_of("x", "y", keepalive=1.0)
    net.type("x", "join r")
    net.type("y", "join r")
    net.run(1)
    wake = block(net, lambda src, dst, m: ("127.0.0.1", 6001) in (src, dst))
    net.run(6)
    assert members(net, "r") == ["y"]
    wake()
    return net


# -- rooms ------------------------------------------------------------------------------


def test_seed_003_flow_join_talk_leave() -> None:
    net = net_of("Alice", "Bob")
    net.type("Alice", "join teamchat")
    net.run(1)
    assert room_of(net, "Alice") == "teamchat"
    assert net.screen("Alice")[-1] == "[You joined teamchat (a new room)]"
    assert net.hosts["Alice"].prompt == "Alice@teamchat> "
    net.type("Bob", "/join teamchat")
    net.run(1)
    assert net.screen("Bob")[-1] == "[You joined teamchat with Alice]"
    assert net.screen("Alice")[-1] == "[Bob joined teamchat]"
    at = marks(net)
    net.type("Alice", "Hello team!")
    net.run(1)
    assert after(net, "Bob", at["Bob"]) == ["Alice (in teamchat): Hello team!"]
    assert after(net, "Alice", at["Alice"]) == []  # the sender sees their typed line only
    net.type("Bob", "leave")
    net.run(1)
    assert net.screen("Bob")[-1] == "[You left teamchat.]"
    assert net.hosts["Bob"].prompt == "Bob> "
    assert net.screen("Alice")[-1] == "[Bob left teamchat]"
    assert members(net, "teamchat") == ["Alice"]


def test_room_is_created_on_first_join_and_removed_when_empty() -> None:
    net = net_of("x", "y")
    assert net.registry is not None
    net.type("x", "join lobby")
    net.run(1)
    assert net.registry.rooms.listing() == [("lobby", 1)]
    net.type("y", "join LOBBY")  # names of rooms ignore case, like names of peers
    net.run(1)
    assert net.registry.rooms.listing() == [("lobby", 2)]
    assert room_of(net, "y") == "lobby"  # the registry's spelling wins
    net.type("x", "leave")
    net.type("y", "leave")
    net.run(1)
    assert net.registry.rooms.listing() == []
    net.type("x", "rooms")
    net.run(1)
    assert net.screen("x")[-1] == "[No rooms yet. join <room> makes one.]"


def test_rooms_lists_every_room_with_its_member_count() -> None:
    net = net_of("x", "y", "z")
    net.type("x", "join beta")
    net.type("y", "join alpha")
    net.type("z", "join beta")
    net.run(1)
    at = marks(net)
    net.type("z", "/rooms")
    net.run(1)
    assert after(net, "z", at["z"]) == [
        "[Rooms:]",
        "  alpha  1 member",
        "  beta   2 members  (you are here)",
    ]


def test_a_peer_is_in_one_room_at_a_time() -> None:
    net = net_of("x", "y", "z")
    net.type("x", "join one")
    net.type("y", "join one")
    net.type("z", "join two")
    net.run(1)
    net.type("x", "/join two")
    net.run(1)
    assert net.screen("x")[-1] == "[You left one and joined two with z]"
    assert net.screen("y")[-1] == "[x left one]"
    assert net.screen("z")[-1] == "[x joined two]"
    assert members(net, "one") == ["y"] and members(net, "two") == ["z", "x"]
    net.type("x", "/join two")
    net.run(1)
    assert net.screen("x")[-1] == "[You are already in two.]"


def test_bad_room_names_are_refused_with_a_reason() -> None:
    net = net_of("x")
    net.type("x", "join .hidden")
    net.type("x", "join " + "r" * 33)
    net.type("x", "join a b")
    net.type("x", "join")
    assert net.screen("x")[-4:] == [
        "[Cannot join '.hidden': a name cannot start with '.' (room names follow the name rules).]",
        f"[Cannot join '{'r' * 33}': a name has at most 32 characters "
        "(room names follow the name rules).]",
        f"[Usage: join <room> ({ROOM_RULE})]",
        f"[Usage: join <room> ({ROOM_RULE})]",
    ]
    net.run(1)
    assert net.registry is not None and net.registry.rooms.listing() == []


def test_inside_a_room_bare_words_are_room_text_and_slash_commands_work() -> None:
    net = net_of("x", "y")
    net.type("x", "join r")
    net.type("y", "join r")
    net.run(1)
    at = marks(net)
    for text in ("send y hi", "who", "exit", "join other", "y:colon text", "unicode ✓ ü"):
        net.type("x", text)
    net.run(1)
    net.type("x", "/dm y direct")
    net.run(1)
    assert after(net, "y", at["y"]) == [
        "x (in r): send y hi",
        "x (in r): who",
        "x (in r): exit",
        "x (in r): join other",
        "x (in r): y:colon text",
        "x (in r): unicode ✓ ü",
        "x: direct",
    ]
    assert net.hosts["x"].exit_code is None


def test_history_of_the_last_20_is_replayed_to_a_newcomer_marked_as_history() -> None:
    net = net_of("x", "y", "z")
    net.type("x", "join r")
    net.type("y", "join r")
    net.run(1)
    for i in range(ROOM_HISTORY + 5):
        net.type("xy"[i % 2], f"line {i}")
        net.run(0.0001)
    net.run(1)
    at = marks(net)
    net.type("z", "join r")
    net.run(2)
    seen = after(net, "z", at["z"])
    assert seen[0] == "[You joined r with x, y]"
    history = seen[1:]
    assert len(history) == ROOM_HISTORY
    for i, line in zip(range(5, ROOM_HISTORY + 5), history, strict=True):
        sender = "xy"[i % 2]
        assert line.startswith("[history ") and line.endswith(f"] {sender} (in r): line {i}")
    # live messages after history are plain again
    net.type("x", "now live")
    net.run(1)
    assert net.screen("z")[-1] == "x (in r): now live"


def test_history_is_shown_again_to_someone_who_comes_back() -> None:
    net = net_of("x", "y")
    net.type("x", "join r")
    net.type("y", "join r")
    net.run(1)
    net.type("x", "before")
    net.run(1)
    net.type("y", "leave")
    net.run(1)
    net.type("y", "join r")
    net.run(1)
    assert net.screen("y")[-1].endswith("] x (in r): before")
    assert net.screen("y")[-1].startswith("[history ")


def test_a_member_back_after_more_was_said_than_the_history_keeps_is_told() -> None:
    # a laptop asleep through a busy meeting got the last 20 lines, and nothing said that
    # the 5 before them were gone
    net = in_room_r_then_given_up_on()
    for i in range(ROOM_HISTORY + 5):
        net.type("y", f"line {i}")
        net.run(0.0001)
    net.run(5)  # x finds it was given up on, registers again and goes back to r
    assert members(net, "r") == ["y", "x"]
    shown = net.screen("x")
    told = "[More was said in r while you were away than the 20 lines it keeps]"
    assert told in shown
    history = [line for line in shown if line.startswith("[history ")]
    assert shown.index(told) < shown.index(history[0])
    assert [line.rpartition(": ")[2] for line in history] == [
        f"line {i}" for i in range(5, ROOM_HISTORY + 5)
    ]


def test_a_member_back_after_no_more_than_the_history_keeps_is_told_nothing() -> None:
    net = in_room_r_then_given_up_on()
    for i in range(ROOM_HISTORY):
        net.type("y", f"line {i}")
        net.run(0.0001)
    net.run(5)
    assert members(net, "r") == ["y", "x"]
    assert not any(line.startswith("[More was said") for line in net.screen("x"))
    assert sum(line.startswith("[history ") for line in net.screen("x")) == ROOM_HISTORY


def test_notices_for_join_leave_dereg_quit_and_rename() -> None:
    net = net_of("w", "x", "y", "z")
    for name in "wxyz":
        net.type(name, "join r")
        net.run(0.1)
    net.run(1)
    net.type("x", "dereg x")  # in a room, that is room text
    net.run(1)
    assert net.screen("w")[-1] == "x (in r): dereg x"
    net.type("x", "/dereg x")
    net.run(1)
    assert net.screen("w")[-3:] == [TABLE_UPDATED, "[x went offline]", "[x left r]"]
    assert room_of(net, "x") == ""
    assert net.screen("x")[-2:] == ["[You left r.]", OFFLINE_BYE]
    assert net.hosts["x"].prompt == "x (offline)> "
    net.type("y", "/quit see you")
    net.run(1)
    assert net.hosts["y"].exit_code == 0
    assert net.screen("y")[-2:] == [
        "[You left r; your next start goes back to it.]",
        OFFLINE_BYE,
    ]
    # the quit line says it, once: said before the table's change, which adds nothing
    assert net.screen("w")[-2:] == ["[y has quit (see you)]", TABLE_UPDATED]
    assert net.count("w", "[y left r]") == net.count("w", "[y went offline]") == 0
    net.type("z", "/nick zed")
    net.run(1)
    assert net.screen("z")[-1] == NOW_KNOWN_AS.format("zed")
    assert net.screen("w")[-1] == "[z is now known as zed]"
    assert members(net, "r") == ["w", "zed"]
    # x (offline, not in the room) still sees the quit of y? no: offline peers hear nothing
    assert net.count("x", "[y has quit (see you)]") == 0


def test_quit_is_announced_to_everyone_online_in_or_out_of_rooms() -> None:
    net = net_of("x", "y", "z")
    net.type("y", "join r")
    net.type("x", "join r")
    net.run(1)
    net.type("x", "/quit")
    net.run(1)
    assert net.hosts["x"].exit_code == 0
    for other in ("y", "z"):  # said once: the table's change says nothing more of it
        assert net.screen(other)[-2:] == ["[x has quit]", TABLE_UPDATED]
        assert net.count(other, "[x went offline]") == 0
    assert members(net, "r") == ["y"]


def test_a_burst_of_quits_is_folded_on_every_screen() -> None:
    # Issue: many scripted peers ending together filled every screen with a line each
    names = [f"p{n:02d}" for n in range(12)]
    net = net_of("w", *names)
    mark = len(net.screen("w"))
    for name in names:
        net.type(name, "/quit")
    net.run(3)
    quits = [line for line in after(net, "w", mark) if "quit" in line]
    assert len(quits) <= 3 + 3, quits  # the burst, then about one line a second
    assert len(quits[:3]) == 3 and all(line.endswith(" has quit]") for line in quits[:3])
    folded = quits[3:]
    assert folded and all(" more have quit: " in line for line in folded), folded
    # nothing lost: the lines together count everyone who quit
    said = len(quits[:3]) + sum(int(line[1:].split(" ")[0]) for line in folded)
    assert said == len(names)


def test_a_member_that_does_not_ack_is_marked_offline_and_leaves_the_room() -> None:
    net = x_y_z_in_r()
    net.kill_peer("z")
    net.type("x", "anyone?")
    net.run(6)
    assert net.registry is not None
    z = net.registry.table.get("z")
    assert z is not None and not z.online
    assert members(net, "r") == ["x", "y"]
    assert net.screen("y")[-4:] == [
        "x (in r): anyone?",
        TABLE_UPDATED,
        "[z went offline]",
        "[z left r (not answering)]",
    ]
    assert net.screen("x")[-3:] == [
        TABLE_UPDATED,
        "[z went offline]",
        "[z left r (not answering)]",
    ]
    xcore = net.hosts["x"].core
    assert xcore is not None and not xcore.table.entry("z").online
    # retransmissions: z was tried five times, TIMEOUT apart, then probed five times while
    # the line went on being sent, and only then taken out (the line is not sent again
    # as the probe's last wait runs out: that decides it)
    tries = [(t, m) for t, _, dst, m in net.sent if dst == ("127.0.0.1", 6003)]
    lines = [t for t, m in tries if isinstance(m, RoomMessage)]
    pings = [t for t, m in tries if isinstance(m, TableUpdate) and not m.version]
    assert [round(t - lines[0], 3) for t in lines] == [
        round(i * TIMEOUT, 3) for i in range(2 * ATTEMPTS)
    ]
    probed = [round((ATTEMPTS + i) * TIMEOUT, 3) for i in range(ATTEMPTS)]
    assert [round(t - lines[0], 3) for t in pings] == probed


def test_a_lost_room_ack_is_retried_and_the_message_shown_once() -> None:
    net = net_of("x", "y")
    net.type("x", "join r")
    net.type("y", "join r")
    net.run(1)
    dropped: list[Message] = []

    def first_ack_from_y(src: Addr, dst: Addr, message: Message) -> bool:
        if src == ("127.0.0.1", 6002) and dst == REGISTRY and not dropped:
            dropped.append(message)
            return True
        return False

    block(net, first_ack_from_y)
    net.type("x", "once")
    net.run(3)
    assert dropped
    assert net.count("y", "x (in r): once") == 1
    assert members(net, "r") == ["x", "y"]


@pytest.mark.parametrize("seed", range(4))
def test_rooms_over_a_lossy_duplicating_network(seed: int) -> None:
    net = net_of("x", "y", "z", seed=seed, loss=0.1, duplicate=0.3, delay=(0.0005, 0.002))
    for name in "xyz":
        net.type(name, "join r")
    net.run(5)
    for i in range(6):
        net.type("xyz"[i % 3], f"msg {i}")
        net.run(0.5)
    net.run(10)
    for i in range(6):
        sender = "xyz"[i % 3]
        for name in "xyz":
            if name != sender and room_of(net, name) == "r":
                shown = net.count(name, f"{sender} (in r): msg {i}")
                assert shown <= 1, (seed, name, net.screen(name))


def test_room_text_with_the_registry_down_says_rooms_are_unavailable() -> None:
    net = net_of("x", "y")
    net.type("x", "join r")
    net.type("y", "join r")
    net.run(1)
    net.kill_registry()
    at = marks(net)
    net.type("x", "anyone there")
    net.run(3)
    assert after(net, "x", at["x"]) == [
        SERVER_NOT_RESPONDING,
        "[Rooms are unavailable while the registry does not answer; direct messages still work.]",
        KEPT_IN_OUTBOX,
    ]
    # found by trying it: a burst of lines said it once per line; it is said once an
    # outage, and each line still that it is kept
    at = marks(net)
    for i in range(4):
        net.type("x", f"line {i} while away")
    net.run(3)
    each = [SERVER_NOT_RESPONDING, KEPT_IN_OUTBOX]
    assert after(net, "x", at["x"]) == each * 4
    net.type("x", "/dm y still works")
    net.run(1)
    assert net.screen("y")[-1] == "x: still works"
    at = marks(net)
    net.type("x", "/rooms")
    net.run(3)
    assert after(net, "x", at["x"])[-2:] == [
        SERVER_NOT_RESPONDING,
        "[Rooms are unavailable while the registry does not answer; direct messages still work.]",
    ]
    # the next outage says it again
    net.start_registry()
    net.run(60)
    assert net.count("y", "x (in r): line 3 while away") == 1
    net.kill_registry()
    at = marks(net)
    net.type("x", "and again")
    net.run(3)
    assert (
        "[Rooms are unavailable while the registry does not answer; direct messages still work.]"
        in after(net, "x", at["x"])
    )


def test_a_command_said_bare_in_a_room_goes_to_the_room_with_a_hint() -> None:
    net = room_of_two()
    at = marks(net)
    net.type("x", "join other")
    net.type("x", "joining you all later")  # only a whole command gets the hint
    net.run(1)
    assert after(net, "y", at["y"]) == ["x (in r): join other", "x (in r): joining you all later"]
    assert after(net, "x", at["x"]) == [
        "[Said in r as text; in a room, commands need their /: /join]"
    ]


def test_what_waited_in_the_outbox_is_confirmed_by_name_when_the_registry_returns() -> None:
    """Confirmations that come late and unprompted say which message they are for; the
    lines for what was sent with the registry up stay as they are."""
    net = net_of("x", "y", "z")
    net.type("x", "join r")
    net.type("y", "join r")
    net.type("z", "dereg z")
    net.run(1)
    net.kill_registry()
    net.type("x", "/bm anyone?")
    net.type("x", "  still here")
    net.type("x", "/dm z " + "long " * 20)
    net.run(3)
    net.start_registry()
    at = marks(net)
    net.run(30)
    shown = after(net, "x", at["x"])
    assert "[Kept message received by Server: “anyone?”]" in shown
    assert "[Kept line said in r: “  still here”]" in shown
    kept = "[Kept message for z saved at the server: “long long long long long long long long…”]"
    assert kept in shown
    assert RECEIVED_BY_SERVER not in shown
    assert SAVED not in shown
    at = marks(net)
    net.type("x", "/bm and now?")
    net.run(1)
    assert after(net, "x", at["x"]) == [RECEIVED_BY_SERVER]


# -- a restarted peer goes back to its room ------------------------------------------


def room_of_two() -> SimNet:
    """x and y in room r."""
    net = net_of("x", "y")
    net.type("x", "join r")
    net.type("y", "join r")
    net.run(1)
    return net


def test_a_shrug_reaches_the_room_as_its_text_and_the_shrug() -> None:
    net = room_of_two()
    at = marks(net)
    net.type("x", "/shrug oh well")
    net.type("x", "/shrug")
    net.run(1)
    assert after(net, "y", at["y"]) == ["x (in r): oh well ¯\\_(ツ)_/¯", "x (in r): ¯\\_(ツ)_/¯"]
    assert after(net, "x", at["x"]) == []  # a line of one's own stays as typed


def test_a_restarted_peer_goes_back_to_its_room_and_sees_what_it_missed() -> None:
    net = room_of_two()
    assert net.hosts["x"].room == "r"
    net.kill_peer("x")
    net.type("y", "said while x was away")
    net.run(6)
    at = marks(net)
    net.start_peer("x")
    net.run(1)
    seen = after(net, "x", at["x"])
    assert seen[0] == WELCOME
    assert seen[seen.index("[Back to r, the room you were in.]") + 1] == "[You joined r with y]"
    assert any(
        line.startswith("[history ") and line.endswith("y (in r): said while x was away")
        for line in seen
    )
    assert room_of(net, "x") == "r" and members(net, "r") == ["y", "x"]
    assert "[x left r (not answering)]" in net.screen("y")  # the line x missed
    assert after(net, "y", at["y"])[-1] == "[x joined r]"
    net.type("x", "back")
    net.run(1)
    assert net.screen("y")[-1] == "x (in r): back"


def test_a_peer_that_quit_goes_back_to_its_room_at_its_next_start() -> None:
    net = room_of_two()
    net.type("x", "/quit bye")
    net.run(2)
    assert net.hosts["x"].exit_code == 0
    assert net.hosts["x"].room == "r"  # leaving on the way out is not leaving the room
    net.start_peer("x")
    net.run(1)
    assert room_of(net, "x") == "r" and members(net, "r") == ["y", "x"]


def restarted_after(line: str) -> tuple[SimNet, str]:
    """x and y in room r; x types `line` and is killed and started again. Returns the net
    and the room x had kept on disk when it was killed."""
    net = room_of_two()
    net.type("x", line)
    net.run(2)
    kept = net.hosts["x"].room
    net.kill_peer("x")
    net.start_peer("x")
    net.run(1)
    return net, kept


def test_a_peer_that_left_its_room_or_went_offline_starts_in_none() -> None:
    for how in ("leave", "/dereg x"):
        net, kept = restarted_after(how)
        assert kept == ""
        assert room_of(net, "x") == "" and members(net, "r") == ["y"]
        assert not any("Back to" in line for line in net.screen("x"))


def test_the_room_kept_is_the_last_one_joined() -> None:
    net, kept = restarted_after("/join other")
    assert kept == "other"
    assert room_of(net, "x") == "other" and members(net, "r") == ["y"]


def test_a_peer_killed_before_it_is_back_in_its_room_still_goes_back_next_time() -> None:
    net = room_of_two()
    net.kill_peer("x")
    net.start_peer("x")
    block(net, lambda src, dst, message: isinstance(message, Join))
    net.run(5)  # the join is given up on: the registry does not answer it
    assert room_of(net, "x") == ""
    net.kill_peer("x")
    assert net.hosts["x"].room == "r"


def room_of_two_and_registry_down(keepalive: float = 1.0) -> SimNet:
    """x and y in room r (y spelled it R), and then the registry killed."""
    net = net_of("x", "y", keepalive=keepalive)
    net.type("x", "join r")
    net.type("y", "join R")
    net.run(1)
    net.kill_registry()
    return net


def test_a_restarted_registry_keeps_its_rooms() -> None:
    net = room_of_two_and_registry_down()
    net.start_registry()
    assert members(net, "r") == ["x", "y"]
    net.type("x", "hello?")
    net.run(2)
    assert "x (in r): hello?" in net.screen("y")
    assert not any("no longer in" in line for line in net.screen("x"))
    assert room_of(net, "x") == room_of(net, "y") == "r"


def test_a_line_typed_as_the_registry_comes_back_is_said_after_the_kept_one() -> None:
    # found by trying it: the registry killed, a line kept, the registry restarted, and
    # the next line typed (before any keepalive noticed) reached the room first
    net = room_of_two_and_registry_down(keepalive=10.0)
    net.type("x", "typed while away")
    net.run(3)
    net.start_registry()
    net.type("x", "typed once it is back")
    net.run(2)
    said = [line for line in net.screen("y") if line.startswith("x (in r): ")]
    assert said == ["x (in r): typed while away", "x (in r): typed once it is back"]


def test_a_member_who_left_while_the_registry_was_down_is_not_in_the_room_after() -> None:
    net = room_of_two_and_registry_down()
    net.type("y", "leave")  # kept in y's outbox, sent when the registry is back
    net.run(5)
    net.start_registry()
    net.run(5)
    assert members(net, "r") == ["x"]
    assert "[y left r]" in net.screen("x")


def test_a_room_member_is_told_when_the_registry_lost_the_room() -> None:
    net = room_of_two_and_registry_down()

    def lose_rooms(disk: SimpleNamespace) -> None:  # a data directory that lost the rooms
        for record in disk.table.records.values():
            record.room = ""

    net.edit_disk(lose_rooms)
    net.start_registry()
    net.type("x", "hello?")
    net.run(2)
    told = [line for line in net.screen("x") if line != TABLE_UPDATED][-3:]
    assert told == [
        "[Not sent to r: You are not in r.]",
        "[Your line: hello?]",
        "[You are no longer in r; /join r to go back.]",
    ]
    assert room_of(net, "x") == ""


def test_too_many_rooms_is_a_clear_refusal() -> None:
    net = net_of("x")
    assert net.registry is not None
    for i in range(MAX_ROOMS):  # as if MAX_ROOMS other peers had made a room each
        net.registry.rooms.rooms[f"room-{i}"] = Room(f"room-{i}")
    net.type("x", "join one-too-many")
    net.run(1)
    assert net.screen("x")[-1] == (
        f"[There are already {MAX_ROOMS} rooms, the most there can be; join one.]"
    )
    net.type("x", "join room-7")  # an existing one is fine
    net.run(1)
    assert room_of(net, "x") == "room-7"


def test_room_messages_go_through_the_registry_only_to_members() -> None:
    net = net_of("x", "y", "z")
    net.type("x", "join r")
    net.type("y", "join r")
    net.run(1)
    start = len(net.sent)
    net.type("x", "members only")
    net.run(1)
    relays = [(src, dst) for _, src, dst, m in net.sent[start:] if isinstance(m, RoomMessage)]
    assert relays == [(REGISTRY, ("127.0.0.1", 6002))]
    assert net.count("z", "x (in r): members only") == 0


# -- renames ----------------------------------------------------------------------------


def test_rename_moves_table_entry_and_keeps_the_token_under_the_new_name() -> None:
    net = net_of("bob", "alice")
    net.type("bob", "/nick robert")
    net.run(1)
    assert net.screen("bob")[-1] == NOW_KNOWN_AS.format("robert")
    assert net.hosts["bob"].prompt == "robert> "
    assert net.registry is not None
    assert net.registry.table.get("bob") is None and net.registry.table.get("robert")
    assert [r.name for r in net.disk.table.records.values()] == ["alice", "robert"]
    host = net.hosts["bob"]
    assert host.files["robert"] == host.token
    for name in ("bob", "alice"):
        core = net.hosts[name].core
        assert core is not None
        assert sorted(e.name for e in core.table.rows()) == ["alice", "robert"]
    net.type("alice", "who")
    assert net.screen("alice")[-3:] == [
        "[Registered names:]",
        "  alice   online   (you)",
        "  robert  online",
    ]
    # the new name works both ways
    net.type("alice", "send robert hi")
    net.type("bob", "send alice hello")
    net.run(1)
    assert net.screen("bob")[-1] == RECEIVED_BY.format("alice")
    assert "alice: hi" in net.screen("bob") and "robert: hello" in net.screen("alice")


def test_rename_is_refused_for_a_taken_or_bad_name() -> None:
    net = net_of("bob", "alice")
    net.type("bob", "/nick ALICE")
    net.run(1)
    assert net.screen("bob")[-1] == "[The name alice is taken.]"
    net.type("bob", "/nickname b@d")
    assert net.screen("bob")[-1] == (
        "[Cannot rename to 'b@d': a name may use only the letters a-z and A-Z, digits, "
        "'_', '-' and '.'.]"
    )
    net.type("bob", "/nick bob")
    assert net.screen("bob")[-1] == "[You are already called bob.]"
    net.type("bob", "/nick Bob")  # a change of case only is a rename
    net.run(1)
    assert net.screen("bob")[-1] == NOW_KNOWN_AS.format("Bob")
    alice = net.hosts["alice"].core
    assert alice is not None and alice.table.entry("bob").name == "Bob"


def test_only_the_owner_can_rename() -> None:
    from wire.messages import Refused, Rename

    net = net_of("bob", "alice")
    assert net.registry is not None
    bobs = net.hosts["bob"].key  # (the key is bob's: only the token is guessed)
    # alice's address, bob's name, a guessed token
    out = net.registry.receive(
        Rename("evil-1", "bob", "0" * 32, "mallory"), ("127.0.0.1", 6002), net.now, key=bobs
    )
    refusals = [a.message for a in out if hasattr(a, "message") and isinstance(a.message, Refused)]
    assert refusals and refusals[0].reason == "Wrong token for that name."
    # the right token from another address is refused too
    bob = net.registry.table.get("bob")
    assert bob is not None
    out = net.registry.receive(
        Rename("evil-2", "bob", net.hosts["bob"].token, "mallory"), ("10.0.0.9", 6002), net.now
    )
    refusals = [a.message for a in out if hasattr(a, "message") and isinstance(a.message, Refused)]
    assert refusals and "holds the name bob" in refusals[0].reason  # (its key is not bob's)
    assert net.registry.table.get("bob") is not None and net.registry.table.get("mallory") is None


def test_rename_moves_the_room_membership() -> None:
    net = net_of("bob", "alice", "carol")
    net.type("bob", "join r")
    net.type("carol", "join r")
    net.run(1)
    net.type("bob", "/nick bobby")
    net.run(1)
    assert members(net, "r") == ["bobby", "carol"]
    assert net.screen("carol")[-1] == "[bob is now known as bobby]"
    assert net.count("carol", "[bob is now known as bobby]") == 1  # not the room's too
    assert net.hosts["bob"].prompt == "bobby@r> "
    net.type("carol", "hi bobby")
    net.run(1)
    assert net.screen("bob")[-1] == "carol (in r): hi bobby"
    net.type("bob", "hi carol")
    net.run(1)
    assert net.screen("carol")[-1] == "bobby (in r): hi carol"
    # alice, not in the room, is told by the table's news alone: once
    assert net.count("alice", "[bob is now known as bobby]") == 1


def test_stored_mail_follows_a_rename_while_offline_and_is_handed_over() -> None:
    net = net_of("bob", "alice")
    assert net.registry is not None
    # mail waiting in bob's box when the rename happens (the hand-over ack was lost)
    block(net, lambda src, dst, m: type(m).__name__ == "MailTaken")
    net.type("bob", "dereg bob")
    net.run(1)
    net.type("alice", "send bob kept")
    net.run(1)
    net.type("bob", "reg bob")
    net.run(1)
    net.type("bob", "/nick robert")
    net.run(1)
    assert [m.text for m in net.disk.mail["robert"]] == ["kept"]
    assert [net.unsealed(m).text for m in net.registry.mail["robert"]] == ["kept"]
    assert "bob" not in net.disk.mail


def test_a_message_to_the_old_name_in_flight_is_not_lost() -> None:
    net = net_of("bob", "alice")
    # alice's direct datagrams to bob are lost, so her message goes through the registry,
    # addressed to "bob", after bob has become robert
    block(net, lambda src, dst, m: isinstance(m, Chat) and src == ("127.0.0.1", 6002))
    net.type("alice", "send bob are you there")
    net.run(0.2)
    net.type("bob", "/nick robert")
    net.run(10)
    assert net.count("bob", "alice: are you there") == 1
    saves = [m for _, _, _, m in net.sent if isinstance(m, SaveMessage)]
    assert saves and saves[0].to == "bob"
    assert CLIENT_EXISTS.format("robert") in net.screen("alice") or (
        CLIENT_EXISTS.format("bob") in net.screen("alice")
    )


def test_a_save_to_the_old_name_lands_in_the_new_mailbox() -> None:
    net = net_of("bob", "alice")
    net.type("bob", "/nick robert")
    net.run(1)
    net.type("bob", "dereg robert")
    net.run(1)
    assert net.registry is not None
    from wire.messages import SaveMessage as Save

    alice = net.registry.table.get("alice")
    assert alice is not None
    out = net.registry.receive(
        Save("late-1", "alice", net.hosts["alice"].token, "bob", "late"),
        ("127.0.0.1", 6002),
        net.now,
        key=net.hosts["alice"].key,
    )
    assert any(type(a).__name__ == "StoreMail" and a.owner == "robert" for a in out)  # type: ignore[union-attr]


def test_a_chat_to_the_previous_name_is_accepted_and_new_sends_follow_the_rename() -> None:
    net = net_of("bob", "alice")
    net.type("bob", "/nick robert")
    net.run(1)
    bob = net.hosts["bob"].core
    assert bob is not None
    # a direct chat still addressed to bob, sent before alice knew
    out = bob.receive(
        Chat("a-late", "alice", "bob", "old address"),
        ("127.0.0.1", 6002),
        honest_key(bob, Chat("a-late", "alice", "bob", "old address"), ("127.0.0.1", 6002)),
        net.now,
    )
    assert any(getattr(a, "text", "") == "alice: old address" for a in out)
    # alice types the old name: told the new one, and the message goes there
    net.type("alice", "send bob are you robert now")
    net.run(1)
    assert net.screen("alice")[-2:] == [
        "[bob is now known as robert]",
        RECEIVED_BY.format("robert"),
    ]
    assert net.screen("bob")[-1] == "alice: are you robert now"
    said = net.count("alice", "[bob is now known as robert]")
    net.type("alice", "send bob and again")  # said once, not for every message
    net.run(1)
    assert net.screen("alice")[-1] == RECEIVED_BY.format("robert")
    assert net.count("alice", "[bob is now known as robert]") == said


def test_a_copy_of_a_rename_is_answered_again_not_refused() -> None:
    net = net_of("bob")
    dropped: list[Message] = []

    def first_ack_to_bob(src: Addr, dst: Addr, message: Message) -> bool:
        if src == REGISTRY and type(message).__name__ == "Ack" and not dropped:
            dropped.append(message)
            return True
        return False

    block(net, first_ack_to_bob)
    net.type("bob", "/nick robert")
    net.run(3)
    assert dropped
    assert net.screen("bob")[-1] == NOW_KNOWN_AS.format("robert")
    assert net.count("bob", NOW_KNOWN_AS.format("robert")) == 1


def test_rename_with_the_registry_down_keeps_the_name() -> None:
    net = net_of("bob")
    net.kill_registry()
    net.type("bob", "/nick robert")
    net.run(3)
    assert net.screen("bob")[-2:] == [
        SERVER_NOT_RESPONDING,
        "[Renames need the registry; you are still bob.]",
    ]
    assert net.hosts["bob"].prompt == "bob> "


def test_join_notice_and_history_reach_the_joiner_before_live_messages() -> None:
    net = net_of("x", "y")
    net.type("x", "join r")
    net.run(1)
    net.type("x", "first")
    net.run(1)
    start = len(net.sent)
    net.type("y", "join r")
    net.run(1)
    to_y = [m for _, src, dst, m in net.sent[start:] if dst == ("127.0.0.1", 6002)]
    kinds = [type(m).__name__ for m in to_y if isinstance(m, RoomMessage | RoomNotice)]
    assert kinds == ["RoomNotice", "RoomMessage"]


def test_late_copies_of_room_requests_change_nothing() -> None:
    """A copy of a leave, join or rename that arrives after later requests (its ack was
    lost, the network delayed it) is acked again and does nothing."""
    from wire.messages import Ack, Join, Leave, Rename

    net = net_of("x", "y")
    assert net.registry is not None
    x = net.registry.table.get("x")
    assert x is not None
    reg, at = net.registry, ("127.0.0.1", 6001)
    # ids of the start of x that holds the name (see RegistryCore._authorised)
    c = x.last_register_id.rpartition("-")[0] + "-c"

    def acked(message: Message) -> bool:
        out = reg.receive(message, at, net.now, key=net.hosts["x"].key)
        return any(isinstance(getattr(a, "message", None), Ack) for a in out)

    token = net.hosts["x"].token  # as x holds it (the registry keeps only its hash)
    join_a = Join(f"{c}1", "x", token, "a")
    leave = Leave(f"{c}2", "x", token)
    assert acked(join_a) and acked(leave)
    assert acked(Join(f"{c}3", "x", token, "b"))
    assert acked(leave) and acked(join_a)  # late copies
    assert members(net, "b") == ["x"] and members(net, "a") == []
    first = Rename(f"{c}4", "x", token, "x2")
    assert acked(first) and acked(Rename(f"{c}5", "x2", token, "x3"))
    assert acked(first)  # a late copy of the first rename, its old name now an alias
    assert reg.table.get("x3") is x and reg.table.get("x2") is None


def kept_room_line_and_restart(line: str) -> SimNet:
    """x typed `line` in room r while the registry was down, x was killed, the registry
    came back, and x was started again (a restart takes a peer out of its room)."""
    net = room_of_two_and_registry_down()
    net.type("x", line)
    net.run(3)
    assert KEPT_IN_OUTBOX in net.screen("x")
    net.kill_peer("x")
    net.start_registry()
    net.start_peer("x")
    return net


def test_a_kept_room_line_reaches_its_room_after_a_restart() -> None:
    text = "a line long enough that the old refusal would have cut it short, kept whole"
    net = kept_room_line_and_restart(text)
    at = marks(net)
    net.run(3)
    assert "[Joining r again to send the lines you typed there.]" in after(net, "x", at["x"])
    assert f"x (in r): {text}" in net.screen("y")
    assert room_of(net, "x") == "r"
    assert members(net, "r") == ["y", "x"]
    assert net.hosts["x"].outbox == ()


def test_a_kept_room_line_then_a_kept_leave_is_said_and_the_peer_leaves() -> None:
    net = room_of_two_and_registry_down()
    net.type("x", "last words")
    net.type("x", "leave")
    net.run(3)
    net.kill_peer("x")
    net.start_registry()
    net.start_peer("x")
    net.run(3)
    assert "x (in r): last words" in net.screen("y")
    assert members(net, "r") == ["y"]
    assert room_of(net, "x") == ""


def test_a_kept_room_line_whose_room_cannot_be_joined_is_shown_in_full() -> None:
    text = "typed in r, which cannot be joined by the time this peer is back " * 2
    net = kept_room_line_and_restart(text.strip())
    registry = net.registry
    assert registry is not None
    # the registry refuses the join: y has left r, which is gone, and meanwhile other
    # peers have made as many rooms as there can be
    y = registry.table.get("y")
    assert y is not None and registry.rooms.leave(y) is not None
    for i in range(MAX_ROOMS):
        registry.rooms.rooms[f"room-{i}"] = Room(f"room-{i}")
    net.run(3)
    shown = net.screen("x")
    assert (
        f"[Not sent to r: There are already {MAX_ROOMS} rooms, the most there can be; join one.]"
        in shown
    )
    assert f"[Your line: {text.strip()}]" in shown
    assert net.hosts["x"].outbox == ()
    assert not any(text.strip() in line for line in net.screen("y"))


def test_a_line_kept_for_one_room_is_not_said_in_another() -> None:
    net = room_of_two_and_registry_down()
    net.type("x", "meant for r")
    net.run(3)
    net.start_registry()
    registry = net.registry
    assert registry is not None
    # meanwhile the registry has x in another room (the line's room is what counts)
    record = registry.table.get("x")
    assert record is not None
    registry.rooms.leave(record)
    registry.rooms.enter(record, "elsewhere")
    net.run(12)
    assert not any("meant for r" in line for line in net.screen("y"))
    assert "[Not sent to r: You are not in r.]" in net.screen("x")
    assert "[Your line: meant for r]" in net.screen("x")


def test_a_join_typed_while_kept_lines_rejoin_their_room_goes_after_them() -> None:
    net = kept_room_line_and_restart("for r, typed before the join")
    for _ in range(30000):  # until the join for the kept line is on its way, not answered
        if "[Joining r again to send the lines you typed there.]" in net.screen("x"):
            break
        net.run(0.0001)
    net.type("x", "/join other")  # waits for the rejoin's answer, as typed after it
    net.run(3)
    assert "x (in r): for r, typed before the join" in net.screen("y")
    assert room_of(net, "x") == "other"  # the user's choice, not the rejoin's
    assert members(net, "r") == ["y"] and members(net, "other") == ["x"]
    assert net.hosts["x"].outbox == ()


def test_a_name_released_on_the_registry_console_goes_offline_and_stays_released() -> None:
    net = net_of("x", "y", keepalive=1.0)
    net.type("x", "join r")
    net.run(1)
    assert net.registry is not None
    net.registry_console(lambda core, now: core.release_name("x", now))
    net.run(5)  # several keepalive periods: x must not take the name back by itself
    # the release first, then what it means here (found by trying it:
    # the room line came before its cause)
    assert net.screen("x")[-2:] == [
        "[The registry released the name x: you are offline. Type reg x to register it again.]",
        "[You are no longer in r.]",
    ]
    assert net.registry.table.get("x") is None
    net.type("x", "reg x")  # the user may ask for it again, and has it while it is free
    net.run(2)
    record = net.registry.table.get("x")
    assert record is not None and record.online


def test_a_member_whose_quiet_registration_is_refused_leaves_its_room_and_says_so() -> None:
    """Issue: x, given up on while in r, came back to find its name released and taken;
    its quiet re-registration was refused, and it stayed in r, offline, its prompt x@r>."""
    from wire.messages import Register
    from wire.version import WIRE_VERSION

    net = net_of("x", "y", keepalive=1.0)
    net.type("x", "join r")
    net.type("y", "join r")
    net.run(1)
    wake = block(net, lambda src, dst, m: ("127.0.0.1", 6001) in (src, dst))
    net.run(6)
    assert net.registry is not None and members(net, "r") == ["y"]
    net.registry_console(lambda core, now: core.release_name("x", now))
    eve = Register("eve-1", "x", 7000, "", "", WIRE_VERSION)
    net.registry.receive(eve, ("10.0.0.9", 7000), net.now)
    net.run(0.5)
    wake()
    at = marks(net)
    net.run(5)
    # (its keepalive was still being tried: the registry was not yet said to be away)
    assert [line for line in after(net, "x", at["x"]) if "table" not in line] == [
        "[The name x is in use by a peer that is online.]",
        "[You are no longer in r.]",
        "[You are offline. Type reg x to retry.]",
    ]
    assert room_of(net, "x") == "" and net.hosts["x"].prompt == "x (offline)> "
    assert members(net, "r") == ["y"]


def test_a_name_given_up_by_a_rename_stays_its_renamers_for_a_while() -> None:
    """Nobody else takes bob's old name inside the window in which it still leads to him:
    what was on its way to "bob" must reach robert, never a newcomer called bob."""
    from registry.core.authority import RENAME_GRACE
    from wire.messages import Refused, Register
    from wire.version import WIRE_VERSION

    net = net_of("bob", "alice")
    net.type("bob", "/nick robert")
    net.run(1)
    assert net.registry is not None

    def register_bob(msg_id: str) -> list[str]:
        assert net.registry is not None
        asked = Register(msg_id, "bob", 7000, "", "", WIRE_VERSION)
        out = net.registry.receive(asked, ("10.0.0.9", 7000), net.now)
        return [
            a.message.reason
            for a in out
            if isinstance(getattr(a, "message", None), Refused)  # type: ignore[union-attr]
        ]

    assert register_bob("eve-1") == [
        "bob was renamed robert just now; the name stays theirs for 5 more minutes, so that "
        "messages on their way to bob still reach them. Choose another name, or try again then."
    ]
    net.type("alice", "/nick bob")
    net.run(1)
    assert "the name stays theirs for 5 more minutes" in net.screen("alice")[-1]
    assert net.hosts["alice"].prompt == "alice> "
    # robert may have his old name back at any time
    net.type("bob", "/nick bob")
    net.run(1)
    assert net.screen("bob")[-1] == NOW_KNOWN_AS.format("bob")
    net.type("bob", "/nick robert")
    net.run(RENAME_GRACE - 59)
    assert "for 1 more minute, so" in register_bob("eve-2")[0]
    net.run(60)  # the window is over: the name is free
    assert register_bob("eve-3") == []
    assert net.registry.table.get("bob") is not None


def test_a_member_the_registry_gave_up_on_goes_back_to_its_room_and_its_line_is_said() -> None:
    """Found by trying it: a member frozen long enough for the registry to give up on it
    typed a room line as it woke. It was refused ("You are offline"), and the member was
    told to /join again; the line now waits, the member comes back and rejoins."""
    net = in_room_r_then_given_up_on()
    at = marks(net)
    net.type("x", "typed as I woke")  # before any keepalive of x tells it anything
    net.run(3)
    assert net.count("y", "x (in r): typed as I woke") == 1
    assert sorted(members(net, "r")) == ["x", "y"]
    assert net.hosts["x"].prompt == "x@r> "
    assert not any("offline" in line or "Not sent" in line for line in after(net, "x", at["x"]))


def test_coming_back_by_itself_shows_only_what_was_said_meanwhile() -> None:
    # Found by trying it: a member paused for 3 s came back to its room and was shown the
    # whole history again, its own lines and the ones it had just seen live included.
    net = net_of("x", "y", keepalive=1.0)
    net.type("x", "join r")
    net.type("y", "join r")
    net.run(1)
    net.type("x", "mine")
    net.type("y", "yours")
    net.run(1)
    wake = block(net, lambda src, dst, m: ("127.0.0.1", 6001) in (src, dst))
    net.run(5)
    net.type("y", "meanwhile")
    net.run(1)
    wake()
    at = marks(net)
    net.run(5)  # x's keepalive is refused: it registers again and goes back to r
    assert sorted(members(net, "r")) == ["x", "y"]
    back = after(net, "x", at["x"])
    assert [line.split("] ", 1)[1] for line in back if line.startswith("[history ")] == [
        "y (in r): meanwhile"
    ]


def test_a_member_the_registry_gave_up_on_is_taken_back_to_its_room_when_it_comes_back() -> None:
    net = in_room_r_then_given_up_on()
    net.run(5)  # its keepalive is refused: it registers again
    assert sorted(members(net, "r")) == ["x", "y"]
    assert "[Back to r, the room you were in.]" in net.screen("x")


def test_a_dereg_while_the_registry_is_down_is_a_leave_the_next_start_keeps() -> None:
    """dereg with the registry down exits (the user wanted to leave) and says what the next
    start finds: in no room, as after a dereg the registry heard."""
    net = room_of_two_and_registry_down()
    net.type("x", "/dereg x")
    net.run(4)
    assert net.screen("x")[-3:] == [
        SERVER_NOT_RESPONDING,
        "[You left r; your next start is in no room.]",
        EXITING,
    ]
    assert net.hosts["x"].exit_code == 0
    net.start_registry()
    net.start_peer("x")
    net.run(3)
    assert not any("Back to r" in line for line in net.screen("x"))
    assert room_of(net, "x") == ""
    assert members(net, "r") == ["y"]  # the registry took the fresh start out of it


def test_a_dereg_while_down_says_its_kept_lines_which_reach_the_room_before_it_leaves() -> None:
    net = room_of_two_and_registry_down()
    net.type("x", "last words")
    net.run(3)
    net.type("x", "/dereg x")
    net.run(4)
    assert net.screen("x")[-4:] == [
        SERVER_NOT_RESPONDING,
        "[You left r; your next start is in no room.]",
        "[1 message kept in your outbox (room lines included); sent at your next start.]",
        EXITING,
    ]
    net.start_registry()
    net.start_peer("x")
    net.run(4)
    assert "x (in r): last words" in net.screen("y")
    assert room_of(net, "x") == ""
    assert members(net, "r") == ["y"]
    assert net.hosts["x"].outbox == ()


def test_a_quit_while_the_registry_is_down_says_what_is_kept_for_the_next_start() -> None:
    net = room_of_two_and_registry_down()
    net.type("x", "last words")
    net.type("x", "/dm y direct still works")
    net.run(3)
    net.type("x", "/bm to everyone")
    net.run(3)
    net.type("x", "/quit")
    net.run(4)
    assert net.screen("x")[-4:] == [
        SERVER_NOT_RESPONDING,
        "[You left r; your next start goes back to it.]",
        "[2 messages kept in your outbox (room lines included); sent at your next start.]",
        EXITING,
    ]
    assert net.hosts["x"].exit_code == 0
    assert len(net.hosts["x"].outbox) == 2


# -- a room line's outcome: kept by its sender until every member has it ----------------


def room_line_the_registry_died_with(*, left: bool) -> tuple[SimNet, Callable[[], None]]:
    """x, y and z in room r; x says "hello" and is told the registry has it, but z's copy
    is lost and the registry is killed before it tries again (`left`: x has typed /leave
    by then). Returns the net with the registry down, and what lets z's copies through."""
    net = x_y_z_in_r()
    to_z = block(
        net,
        lambda src, dst, m: dst == ("127.0.0.1", 6003) and isinstance(m, RoomMessage),
    )
    net.type("x", "hello")
    net.run(0.1)
    assert net.count("y", "x (in r): hello") == 1 and net.count("z", "x (in r): hello") == 0
    if left:
        net.type("x", "/leave")
        net.run(0.1)
        assert members(net, "r") == ["y", "z"]
    net.kill_registry()
    return net, to_z


def test_a_room_line_the_registry_took_then_died_with_reaches_every_member() -> None:
    """The relay lived in the registry's memory; x keeps its line until the registry says
    every member has it (Relayed), and asks again once the registry says it has restarted
    (Restarted): the restarted registry, which kept who is in r, says it to r again, and
    y, who has it, shows it once."""
    net, to_z = room_line_the_registry_died_with(left=False)
    to_z()
    net.run(1)
    net.start_registry()
    net.run(1)  # at once, not when its outcome is overdue (OUTCOME_WAIT)
    assert net.count("z", "x (in r): hello") == 1
    net.run(OUTCOME_WAIT + 2)
    assert net.count("z", "x (in r): hello") == 1
    assert net.count("y", "x (in r): hello") == 1
    x = net.hosts["x"].core
    assert x is not None and x.parts.leaving.undelivered() == ()
    assert not any(line.startswith("[Not") for line in net.screen("x"))


def test_a_room_line_asked_again_after_its_sender_left_is_said_again_from_the_history() -> None:
    """x is no longer in r, but the restarted registry has the line in r's history: said
    there while x was a member, it is relayed to r again (y, who has it, shows it once),
    without taking x back to r, and x is told nothing more."""
    net, to_z = room_line_the_registry_died_with(left=True)
    to_z()
    net.start_registry()
    net.run(OUTCOME_WAIT + 2)
    assert net.count("z", "x (in r): hello") == 1 and net.count("y", "x (in r): hello") == 1
    assert not any("hello" in line for line in net.screen("x")[-5:])
    assert room_of(net, "x") == "" and members(net, "r") == ["y", "z"]
    x = net.hosts["x"].core
    assert x is not None and x.parts.leaving.undelivered() == ()


def test_a_room_line_asked_again_after_its_sender_left_the_room_is_said_unconfirmed() -> None:
    """The restarted registry has forgotten the line (the history is appended without an
    fsync: nothing is acked on its account) and x is no longer in r: said as not known to
    have reached everyone (x is not taken back to r to say it again)."""
    net, to_z = room_line_the_registry_died_with(left=True)
    to_z()
    net.edit_disk(lambda disk: disk.history.clear())
    net.start_registry()
    net.run(OUTCOME_WAIT + 2)
    said = "[Not confirmed that everyone in r had your line “hello”: You are not in r.]"
    assert net.count("x", said) == 1
    assert room_of(net, "x") == "" and members(net, "r") == ["y", "z"]
    x = net.hosts["x"].core
    assert x is not None and x.parts.leaving.undelivered() == ()


def test_a_room_line_asked_again_unanswered_after_leaving_its_room_is_not_kept() -> None:
    """Kept in the outbox, it would take x back to r to be said there (RoomReturn)."""
    net, _ = room_line_the_registry_died_with(left=True)
    net.run(OUTCOME_WAIT + 4)  # asked again, five tries, no answer
    assert (
        "[Not confirmed that everyone in r had your line “hello”: the registry does not answer.]"
        in net.screen("x")
    )
    x = net.hosts["x"].core
    assert x is not None and x.parts.leaving.undelivered() == () and room_of(net, "x") == ""
    net.start_registry()
    net.run(12)
    assert members(net, "r") == ["y", "z"]  # x did not go back


def test_a_member_away_while_the_registry_restarted_sees_what_was_said_meanwhile() -> None:
    """The room's last lines are on disk (registry/adapter/store.py): before, a registry
    restart lost them, and z, given up on while it was down, never saw the line."""
    net = x_y_z_in_r()
    net.kill_peer("z")
    net.type("x", "said while z was away")
    net.run(6)  # z never acks: given up on, out of r
    assert members(net, "r") == ["x", "y"]
    net.kill_registry()
    net.start_registry()
    net.run(1)
    net.start_peer("z")  # goes back to r, and is shown what it has not seen
    net.run(3)
    shown = [line for line in net.screen("z") if line.endswith("x (in r): said while z was away")]
    assert len(shown) == 1 and shown[0].startswith("[history ")
