"""ChatApp tried as an attacker on the LAN would try it, with real processes on loopback:
capture every frame, replay and alter what was captured, forge with a key of one's own,
spoof source addresses (docs/SECURITY.md names the test of each claim)."""

from __future__ import annotations

import re

import pytest

from peer.core.direct import NO_ACK, RECEIVED_BY
from peer.core.leaving import OFFLINE_BYE
from peer.core.registration import YOU_HAVE_MESSAGES
from peer.core.request_ends import SAVED

from .capture import Capture, can_capture, capturing, send_spoofed
from .harness import HOST, PASSWORD_CHECK_WAIT, TABLE_UPDATED, WELCOME, ChatEnv, direct, reaches
from .secure_socket import SecureSocket

from wire import messages  # isort: skip  (harness puts the repository on sys.path)
from wire.keys import key_from_text  # isort: skip
from wire.version import WIRE_VERSION  # isort: skip

pytestmark = pytest.mark.skipif(not can_capture(), reason="needs a raw socket (root)")

PASSWORD = "correct-horse-battery-staple"
PHONE = "+44 7700 900456"
SECRETS = {
    "direct": "my bank PIN is 1234",
    "channel": "the channel-secret walrus",
    "offline": "the offline-secret heron",
    "room": "the room-secret otter",
    "desk line": "I have felt low for weeks",
    "desk description": "help-with-debts",
}


def _desk_key(chat: ChatEnv) -> str:
    return (chat.registry_dir / "desk-key").read_text().strip()


@pytest.mark.timeout(60)
def test_a_capture_of_every_frame_holds_none_of_the_secrets_typed(chat: ChatEnv) -> None:
    with capturing() as capture:
        registry = chat.start_registry(options=["--no-desk-console"])
        alice = chat.start_peer("alice", wait=False, password=PASSWORD)
        alice.expect_line(WELCOME, PASSWORD_CHECK_WAIT)
        bob, carol = chat.start_peers("bob", "carol")
        alice.expect_line(TABLE_UPDATED)
        direct(alice, bob, SECRETS["direct"])
        alice.send(f"send_all {SECRETS['channel']}")
        bob.expect_line(f"[Channel_Message alice: {SECRETS['channel']}]")
        for peer in (bob, carol):
            peer.send("join den")
        carol.expect(r"\[(You joined den|bob joined den)")
        bob.send(SECRETS["room"])
        carol.expect(re.escape(f"bob (in den): {SECRETS['room']}"))
        carol.send("/dereg carol")
        carol.expect_line(OFFLINE_BYE)
        alice.send(f"send carol {SECRETS['offline']}")
        alice.expect_line(SAVED)
        # stored sealed: the registry's files do not hold it
        for path in chat.registry_dir.rglob("*"):
            if path.is_file():
                assert SECRETS["offline"].encode() not in path.read_bytes(), path
        # the help desk: a person's phone and what they tell the operator
        assert chat.registry_port is not None
        chat.env["CHATAPP_DESK_KEY"] = _desk_key(chat)
        ann = chat.spawn(
            "-o", "ann", HOST, str(chat.registry_port), *chat.trusting(), label="operator"
        )
        ann.expect(r"On duty as ann")
        ann.send(".serve all")
        person = chat.spawn("-d", HOST, str(chat.registry_port), label="person")
        for answer in ("Nora", PHONE, "2", SECRETS["desk description"]):
            person.send(answer)
        ann.expect(r"Nora")
        person.expect(r"ann")
        person.send(SECRETS["desk line"])
        ann.expect(re.escape(SECRETS["desk line"]))
        registry.drain()
    carol.send("reg carol")
    carol.expect_line(YOU_HAVE_MESSAGES)
    carol.expect(re.escape(SECRETS["offline"]))  # and carol reads it
    # this test's own traffic, by address and port (tests running beside it send junk in
    # clear on purpose, some from spoofed sources whose port may be one of ours)
    ends = {(HOST, port) for port in (chat.registry_port, alice.port, bob.port, carol.port)}
    ours = [p for p in capture.packets if p.src in ends or p.dst in ends]
    seen = b"\n".join(p.payload for p in ours)
    assert len(ours) > 50, "the capture saw nothing of this test's"
    for what, secret in (*SECRETS.items(), ("password", PASSWORD), ("phone", PHONE)):
        assert secret.encode() not in seen, f"the {what} travelled in clear"
    assert b"900456" not in seen  # not even the phone's digits in another spelling
    # and nothing that looks like a message: no JSON in any payload
    clear = [p for p in ours if b'"t":"' in p.payload]
    assert not clear, clear[:3]


def _chat_datagrams(capture: Capture, to_port: int) -> list[bytes]:
    """The DATA datagrams (first byte 3) captured on their way to `to_port`."""
    return [
        p.payload
        for p in capture.packets
        if p.proto == "udp" and p.dst[1] == to_port and p.payload[:1] == b"\x03"
    ]


