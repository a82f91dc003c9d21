"""The frame a refusal in clear travels in over TCP: a 4-byte big-endian length, then the
message's body, at most MAX_FRAME (docs/PROTOCOL.md, "Transports")."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from wire_strategies import messages

from wire.codec import encode
from wire.framing import encode_frame
from wire.limits import FRAME_HEADER, MAX_FRAME
from wire.messages import Message, Notice


@settings(deadline=None)
@given(messages)
def test_frame_layout(message: Message) -> None:
    frame = encode_frame(message)
    body = encode(message)
    assert frame[:FRAME_HEADER] == len(body).to_bytes(FRAME_HEADER, "big")
    assert frame[FRAME_HEADER:] == body


def test_largest_frame_is_made() -> None:
    overhead = len(encode(Notice(id="n", text="")))
    message = Notice(id="n", text="x" * (MAX_FRAME - overhead))
    assert len(encode_frame(message)) == FRAME_HEADER + MAX_FRAME


def test_oversized_body_cannot_be_framed() -> None:
    overhead = len(encode(Notice(id="n", text="")))
    message = Notice(id="n", text="x" * (MAX_FRAME - overhead + 1))
    assert len(encode(message)) == MAX_FRAME + 1
    with pytest.raises(ValueError):
        encode_frame(message)
