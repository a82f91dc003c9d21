"""Names are owned and network input is untrusted (docs/SECURITY.md), end to end:
a taken name is refused, nobody can deregister someone else, and a registry showered with
junk datagrams and junk TCP streams stays up and keeps serving. Loopback only, bounded."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import struct
import typing
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .harness import HOST, OFFLINE_BYE, ChatEnv, Peer, chat_line, direct, free_port, line, reaches
from .secure_socket import SecureSocket

from wire.refusals import REPLACED_REFUSAL  # isort: skip
from wire import codec, messages  # isort: skip  (harness puts the repository on sys.path)
from wire.codec import DecodeError  # isort: skip
from secure.stream import frame  # isort: skip
from wire.limits import FRAME_HEADER, MAX_FRAME  # isort: skip

#: Seed of the junk generator; set CHATAPP_FUZZ_SEED to replay another run.
SEED = int(os.environ.get("CHATAPP_FUZZ_SEED", "20250521"))
#: Junk datagrams sent at the registry, and junk TCP connections opened to it.
DATAGRAMS = 3000
STREAMS = 50
#: Datagrams between two pacing probes (a probe waits for the registry to catch up).
BATCH = 250


def unique(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


def udp_exchange(port: int, data: bytes, wait: float) -> bytes | None:
    """Send one datagram from a fresh socket; return the first reply within `wait` s, if any."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        sock.settimeout(wait)
        sock.sendto(data, (HOST, port))
        try:
            return sock.recv(65535)
        except (TimeoutError, OSError):
            return None


# -- ownership -------------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_names_are_owned(shared_chat: ChatEnv) -> None:
    chat = shared_chat
    registry = chat.registry
    assert registry is not None
    assert chat.registry_port is not None
    x, y = chat.start_peers("x", "y")

    # x cannot deregister y: refused locally, with a one-line explanation.
    x.send(f"dereg {y.name}")
    x.expect(r"^>>> \[.*\bonly\b")
    assert x.alive

    # A forged Deregister for y, sealed with a key of the forger's own, is refused: the name
    # is y's key's. (In clear it would not even be read: see test_attacks.py.)
    forged = make(
        messages.Deregister, id="evil-1", name=y.name, token="wrong", farewell="", quitting=False
    )
    with SecureSocket() as forger:
        server = (HOST, chat.registry_port)
        forger.learn_key(server)
        answer = forger.ask(forged, server, messages.Refused)  # not an Ack: it did nothing
    assert "another key" in answer.reason
    registry.expect(rf"refused dereg of {y.name} .*another key")

    # y is still online: x's next direct message reaches it, and nobody saw y go.
    direct(x, y, unique("still-there"))
    assert y.count(line(OFFLINE_BYE)) == 0
    registry.drain()
    assert registry.count(rf"deregistered {y.name}\b") == 0

    # A second process asking for the name y, held by a peer that answers, is refused.
    # As a script: its lines are said not carried out, after the reason (the line saying
    # it quits once the registry answers only comes if that answer is late).
    intruder = chat.start_peer(y.name, data_dir=chat.root / "intruder", wait=False)
    intruder.send("join lobby")
    intruder.close_stdin()
    intruder.expect(r"^>>> \[.*in use")
    intruder.expect_line("[Not carried out, as you are not registered: join lobby]")
    assert intruder.wait_exit() != 0
    assert intruder.count(r"Traceback") == 0
    direct(x, y, unique("still-mine"))
    assert y.alive


