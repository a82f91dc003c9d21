"""Real processes for the help desk's end-to-end tests: a standalone desk, people and
operators, driven through pipes. Output lines are read on a thread into a queue; tests
wait for the line they expect with a timeout, never by sleeping."""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import msgspec
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from net.discovery import ask_key
from secure.stream import SecureStream
from tests.fork_server import popen
from wire.desk.messages import DeskJoin, DeskQueued, DeskRefused, DeskWork
from wire.desk.render import NOW_AT, PLACE, WELCOME_BACK
from wire.desk.text import DESCRIBE_TOPICS
from wire.desk.work import solve
from wire.version import WIRE_VERSION

ROOT = Path(__file__).resolve().parents[2]

#: Seconds to wait for an expected line before the test fails.
WAIT = 8.0


def place(position: int | str) -> str:
    """What a person is told of their place (`position`, or a pattern such as `(\\d)`), as
    the desk says it (wire.desk.render.PLACE): the one place a test reads those words."""
    return PLACE.format(position)


def now_at(position: int | str) -> str:
    """How a waiting person is told their place changed, up to the estimate
    (wire.desk.render.NOW_AT)."""
    return NOW_AT.format(position)


def kept(position: int | str) -> str:
    """How a person who took their place back is told it, with their `position`."""
    return f"{WELCOME_BACK}; {place(position)}"


