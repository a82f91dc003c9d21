"""A TCP proxy that can drop its link, as a firewall dropping every packet would: `cut` stops
it forwarding either way (what is sent waits, unread, as TCP retransmits it), and takes new
connections without forwarding them; `mend` forwards again, what waited first. It runs an
event loop of its own in a thread, on a free port of 127.0.0.1."""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType

#: Bytes read at once.
CHUNK = 65536


class Blackhole:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`target` until `cut`; `url` is its tls:// URL (the
    service's nodes speak TLS; its bytes pass through)."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="blackhole")
        self._open = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False

    @property
    def url(self) -> str:
        return f"tls://127.0.0.1:{self.port}"

    def __enter__(self) -> Blackhole:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(5)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def cut(self) -> None:
        """Forward nothing more, either way, until `mend`."""
        self._loop.call_soon_threadsafe(self._open.clear)

    def mend(self) -> None:
        self._loop.call_soon_threadsafe(self._open.set)

    async def _start(self) -> None:
        self._open.set()
        self._server = await asyncio.start_server(self._accepted, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        """Close every connection, and let each end."""
        self._closing = True
        self._open.set()
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._writers.add(writer)
        try:
            await self._open.wait()  # (cut: taken, and never answered)
            if self._closing:
                raise ConnectionAbortedError
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.close()
            self._writers.discard(writer)
            return
        self._writers.add(up_writer)
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )
        for one in (writer, up_writer):
            one.close()
            self._writers.discard(one)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """What `reader` gives, to `writer`, while the link is open; `writer` closed at the
        end (which ends the pipe the other way)."""
        try:
            while not self._closing:
                await self._open.wait()
                data = await reader.read(CHUNK)
                if not data:
                    break
                await self._open.wait()  # (read as the link was cut: it waits)
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()