@pytest.mark.timeout(40)
def test_a_killed_holder_is_asked_and_its_name_given_to_the_next_start_at_once(
    chat: ChatEnv,
) -> None:
    """x is killed (-9) and started again on another port with its data directory: the
    registry asks the old x, gets no answer, and welcomes the new one at once, not once its
    silence has run out. A third start of x, while the second answers, is refused."""
    registry = chat.start_registry(options=("--keepalive", "30"))  # a silence of 90 s
    x, y = chat.start_peers("x", "y")
    x.kill()
    x2 = chat.start_peer("x", data_dir=x.data_dir, timeout=5)  # 1.5 s of probe
    registry.expect(r"x silent for \d+ s; offline \(it did not answer a probe\)")
    text = unique("to-the-new-x")
    y.send(f"send x {text}")
    x2.expect(chat_line("y", text))
    elsewhere = chat.root / "x-third"
    (elsewhere / "peers").mkdir(parents=True)
    shutil.copy(x.data_dir / "peers" / "x.json", elsewhere / "peers" / "x.json")
    x3 = chat.start_peer("x", data_dir=elsewhere, wait=False)
    x3.expect_line(
        f"[The name x is in use by a peer at {HOST}:{x2.port}, which answered just now. "
        "Stop it first, or choose another name.]"
    )
    assert x3.wait_exit() == 1
    direct(x2, y, unique("still-x"))


def _start_again_elsewhere(chat: ChatEnv, x: Peer) -> Peer:
    """A second start of `x` from another data directory holding x's token (its owner on
    another machine, say), while the first is stopped: the registry probes the first for
    1.5 s, no more, before the second has the name."""
    elsewhere = chat.root / "x-elsewhere"
    (elsewhere / "peers").mkdir(parents=True)
    token = Path("peers", f"{x.name}.json")
    shutil.copy(x.data_dir / token, elsewhere / token)
    return chat.start_peer(x.name, data_dir=elsewhere, timeout=5)


@pytest.mark.timeout(40)
def test_a_start_stopped_while_its_name_was_taken_over_is_told_and_exits(
    shared_chat: ChatEnv,
) -> None:
    """x is stopped (kill -STOP); its owner starts x again elsewhere (the token copied to
    another data directory). The registry asks the first x, which does not answer, and
    gives the name to the second at once. Continued, the first is told who holds the name
    and exits 1, without taking it from the second."""
    chat = shared_chat
    registry = chat.registry
    assert registry is not None
    x, y = chat.start_peers("x", "y")
    os.kill(x.pid, signal.SIGSTOP)
    try:
        x2 = _start_again_elsewhere(chat, x)
        registry.expect(rf"{x.name} silent for \d+ s; offline \(it did not answer a probe\)")
        first = unique("to-the-second")
        y.send(f"send {x.name} {first}")  # directly, or through the registry if y's table is behind
        x2.expect(chat_line(y.name, first))
    finally:
        os.kill(x.pid, signal.SIGCONT)
    x.expect_line(
        f"[{REPLACED_REFUSAL} {x.name}, at {HOST}:{x2.port}. "
        f"This start stops: it no longer sends as {x.name}.]"
    )
    assert x.wait_exit() == 1
    direct(y, x2, unique("still-the-second"))
    direct(x2, y, unique("from-the-second"))
    registry.drain()
    assert registry.count(rf"deregistered {x.name}\b") == 0
    assert x.count(r"Traceback") == 0


@pytest.mark.timeout(40)
def test_a_start_replaced_by_one_that_left_since_is_told_so_and_takes_the_name_back(
    shared_chat: ChatEnv,
) -> None:
    """As above, but the second x deregisters before the first is continued: the first is
    told that the other start took the name and has gone offline since (not that it "holds"
    it), and started again it takes the name back."""
    chat = shared_chat
    registry = chat.registry
    assert registry is not None
    x, y = chat.start_peers("x", "y")
    os.kill(x.pid, signal.SIGSTOP)
    try:
        x2 = _start_again_elsewhere(chat, x)
        x2.send(f"dereg {x.name}")
        x2.expect_line(OFFLINE_BYE)
    finally:
        os.kill(x.pid, signal.SIGCONT)
    x.expect_line(
        f"[Another start of ChatApp took the name {x.name} over, at {HOST}:{x2.port}, "
        "and has since gone offline (it deregistered). This start stops: it no longer "
        f"sends as {x.name}; start ChatApp again to take the name back.]"
    )
    assert x.wait_exit() == 1
    x3 = chat.start_peer(x.name, data_dir=x.data_dir)
    reaches(y, x3, unique("to-the-third"))  # y's table may not have x3 online yet
    registry.drain()
    assert x.count(r"Traceback") == 0


