"""The cores together on a simulated network: the delivery rules of docs/PROTOCOL.md."""

from __future__ import annotations

import itertools

import pytest

from peer.core.change_lines import TABLE_UPDATED
from peer.core.direct import NO_ACK, RECEIVED_BY
from peer.core.leaving import OFFLINE_BYE
from peer.core.registration import WELCOME, YOU_HAVE_MESSAGES
from peer.core.request_ends import (
    CLIENT_EXISTS,
    EXITING,
    RECEIVED_BY_SERVER,
    SAVED,
    SERVER_NOT_RESPONDING,
)
from tests.sim.world import REGISTRY, Addr, SimNet
from tests.simulation import SimNet as CoresAlone
from wire.messages import Chat, Keepalive, MailTaken, Message, SaveMessage, TableUpdate
from wire.reliable import ATTEMPTS, DIRECT_TIMEOUT


def three(**kwargs: object) -> SimNet:
    net = SimNet(**kwargs)  # type: ignore[arg-type]
    for i, name in enumerate("xyz"):
        net.add_peer(name, 6001 + i)
    net.run(3)
    return net


def test_register_three_and_every_pair_chats() -> None:
    net = three()
    for name in "xyz":
        assert net.screen(name)[0] == WELCOME
        assert TABLE_UPDATED in net.screen(name)
    for a in "xyz":
        for b in "xyz":
            net.type(a, f"send {b} hello {b} from {a}")
    net.run(1)
    for a in "xyz":
        for b in "xyz":
            assert net.count(b, f"{a}: hello {b} from {a}") == 1
            assert net.count(a, RECEIVED_BY.format(b)) == 1


def test_retries_every_timeout_then_gives_up_after_five_and_saves() -> None:
    net = three()
    net.kill_peer("z")
    start = net.now
    net.type("x", "send z are you there")
    net.run(10)
    tries = [
        t - start for t, _, dst, m in net.sent if isinstance(m, Chat) and dst == ("127.0.0.1", 6003)
    ]
    # five from x, DIRECT_TIMEOUT apart, then five from the registry after x gives up, then
    # five more while it probes z, which answers nothing: z is taken for gone
    assert [round(t, 3) for t in tries[:5]] == [
        round(i * DIRECT_TIMEOUT, 3) for i in range(ATTEMPTS)
    ]
    assert len(tries) == 3 * ATTEMPTS
    saves = [t - start for t, _, _, m in net.sent if isinstance(m, SaveMessage)]
    assert saves and round(saves[0], 3) == round(ATTEMPTS * DIRECT_TIMEOUT, 3)
    screen = net.screen("x")
    no_ack = screen.index(NO_ACK.format("z"))
    assert SAVED in screen[no_ack:]
    assert [m.text for m in net.disk.mail["z"]] == ["are you there"]


def test_registry_delivers_itself_when_the_recipient_is_alive() -> None:
    net = three()
    # z is alive but x cannot reach it directly: drop x -> z datagrams
    net.drop = lambda src, dst, _: src == ("127.0.0.1", 6001) and dst == ("127.0.0.1", 6003)
    net.type("x", "send z through the registry")
    net.run(10)
    assert CLIENT_EXISTS.format("z") in net.screen("x")
    assert net.count("z", "x: through the registry") == 1
    assert "z" not in net.disk.mail or not net.disk.mail["z"]


@pytest.mark.parametrize("seed", range(12))
def test_lossy_duplicating_network_shows_each_message_once(seed: int) -> None:
    net = three(seed=seed, loss=0.2, duplicate=0.3)
    net.run(5)
    texts = [f"m{i}" for i in range(8)]
    for i, text in enumerate(texts):
        net.type("xyz"[i % 3], f"send {'yzx'[i % 3]} {text}")
    net.run(30)
    for i, text in enumerate(texts):
        sender, receiver = "xyz"[i % 3], "yzx"[i % 3]
        line = f"{sender}: {text}"
        shown = net.count(receiver, line)
        stored = [m for m in net.disk.mail.get(receiver, []) if m.text == text]
        # delivered live exactly once, or (if the receiver was given up on) waiting in its mailbox
        assert shown + len(stored) == 1, (seed, text, net.screen(sender), net.screen(receiver))


