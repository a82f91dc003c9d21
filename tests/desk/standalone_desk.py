"""A help desk on its own, without the rest of the registry, for the desk's tests: run as
`python -m tests.desk.standalone_desk --port 0 --data-dir DIR`, it prints `desk listening on
HOST:PORT` and serves until stopped (SIGINT, SIGTERM). With `--console`, standard input is
the console operator's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from net.served_stream import READ_CHUNK, Handed
from registry.adapter.desk.service import DeskService
from registry.core.desk import limits
from registry.core.desk.limits import (
    GRACE,
    MAX_WAITING,
    RECLAIM_WINDOW,
    TYPICAL_SESSION,
    DeskSettings,
)
from secure.keys import load_or_make_key
from secure.stream import KeyGiven, SecureStream
from wire.codec import DecodeError
from wire.desk.messages import HEARTBEAT
from wire.keys import join_code
from wire.messages import Message


async def accept_secure(
    desk: DeskService,
    static: X25519PrivateKey,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
) -> None:
    """Serve a connection accepted by a desk of its own (no registry's endpoint before
    it): the secure handshake with `static`, then `desk.handle_connection` from the first
    message on. A request for our key is answered in clear; what does not open closes it."""
    decoder = SecureStream(static)
    try:
        messages: list[Message] = []
        while not messages:
            data = await reader.read(READ_CHUNK)
            if not data:
                writer.close()
                return
            messages = decoder.feed(data)
            writer.write(decoder.output())
    except KeyGiven:
        writer.write(decoder.output())  # our key, asked for in clear
        writer.close()
        return
    except (DecodeError, ConnectionError, OSError) as exc:
        desk.log(f"desk: closed a connection before its first frame: {exc}")
        writer.close()
        return
    await desk.handle_connection(Handed(messages[0], decoder, reader, writer, messages[1:]))


def main(argv: list[str] | None = None) -> int:
    """A desk on its own, without the rest of the registry (see the module's docstring)."""
    parser = argparse.ArgumentParser(prog="standalone_desk.py")
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--grace", type=float, default=GRACE)
    parser.add_argument(
        "--reclaim-window",
        type=float,
        default=RECLAIM_WINDOW,
        help="seconds after a restart to take a kept place back (tests shorten it)",
    )
    parser.add_argument("--max-waiting", type=int, default=MAX_WAITING)
    parser.add_argument(
        "--heartbeat",
        type=float,
        default=HEARTBEAT,
        help="seconds of silence before a connection is asked for a sign of life (lost "
        "after twice that); tests shorten it",
    )
    parser.add_argument(
        "--typical-session",
        type=float,
        default=TYPICAL_SESSION,
        help="seconds a session is taken to last until enough are measured",
    )
    parser.add_argument("--crisis-notice", default=None)
    parser.add_argument(
        "--work-bits-less",
        type=int,
        default=0,
        help="bits fewer of work asked of each join than a desk asks: its rule, at a "
        "cost tests of who gets a place can pay by the hundred",
    )
    parser.add_argument("--console", action="store_true", help="the console is an operator")
    args = parser.parse_args(argv)
    limits.WORK_BITS_FIRST -= args.work_bits_less
    limits.WORK_BITS_MOST -= args.work_bits_less
    try:
        return asyncio.run(_serve(args))
    except KeyboardInterrupt:
        return 130
    except (OSError, ValueError) as exc:
        print(f"desk: cannot start: {exc}", file=sys.stderr)
        return 1


async def _serve(args: argparse.Namespace) -> int:
    data_dir: Path = args.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    desk = DeskService(
        data_dir,
        _log_to(data_dir / "desk.log"),
        DeskSettings(
            crisis_notice=args.crisis_notice or "",
            grace=args.grace,
            max_waiting=args.max_waiting,
            heartbeat=args.heartbeat,
            typical_session=args.typical_session,
            reclaim_window=args.reclaim_window,
        ),
    )
    if desk.problem:  # a desk alone has nothing else to run: say why and stop
        print(desk.problem, file=sys.stderr, flush=True)
        return 1
    await desk.start()

    static, _ = load_or_make_key(data_dir)

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accept_secure(desk, static, reader, writer)

    server = await asyncio.start_server(accept, args.bind, args.port)
    host, port = server.sockets[0].getsockname()[:2]
    code = join_code(static.public_key().public_bytes_raw())
    print(f"desk listening on {host}:{port}; join code {code}; operator key in {desk.key_path}")

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if args.console:
        _serve_console(desk, loop)
    await stop.wait()
    server.close()
    await desk.close()
    return 0


def _log_to(log_path: Path) -> Callable[[str], None]:
    """A log that prints each line, stamped with the time of day, and appends it to
    `log_path` (when it can)."""

    def log(line: str) -> None:
        stamped = f"{time.strftime('%H:%M:%S')} {line}"
        print(stamped, flush=True)
        with contextlib.suppress(OSError), log_path.open("a", encoding="utf-8") as handle:
            handle.write(stamped + "\n")

    return log


def _serve_console(desk: DeskService, loop: asyncio.AbstractEventLoop) -> None:
    """Standard input and output as the desk's console operator: its lines are read in a
    thread of their own and handed to `desk` in `loop`."""
    desk.console.set_output(lambda text: print(text, flush=True))

    def read_console() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(desk.console.typed, line.rstrip("\n"))
        loop.call_soon_threadsafe(desk.console.ended)

    threading.Thread(target=read_console, name="console", daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
