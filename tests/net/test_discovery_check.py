"""Which records found on the network are checked, and which prove the key they advertise
(net/discovery.py): the choice pure, the proof against small servers on loopback
(records on a real network: tests/e2e/test_discovery.py)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

import net.discovery as discovery
from net.discovery import CHECKED, Advertised, Found, checked, proven, to_probe, usable
from secure.channel import KEY_ANSWER
from secure.noise import CHANNEL_PROTOCOL, public_bytes
from secure.stream import KeyGiven, SecureStream, frame
from wire.codec import DecodeError
from wire.keys import code_from_text, join_code

pytestmark = pytest.mark.timeout(20)

KEY_A, KEY_B = os.urandom(32), os.urandom(32)
CODE_A, CODE_B = join_code(KEY_A), join_code(KEY_B)
DIGITS_A, DIGITS_B = code_from_text(CODE_A), code_from_text(CODE_B)


def test_only_usable_addresses_and_ports_are_checked() -> None:
    assert usable("192.168.1.20", 5000) and usable("127.0.0.1", 1)
    for ip, port in [
        ("0.0.0.0", 5000), ("255.255.255.255", 5000), ("224.0.0.251", 5000),
        ("240.0.0.1", 5000), ("::1", 5000), ("example.org", 5000), ("10.0.0.1", 0),
        ("10.0.0.1", 65536), ("", 5000),
    ]:  # fmt: skip
        assert not usable(ip, port), (ip, port)


def test_records_at_one_address_are_checked_once_with_every_code_they_gave() -> None:
    found = [
        Found("10.0.0.2", 5000, CODE_A),
        Found("10.0.0.2", 5000, CODE_B),
        Found("10.0.0.2", 5000, CODE_A.replace("-", " ")),
        Found("10.0.0.2", 5000, "junk"),
        Found("10.0.0.3", 5000, ""),
        Found("0.0.0.0", 5000, CODE_A),
    ]
    assert to_probe(found) == [Advertised("10.0.0.2", 5000, frozenset({DIGITS_A, DIGITS_B}))]
    assert to_probe(found, DIGITS_B) == [Advertised("10.0.0.2", 5000, frozenset({DIGITS_B}))]
    assert to_probe(found, code_from_text(join_code(os.urandom(32)))) == []


def test_many_records_at_a_few_addresses_crowd_out_none_elsewhere() -> None:
    # 200 made-up records from two addresses heard first, the real registry last
    flood = [Found(f"10.0.0.{1 + i % 2}", 6000 + i, join_code(os.urandom(32))) for i in range(200)]
    probes = to_probe([*flood, Found("192.168.1.20", 5000, CODE_A)])
    assert len(probes) == CHECKED
    assert probes[2] == Advertised("192.168.1.20", 5000, frozenset({DIGITS_A}))
    assert [p.ip for p in probes[:2]] == ["10.0.0.1", "10.0.0.2"]  # in turn, as heard


@given(
    st.lists(
        st.builds(
            Found,
            st.sampled_from(["10.0.0.1", "10.0.0.2", "0.0.0.0", "224.0.0.1", "x"]),
            st.integers(0, 70000),
            st.sampled_from([CODE_A, CODE_B, "", "1" * 300]),
        ),
        max_size=40,
    ),
    st.integers(1, 10),
)
def test_the_addresses_checked_are_distinct_usable_and_within_the_limit(
    found: list[Found], limit: int
) -> None:
    probes = to_probe(found, limit=limit)
    assert len(probes) <= limit
    assert len({(p.ip, p.port) for p in probes}) == len(probes)
    assert all(usable(p.ip, p.port) and p.codes for p in probes)
    coded = {(f.ip, f.port) for f in found if usable(f.ip, f.port) and code_from_text(f.code)}
    assert len(probes) == min(limit, len(coded))


Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def _registry(private: X25519PrivateKey) -> Serve:
    """A server answering as a registry holding `private` does: its key, its handshake."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stream = SecureStream(private)
        try:
            while data := await reader.read(4096):
                stream.feed(data)
                writer.write(stream.output())
        except KeyGiven:
            writer.write(stream.output())
        except DecodeError:
            pass
        writer.close()

    return serve


def _copy(key: bytes, then: bytes | None) -> Serve:
    """A server answering a request for the key with `key`, as anyone can copy it, and any
    handshake with `then` (None: nothing, ever)."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            SecureStream(X25519PrivateKey.generate()).feed(await reader.read(4096))
        except KeyGiven:
            writer.write(frame(bytes([KEY_ANSWER]) + key + CHANNEL_PROTOCOL))
        except DecodeError:
            if then is None:
                await reader.read()  # until the other side gives up
            else:
                writer.write(then)
        writer.close()

    return serve


def _proven_at(serve: Serve, code: str, probe: float = 1.0) -> tuple[Found | None, float]:
    async def run() -> tuple[Found | None, float]:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        started = time.monotonic()
        async with server:
            found = await proven(Advertised("127.0.0.1", port, frozenset({code})))
            return found, time.monotonic() - started

    discovery.PROBE, saved = probe, discovery.PROBE
    try:
        return asyncio.run(run())
    finally:
        discovery.PROBE = saved


def test_a_registry_holding_the_advertised_key_proves_it() -> None:
    private = X25519PrivateKey.generate()
    code = join_code(public_bytes(private))
    found, _ = _proven_at(_registry(private), code_from_text(code) or "")
    assert found is not None and found.code == code and found.ip == "127.0.0.1"
    other, _ = _proven_at(_registry(private), DIGITS_A or "")  # another key's code
    assert other is None


@pytest.mark.parametrize(
    "then",
    [b"", frame(bytes(range(48))), b"\xff\xff\xff\xff" + bytes(100), frame(bytes(5000))],
    ids=["closed", "not-a-response", "frame-too-long", "frame-over-handshake-size"],
)
def test_a_copy_of_the_key_without_its_private_half_proves_nothing(then: bytes) -> None:
    found, took = _proven_at(_copy(KEY_A, then), DIGITS_A or "")
    assert found is None and took < 1.0


def test_an_address_that_never_finishes_is_given_up_within_its_time() -> None:
    found, took = _proven_at(_copy(KEY_A, None), DIGITS_A or "", probe=0.3)
    assert found is None and 0.25 < took < 1.0


def test_nothing_listening_or_no_route_proves_nothing_at_once() -> None:
    async def run() -> list[Found]:
        return await checked([Found("127.0.0.1", 1, CODE_A), Found("0.0.0.0", 1, CODE_A)])

    started = time.monotonic()
    assert asyncio.run(run()) == []
    assert time.monotonic() - started < 1.0