def test_dereg_mailbox_and_reg_hand_over_in_order_once() -> None:
    net = three()
    net.type("x", "dereg x")
    net.run(1)
    assert net.screen("x")[-1] == OFFLINE_BYE
    net.type("y", "send x first")
    net.run(1)
    net.type("z", "send x second")
    net.run(1)
    net.type("y", "send_all to all")
    net.run(1)
    assert net.screen("y")[-1] == RECEIVED_BY_SERVER
    assert net.count("z", "[Channel_Message y: to all]") == 1
    assert net.count("y", "[Channel_Message y: to all]") == 0
    net.type("x", "reg x")
    net.run(2)
    screen = net.screen("x")
    at = screen.index(YOU_HAVE_MESSAGES)
    lines = screen[at + 1 : at + 4]
    assert lines[0].startswith("y: ") and lines[0].endswith(" first")
    assert lines[1].startswith("z: ") and lines[1].endswith(" second")
    assert lines[2].startswith("Channel_Message y: ") and lines[2].endswith(" to all")
    assert "x" not in net.disk.mail  # deleted once x acknowledged the hand-over


def test_mailbox_kept_until_the_hand_over_is_acknowledged() -> None:
    net = three()
    net.type("x", "dereg x")
    net.run(1)
    net.type("y", "send x keep me")
    net.run(1)
    # x comes back but everything x sends is lost: it shows the mail, its MailTaken never lands
    net.drop = lambda src, dst, message: (
        src == ("127.0.0.1", 6001) and dst == REGISTRY and isinstance(message, MailTaken)
    )
    net.type("x", "reg x")
    net.run(5)
    assert any(line.endswith(" keep me") for line in net.screen("x"))
    assert [m.text for m in net.disk.mail["x"]] == ["keep me"]
    net.drop = None
    net.type("x", "dereg x")
    net.run(1)
    net.type("x", "reg x")
    net.run(2)
    # shown again by the registry, but x shows each id once; now it is acknowledged
    assert sum(line.endswith(" keep me") for line in net.screen("x")) == 1
    assert "x" not in net.disk.mail


def test_registry_down_outbox_flushed_when_it_returns() -> None:
    net = three(keepalive=1.0)
    net.type("y", "dereg y")
    net.run(1)
    net.kill_registry()
    net.type("x", "send y while the registry is down")
    net.run(3)
    assert SERVER_NOT_RESPONDING in net.screen("x")
    assert net.hosts["x"].exit_code is None
    net.type("x", "send z still direct")
    net.run(1)
    assert net.count("z", "x: still direct") == 1
    net.start_registry()
    net.run(5)
    line = "[Kept message for y saved at the server: “while the registry is down”]"
    assert net.count("x", line) == 1
    net.type("y", "reg y")
    net.run(2)
    assert any(line.endswith(" while the registry is down") for line in net.screen("y"))


def test_dereg_with_the_registry_down_exits() -> None:
    net = three()
    net.kill_registry()
    net.type("x", "dereg x")
    net.run(5)
    assert net.screen("x")[-2:] == [SERVER_NOT_RESPONDING, EXITING]
    assert net.hosts["x"].exit_code == 0


def test_restarted_peer_takes_its_name_and_mail_back_a_stranger_cannot() -> None:
    net = three()
    net.kill_peer("z")
    net.type("x", "send z for later")
    net.run(10)
    net.start_peer("z")  # same name, same kept token
    net.run(2)
    assert any(line.endswith(" for later") for line in net.screen("z"))
    # a stranger (no token) asking for the online name y is refused and exits non-zero
    stranger = net.add_peer("Y", 6009)
    net.run(3)
    assert stranger.exit_code == 1
    assert any("in use" in line for line in stranger.screen)


def test_no_one_can_dereg_someone_else() -> None:
    net = three()
    net.type("x", "dereg y")
    net.run(1)
    assert net.screen("x")[-1] == "[You can only dereg yourself (dereg x).]"
    assert all(e.online for e in net.registry.table.entries())  # type: ignore[union-attr]


def test_a_silent_peer_is_marked_offline_and_others_see_it() -> None:
    net = three(keepalive=1.0)
    net.kill_peer("z")
    net.run(6)
    assert not net.hosts["x"].core.table.entry("z").online  # type: ignore[union-attr]
    assert net.hosts["x"].core.table.entry("y").online  # type: ignore[union-attr]
    net.type("x", "send z later")
    net.run(2)
    assert net.screen("x")[-1] == SAVED


