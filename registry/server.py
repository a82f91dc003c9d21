"""The registry's asyncio adapter: sockets, clock, files and console around RegistryCore."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from peer.endpoint import Endpoint, Handoff
from registry.actions import Action, Addr, DropMail, Log, MoveMail, SaveTable, Send, StoreMail
from registry.core import RegistryCore
from registry.storage import Storage, StorageError
from wire.messages import Message


class RegistryServer:
    """One running registry: binds, loads its data directory, and serves until stopped."""

    def __init__(
        self,
        *,
        data_dir: Path,
        bind: str,
        port: int,
        out: Callable[[str], None],
        verbose: bool = False,
        keepalive: float = 10.0,
        desk: object | None = None,
    ) -> None:
        """`out` prints one line on the registry's console (log lines included)."""
        self.data_dir = data_dir
        self.bind = bind
        self.port = port
        self._out = out
        self._verbose = verbose
        self._desk = desk
        self._storage = Storage(data_dir)
        now = time.time()
        self.core = RegistryCore(
            session=secrets.token_hex(4),
            new_token=lambda: secrets.token_hex(16),
            table=self._storage.load_table(now),
            mail=self._storage.load_mail(),
            keepalive=keepalive,
        )
        handoff: tuple[frozenset[str], Handoff] | None = None
        if desk is not None:
            from wire.desk import DESK_TYPES

            handoff = (frozenset(DESK_TYPES), desk.handle_connection)  # type: ignore[attr-defined]
        self.endpoint = Endpoint(
            self._received,
            session=secrets.token_hex(4),
            handoff=handoff,
            log=self.log,
            verified=self.core.knows,
        )
        self._timer: asyncio.TimerHandle | None = None
        self._stopped = asyncio.Event()

    def log(self, line: str) -> None:
        """One timestamped line on the console."""
        self._out(f"{time.strftime('%H:%M:%S')} {line}")

    async def start(self) -> Addr:
        """Bind the sockets; return the address bound."""
        addr = await self.endpoint.open(self.bind, self.port)
        boxes = sum(len(box) for box in self.core.mail.values())
        self._out(
            f"ChatApp registry listening on {addr[0]}:{addr[1]} (UDP and TCP); "
            f"data in {self.data_dir}; {len(self.core.table.records)} known names, "
            f"{boxes} stored messages"
        )
        if addr[0] in ("0.0.0.0", "::"):
            self._out(
                "Peers on this machine reach it at 127.0.0.1; others at this machine's LAN address."
            )
        return addr

    async def serve_forever(self) -> None:
        """Run until `stop` is called."""
        await self._stopped.wait()

    def stop(self) -> None:
        self._stopped.set()

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        await self.endpoint.close()

    # -- the console --------------------------------------------------------------------

    def console_line(self, line: str) -> None:
        """A line typed on the registry's console."""
        words = line.split()
        if not words:
            return
        match words[0].lower():
            case "who":
                for r in sorted(self.core.table.records.values(), key=lambda r: r.name.casefold()):
                    status = "online" if r.online else "offline"
                    waiting = len(self.core.mail.get(r.name.casefold(), []))
                    self._out(f"  {r.name:<20} {status:<8} {r.ip}:{r.port}  {waiting} waiting")
                if not self.core.table.records:
                    self._out("  no names registered yet")
            case "release" if len(words) == 2:
                self._run(self.core.release(words[1], time.time()))
            case "stats":
                self._out(
                    f"  bad datagrams {self.endpoint.bad_datagrams}, bad frames "
                    f"{self.endpoint.bad_frames}, table version {self.core.table.version}"
                )
            case "help":
                self._out("  who              every name, status, address and waiting mail")
                self._out("  release <name>   forget a name so that anyone may take it")
                self._out("  stats            counters of rejected input")
                self._out("  quit             stop the registry (Ctrl-C works too)")
            case "quit" | "exit":
                self.stop()
            case _:
                self._out(f"  unknown command {words[0]!r}; type help")

    def read_console(self) -> None:
        """Read console lines on a thread (works for terminals, pipes and /dev/null alike)."""
        loop = asyncio.get_running_loop()

        def reader() -> None:
            for line in sys.stdin:
                loop.call_soon_threadsafe(self.console_line, line)

        threading.Thread(target=reader, name="console", daemon=True).start()

    # -- events -------------------------------------------------------------------------

    def _received(self, message: Message, addr: Addr) -> None:
        if self._verbose:
            self.log(f"<- {_fmt(addr)} {message}")
        self._run(self.core.receive(message, addr, time.time()))

    def _tick(self) -> None:
        self._timer = None
        self._run(self.core.tick(time.time()))

    def _run(self, actions: list[Action]) -> None:
        for action in actions:
            try:
                self._do(action)
            except (OSError, StorageError) as exc:
                # Nothing after a failed write may go out: it could be the ack of that write.
                self.log(f"ERROR storing data: {exc}; the request stays unanswered")
                break
        self._schedule()

    def _do(self, action: Action) -> None:
        match action:
            case Send(addr, message):
                if self._verbose:
                    self.log(f"-> {_fmt(addr)} {message}")
                self.endpoint.send(addr, message)
            case StoreMail(owner, message):
                self._storage.append(owner, message)
            case DropMail(owner, ids):
                self._storage.drop(owner, ids)
            case MoveMail(old, new):
                self._storage.move(old, new)
            case SaveTable():
                self._storage.save_table(self.core.table)
            case Log(line):
                self.log(line)

    def _schedule(self) -> None:
        wake = self.core.next_wake()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if wake is not None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(max(0.0, wake - time.time()), self._tick)


def _fmt(addr: Addr) -> str:
    return f"{addr[0]}:{addr[1]}"


async def run_registry(
    *,
    port: int,
    bind: str,
    data_dir: Path,
    verbose: bool,
    out: Callable[[str], None],
    keepalive: float = 10.0,
) -> int:
    """Start a registry and serve until Ctrl-C, SIGTERM or `quit`; return the exit status."""
    try:
        server = RegistryServer(
            data_dir=data_dir, bind=bind, port=port, out=out, verbose=verbose, keepalive=keepalive
        )
    except StorageError as exc:
        out(f"ChatApp: error: {exc}")
        return 1
    try:
        await server.start()
    except OSError as exc:
        out(f"ChatApp: error: cannot listen on {bind}:{port}: {exc.strerror or exc}")
        return 1
    loop = asyncio.get_running_loop()
    import signal

    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, server.stop)
    server.read_console()
    try:
        await server.serve_forever()
    finally:
        await server.close()
        out("Registry stopped.")
    return 0
