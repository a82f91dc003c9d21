"""End-to-end harness: a test's registries and peers, real ChatApp processes.

`ChatEnv` starts registries and peers the way docs/GUIDE.md and the command-line contract
say, in a fresh data directory, and kills every process it started when the test ends (the
`chat` fixture in conftest.py does that even when a test fails). One process and its output
are tests/e2e/process.py's `ChatProc`; the lines expected of a peer, tests/e2e/lines.py's;
ports, tests/e2e/ports.py's. All are taken from here too.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from peer.core.requests import SILENT_KEEPALIVES
from secure.keys import PINS_FILE

from .lines import (
    EXITING,
    OFFLINE_BYE,
    POSTED_EVEN_IF_KEPT,
    RECEIVED_BY_SERVER,
    SAVED,
    SAVED_EVEN_IF_KEPT,
    SERVER_NOT_RESPONDING,
    STAMP,
    TABLE_UPDATED,
    WELCOME,
    YOU_HAVE_MESSAGES,
    channel_line,
    channel_mail_line,
    chat_line,
    client_exists,
    kept_saved,
    line,
    mail_line,
    no_ack,
    received_by,
)
from .ports import free_port
from .process import (
    CHATAPP,
    CHATAPP_COMMAND,
    DEFAULT_TIMEOUT,
    REPO,
    TAIL,
    ChatProc,
    child_env,
)

#: What tests take from the harness: its own, and the lines, processes and ports it
#: is made of.
__all__ = [
    "CHATAPP",
    "CHATAPP_COMMAND",
    "DEFAULT_TIMEOUT",
    "EXITING",
    "HOST",
    "KEEPALIVE",
    "OFFLINE_BYE",
    "PASSWORD_CHECK_WAIT",
    "POSTED_EVEN_IF_KEPT",
    "RECEIVED_BY_SERVER",
    "REPO",
    "SAVED",
    "SAVED_EVEN_IF_KEPT",
    "SERVER_NOT_RESPONDING",
    "STAMP",
    "TABLE_UPDATED",
    "TAIL",
    "WELCOME",
    "YOU_HAVE_MESSAGES",
    "ChatEnv",
    "ChatProc",
    "Peer",
    "channel_line",
    "channel_mail_line",
    "chat_line",
    "child_env",
    "client_exists",
    "direct",
    "free_port",
    "kept_saved",
    "line",
    "mail_line",
    "no_ack",
    "reaches",
    "received_by",
]

#: Seconds between keepalives and outbox retries given to every test peer, and the
#: period by which the test registries judge them (see `ChatEnv.start_registry`).
KEEPALIVE = 0.5
#: The address everything binds to and talks to: loopback only.
HOST = "127.0.0.1"
#: Seconds a start with a password waits for its Welcome at least: the peer hashes the
#: password first (a scrypt of 0.3 s and 128 MiB, secure/password.py), and the registry
#: checks its proof, which a machine loaded with other checks and tests made last over 10 s.
PASSWORD_CHECK_WAIT = 30.0


# -- a test's processes ---------------------------------------------------------------------


def in_namespace(name: str) -> list[str]:
    """What runs a command in the network namespace `name`, killed if the process that
    started it dies (a test worker killed by a timeout leaves no server running)."""
    dies_with_parent = ["setpriv", "--pdeathsig", "KILL"] if shutil.which("setpriv") else []
    return ["ip", "netns", "exec", name, *dies_with_parent]


class ChatEnv:
    """The processes of one test, their data directories, and the registry's port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.registry_dir = root / "registry"
        self.peer_dir = root / "peers"
        for d in (self.registry_dir, self.peer_dir):  # as ChatApp makes them: its user's
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Anything started without --data-dir keeps its state here, not in the user's.
        self.env = child_env({"CHATAPP_DATA_DIR": str(root / "default")}, home=root)
        self.registry_port: int | None = None
        #: The last registry started, or on `shared_chat` the worker's shared one: what a
        #: test reads of the registry's output (`chat.registry.expect(...)`).
        self.registry: ChatProc | None = None
        #: The last registry started's join code (the digits its --registry-key takes).
        self.join_code = ""
        self.procs: list[ChatProc] = []
        # Put in front of every ChatApp command, e.g. ["ip", "netns", "exec", NAME].
        self.prefix: list[str] = []
        #: Added to every peer's name, on a registry shared with other tests (see
        #: tests/e2e/shared_registry.py): "" on a registry of the test's own.
        self.suffix = ""

    def named(self, name: str) -> str:
        """The name a peer started as `name` registers: with this test's suffix."""
        return name if name.endswith(self.suffix) else name + self.suffix

    def spawn_argv(self, argv: Sequence[str], label: str) -> ChatProc:
        """Start any command (the harness's own tests use a fake child)."""
        proc = ChatProc(argv, label=label, env=self.env)
        self.procs.append(proc)
        return proc

    def spawn(
        self, *args: str, label: str = "chatapp", command: Sequence[str] = CHATAPP_COMMAND
    ) -> ChatProc:
        """Start `ChatApp <args>` (by `command`)."""
        return self.spawn_argv([*self.prefix, *command, *args], label)

    def start_registry(
        self,
        port: int | None = None,
        data_dir: Path | None = None,
        timeout: float = 10.0,
        options: Sequence[str] = (),
    ) -> ChatProc:
        """Start a registry (on the env's port by default, so a restart reuses it), with
        more command-line `options`, and wait until it says both sockets are bound. Its
        keepalive period is the test peers' (KEEPALIVE) unless `options` give one: a
        registry on the default 10 s would take a killed peer for online for 30 s, and
        give peers 50 s after a restart, and no test would see either rule at work."""
        if self.suffix:
            raise RuntimeError("a test on the shared registry starts none: use `chat`")
        if port is None:
            port = self.registry_port if self.registry_port is not None else free_port()
        self.registry_port = port
        period = () if "--keepalive" in options else ("--keepalive", f"{KEEPALIVE:g}")
        proc = self.spawn(
            "-s", str(port), "--bind", HOST, "--data-dir", str(data_dir or self.registry_dir),
            *period, *options, label=f"registry:{port}",
        )  # fmt: skip
        proc.expect(rf"listening on {re.escape(HOST)}:{port}\b", timeout)
        self.join_code = proc.expect(r"--registry-key ([\d-]+)", timeout).group(1)
        self.registry = proc
        return proc

    def trusting(self) -> list[str]:
        """The options that make a client trust the registry's key alone (its join code):
        what a script sending a password or operator key needs at first contact."""
        return ["--registry-key", self.join_code]

    def refused_registry(self, label: str = "registry") -> list[str]:
        """Start a registry on the env's data directory that must refuse to start (exit 1
        at once, with nothing read from its console); what it printed."""
        proc = self.spawn(
            "-s", str(free_port()), "--bind", HOST, "--data-dir", str(self.registry_dir),
            "--no-desk-console", label=label,
        )  # fmt: skip
        proc.close_stdin()
        assert proc.wait_exit(10) == 1
        return proc.collect(5)

    def start_peer(
        self,
        name: str,
        *,
        port: int | None = None,
        data_dir: Path | None = None,
        server_port: int | None = None,
        keepalive: float | None = None,
        wait: bool = True,
        timeout: float = 10.0,
        password: str = "",
        options: Sequence[str] = (),
    ) -> Peer:
        """Start peer `name` (with `password`, given as its first line of input, and more
        command-line `options`); unless `wait` is false, wait for Welcome and the table line.
        Its first contact (or any with a password) gives the registry's join code, unless
        `options` say how to trust its key."""
        name = self.named(name)
        if keepalive is None:
            # with a password, the peer tries to register as long as the test waits for it:
            # at KEEPALIVE it gave up after SILENT_KEEPALIVES (3 s), less than a check
            # takes on a loaded machine
            keepalive = PASSWORD_CHECK_WAIT / SILENT_KEEPALIVES if password else KEEPALIVE
        server = server_port if server_port is not None else self.registry_port
        if server is None:
            raise RuntimeError("start the registry first, or pass server_port")
        port = port if port is not None else free_port()
        data = data_dir if data_dir is not None else self.peer_dir
        data.mkdir(mode=0o700, parents=True, exist_ok=True)
        argv = [
            *self.prefix, *CHATAPP_COMMAND, "-c", name, HOST, str(server), str(port),
            "--data-dir", str(data), "--keepalive", f"{keepalive:g}", *options,
        ]  # fmt: skip
        if password:  # (a new name's password set: no terminal asks)
            argv.extend(("--password", "--new-password"))
        trust_said = "--registry-key" in options or "--trust-first-key" in options
        if not trust_said and (password or not (data / PINS_FILE).exists()):
            # first contact by the join code, as the docs advise: no settling time to wait
            argv.extend(self.trusting())
        peer = Peer(argv, name=name, port=port, data_dir=data, env=self.env)
        self.procs.append(peer)
        if password:
            peer.send(password)
        if wait:
            peer.expect_line(WELCOME, max(timeout, PASSWORD_CHECK_WAIT) if password else timeout)
            peer.expect_line(TABLE_UPDATED, timeout)
        return peer

    def start_peers(self, *names: str) -> list[Peer]:
        """Start peers one after the other; after each, wait until every earlier peer has
        printed the table change, so every peer knows every other one when this returns."""
        peers: list[Peer] = []
        for name in names:
            for earlier in peers:
                earlier.drain()
            new = self.start_peer(name)
            for earlier in peers:
                earlier.expect_line(TABLE_UPDATED)
            peers.append(new)
        return peers

    def restart_peer(self, old: Peer, *, wait: bool = True) -> Peer:
        """Start a peer again with the same name, client port and data directory."""
        return self.start_peer(old.name, port=old.port, data_dir=old.data_dir, wait=wait)

    def transcripts(self) -> str:
        return "\n".join(proc.report() for proc in self.procs)

    def close(self) -> None:
        for proc in self.procs:
            proc.cleanup()