def test_a_peer_the_registry_gave_up_on_comes_back_by_itself() -> None:
    net = three(keepalive=1.0)
    # x is cut off long enough to be marked offline, then the network heals
    net.drop = lambda src, dst, _: ("127.0.0.1", 6001) in (src, dst)
    net.run(6)
    assert not net.registry.table.get("x").online  # type: ignore[union-attr]
    net.drop = None
    net.run(5)
    assert net.registry.table.get("x").online  # type: ignore[union-attr]
    assert net.hosts["y"].core.table.entry("x").online  # type: ignore[union-attr]


def test_a_keepalive_goes_again_every_period_however_the_round_trip_backed_off() -> None:
    """A keepalive answered only at its second copy, again and again, backs the registry's
    round trip off (doubled at each); then a patch of loss takes all x sends for a second,
    and every probe of the registry: the next copy comes a keepalive period later, not a
    round trip later, and x is never taken for gone."""
    net = three(keepalive=0.5)
    x = ("127.0.0.1", 6001)
    sent: list[tuple[float, str]] = []  # each keepalive x sends, lost or not

    def lost(src: Addr, dst: Addr, message: Message) -> bool:
        if src == x and isinstance(message, Keepalive):
            sent.append((net.now, message.id))
        if net.now < patch:  # a keepalive's first copy only
            return src == x and [m for _, m in sent].count(message.id) == 1
        probe = isinstance(message, TableUpdate) and message.version == 0
        return (src == x and net.now < patch + 1) or (dst == x and probe)

    patch = net.now + 5
    net.drop = lost
    net.run(10)
    gaps = [later - t for (t, _), (later, _) in itertools.pairwise(sent)]
    assert max(gaps) <= 0.5 + 1e-6, f"a keepalive waited {max(gaps):.1f} s"
    assert not [line for line in net.log if "offline" in line or "silent" in line]
    assert net.registry.table.get("x").online  # type: ignore[union-attr]


def test_tables_converge_within_two_seconds_under_20_percent_loss() -> None:
    """Issue 5: every peer's table equals the registry's within 2 s of the last change.
    A change is pushed up to 5 times, 500 ms apart, so by 2 s four copies have gone out and
    all four are lost with probability 0.2**4; over many changes we expect 99%+ on time and
    the rest at the next keepalive. On the cores alone: through the real adapters, whose
    secure channel and merged acks lose other datagrams, 96% were on time over 60 seeds."""
    on_time = late = 0
    for seed in range(20):
        net = CoresAlone(seed=seed, loss=0.2, keepalive=3.0)
        names = [f"p{i}" for i in range(5)]
        for i, name in enumerate(names):
            net.add_peer(name, 6001 + i)
        net.run(10)
        for round_ in range(4):
            who = names[round_ % len(names)]
            net.type(who, f"dereg {who}" if round_ % 2 == 0 else f"reg {who}")
            net.run(2.0)
            truth = {e.name: e.online for e in net.registry.table.entries()}  # type: ignore[union-attr]
            for name in names:
                core = net.hosts[name].core
                if core is None or not core.state.life.registered:
                    continue
                mine = {e.name: e.online for e in core.table.rows()}
                if mine == truth:
                    on_time += 1
                else:
                    late += 1
            net.run(8)  # settle before the next change
    assert on_time / (on_time + late) >= 0.97, (on_time, late)


def test_outbox_survives_a_peer_restart() -> None:
    net = three(keepalive=1.0)
    net.type("y", "dereg y")
    net.run(1)
    net.kill_registry()
    net.type("x", "send y kept across a restart")
    net.run(3)
    assert len(net.hosts["x"].outbox) == 1
    net.kill_peer("x")
    net.start_registry()
    net.start_peer("x")  # the restarted x sends what its last life kept
    net.run(5)
    assert net.hosts["x"].outbox == ()
    net.type("y", "reg y")
    net.run(2)
    assert any(line.endswith(" kept across a restart") for line in net.screen("y"))


