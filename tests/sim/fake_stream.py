"""One end of a TCP connection of the simulated network (tests/sim/fake_net.py): an asyncio
transport whose bytes reach the other end after the network's delay, in order."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

Addr = tuple[str, int]


class FakeStream(asyncio.Transport):
    """Reliable and in order; closing reaches the other end as its end of input."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, delay: float, here: Addr, there: Addr, owner: str
    ) -> None:
        super().__init__()
        self._loop, self._delay = loop, delay
        self.here, self.there, self.owner = here, there, owner
        self.other: FakeStream | None = None
        self._protocol: asyncio.Protocol | None = None
        self._waiting: deque[bytes | None] = deque()  # arrived, not yet handed (None: the end)
        self._paused = False
        self._closing = False
        self._lost = False
        self._last = 0.0  # when the last of what this end sent arrives

    # -- the listener's side (an accepted connection before its streams) -----------------

    def setblocking(self, flag: bool) -> None:
        pass

    # -- the protocol's side ------------------------------------------------------------

    def attach(self, protocol: asyncio.Protocol) -> None:
        self._protocol = protocol
        protocol.connection_made(self)
        self._hand_over()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": self.there, "sockname": self.here}.get(name, default)

    def is_closing(self) -> bool:
        return self._closing

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._closing:
            self._to_other(bytes(data))

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def can_write_eof(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def pause_reading(self) -> None:
        self._paused = True

    def resume_reading(self) -> None:
        self._paused = False
        self._hand_over()

    def is_reading(self) -> bool:
        return not self._paused

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._to_other(None)
        self._loop.call_soon(self._connection_lost)

    def abort(self) -> None:
        self.close()

    # -- the network's side -------------------------------------------------------------

    def _to_other(self, data: bytes | None) -> None:
        self._last = max(self._loop.time() + self._delay, self._last)
        if self.other is not None:
            self._loop.call_at(self._last, self.other.arrived, data)

    def arrived(self, data: bytes | None) -> None:
        if not self._lost:
            self._waiting.append(data)
            self._hand_over()

    def _hand_over(self) -> None:
        protocol = self._protocol
        while protocol is not None and self._waiting and not self._paused and not self._lost:
            data = self._waiting.popleft()
            if data is not None:
                protocol.data_received(data)
            elif not protocol.eof_received():
                self.close()

    def _connection_lost(self) -> None:
        if not self._lost:
            self._lost = True
            if self._protocol is not None:
                self._protocol.connection_lost(None)