@pytest.mark.timeout(60)
def test_captured_datagrams_replayed_or_altered_byte_by_byte_show_nothing(
    shared_chat: ChatEnv,
) -> None:
    alice, bob = shared_chat.start_peers("alice", "bob")
    with capturing() as capture:
        direct(alice, bob, "only once")
    captured = _chat_datagrams(capture, bob.port)
    assert captured, "no datagram to bob was captured"
    original = captured[0]
    sent = 0
    # as captured, from alice's own address and from four others (other machines)
    sources = [(HOST, alice.port)] + [(f"127.0.0.{i}", 40000 + i) for i in range(2, 6)]
    for source in sources:
        send_spoofed(original, source, (HOST, bob.port))
        sent += 1
    for i in range(len(original)):  # each byte flipped in turn, from each source in turn
        altered = bytearray(original)
        altered[i] ^= 0x01
        send_spoofed(bytes(altered), sources[i % len(sources)], (HOST, bob.port))
        sent += 1
    direct(alice, bob, "after the attack")  # bob has read everything sent before this
    bob.drain()
    assert bob.count(re.escape("only once")) == 1
    assert bob.count(r"^>>> (?!\[)") == 2, "bob showed a line nobody sent"
    assert sent > 100


@pytest.mark.timeout(60)
def test_a_replay_after_the_receiver_restarted_shows_nothing(shared_chat: ChatEnv) -> None:
    alice, bob = shared_chat.start_peers("alice", "bob")
    with capturing() as capture:
        direct(alice, bob, "said once")
    captured = _chat_datagrams(capture, bob.port)
    bob.send("/quit")
    assert bob.wait_exit() == 0
    bob = shared_chat.restart_peer(bob)
    for datagram in captured:
        send_spoofed(datagram, (HOST, alice.port), (HOST, bob.port))
    reaches(alice, bob, "after the replay")  # alice's table may not have bob back yet
    bob.drain()
    assert bob.count(re.escape("said once")) == 0


@pytest.mark.timeout(60)
def test_a_forger_can_neither_take_a_token_nor_act_for_a_name(shared_chat: ChatEnv) -> None:
    chat = shared_chat
    registry = chat.registry
    assert registry is not None
    alice, bob = chat.start_peers("alice", "bob")
    assert chat.registry_port is not None
    server = (HOST, chat.registry_port)
    with SecureSocket() as forger:
        forger.learn_key(server)
        # a Register without token for alice's name, at alice's own port: no token back
        grab = messages.Register("grab-1", alice.name, alice.port, "", "", WIRE_VERSION)
        assert alice.name in forger.ask(grab, server, messages.Refused).reason  # not a Welcome
        # a channel post and a dereg in alice's name, with any token: refused
        for forged in (
            messages.ChannelPost("post-1", alice.name, "0" * 32, "forged post"),
            messages.Deregister("quit-1", alice.name, "0" * 32, True, "forged"),
        ):
            answer = forger.ask(forged, server, messages.Refused)  # not an Ack
            assert answer.reason == "That name belongs to another key."
    registry.expect(r"another key")
    direct(alice, bob, "alice is still alice")
    bob.drain()
    assert bob.count("forged") == 0


@pytest.mark.timeout(60)
def test_a_table_update_acks_or_chats_from_a_key_not_the_registrys_change_nothing(
    shared_chat: ChatEnv,
) -> None:
    chat = shared_chat
    alice, bob = chat.start_peers("alice", "bob")
    assert chat.registry_port is not None
    server = (HOST, chat.registry_port)
    with SecureSocket() as mallory:
        mallory.learn_key(server)
        name = chat.named("mallory")
        register = messages.Register("m-reg", name, mallory.address[1], "", "", WIRE_VERSION)
        welcome = mallory.ask(register, server, messages.Welcome)
        rows = {entry.name: entry for entry in welcome.entries}
        bob_key = key_from_text(rows[bob.name].key)
        assert bob_key is not None
        bob.expect_line(TABLE_UPDATED)
        to_bob = (HOST, bob.port)
        # alice's row moved to mallory's address, as if from the registry
        moved = messages.Entry(alice.name, HOST, mallory.address[1], True, rows[alice.name].key)
        mallory.send(messages.TableUpdate("m-1", 10**6, (moved,)), to_bob, bob_key)
        # a chat in alice's name, and acks for whatever bob sends
        forged = messages.Chat("m-2", alice.name, bob.name, "forged as alice")
        mallory.send(forged, to_bob, bob_key)
        mallory.receive(1.0)
    direct(bob, alice, "my bank PIN is 9876")  # still reaches alice, acked by alice
    bob.drain()
    alice.drain()
    assert bob.count("forged as alice") == 0
    assert alice.count(re.escape("my bank PIN is 9876")) == 1


