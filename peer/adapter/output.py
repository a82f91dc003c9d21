"""Standard output that may go away: lines written to it, and what to do once it is gone.

A reader at the other end of a pipe may leave before ChatApp does (`ChatApp -c ... | head
-1`). Writing then fails (EPIPE, as Python ignores SIGPIPE), and would keep failing on every
line. Like any command-line tool, ChatApp then stops writing: `StdoutLines` notices the first
failure, points the standard output at the null device (so that nothing written later, nor
the interpreter's flush at exit, fails again or prints a complaint) and tells its owner once,
who decides what that means (a peer leaves as at the end of its input; a registry goes on
serving without its log).
"""

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
    """Writes lines to a stream (standard output unless told), flushed at once. When a write
    fails because the reader is gone, `gone` becomes true, the stream's descriptor is
    pointed at the null device, and `on_gone` (if given) is called, once, with the reason.
    Writing never raises: what is written once the output is gone is dropped."""

    def __init__(
        self,
        on_gone: Callable[[str], None] | None = None,
        *,
        stream: TextIO | None = None,
    ) -> None:
        self._stream = stream
        self.on_gone = on_gone
        self.gone = False
        # the loop watching the output's descriptor (`watch_reader`), while it does
        self._watched: asyncio.AbstractEventLoop | None = None

    @property
    def stream(self) -> TextIO:
        # looked up at each write, not kept: tests (and pytest's capture) swap sys.stdout
        return self._stream if self._stream is not None else sys.stdout

    def write(self, line: str) -> None:
        """Write `line` and a newline, flushed."""
        if self.gone:
            return
        stream = self.stream
        try:
            stream.write(line + "\n")
            stream.flush()
        except (OSError, ValueError) as exc:
            # OSError: EPIPE, EIO (a terminal that vanished), ENOSPC (a full disk) - each
            # would fail again on every line. ValueError: the stream was closed.
            self._lost(stream, exc)

    def reader_left(self) -> None:
        """The reader is known to have left, seen without writing (see `watch_reader`):
        as a write that failed with EPIPE."""
        if not self.gone:
            self._lost(self.stream, BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE)))

    def watch_reader(self, loop: asyncio.AbstractEventLoop) -> None:
        """When the output is a pipe, call `reader_left` as soon as its reader leaves, not
        at the next line written: a peer with nothing to print would otherwise carry out
        the lines it reads meanwhile. The kernel reports a pipe whose reader closed it as
        an error on the writing end, which the loop's reader watch sees. Not a pipe (a
        terminal, a file), or a loop that cannot watch it: failed writes tell, as before."""
        try:
            fd = self.stream.fileno()
            if not stat.S_ISFIFO(os.fstat(fd).st_mode):
                return
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            return

        def seen() -> None:
            # the write end of a pipe is never readable: this is an error on it, which
            # is the reader gone when poll says POLLERR; watched no more either way
            self._unwatch()
            poll = select.poll()
            poll.register(fd, select.POLLOUT)
            if any(events & select.POLLERR for _, events in poll.poll(0)):
                self.reader_left()

        with contextlib.suppress(OSError, ValueError, NotImplementedError, RuntimeError):
            loop.add_reader(fd, seen)
            self._watched = loop
            # uvloop makes a descriptor it watches non-blocking, and a long line written
            # to a full pipe would then fail as if the reader had left: writes block, as
            # on asyncio's loop, which watches it as it is
            os.set_blocking(fd, True)

    def _unwatch(self) -> None:
        """Stop watching the output's descriptor, if it is watched."""
        loop, self._watched = self._watched, None
        if loop is not None:
            with contextlib.suppress(OSError, ValueError, RuntimeError):
                loop.remove_reader(self.stream.fileno())

    def _lost(self, stream: TextIO, exc: BaseException) -> None:
        self.gone = True
        # watched no more before its descriptor is pointed elsewhere: uvloop aborts the
        # process when a descriptor it watches is replaced under it
        self._unwatch()
        _to_null(stream)
        if self.on_gone is not None:
            reason = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
            self.on_gone(reason or type(exc).__name__)


def _to_null(stream: TextIO) -> None:
    """Point `stream`'s descriptor at the null device, and drop what its buffer holds: a
    later flush (at the latest, the interpreter's at exit) then succeeds quietly. Best
    effort: a stream without a descriptor of its own (a test's StringIO) is left alone."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        fd = stream.fileno()
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, fd)
        finally:
            os.close(null)
    with contextlib.suppress(OSError, ValueError, AttributeError):
        stream.flush()  # what the failed write left in the buffer, to the null device


def say_on_stderr(line: str) -> None:
    """One line on standard error, if there is still one to write to."""
    with contextlib.suppress(OSError, ValueError):
        print(line, file=sys.stderr, flush=True)
