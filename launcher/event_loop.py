"""Running a mode's coroutine on an event loop, where an exception that escapes a callback
(a bug of ours) costs the user one line on stderr, never a traceback."""

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

#: Where an unexpected error's traceback goes (None: ERROR_LOG_NAME in the temporary folder).
ERROR_LOG: Path | None = None
ERROR_LOG_NAME = "chatapp-internal-errors.log"


def run_guarded(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to its result, on uvloop where `loop_factory` says."""

    async def guarded() -> T:
        asyncio.get_running_loop().set_exception_handler(_internal_error)
        return await coro

    factory = loop_factory()
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(guarded())
    finally:
        # uvloop made standard input, output and error non-blocking: blocking again, as
        # whatever started us shares them
        for fd in (0, 1, 2) if factory is not None else ():
            with contextlib.suppress(OSError):
                os.set_blocking(fd, True)


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when installed and standard input is no terminal (uvloop makes a
    terminal non-blocking under prompt_toolkit); else None, asyncio's own."""
    if sys.stdin is None or sys.stdin.isatty():
        return None
    try:
        from uvloop import new_event_loop
    except ImportError:
        return None
    # typed here: without the extra, mypy knows uvloop only as Any
    made: Callable[[], asyncio.AbstractEventLoop] = new_event_loop
    return made


def _internal_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """An exception escaped a callback: the loop goes on, and the user gets one line."""
    exc = context.get("exception")
    what = f"{type(exc).__name__}: {exc}" if exc is not None else str(context.get("message"))
    try:
        import tempfile  # here: 2 ms of every start

        from disk.files import append_bytes

        path = ERROR_LOG or Path(tempfile.gettempdir()) / ERROR_LOG_NAME
        said = "".join(traceback.format_exception(exc)) if exc is not None else f"{context}\n"
        stamp = f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} pid {os.getpid()}\n"
        append_bytes(path, (stamp + said).encode("utf-8"), fsync=False)
        where = f"Traceback saved to {path}"
    except OSError:
        where = "Traceback not saved"
    print(f"[Internal error, please report it: {what[:200]}. {where}.]", file=sys.stderr)