@pytest.mark.timeout(40)
def test_one_machine_registers_a_bounded_number_of_new_names(chat: ChatEnv) -> None:
    # a flood of names from one IP left thousands of offline names in the table, and every
    # online peer printed a line per change
    registry = chat.start_registry(options=["--new-names", "3"])
    alice, bob = chat.start_peers("alice", "bob")
    carol = chat.start_peer("carol", data_dir=chat.root / "carol")
    carol.send("/quit")
    assert carol.wait_exit() == 0
    dave = chat.start_peer("dave", data_dir=chat.root / "dave", wait=False)
    dave.close_stdin()
    assert dave.wait_exit() == 1
    text = "\n".join(dave.collect(5))
    assert (
        f">>> [Too many new names registered from {HOST} lately (at most 3 an hour); try "
        "again in 20 min, or start with a name you registered before.]"
    ) in text, text
    assert "Traceback" not in text and "Welcome" not in text
    registry.expect(r"refused registration of dave .*too many new names \(1 refused so far\)")
    # a name one has is always taken back: carol's, by its kept token
    chat.start_peer("carol", data_dir=chat.root / "carol")
    direct(alice, bob, unique("still-served"))


# -- junk -------------------------------------------------------------------------------------


def _field_values(dead_port: int) -> dict[str, object]:
    """Field values for hostile messages, by field name; other fields get a value by type."""
    return {
        "id": "fz-1", "reply_to": "nothing-1", "name": "victim", "sender": "fz2",
        "to": "victim", "token": "bad", "proof": "00$00", "port": dead_port,
        "text": "hello", "farewell": "bye", "room": "lobby", "new_name": "victim2",
        "ip": "10.0.0.1", "stamp": "2024-01-01 00:00:00", "kind": "direct",
    }  # fmt: skip


def make(cls: type[Any], values: dict[str, object] | None = None, **fields: object) -> Any:
    """An instance of message or record `cls`: `fields` as given, the rest from `values`
    by name or a plain value by type (so this keeps up with the message set as it grows)."""
    values = values or {}
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, object] = {}
    for name in _field_names(cls):
        if name in fields:
            kwargs[name] = fields[name]
        elif name in values:
            kwargs[name] = values[name]
        else:
            kwargs[name] = _plain(hints[name], values)
    return cls(**kwargs)


def _is_record(tp: object) -> bool:
    return isinstance(tp, type) and (hasattr(tp, "_fields") or tp is messages.Entry)


def _field_names(cls: type[Any]) -> list[str]:
    """The fields of a message or a record (a named tuple, or Entry), in order."""
    return list(getattr(cls, "_fields", None) or cls.__struct_fields__)


def _plain(tp: Any, values: dict[str, object]) -> object:
    if tp is str:
        return "fz"
    if tp is bool:
        return True
    if tp is int:
        return 7
    if typing.get_origin(tp) is tuple:
        item = typing.get_args(tp)[0]
        return (_plain(item, values),) if item is str or _is_record(item) else (1,)
    if _is_record(tp):
        return make(tp, values)
    return "fz"


def templates(dead_port: int) -> list[Any]:
    """One valid message of every type, as a hostile sender might send it; registrations
    name a port where nothing listens."""
    values = _field_values(dead_port)
    found: list[Any] = []
    for cls in messages.MESSAGE_TYPES.values():
        try:
            found.append(make(cls, values))
        except Exception:  # a field type this generator does not know: skip the type
            continue
    found.append(make(messages.Register, values, name="fz1"))
    return found