class Peer(ChatProc):
    """A peer process, with the name, client port and data directory it was started with."""

    def __init__(
        self, argv: Sequence[str], *, name: str, port: int, data_dir: Path, env: dict[str, str]
    ) -> None:
        super().__init__(argv, label=f"peer {name}", env=env)
        self.name = name
        self.port = port
        self.data_dir = data_dir


def reaches(sender: Peer, receiver: Peer, text: str, timeout: float = DEFAULT_TIMEOUT) -> None:
    """`send <receiver> <text>` from sender to a receiver that has just come online: the
    receiver shows it, and the sender says it was received, directly, or, when its table
    did not have the receiver online yet, by the registry, which found the receiver alive
    and delivered it itself (`[Client <name> exists!!]`, docs/PROTOCOL.md)."""
    sender.send(f"send {receiver.name} {text}")
    receiver.expect(chat_line(sender.name, text), timeout)
    either = f"{line(received_by(receiver.name))}|{line(client_exists(receiver.name))}"
    sender.expect(either, timeout)


def direct(sender: Peer, receiver: Peer, text: str, timeout: float = DEFAULT_TIMEOUT) -> None:
    """`send <receiver> <text>` from sender; both sides must show it (self-send included).
    A receiver started a moment ago may not be in the sender's table yet (its Welcome can
    come before the registry's push to the sender): then sent again once it is."""
    sender.send(f"send {receiver.name} {text}")
    if sender is receiver:
        sender.expect_all([chat_line(sender.name, text), line(received_by(sender.name))], timeout)
        return
    unknown = rf"^>>> \[No one is called {re.escape(receiver.name)}\."
    said = sender.expect(f"{line(received_by(receiver.name))}|{unknown}", timeout)
    if "No one is called" in said.string:
        sender.expect_line(f"[{receiver.name} is online]", timeout)
        sender.send(f"send {receiver.name} {text}")
        sender.expect_line(received_by(receiver.name), timeout)
    receiver.expect(chat_line(sender.name, text), timeout)
