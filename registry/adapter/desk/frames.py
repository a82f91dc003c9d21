"""The messages of one help-desk connection as they arrive: silence between frames is
the heartbeat's to judge, but a frame, once begun, must be whole within a deadline.
"""

from __future__ import annotations

import asyncio

from secure.stream import SecureStream
from wire.errors import DecodeError, OtherVersion
from wire.messages import Message

#: Bytes read from a connection at a time.
READ_CHUNK = 64 * 1024


class FrameRefused(Exception):
    """What arrived cannot be read on: the reason, in words for the log and for a notice
    to the connection before it is closed."""


class FrameReader:
    """Reads the messages of a connection through its secure session `decoder`, which may
    already hold the start of a frame. Create it inside the event loop."""

    def __init__(
        self, decoder: SecureStream, reader: asyncio.StreamReader, deadline: float
    ) -> None:
        """`deadline`: the seconds a frame, once begun, has to be whole."""
        self._decoder = decoder
        self._reader = reader
        self._deadline = deadline
        self._clock = asyncio.get_running_loop().time
        # when the frame being read began (None: between frames)
        self._began: float | None = self._clock() if decoder.pending else None

    async def read(self) -> list[Message] | None:
        """The messages whole after the next read, or None once the other side has closed.
        Raises FrameRefused for a frame late, of another version or undecodable; OSError."""
        if self._began is None:
            data = await self._reader.read(READ_CHUNK)
        else:
            wait = max(0.0, self._began + self._deadline - self._clock())
            try:
                data = await asyncio.wait_for(self._reader.read(READ_CHUNK), wait)
            except TimeoutError:
                raise FrameRefused(f"no whole frame within {self._deadline:g} s") from None
        if not data:
            return None
        try:
            messages = list(self._decoder.feed(data))
        except OtherVersion as exc:
            why = f"ChatApp versions differ ({exc}); use one version on every machine"
            raise FrameRefused(why) from None
        except DecodeError as exc:
            raise FrameRefused(f"bad frame: {exc}") from None
        if not self._decoder.pending:
            self._began = None
        elif self._began is None or messages:
            self._began = self._clock()  # a frame began in this read
        return messages
