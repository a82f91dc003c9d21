"""Several registries, one service, on a real nats-server (tests/nats_servers.py): peers on
different registries see one table, chat, share the channel and leave each other mail."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from peer.adapter.state import PeerStateFile
from peer.core.change_lines import TABLE_UPDATED
from peer.core.request_ends import KEPT_IN_OUTBOX
from tests.nats_servers import STARTS_WITHIN, NatsServer, nats_cluster, new_service, reached_at

from .harness import (
    HOST,
    OFFLINE_BYE,
    POSTED_EVEN_IF_KEPT,
    RECEIVED_BY_SERVER,
    SAVED,
    SAVED_EVEN_IF_KEPT,
    SERVER_NOT_RESPONDING,
    WELCOME,
    YOU_HAVE_MESSAGES,
    ChatEnv,
    ChatProc,
    Peer,
    channel_line,
    direct,
    free_port,
    line,
    mail_line,
)
from .members import DECIDES, RELAYS, member_args

pytestmark = pytest.mark.timeout(90)


#: The keepalive period of these registries and peers: a registry counts a peer gone after
#: 3 silent periods and a probe, and the service reaches the peers of a registry gone
#: through another once its lease of 2 s has run out: as in use (10 s), a peer moves before
#: its registry could count it gone.
KEEPALIVE = 3.0
#: Seconds from the kill of a registry until each of its peers carries on through another,
#: its request on the way at the kill answered (docs/SCALING.md).
CARRIES_ON = 5.0


def start_peer(chat: ChatEnv, name: str, port: int, **options: object) -> Peer:
    return chat.start_peer(name, server_port=port, keepalive=KEEPALIVE, **options)  # type: ignore[arg-type]


def told_of(peer: Peer, port: int, within: float = STARTS_WITHIN) -> None:
    """Wait until `peer` has kept the service's registry at `port`: a peer learns of each
    registry while online, so one gone offline before then cannot move to it."""
    kept = PeerStateFile(peer.data_dir, peer.name).registries_path
    deadline = time.monotonic() + within
    while f":{port}" not in (kept.read_text() if kept.exists() else ""):
        assert time.monotonic() < deadline, f"{peer.name} was not told of the registry at {port}"
        time.sleep(0.05)


def unique(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


def start_member(
    chat: ChatEnv,
    nats: list[NatsServer],
    name: str,
    *,
    decides: bool,
    keepalive: float = KEEPALIVE,
    urls: str = "",
) -> tuple[ChatProc, int]:
    """A registry of the service, on a port and data folder of its own; it reaches NATS at
    `urls` (one, tls://) when given, else at the servers' own."""
    port = free_port()
    folder = reached_at(nats, urls, chat.root / f"{name}-service") if urls else None
    args = member_args(port, chat.root / name, nats, folder)
    proc = chat.spawn(*args, "--keepalive", f"{keepalive:g}", "-v", label=f"registry:{name}")
    chat.join_code = proc.expect(r"--registry-key ([\d-]+)", STARTS_WITHIN).group(1)
    proc.expect(re.escape(DECIDES if decides else RELAYS), STARTS_WITHIN)
    return proc, port


def decides(registries: list[ChatProc], within: float) -> ChatProc:
    """The first of `registries` to say it decides for the service, within `within` s."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for proc in registries:
            if any("this registry decides for the service now" in row for row in proc.drain()):
                return proc
        time.sleep(0.05)  # (each looked at again: what they said is awaited, not slept for)
    raise AssertionError(f"none of {registries} decided within {within:g} s")


def test_peers_of_two_registries_share_one_table_the_channel_mail_and_names(
    chat: ChatEnv, nats: list[NatsServer]
) -> None:
    _, one_port = start_member(chat, nats, "one", decides=True)
    two, two_port = start_member(chat, nats, "two", decides=False)
    alice = start_peer(chat, "alice", one_port)
    bob = start_peer(chat, "bob", two_port)
    alice.expect_line(TABLE_UPDATED)
    # the relaying registry's console reads what the one that decides holds
    two.send("who")
    two.expect(r"^  alice +online ", 10)
    two.send("release alice")
    two.expect(rf"release is typed at the registry that decides for the service \(.*:{one_port}\)")
    direct(alice, bob, unique("hi"))
    direct(bob, alice, unique("back"))
    post = unique("all")
    alice.send(f"send_all {post}")
    alice.expect_line(RECEIVED_BY_SERVER)
    bob.expect(channel_line("alice", post))
    bob.send("dereg bob")
    bob.expect_line(OFFLINE_BYE)
    kept = unique("later")
    alice.send(f"send bob {kept}")
    alice.expect_line(SAVED, timeout=15)
    bob.send("reg bob")
    bob.expect_line(YOU_HAVE_MESSAGES)
    bob.expect(mail_line("alice", kept))
    # two people, each with a key of their own (a data folder each), want "carol" at once
    # on the two registries: one of them has it
    first = start_peer(chat, "carol", one_port, data_dir=chat.root / "a", wait=False)
    second = start_peer(chat, "carol", two_port, data_dir=chat.root / "b", wait=False)
    outcomes = []
    for peer in (first, second):
        said = peer.expect(
            r"^>>> \[(Welcome, You are registered\.|The name carol is in use.*)\]$", 15
        )
        outcomes.append(said.group(1).startswith("Welcome"))
    assert sorted(outcomes) == [False, True]


def moved(old: int, new: int) -> str:
    return f"[Registry {HOST}:{old} is not answering; now using {HOST}:{new}.]"


def test_peers_of_a_registry_killed_move_to_another_and_carry_on(
    chat: ChatEnv, nats: list[NatsServer]
) -> None:
    _, one_port = start_member(chat, nats, "one", decides=True)
    two, two_port = start_member(chat, nats, "two", decides=False)
    alice = start_peer(chat, "alice", one_port)
    bob = start_peer(chat, "bob", two_port)
    alice.expect_line(TABLE_UPDATED)
    two.kill()
    killed = time.monotonic()
    post = unique("still here")
    bob.send(f"send_all {post}")  # on its way as his registry is gone
    bob.expect_line(moved(two_port, one_port), timeout=CARRIES_ON)
    bob.expect(POSTED_EVEN_IF_KEPT, timeout=max(0.01, CARRIES_ON - (time.monotonic() - killed)))
    print(f"bob carried on {time.monotonic() - killed:.2f} s after his registry was killed")
    alice.expect(channel_line("bob", post))
    direct(alice, bob, unique("hi"))
    assert alice.count(r"bob.*offline") == 0


@pytest.mark.slow
def test_when_the_registry_that_decides_is_killed_another_takes_over(
    chat: ChatEnv, nats: list[NatsServer]
) -> None:
    one, one_port = start_member(chat, nats, "one", decides=True)
    two, two_port = start_member(chat, nats, "two", decides=False)
    alice = start_peer(chat, "alice", one_port)
    bob = start_peer(chat, "bob", one_port)
    alice.expect_line(TABLE_UPDATED)
    told_of(bob, two_port)  # before he goes offline: then he hears of no registry
    bob.send("dereg bob")
    bob.expect_line(OFFLINE_BYE)
    kept = unique("kept")
    alice.send(f"send bob {kept}")
    alice.expect_line(SAVED, timeout=15)
    one.kill()
    killed = time.monotonic()
    later = unique("later")
    alice.send(f"send bob {later}")  # on its way as her registry is gone
    alice.expect_line(moved(one_port, two_port), timeout=CARRIES_ON)
    alice.expect(SAVED_EVEN_IF_KEPT, timeout=max(0.01, CARRIES_ON - (time.monotonic() - killed)))
    print(f"alice carried on {time.monotonic() - killed:.2f} s after her registry was killed")
    two.expect(re.escape(DECIDES), 1)
    # bob, offline, is not told his registry stopped: his reg finds it out, as soon
    bob.send("reg bob")
    typed = time.monotonic()
    bob.expect_line(moved(one_port, two_port), timeout=CARRIES_ON)
    bob.expect_line(YOU_HAVE_MESSAGES, timeout=max(0.01, CARRIES_ON - (time.monotonic() - typed)))
    print(f"bob's reg was answered {time.monotonic() - typed:.2f} s after he typed it")
    bob.expect(mail_line("alice", kept))
    bob.expect(mail_line("alice", later))
    post = unique("after")
    alice.send(f"send_all {post}")
    bob.expect(channel_line("alice", post))
    carol = start_peer(chat, "carol", two_port)
    direct(carol, alice, unique("new"))
    # alice started again, given the registry killed: the service's list she kept finds another
    alice.send("/quit")
    alice.wait_exit()
    again = chat.start_peer(alice.name, port=alice.port, server_port=one_port, wait=False)
    started = time.monotonic()
    again.expect_line(moved(one_port, two_port), timeout=CARRIES_ON)
    again.expect_line(WELCOME, timeout=max(0.01, CARRIES_ON - (time.monotonic() - started)))


@pytest.mark.slow
def test_a_registry_that_cannot_reach_nats_says_so_and_exits(chat: ChatEnv, tmp_path: Path) -> None:
    service = new_service(tmp_path / "svc")  # (its node not started)
    proc = chat.spawn(
        "-s", str(free_port()), "--bind", HOST, "--data-dir", str(chat.root / "r"),
        "--cluster", str(service), label="registry",
    )  # fmt: skip
    proc.close_stdin()
    assert proc.wait_exit(15) == 1
    out = proc.collect(5)
    said = [row for row in out if "NATS" in row]
    assert len(said) == 1, out  # one line, naming the URL and what to run
    assert "cannot reach NATS at tls://127.0.0.1:" in said[0]
    assert f"nats-server -c {service}/nats-server-1.conf" in said[0]
    assert not any("Traceback" in row for row in out)


def test_a_registry_stopped_while_nats_is_away_stops_without_a_traceback(
    chat: ChatEnv, nats: list[NatsServer]
) -> None:
    one, _ = start_member(chat, nats, "one", decides=True)
    one.close_stdin()  # (as a service runs it: no console)
    nats[0].kill()
    one.expect(re.escape("the NATS servers are not answering"), 10)
    one.terminate()
    assert one.wait_exit(STARTS_WITHIN) == 0
    out = one.collect(5)
    assert "Registry stopped." in out
    assert not any("Traceback" in row or "destroyed" in row for row in out), out


def test_a_nats_without_jetstream_is_said_in_one_line_and_the_registry_exits(
    chat: ChatEnv, tmp_path: Path
) -> None:
    server = NatsServer(new_service(tmp_path / "svc"), 1, jetstream=False)
    server.start()
    try:
        server.wait_listening(time.monotonic() + STARTS_WITHIN)
        proc = chat.spawn(
            "-s", str(free_port()), "--bind", HOST, "--data-dir", str(chat.root / "r"),
            "--cluster", str(server.service), label="registry",
        )  # fmt: skip
        proc.close_stdin()
        assert proc.wait_exit(STARTS_WITHIN) == 1
        out = proc.collect(5)
    finally:
        server.stop()
    said = [row for row in out if "NATS" in row]
    assert len(said) == 1, out
    assert f"NATS at {server.url} has no JetStream" in said[0] and "nats-server -c" in said[0]
    assert not any("Traceback" in row for row in out)


#: Messages of each kind in a burst: saves, posts to the channel, and room lines.
BURST = 10


def burst_through_a_fault(
    chat: ChatEnv, nats: list[NatsServer], fault: Callable[[list[ChatProc]], None]
) -> Peer:
    """Three registries, a peer on each (alice on the one that decides, bob and carol on the
    others) and dave offline; alice saves to dave and posts to the channel while bob talks
    in a room with carol, and `fault` strikes the registries halfway. When alice's registry
    is gone, she says she moved within CARRIES_ON seconds. Every message is
    acknowledged in the end, and shown once where it goes (dave's mail at `reg`, in the
    order typed). Returns alice."""
    registries = [start_member(chat, nats, "one", decides=True)]
    registries += [start_member(chat, nats, name, decides=False) for name in ("two", "three")]
    ports = [port for _, port in registries]
    alice = start_peer(chat, "alice", ports[0])
    bob = start_peer(chat, "bob", ports[1])
    carol = start_peer(chat, "carol", ports[2])
    dave = start_peer(chat, "dave", ports[1])
    # alice hears of dave before he leaves: a name that comes and goes within one of her
    # folded table lines is never said to have gone offline
    alice.expect_line("[dave is online]")
    dave.send("dereg dave")
    dave.expect_line(OFFLINE_BYE)
    alice.expect_line("[dave went offline]")  # (her saves go to the registry at once)
    room = unique("lab")
    bob.send(f"join {room}")
    bob.expect_line(f"[You joined {room} (a new room)]")
    carol.send(f"join {room}")
    bob.expect_line(f"[carol joined {room}]")
    saves, posts, said = ([unique(f"{kind}{i}") for i in range(BURST)] for kind in "spr")
    struck = 0.0
    for i in range(BURST):
        alice.send(f"send dave {saves[i]}")
        alice.send(f"send_all {posts[i]}")
        bob.send(said[i])
        if i == BURST // 2:
            fault([proc for proc, _ in registries])
            struck = time.monotonic()
    if not registries[0][0].alive:
        gone = rf"^>>> \[Registry {HOST}:{ports[0]} is not answering; now using {HOST}:\d+\.\]$"
        alice.expect(gone, timeout=max(0.01, CARRIES_ON - (time.monotonic() - struck)))
        print(f"alice carried on {time.monotonic() - struck:.2f} s after her registry was killed")
    # in any order, some kept in the outbox; some may have come before the kill, and so
    # before the line that says she moved (a loaded machine: the burst typed slowly)
    acked = f"{SAVED_EVEN_IF_KEPT}|{POSTED_EVEN_IF_KEPT}"
    while alice.count(acked) < 2 * BURST:
        alice.expect(acked, timeout=30)
    bob.expect_all([channel_line("alice", post) for post in posts], timeout=30)
    in_room = [line(f"bob (in {room}): {text}") for text in said]
    carol.expect_all([*(channel_line("alice", post) for post in posts), *in_room], timeout=30)
    dave.send("reg dave")
    dave.expect_line(YOU_HAVE_MESSAGES, timeout=15)
    shown = [dave.expect(r"^>>> alice: .* (s\d+-\w+)$").group(1) for _ in saves]
    assert shown == saves
    # a copy would come with what follows: a last post, after which nothing is shown twice
    last = unique("last")
    alice.send(f"send_all {last}")
    for peer in (bob, carol, dave):
        peer.expect(channel_line("alice", last), timeout=15)
    for peer in (bob, carol, dave):
        for text in [*posts, *saves, *said]:
            assert peer.count(rf"\b{re.escape(text)}\b") <= 1, (peer.name, text)
    return alice


@pytest.mark.slow
def test_a_registry_killed_during_a_burst_loses_nothing_acknowledged(
    chat: ChatEnv, nats: list[NatsServer]
) -> None:
    alice = burst_through_a_fault(chat, nats, lambda registries: registries[0].kill())
    assert alice.count("is not answering; now using") == 1


@pytest.mark.slow
def test_a_relay_killed_during_a_burst_loses_nothing_acknowledged(
    chat: ChatEnv, nats: list[NatsServer]
) -> None:
    # (bob's: he talks in the room, and is sent alice's posts, through it)
    alice = burst_through_a_fault(chat, nats, lambda registries: registries[1].kill())
    assert alice.count("is not answering; now using") <= 1


@pytest.mark.slow
def test_a_nats_node_killed_during_a_burst_loses_nothing_acknowledged(
    chat: ChatEnv, tmp_path: Path
) -> None:
    # Where the node led a bucket, JetStream stores nothing until the others elect a leader
    # (seconds, more on a loaded machine), and a registry answers nothing it has not stored:
    # every registry of the service is silent at once, and its peers wait for it (moving
    # only when the service says theirs stopped); what counts is that nothing is lost or
    # shown twice.
    with nats_cluster(tmp_path / "nats3", size=3) as nodes:
        burst_through_a_fault(chat, nodes, lambda _: nodes[2].kill())


def test_while_nats_is_away_the_peers_of_another_registry_are_not_taken_for_gone(
    chat: ChatEnv, nats: list[NatsServer]
) -> None:
    # cut off from NATS, the lead hears nothing of a relay's peers: their silence says
    # nothing of whether they run. It decides no more once its lease runs out (nobody does
    # until NATS answers), and so takes nobody for gone (a keepalive of 1 s: judged soon).
    one, one_port = start_member(chat, nats, "one", decides=True, keepalive=1.0)
    two, two_port = start_member(chat, nats, "two", decides=False, keepalive=1.0)
    alice = chat.start_peer("alice", server_port=one_port, keepalive=1.0)
    bob = chat.start_peer("bob", server_port=two_port, keepalive=1.0)
    alice.expect_line("[bob is online]")
    nats[0].kill()
    killed = time.monotonic()
    one.expect(re.escape("the NATS servers are not answering"), 10)
    one.expect(r": this one relays$", 10)
    print(f"the lead stepped down {time.monotonic() - killed:.2f} s after NATS was killed")
    post = unique("while nats is away")
    alice.send(f"send_all {post}")  # kept until a registry decides again
    nats[0].start()
    decides([one, two], STARTS_WITHIN)
    bob.expect(channel_line("alice", post), timeout=STARTS_WITHIN)
    direct(alice, bob, unique("still here"))
    for registry in (one, two):
        registry.drain()
        assert registry.count(r"\bbob silent") == 0, registry.label
    assert alice.count(r"bob went offline") == 0


@pytest.mark.slow
def test_while_nats_is_away_direct_chat_goes_on_and_saves_wait_then_go_through(
    chat: ChatEnv, nats: list[NatsServer]
) -> None:
    one, one_port = start_member(chat, nats, "one", decides=True)
    alice = start_peer(chat, "alice", one_port)
    bob = start_peer(chat, "bob", one_port)
    carol = start_peer(chat, "carol", one_port)
    # alice hears of carol and of her leaving before NATS goes: the table's pushes go
    # through NATS, and a name alice never heard of is one she cannot save mail for
    alice.expect_line("[carol is online]")
    carol.send("dereg carol")
    carol.expect_line(OFFLINE_BYE)
    alice.expect_line("[carol went offline]")
    nats[0].kill()
    one.expect(re.escape("the NATS servers are not answering"), 10)
    direct(alice, bob, unique("direct"))  # peer to peer: NATS is not on the way
    texts = [unique(f"kept{i}") for i in range(3)]
    for text in texts:
        alice.send(f"send carol {text}")
    alice.expect_line(KEPT_IN_OUTBOX, timeout=15)
    nats[0].start()
    one.expect(re.escape("NATS answers again"), STARTS_WITHIN)
    # Nobody could take the lead meanwhile: the registry relayed once its lease ran out, and
    # takes it again in the same term (tests/registry/test_lease_keeper.py). What waited
    # goes through.
    for _ in texts:
        alice.expect(SAVED_EVEN_IF_KEPT, timeout=STARTS_WITHIN)
    # (a loaded machine may still see the lead lost and loaded afresh, silent for a moment
    # as a registry restarting: a user whose registration went unanswered tries again)
    for _ in range(3):
        carol.send("reg carol")
        said = carol.expect(f"{line(YOU_HAVE_MESSAGES)}|{line(SERVER_NOT_RESPONDING)}", 15)
        if said.group(0) == f">>> {YOU_HAVE_MESSAGES}":
            break
    for text in texts:
        carol.expect(mail_line("alice", text))
    # the registry kept every peer's session whatever its role did meanwhile: carol, away
    # through it all, was understood on her old session
    one.send("stats")
    one.expect(re.escape("datagrams that did not open 0,"))
