"""The secure channel's bare round trip that bench.direct's target is measured against:
it really makes a handshake and carries each datagram sealed, out and back."""

from __future__ import annotations

import asyncio

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from bench.secure_echo import SecureEcho, echo_key, round_trips

pytestmark = pytest.mark.timeout(20)


def test_round_trips_go_through_the_channel_and_come_back() -> None:
    async def scenario() -> tuple[list[float], SecureEcho]:
        loop = asyncio.get_running_loop()
        static = X25519PrivateKey.generate()
        transport, echo = await loop.create_datagram_endpoint(
            lambda: SecureEcho(static), local_addr=("127.0.0.1", 0)
        )
        port = transport.get_extra_info("sockname")[1]
        try:
            return await round_trips(port, echo_key(static), 20), echo
        finally:
            transport.close()

    times, echo = asyncio.run(scenario())
    assert len(times) == 20 and all(0 < t < 1 for t in times)
    assert not echo.channel.dropped  # every datagram opened: none went in clear


def test_a_pinger_with_the_wrong_key_gets_no_answer() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: SecureEcho(X25519PrivateKey.generate()), local_addr=("127.0.0.1", 0)
        )
        port = transport.get_extra_info("sockname")[1]
        wrong = echo_key(X25519PrivateKey.generate())
        try:
            with pytest.raises(TimeoutError):
                await round_trips(port, wrong, 1, timeout=0.2)
        finally:
            transport.close()

    asyncio.run(scenario())
