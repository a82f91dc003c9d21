"""Running a mode: its coroutine on an event loop, with the launcher's last line of defence:
an exception that escapes a callback (a bug of ours) costs the user one line on stderr,
never a traceback (Ctrl-C is ChatApp.main's: exit status 130). Imported once a mode
starts, not for --help, which asyncio would slow."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
import traceback
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

#: Where an unexpected error's traceback goes, so that the terminal gets one line instead;
#: None: the file of that name in the temporary directory, found when an error comes.
ERROR_LOG: Path | None = None
ERROR_LOG_NAME = "chatapp-internal-errors.log"


def run_guarded(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to its result, on uvloop where `loop_factory` says, an exception that
    escapes a callback said in one line."""

    async def guarded() -> T:
        asyncio.get_running_loop().set_exception_handler(_internal_error)
        return await coro

    factory = loop_factory()
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(guarded())
    finally:
        if factory is not None:
            _blocking_again()


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when uvloop is installed (the `fast` extra) and standard input
    is no terminal (a registry or a peer run by a script or a service): it serves the same
    asyncio calls, faster. None otherwise, asyncio's own: at a terminal, uvloop makes the
    terminal non-blocking under prompt_toolkit, which expects it blocking."""
    if sys.stdin is None or sys.stdin.isatty():
        return None
    try:
        import uvloop
    except ImportError:
        return None
    new_loop: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return new_loop


def _blocking_again() -> None:
    """Leave standard input, output and error blocking, as they came: uvloop makes those
    it watches non-blocking, and they are shared with whatever started us (a shell, a
    script) and goes on after us."""
    for fd in (0, 1, 2):
        with contextlib.suppress(OSError):
            os.set_blocking(fd, True)


def _internal_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """An exception escaped a callback (a bug of ours): the event loop goes on, and the user
    gets one line naming it and where its traceback was written, never the traceback."""
    exc = context.get("exception")
    what = f"{type(exc).__name__}: {exc}" if exc is not None else str(context.get("message"))
    try:
        # here: tempfile loads shutil and its compression modules (2 ms of every start),
        # and finds the directory by writing a file in it
        import tempfile

        from disk.files import append_bytes

        path = ERROR_LOG or Path(tempfile.gettempdir()) / ERROR_LOG_NAME
        said = "".join(traceback.format_exception(exc)) if exc is not None else f"{context}\n"
        # a data file's append: in a shared directory, a named pipe put there would hang us
        stamp = f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} pid {os.getpid()}\n"
        append_bytes(path, (stamp + said).encode("utf-8"), fsync=False)
        where = f"Traceback saved to {path}"
    except OSError:
        where = "Traceback not saved"
    print(f"[Internal error, please report it: {what[:200]}. {where}.]", file=sys.stderr)