class Proc:
    """One running process whose stdout lines can be awaited."""

    def __init__(self, args: list[str], env: dict[str, str], name: str) -> None:
        self.name = name
        self.popen = popen(
            [sys.executable, "-u", *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []  # every line consumed so far, in order
        self.everything: list[str] = []  # every line read, consumed or not
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        with contextlib.suppress(ValueError):  # closed by `stop` while a line was awaited
            for line in self.popen.stdout:
                self.everything.append(line.rstrip("\n"))
                self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def send(self, *lines: str) -> None:
        """Type `lines`; to a process that has ended (one refused at its start, say), they
        are lost as a person's would be: what it said and its status tell the test."""
        assert self.popen.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            for line in lines:
                self.popen.stdin.write(line + "\n")
            self.popen.stdin.flush()

    def expect(self, pattern: str, timeout: float = WAIT) -> re.Match[str]:
        """Consume lines until one matches `pattern` (a regex searched in the line)."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(0.0, left))
            except queue.Empty:
                line = ""
                left = -1
            if left < 0 or line is None:
                recent = "\n".join(self.everything[-25:])
                why = "timed out" if left < 0 else "process ended"
                raise AssertionError(f"{self.name}: {why} waiting for {pattern!r}; got:\n{recent}")
            self.seen.append(line)
            match = regex.search(line)
            if match:
                if os.environ.get("DESK_TRACE"):
                    print(f"{time.monotonic():.2f} {self.name}: {line}")
                return match

    def kill(self) -> None:
        """SIGKILL: the connection breaks the hard way."""
        self.popen.kill()
        self.popen.wait(timeout=WAIT)

    def wait(self, timeout: float = WAIT) -> int:
        return self.popen.wait(timeout=timeout)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        for stream in (self.popen.stdin, self.popen.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


#: The first line of the operator's answer to `.help` (wire.desk.commands.OPERATOR_HELP).
HELP_FIRST_LINE = "Help-desk operator commands:"


def to_new_person(operator: Proc, name: str, *lines: str) -> None:
    """Type `lines` for `name`, whom `operator` was handed a moment ago, so that `name` gets
    each of them once, in order.

    A line read before the operator showed the change is held back, as meant for the person
    before (wire.desk.commands.DutyScreen.typed), with a notice naming `name`; typed
    once the change is seen, as here, it goes to `name` at once. Which of the two happened is told
    by `.help`, typed right after the line: the operator deals with its input in order, so a notice
    comes before the help text or not at all. Held back, every line is typed again; sent, the rest
    are."""
    operator.send(lines[0], ".help")
    held = rf"(Not sent|not carried out): .*\b{re.escape(name)} was handed over to you"
    if operator.expect(rf"{held}|{re.escape(HELP_FIRST_LINE)}").group(1):
        operator.send(*lines)
    else:
        operator.send(*lines[1:])


class DeskWorld:
    """A standalone desk on a free loopback port, and the clients started against it."""

    def __init__(self, tmp: Path, *extra: str) -> None:
        self.tmp = tmp
        self.data_dir = tmp / "registry"
        self.procs: list[Proc] = []
        self._extra = extra
        self.port = 0
        try:
            self.server = self._start_server()
        except BaseException:  # nobody holds this world yet to close it: it is not left running
            self.close()
            raise

    def _start_server(self) -> Proc:
        args = ["-m", "tests.desk.standalone_desk", "--port", str(self.port)]
        server = self.start([*args, "--data-dir", str(self.data_dir), *self._extra], "desk")
        listening = server.expect(r"desk listening on 127\.0\.0\.1:(\d+); join code ([\d-]+)")
        self.port, self.code = int(listening.group(1)), listening.group(2)
        return server

    def crash_and_restart(self) -> None:
        """SIGKILL the desk, as a crash or a power cut would stop it, and start it again
        on the same port and data directory."""
        self.server.kill()
        self.restart()

    def restart(self) -> None:
        """Start the desk again (after `self.server.kill()`) on the same port and data
        directory."""
        self.server = self._start_server()

    def chatapp(self, *args: str, trusting: bool = False) -> list[str]:
        """`ChatApp <args>`; `trusting` this desk's key alone (as an operator must, to send
        the operator key without a terminal, and anyone on a terminal, not to be asked)."""
        return ["-m", "ChatApp", *args, *(["--registry-key", self.code] * trusting)]

    def env(self) -> dict[str, str]:
        """The environment of the world's processes: as the end-to-end harness gives its
        own in what Python reads as it starts (tests/e2e/process.py `child_env`), so both
        are forked by one server of the worker's."""
        env = dict(os.environ)
        env["CHATAPP_DATA_DIR"] = str(self.tmp / "state")  # where held places are kept
        env["NO_COLOR"] = "1"
        key = self.data_dir / "desk-key"  # made by the desk as it starts
        if key.exists():
            env["CHATAPP_DESK_KEY"] = key.read_text().strip()
        return env

    def start(self, args: list[str], name: str, **env: str) -> Proc:
        """`args` run with `env` added to the world's environment (see `env`)."""
        proc = Proc(args, self.env() | env, name)
        self.procs.append(proc)
        return proc

    def person(self, name: str, phone: str, topic: int | None, *more: str) -> Proc:
        """`ChatApp -d` typing `name`, `phone`, `topic` (None: none, a kept place is taken
        back) and `more`. Each person has a state directory of their own, as people on
        computers of their own do (one client runs per directory), kept across restarts."""
        args = self.chatapp("-d", "127.0.0.1", str(self.port))
        proc = self.start(args, name, CHATAPP_DATA_DIR=str(self.tmp / "state" / name))
        lines = [name, phone] + ([str(topic)] if topic is not None else []) + list(more)
        proc.send(*lines)
        return proc

    def operator(self, name: str, port: int | None = None) -> Proc:
        """An operator serving every topic (at `port`, the desk's unless given): its input
        is a pipe, so it takes nobody until it says `.serve` (docs/DESK.md)."""
        args = self.chatapp("-o", name, "127.0.0.1", str(port or self.port), trusting=True)
        proc = self.start(args, name)
        proc.send(".serve all")
        return proc

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()


class CuttableProxy:
    """A loopback TCP relay whose connections the test can break at will, to drop a
    client's connection without killing the client."""

    def __init__(self, upstream_port: int) -> None:
        import socket

        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket

        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: object, target: object) -> None:
        import socket

        assert isinstance(source, socket.socket) and isinstance(target, socket.socket)
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Break every connection relayed so far (both ends see the connection end)."""
        import socket

        with self.lock:
            sockets, self.sockets = self.sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.cut()
        self.listener.close()


async def raw_join(
    port: int,
    name: str,
    phone: str,
    topic: int,
    *,
    source: str = "127.0.0.1",
    pays_up_to: int = 0,
    wait: float = WAIT,
) -> tuple[str, asyncio.StreamWriter]:
    """A join as a script would make it, from `source` (a loopback address) under a key of
    its own, with no client's held-place file: what the desk answers (`DeskQueued`, the
    reason of `DeskRefused`, or "work N bits" when asked for more work than `pays_up_to`
    bits, which it does), and the connection, left open so that the place stays taken.
    Each answer is awaited `wait` seconds at most."""
    remote = await ask_key("127.0.0.1", port)
    assert remote is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    stream = SecureStream(X25519PrivateKey.generate(), remote=remote)
    writer.write(stream.output())
    described = "weak in maths" if topic in DESCRIBE_TOPICS else ""
    join = DeskJoin(f"j-{name}", name, phone, topic, described, "", WIRE_VERSION)
    stream.send(join)
    writer.write(stream.output())
    while True:
        data = await asyncio.wait_for(reader.read(65536), wait)
        assert data, "the desk closed the connection without an answer"
        for message in stream.feed(data):
            if isinstance(message, DeskQueued):
                return "queued", writer
            if isinstance(message, DeskRefused):
                return message.reason, writer
            if isinstance(message, DeskWork):
                if message.bits > pays_up_to:
                    return f"work {message.bits} bits", writer
                work = solve(message.seed, message.bits)
                stream.send(msgspec.structs.replace(join, id=f"{join.id}-w", work=work))
        writer.write(stream.output())
