"""Reading a connection frame by frame (net.served_stream.Frames): whole frames as they come,
silence between frames, and a deadline for a frame once begun."""

from __future__ import annotations

import asyncio

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from net import served_stream
from net.served_stream import Frames, LateFrame
from secure.noise import public_bytes
from secure.stream import SecureStream
from wire.codec import DecodeError
from wire.desk.messages import DeskLine, DeskLook
from wire.messages import Message


def sessions() -> tuple[SecureStream, SecureStream]:
    """A client's secure session and the desk's, past their handshake."""
    desk_key = X25519PrivateKey.generate()
    client = SecureStream(X25519PrivateKey.generate(), remote=public_bytes(desk_key))
    desk = SecureStream(desk_key)
    assert desk.feed(client.output()) == []
    client.feed(desk.output())
    return client, desk


def sent(client: SecureStream, *messages: Message) -> bytes:
    for message in messages:
        client.send(message)
    return client.output()


pytestmark = pytest.mark.timeout(10)


def test_whole_frames_are_read_and_the_end_is_none() -> None:
    async def scenario() -> None:
        client, desk = sessions()
        reader = asyncio.StreamReader()
        reader.feed_data(sent(client, DeskLook("q-1"), DeskLook("q-2")))
        reader.feed_eof()
        frames = Frames(desk, reader, None, begun=False)
        assert await frames.read() == [DeskLook("q-1"), DeskLook("q-2")]
        assert await frames.read() is None

    asyncio.run(scenario())


def test_part_of_a_frame_is_no_message_yet() -> None:
    async def scenario() -> None:
        client, desk = sessions()
        data = sent(client, DeskLine("l-1", "", "hello", "s-1"))
        reader = asyncio.StreamReader()
        frames = Frames(desk, reader, None, begun=False)
        reader.feed_data(data[:5])
        assert await frames.read() == []
        reader.feed_data(data[5:])
        assert await frames.read() == [DeskLine("l-1", "", "hello", "s-1")]

    asyncio.run(scenario())


def test_a_frame_begun_must_be_whole_within_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(served_stream, "FRAME_DEADLINE", 0.2)

    async def scenario() -> None:
        client, desk = sessions()
        data = sent(client, DeskLine("l-1", "", "x" * 200, "s-1"))
        reader = asyncio.StreamReader()
        frames = Frames(desk, reader, 5.0, begun=False)
        reader.feed_data(data[:10])
        assert await frames.read() == []
        with pytest.raises(LateFrame, match=r"no whole frame within 0.2 s"):
            await frames.read()

    asyncio.run(scenario())


def test_a_patient_reading_takes_a_frame_as_long_as_its_bytes_come(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a connection we made: a whole table from a busy registry may take longer to come
    # than FRAME_DEADLINE, and is still read; silence as long as `idle` ends it
    monkeypatch.setattr(served_stream, "FRAME_DEADLINE", 0.1)

    async def scenario() -> None:
        client, desk = sessions()
        data = sent(client, DeskLine("l-1", "", "x" * 200, "s-1"))
        reader = asyncio.StreamReader()
        frames = Frames(desk, reader, 0.5, begun=False)
        frames.patient = True
        *parts, last = [data[at : at + 10] for at in range(0, len(data), 10)]
        for part in parts:  # well over the deadline in all, bytes in each of its tenths
            reader.feed_data(part)
            assert await frames.read() == []
            await asyncio.sleep(0.01)
        reader.feed_data(last)
        assert await frames.read() == [DeskLine("l-1", "", "x" * 200, "s-1")]
        assert await frames.read() is None  # then silent for `idle`

    asyncio.run(scenario())


def test_a_patient_reading_has_the_deadline_for_the_handshake(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(served_stream, "FRAME_DEADLINE", 0.1)

    async def scenario() -> None:
        desk_key = X25519PrivateKey.generate()
        client = SecureStream(X25519PrivateKey.generate(), remote=public_bytes(desk_key))
        reader = asyncio.StreamReader()
        frames = Frames(SecureStream(desk_key), reader, 5.0, begun=False)
        frames.patient = True
        reader.feed_data(client.output()[:10])  # a handshake frame begun, never whole
        assert await frames.read() == []
        with pytest.raises(LateFrame):
            await frames.read()

    asyncio.run(scenario())


def test_silence_between_frames_has_no_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(served_stream, "FRAME_DEADLINE", 0.1)

    async def scenario() -> None:
        client, desk = sessions()
        reader = asyncio.StreamReader()
        frames = Frames(desk, reader, None, begun=False)
        reading = asyncio.ensure_future(frames.read())
        await asyncio.sleep(0.3)  # three deadlines of silence
        assert not reading.done()
        reader.feed_data(sent(client, DeskLook("q-1")))
        assert await reading == [DeskLook("q-1")]

    asyncio.run(scenario())


def test_what_does_not_decode_is_refused() -> None:
    async def scenario() -> None:
        _, desk = sessions()
        reader = asyncio.StreamReader()
        reader.feed_data(b"\x00\x00\x00\x05hello")
        with pytest.raises(DecodeError):
            await Frames(desk, reader, None, begun=False).read()

    asyncio.run(scenario())


def test_silence_longer_than_idle_ends_the_reading() -> None:
    async def scenario() -> None:
        _, desk = sessions()
        assert await Frames(desk, asyncio.StreamReader(), 0.1, begun=False).read() is None

    asyncio.run(scenario())


def test_a_frame_begun_already_has_the_deadline_from_the_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(served_stream, "FRAME_DEADLINE", 0.1)

    async def scenario() -> None:
        _, desk = sessions()
        with pytest.raises(LateFrame):
            await Frames(desk, asyncio.StreamReader(), None, begun=True).read()

    asyncio.run(scenario())