def test_a_direct_message_unanswered_when_its_sender_is_killed_is_not_lost() -> None:
    net = three()
    net.kill_peer("y")  # gone without a word: still online in every table
    net.type("x", "send y sent just before x was killed")
    net.run(DIRECT_TIMEOUT + 0.2)  # the first try went unanswered; the retries are on their way
    # kept durably (a power cut keeps it too), as the save it becomes
    [save] = net.hosts["x"].sending.values()
    assert isinstance(save, SaveMessage) and save.to == "y"
    net.kill_peer("x")
    net.start_peer("x")  # the restarted x saves it at the registry, which finds y gone
    net.run(10)
    assert net.hosts["x"].outbox == ()
    net.start_peer("y")
    net.run(2)
    assert any(line.endswith(" sent just before x was killed") for line in net.screen("y"))


def test_a_direct_message_answered_at_once_is_never_written_to_disk() -> None:
    net = three()
    writes = len(net.hosts["x"].durable)
    net.type("x", "send y hello")
    net.run(1)
    assert RECEIVED_BY.format("y") in net.screen("x")
    assert len(net.hosts["x"].durable) == writes


def test_a_restarted_registry_makes_every_peer_resync_its_table() -> None:
    net = three()
    net.kill_registry()
    net.start_registry()
    net.type("y", "dereg y")  # the first change after the restart
    net.run(3)
    truth = {e.name: e.online for e in net.registry.table.entries()}  # type: ignore[union-attr]
    for name in "xz":
        core = net.hosts[name].core
        assert core is not None
        assert {e.name: e.online for e in core.table.rows()} == truth


def test_a_registry_that_is_away_is_probed_a_round_each_period_and_found_again() -> None:
    """A probe is one round of tries, not the four a keepalive has while the registry
    answers: x sends 45 datagrams in the first minute of an outage and 30 a minute after,
    not 80, then 20 or 40 (doubling probes of 20 copies each)."""
    net = three(keepalive=10.0)
    net.run(7)  # the last keepalive was answered; the next is due in a few seconds
    net.kill_registry()
    start = net.now
    net.run(200)
    copies: dict[str, list[float]] = {}
    for t, src, _, m in net.sent:
        if src == ("127.0.0.1", 6001) and t > start:
            assert isinstance(m, Keepalive)
            copies.setdefault(m.id, []).append(t)
    detected, *probes = copies.values()
    assert len(detected) == 4 * ATTEMPTS  # the registry was not known away yet
    assert {len(probe) for probe in probes} == {ATTEMPTS}
    gaps = {round(b[0] - a[0]) for a, b in itertools.pairwise(copies.values())}
    assert gaps == {10}  # a probe every period
    assert net.screen("x").count(SERVER_NOT_RESPONDING) == 1  # told once
    net.start_registry()
    net.run(10.5)
    assert "[Server is back.]" in net.screen("x")


@pytest.mark.slow
def test_thousands_of_lines_at_once_all_go_and_none_is_taken_for_a_flood() -> None:
    """A script piping 3000 send_all lines at once outran the registry's flood gate: the
    registry dropped the excess, the peer said "[Server not responding]" and kept each
    line in its outbox, 1682 times, of a registry that was there. Paced (peer/core/requests.py),
    the lines wait in the peer and go below the gate, each answered at once."""
    net = three()
    lines = 1500  # half the script's 3000: unpaced, still 500 over the gate's burst
    for i in range(lines):
        net.type("x", f"send_all line {i}")
    net.run(lines / 400 + 2)  # at the pace (400 a second, 500 at once), and the last acks
    assert net.registry is not None and net.registry.flood.dropped == 0
    shown = [line for line in net.screen("y") if line.startswith("[Channel_Message x: line ")]
    # each once (this network reorders datagrams; the order they leave in is Requests')
    assert sorted(shown) == sorted(f"[Channel_Message x: line {i}]" for i in range(lines))
    assert net.count("x", RECEIVED_BY_SERVER) == lines
    assert not [line for line in net.screen("x") if "not responding" in line or "Kept" in line]


@pytest.mark.parametrize("gap", [0.0, 0.001, 0.02, 1.0])
def test_each_peer_is_told_who_is_online_whatever_order_the_rows_came_in(gap: float) -> None:
    net = SimNet()
    for i, name in enumerate("xyz"):
        net.add_peer(name, 6001 + i)
        net.run(gap)
    net.run(3)
    for name in "xyz":
        for other in "xyz".replace(name, ""):
            assert net.count(name, f"[{other} is online]") == 1, (name, net.screen(name))