@pytest.mark.timeout(60)
def test_a_forged_ack_from_another_key_is_dropped_and_the_message_saved(chat: ChatEnv) -> None:
    # bob sends to alice, who is gone; mallory, with a key of its own, acks that very chat
    # (its id read from bob's verbose log): bob must not take it as received
    chat.start_registry(options=["--keepalive", "30"])  # alice stays online in the table
    alice = chat.start_peer("alice")
    bob = chat.start_peer("bob", options=["-v"])
    alice.kill()
    assert chat.registry_port is not None
    with SecureSocket(host="127.0.0.7") as mallory:
        bob_key = _key_of(mallory, (HOST, chat.registry_port), "bob")
        bob.send("send alice for alice only")
        chat_id = bob.expect(r"-> \S+ Chat\(id='([^']+)'")[1]
        ack = messages.Ack("m-ack", chat_id)
        mallory.send(ack, (HOST, bob.port), bob_key)
        mallory.receive(1.0)  # the handshake answered, the ack sent
        bob.expect(r"dropped Ack from 127\.0\.0\.7:\d+: an answer from a key it was not owed by")
    bob.expect_line(NO_ACK.format("alice"), timeout=15)
    assert bob.count(re.escape(RECEIVED_BY.format("alice"))) == 0


def _key_of(sock: SecureSocket, server: tuple[str, int], name: str) -> bytes:
    """`name`'s key, as the registry's table gives it to anyone who registers."""
    sock.learn_key(server)
    register = messages.Register("k-1", "mallory", sock.address[1], "", "", WIRE_VERSION)
    welcome = sock.ask(register, server, messages.Welcome)
    key = next(key_from_text(e.key) for e in welcome.entries if e.name == name)
    assert key is not None
    return key


@pytest.mark.timeout(60)
def test_the_registrys_files_and_log_hold_no_password_or_token(chat: ChatEnv) -> None:
    registry = chat.start_registry(options=["-v"])
    alice = chat.start_peer("alice", wait=False, password=PASSWORD)
    alice.expect_line(WELCOME, PASSWORD_CHECK_WAIT)
    registry.expect(r"<- .* Register\(")  # -v logs every message
    registry.expect(r"-> .* Welcome\(")
    token = (chat.peer_dir / "peers" / "alice.json").read_text()
    token = re.search(r'"token": "([0-9a-f]{32})"', token).group(1)  # type: ignore[union-attr]
    for path in chat.registry_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert PASSWORD.encode() not in data, path
            assert token.encode() not in data, path  # table.json keeps its hash only
    registry.drain()
    logged = "\n".join(registry.transcript)
    assert PASSWORD not in logged
    assert token not in logged


@pytest.mark.timeout(30)
def test_spoofed_clear_datagrams_from_the_registrys_address_change_nothing(
    shared_chat: ChatEnv,
) -> None:
    chat = shared_chat
    alice, bob = chat.start_peers("alice", "bob")
    assert chat.registry_port is not None
    forged = (
        b'{"t":"TableUpdate","id":"x-1","version":999999,'
        b'"entries":[["' + alice.name.encode() + b'","127.0.0.1",9,true,""]]}'
    )
    send_spoofed(forged, (HOST, chat.registry_port), (HOST, bob.port))
    direct(bob, alice, "still to alice")


@pytest.mark.timeout(40)
def test_a_new_key_at_the_address_of_a_name_still_online_hears_why_it_is_refused(
    chat: ChatEnv,
) -> None:
    # alice is killed; a start of "alice" from another data folder (another key, no token)
    # on the same port, while the registry still counts alice online: the refusal is
    # sealed for the key that asked, not for the key the table holds at that address
    registry = chat.start_registry(options=["--keepalive", "30"])
    (alice,) = chat.start_peers("alice")
    alice.kill()
    other = chat.start_peer("alice", port=alice.port, data_dir=chat.root / "other", wait=False)
    other.expect_line("[The name alice is in use by a peer that is online.]")
    assert other.wait_exit() == 1
    registry.expect(r"refused registration of alice")


@pytest.mark.slow
def test_a_registry_that_answers_with_another_key_is_said_to_peers_running_and_starting(
    chat: ChatEnv,
) -> None:
    # Someone else at the registry's address (or the registry with a new key): the secure
    # channel keeps it from being trusted, and each peer says why it went silent.
    registry = chat.start_registry()
    alice = chat.start_peer("alice")
    registry.kill()
    chat.start_registry(data_dir=chat.root / "impostor")
    alice.send("send_all anyone there?")  # unanswered: the registry is away, and asked its key
    another_key = r"^>>> \[The registry at .* answers with another key than the one pinned "
    alice.expect(another_key)
    assert alice.alive
    alice.kill()
    again = chat.restart_peer(alice, wait=False)
    again.expect(another_key)
    # (after two rounds of its registration's copies, each longer apart: 7.5 s a round)
    again.expect_line("[Could not register; is the registry running?]", timeout=25)
