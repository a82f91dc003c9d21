"""The operator client (`ChatApp -o`: OperatorCore run by the DeskRunner) against a scripted
desk on loopback: what it does when its connection drops while on duty."""

from __future__ import annotations

import asyncio

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from peer.adapter.desk.runner import ClientEvent, DeskRunner, RunnerSettings
from peer.core.desk.duty import OperatorCore
from peer.core.desk.link import ClientSettings
from secure.noise import public_bytes
from secure.stream import SecureStream
from tests.desk.person_harness import Screen
from wire.base import IdMaker
from wire.desk.messages import DeskEnded, DeskLeave, DeskOnDuty, DeskOperator, DeskRefused
from wire.messages import Message
from wire.refusals import RefusalCode

ALREADY = "Cannot go on duty: an operator named ann is already on duty."


#: The scripted desk's key, which the operator's runner is given.
DESK_KEY = X25519PrivateKey.generate()


async def _first_frame(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, decoder: SecureStream
) -> Message:
    while True:
        frames = decoder.feed(await reader.read(4096))
        writer.write(decoder.output())
        if frames:
            return frames[0]


async def _scripted_desk(answers: list[str]) -> tuple[asyncio.Server, list[Message]]:
    """A desk answering each connection's DeskOperator with the next of `answers`: "duty"
    (on duty, then the connection breaks), "refused" (already on duty, closed), "stay" (on
    duty, kept, and a DeskLeave is answered)."""
    received: list[Message] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = SecureStream(DESK_KEY)

        def send(message: Message) -> None:
            decoder.send(message)
            writer.write(decoder.output())

        hello = await _first_frame(reader, writer, decoder)
        received.append(hello)
        assert isinstance(hello, DeskOperator)
        answer = answers.pop(0)
        if answer == "refused":
            send(DeskRefused("d", hello.id, ALREADY, RefusalCode.ALREADY_ON_DUTY))
        else:
            send(DeskOnDuty("d", hello.id, hello.name, hello.topics, 0, 0))
        if answer == "stay":
            leave = await _first_frame(reader, writer, decoder)
            assert isinstance(leave, DeskLeave)
            send(DeskEnded("d", "You went off duty.", False, -1))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, received


@pytest.mark.timeout(10)
def test_an_operator_refused_as_already_on_duty_while_reconnecting_tries_again() -> None:
    async def scenario() -> tuple[int, list[str], list[Message]]:
        server, received = await _scripted_desk(["duty", "refused", "refused", "stay"])
        port = server.sockets[0].getsockname()[1]
        term = Screen()
        settings = ClientSettings(retry=(0.01, 0.02))
        core = OperatorCore("ann", ("127.0.0.1", port), "key", IdMaker("t"), settings)
        runner = DeskRunner(
            core,
            RunnerSettings(
                client="operator client", screen=term, registry_key=public_bytes(DESK_KEY)
            ),
        )
        run = asyncio.create_task(runner.run())
        await asyncio.wait_for(term.until("On duty as ann", times=2), 5)
        runner.events.put_nowait(ClientEvent("end"))
        code = await asyncio.wait_for(run, 5)
        server.close()
        return code, term.lines, received

    code, lines, received = asyncio.run(scenario())
    assert code == 0
    assert len(received) == 4  # one connection on duty, two refused, one on duty again
    assert sum("already on duty" in line for line in lines) == 1  # said once, not per try
    assert any("already on duty. Trying again." in line for line in lines)
    assert sum("On duty as ann" in line for line in lines) == 2
