"""Standard output that may go away (`ChatApp -c ... | head -1`): at the first failed write
it is pointed at the null device, and its owner told once."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import io
import os
import select
import stat
import sys
from collections.abc import Callable
from typing import TextIO


class StdoutLines:
    """Writes lines, flushed at once, never raising; once the reader is gone, `gone` is true
    and `on_gone` is told the reason."""

    def __init__(
        self,
        on_gone: Callable[[str], None] | None = None,
        *,
        stream: TextIO | None = None,
    ) -> None:
        self._stream = stream
        self.on_gone = on_gone
        self.gone = False
        self._watched: asyncio.AbstractEventLoop | None = None

    @property
    def stream(self) -> TextIO:
        # looked up at each write, not kept: tests (and pytest's capture) swap sys.stdout
        return self._stream if self._stream is not None else sys.stdout

    def write(self, line: str) -> None:
        if self.gone:
            return
        stream = self.stream
        try:
            stream.write(line + "\n")
            stream.flush()
        except (OSError, ValueError) as exc:
            self._lost(stream, exc)

    def watch_reader(self, loop: asyncio.AbstractEventLoop) -> None:
        """When the output is a pipe, it is gone as soon as its reader leaves."""
        try:
            fd = self.stream.fileno()
            if not stat.S_ISFIFO(os.fstat(fd).st_mode):
                return
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            return

        def seen() -> None:
            # the write end of a pipe is never readable: POLLERR is the reader gone
            self._unwatch()
            poll = select.poll()
            poll.register(fd, select.POLLOUT)
            if any(events & select.POLLERR for _, events in poll.poll(0)) and not self.gone:
                self._lost(self.stream, BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE)))

        with contextlib.suppress(OSError, ValueError, NotImplementedError, RuntimeError):
            loop.add_reader(fd, seen)
            self._watched = loop
            # uvloop makes a descriptor it watches non-blocking, and a long line written
            # to a full pipe would then fail as if the reader had left: writes block, as
            # on asyncio's loop, which watches it as it is
            os.set_blocking(fd, True)

    def _unwatch(self) -> None:
        loop, self._watched = self._watched, None
        if loop is not None:
            with contextlib.suppress(OSError, ValueError, RuntimeError):
                loop.remove_reader(self.stream.fileno())

    def _lost(self, stream: TextIO, exc: BaseException) -> None:
        self.gone = True
        # watched no more before its descriptor is pointed elsewhere: uvloop aborts the
        # process when a descriptor it watches is replaced under it
        self._unwatch()
        # its descriptor pointed at the null device: a later flush succeeds quietly
        with contextlib.suppress(OSError, ValueError, AttributeError):
            fd = stream.fileno()
            null = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(null, fd)
            finally:
                os.close(null)
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()  # what the failed write left in the buffer, to the null device
        if self.on_gone is not None:
            reason = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
            self.on_gone(reason or type(exc).__name__)


def say_on_stderr(line: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        print(line, file=sys.stderr, flush=True)