_ODD_BYTES = b'{}[]",:\\\x00\xff\x80\xc3 0123456789-etn'
_ODD_VALUES: list[object] = [
    None, True, False, 0, -1, 2**64, -(2**70), 1.5, 1e308, "", "x" * 300, "\ud800", "\x00",
    [], {}, [[[]]], {"t": "Ack"}, ["a", 1, None], "../../etc/passwd", "CON", "y" * 40,
]  # fmt: skip
_ODD_TYPES: list[object] = [
    "", "Nope", "register", "REGISTER", "Entry", "StoredMessage", "Message", "__class__",
    "A" * 500, 5, None, ["Register"], {"t": "Register"},
]  # fmt: skip


class Junk:
    """Seeded generator of hostile datagrams and stream payloads."""

    def __init__(self, seed: int, dead_port: int) -> None:
        self.rng = random.Random(seed)
        self.valid = [codec.encode(t) for t in templates(dead_port)]
        self.accepted_valid = 0
        self.accepted_register = 0

    def _random_bytes(self) -> bytes:
        rng = self.rng
        size = rng.choice([0, 1, 2, 4, rng.randint(3, 64), rng.randint(64, 1200)])
        return rng.randbytes(size)

    def _truncated(self) -> bytes:
        data = self.rng.choice(self.valid)
        return data[: self.rng.randrange(len(data))]

    def _byte_mutated(self) -> bytes:
        rng = self.rng
        data = bytearray(rng.choice(self.valid))
        for _ in range(rng.randint(1, 8)):
            pos = rng.randrange(len(data) + 1)
            new = rng.choice([rng.randrange(256), rng.choice(_ODD_BYTES)])
            op = rng.randrange(3)
            if op == 0 and pos < len(data):
                data[pos] = new
            elif op == 1:
                data.insert(pos, new)
            elif pos < len(data):
                del data[pos]
        return bytes(data)

    def _structural(self) -> bytes:
        rng = self.rng
        obj = json.loads(rng.choice(self.valid))
        fields = [k for k in obj if k != "t"]
        op = rng.randrange(7)
        whole: object = obj
        if op == 0 and fields:
            del obj[rng.choice(fields)]
        elif op == 1:
            obj[rng.choice(["zz", "t2", "id2", "__proto__"])] = rng.choice(_ODD_VALUES)
        elif op == 2:
            obj["t"] = rng.choice(_ODD_TYPES)
        elif op == 3 and fields:
            obj[rng.choice(fields)] = rng.choice(_ODD_VALUES)
        elif op == 4:
            whole = rng.choice([[obj], "Register", 42, None, [], obj.get("id")])
        elif op == 5:  # deep nesting, up to what still fits a datagram
            depth = rng.choice([50, 400, 590])
            return ("[" * depth + "]" * depth).encode()
        else:
            del obj["t"]
        return json.dumps(whole).encode()

    def _oversized(self) -> bytes:
        rng = self.rng
        if rng.random() < 0.5:
            return rng.randbytes(rng.randint(1201, 60000))
        chat = make(messages.Chat, id="fz-big", sender="fz6", to="victim",
                    text="A" * rng.randint(1200, 20000))  # fmt: skip
        return codec.encode(chat)

    def _bad_utf8(self) -> bytes:
        data = bytearray(self.rng.choice(self.valid))
        pos = self.rng.randrange(len(data))
        data[pos:pos] = self.rng.choice(
            [b"\xc3\x28", b"\xff", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"]
        )
        return bytes(data)

    def datagram(self) -> bytes:
        """A hostile datagram. Almost all are invalid; the few that decode as valid messages
        are capped (3 registrations of junk names, 40 in all), so the junk never turns into
        an unbounded number of registered names the registry must then push tables to."""
        makers: list[Callable[[], bytes]] = [
            self._random_bytes, self._truncated, self._byte_mutated, self._byte_mutated,
            self._structural, self._structural, self._oversized, self._bad_utf8,
        ]  # fmt: skip
        while True:
            data = self.rng.choice(makers)()
            try:
                decoded = codec.decode(data)
            except DecodeError:
                return data
            except Exception:  # a bug in wire; the registry must survive it all the same
                return data
            if isinstance(decoded, messages.Register):
                if self.accepted_register >= 3:
                    continue
                self.accepted_register += 1
            if self.accepted_valid >= 40:
                continue
            self.accepted_valid += 1
            return data

    def stream(self, i: int) -> tuple[bytes, str]:
        """A hostile TCP payload and how to end the connection: "close", "rst", "shut" or
        "hold" (left open until all streams are done)."""
        rng = self.rng
        framed = frame(codec.encode(make(messages.TableRequest, id=f"fz-t{i}")))
        kind = i % 10
        makers: dict[int, Callable[[], bytes]] = {
            0: lambda: rng.randbytes(rng.randint(1, 5000)),
            1: lambda: b"\xff\xff\xff\xff" + rng.randbytes(100),
            2: lambda: (MAX_FRAME + 1).to_bytes(FRAME_HEADER, "big") + rng.randbytes(64),
            3: lambda: framed[: rng.randrange(1, len(framed))],
            4: lambda: (1000).to_bytes(FRAME_HEADER, "big") + rng.randbytes(10),
            5: lambda: (300).to_bytes(FRAME_HEADER, "big") + rng.randbytes(300),
            6: lambda: b"\x00\x00\x00\x00" * 5,
            7: lambda: b"".join(
                len(d).to_bytes(FRAME_HEADER, "big") + d
                for d in (self.datagram() for _ in range(5))
            ),
            8: lambda: b"",
            9: lambda: b"\x00\x00",
        }
        payload = makers[kind]()
        end = rng.choice(["close", "rst", "shut", "hold"])
        return payload, end


def pace(port: int, dead_port: int, n: int) -> bool:
    """Send two harmless requests from a fresh socket and wait briefly for any answer.

    An answer means the registry has read the datagrams sent before, so the junk is really
    parsed rather than dropped by a full socket buffer. Silence is allowed (a registry may
    rate-limit an address); the wait is bounded.
    """
    probe = codec.encode(make(messages.TableRequest, id=f"pace-{n}"))
    if udp_exchange(port, probe, wait=0.4) is not None:
        return True
    bad_name = make(
        messages.Register, id=f"pace-r{n}", name=".bad", port=dead_port, token="", proof=""
    )
    return udp_exchange(port, codec.encode(bad_name), wait=0.4) is not None


@pytest.mark.slow
@pytest.mark.timeout(50)
def test_registry_survives_junk(chat: ChatEnv) -> None:
    registry = chat.start_registry()
    port = chat.registry_port
    assert port is not None
    dead_port = free_port()  # nothing listens there: the port in junk registrations
    junk = Junk(SEED, dead_port)
    context = f"(seed {SEED}; CHATAPP_FUZZ_SEED replays it)"

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        for n in range(DATAGRAMS):
            data = junk.datagram()
            # ENOBUFS, or a datagram too big even for loopback, is no failure of the registry.
            with contextlib.suppress(OSError):
                sock.sendto(data, (HOST, port))
            if n % BATCH == BATCH - 1:
                pace(port, dead_port, n)
                assert registry.alive, f"the registry died after {n + 1} datagrams {context}"

    held: list[socket.socket] = []
    try:
        for i in range(STREAMS):
            payload, end = junk.stream(i)
            try:
                conn = socket.create_connection((HOST, port), timeout=2)
            except OSError as exc:
                raise AssertionError(f"TCP connection {i} refused: {exc} {context}") from exc
            try:
                if payload:
                    conn.sendall(payload)
                if end == "shut":
                    conn.shutdown(socket.SHUT_WR)
                if end == "rst":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:  # the registry closed it already: fine
                pass
            if end == "hold":
                held.append(conn)
            else:
                conn.close()
        assert registry.alive, f"the registry died from junk streams {context}"
    finally:
        for conn in held:
            conn.close()

    # Still serving: new peers register and chat.
    a, b = chat.start_peers("after1", "after2")
    direct(a, b, unique("after-the-junk"))
    direct(b, a, unique("and-back"))
    assert registry.alive, f"the registry died {context}"
    registry.drain()
    assert registry.count(r"Traceback") == 0, f"the registry logged a traceback {context}"
