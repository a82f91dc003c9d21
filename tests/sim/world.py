"""A whole ChatApp on a simulated network and clock: the real registry and peers, their
adapters and secure channel, over tests/sim/fake_net.py, on tests/sim/clock_loop.py's
virtual time. The same API as tests/simulation.py's SimNet, whose tests run here.

Each process has a data directory of its own (a temporary folder): a peer killed and
started again keeps its files, the registry keeps its data directory. `drop` is a cut in
the network by message: the channel's seal is watched (`_Watch`), and a message for which
it holds is not sealed, so never sent. `sent` is every message sealed, with its time.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import contextvars
import shutil
import tempfile
import weakref
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import msgspec
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from net.endpoint import Endpoint
from peer.adapter.key_contact import ContactRule
from peer.adapter.node import PeerNode
from peer.adapter.start import PeerSettings, StartRefused
from peer.adapter.state import PeerStateFile
from peer.core.actions import Print
from peer.core.dispatch import PeerCore
from peer.core.requests import KEEPALIVE
from peer.core.sealed_mail import PROLOGUE, SEALED_PREFIX
from registry.adapter.server import Backend, RegistryServer
from registry.adapter.settings import RegistrySettings
from registry.adapter.store import FileStore, table_text
from registry.core.actions import KeepHistory
from registry.core.dispatch import RegistryCore
from registry.core.post_office import MAILBOX_MESSAGES
from secure.keys import load_or_make_key
from secure.noise import NoiseError
from secure.one_way import OneWayOpener
from tests.sim.clock_loop import ClockLoop, VirtualClock
from tests.sim.fake_net import OWNER, Addr, FakeNet
from wire.codec import decode_datagram, encode, pack_datagrams
from wire.keys import code_from_text, join_code
from wire.messages import Ack, Acks, Message, Saved
from wire.reliable import TIMEOUT

REGISTRY: Addr = ("127.0.0.1", 5000)


@dataclass
class Host:
    """A peer process: its node while it runs, and its data directory, which survives it."""

    name: str
    port: int
    folder: Path
    ip: str = "127.0.0.1"
    node: PeerNode | None = None
    running: bool = False
    task: asyncio.Task[None] | None = None
    context: contextvars.Context = field(default_factory=contextvars.Context)
    screen: list[str] = field(default_factory=list)
    exit_code: int | None = None
    prompt: str = ""
    #: every write of the sending log, its records (the messages logged durably)
    durable: list[Any] = field(default_factory=list)
    on_line: Callable[[str], None] | None = None
    #: lines typed before the console started (the registry not met yet): held, as a
    #: terminal holds them, and read once it starts
    typed_ahead: list[str] = field(default_factory=list)

    @property
    def core(self) -> PeerCore | None:
        return self.node.core if self.node is not None and self.running else None

    @property
    def addr(self) -> Addr:
        return (self.ip, self.port)

    @property
    def sending(self) -> dict[str, Message]:
        """What the sending log holds: sent and not settled (its last life's, if killed)."""
        return {} if self.node is None else dict(self.node.core.unsettled)

    @property
    def outbox(self) -> tuple[Message, ...]:
        return tuple(self.sending.values())

    @property
    def room(self) -> str:
        """The room its data directory keeps for the next start."""
        return self._state().load_room()

    @property
    def token(self) -> str:
        """The token its data directory keeps for the name it runs as."""
        return self._state().load_token()

    @property
    def files(self) -> dict[str, str]:
        """Name (casefolded) -> token, as its data directory's token files hold them."""
        found = sorted((self.folder / "peers").glob("*.json"))
        return {path.stem: PeerStateFile(self.folder, path.stem).load_token() for path in found}

    @property
    def key(self) -> bytes:
        """Its public key (made in its data directory at its first start)."""
        assert self.node is not None
        return bytes(self.node.endpoint.channel.public)

    def _state(self) -> PeerStateFile:
        name = self.node.core.state.name if self.node is not None else self.name
        return PeerStateFile(self.folder, name)


class _Console:
    """A peer's screen and keyboard: lines shown are kept, lines typed come from `type`."""

    def __init__(self, world: SimNet, host: Host) -> None:
        self._world, self._host = world, host

    def show(self, line: Print) -> None:
        self._world.printed(self._host, line.text)

    def after_printed(self, then: Callable[[], None]) -> None:
        asyncio.get_running_loop().call_soon(then)  # shown at once, at the end of the pass

    def start(self, on_line: Callable[[str], None], on_end: Callable[[], None]) -> None:
        self._host.on_line = on_line
        held, self._host.typed_ahead = self._host.typed_ahead, []
        for line in held:
            on_line(line)

    def set_prompt(self, text: str) -> None:
        self._host.prompt = text

    async def stop(self) -> None:
        pass


class SimNet:
    """The simulated world. Time only moves inside `run`."""

    def __init__(
        self,
        *,
        seed: int = 0,
        loss: float = 0.0,
        duplicate: float = 0.0,
        delay: tuple[float, float] = (0.0005, 0.002),
        keepalive: float = KEEPALIVE,
        registries: int = 1,
        mailbox_limit: int = MAILBOX_MESSAGES,
    ) -> None:
        assert registries == 1, "a service of registries runs on tests/simulation.py"
        self.clock = VirtualClock()
        self.network = FakeNet(lambda: self.loop, seed=seed, loss=loss, duplicate=duplicate)
        self.network.delay = delay
        self.loop = ClockLoop(self.clock, self.network)
        self.loop.set_exception_handler(self._failed)
        self.errors: list[BaseException] = []
        self.keepalive, self.mailbox_limit = keepalive, mailbox_limit
        #: seconds a request waits for its answer before it is sent again
        self.timeout = TIMEOUT
        self.root = Path(tempfile.mkdtemp(prefix="chatapp-sim-"))
        # (run at the latest when the world is collected, if ever: its loop's callbacks keep
        # it alive, so a world played many times over is `close`d)
        self._ending = weakref.finalize(self, _end, self.loop, self.root)
        self.hosts: dict[str, Host] = {}
        self._openers: dict[str, OneWayOpener] = {}
        self._opened: dict[str, str] = {}  # each sealed text opened, and what it says
        self.sent: list[tuple[float, Addr, Addr, Message]] = []
        #: (sender, id) of each direct message whose sender was told it was received or saved
        self.confirmed: set[tuple[str, str]] = set()
        #: every message a peer set out to send (its records): id -> (who, message)
        self.typed: dict[str, tuple[str, Message]] = {}
        #: keys of the rooms whose history the registry forgot (KeepHistory, empty), in order
        self.histories_dropped: list[str] = []
        self.log: list[str] = []
        #: A cut in the network: a message for which `drop(src, dst, message)` holds is
        #: lost unsent (not in `sent`); None: none is.
        self.drop: Callable[[Addr, Addr, Message], bool] | None = None
        self.fronts, self.lead, self.down = [REGISTRY], REGISTRY, set[Addr]()
        self.server: RegistryServer | None = None
        self._registry_context = contextvars.Context()
        self._registry_context.run(OWNER.set, "registry")
        self.start_registry()

    @property
    def now(self) -> float:
        return self.clock.now

    @property
    def loss(self) -> float:
        return self.network.loss

    @loss.setter
    def loss(self, loss: float) -> None:
        self.network.loss = loss

    @property
    def duplicate(self) -> float:
        return self.network.duplicate

    @duplicate.setter
    def duplicate(self, duplicate: float) -> None:
        self.network.duplicate = duplicate

    @property
    def registry(self) -> RegistryCore | None:
        return self.server.core if self.server is not None else None

    # -- processes ----------------------------------------------------------------------

    def start_registry(self) -> None:
        settings = RegistrySettings(
            keepalive=self.keepalive, mailbox_limit=self.mailbox_limit, discovery=False
        )

        async def start() -> None:
            folder = self.root / "registry"
            folder.mkdir(exist_ok=True)
            store = FileStore(folder, self.log.append)
            _watch_store(store, self.histories_dropped)
            self.server = RegistryServer(
                data_dir=folder,
                listen=REGISTRY,
                out=self.log.append,
                settings=settings,
                backend=Backend.from_files(store, folder),
            )
            self._watch(self.server.endpoint, REGISTRY)
            await self.server.start()

        self._run_in(self._registry_context, start())
        assert self.server is not None
        self.join_code = code_from_text(join_code(self.server.endpoint.channel.public))

    def registry_console(self, event: Callable[[RegistryCore, float], list[Any]]) -> None:
        """What the registry's console makes its core do (`release`), carried out."""
        server = self.server
        assert server is not None

        async def typed() -> None:
            server.handle(event)

        self._run_in(self._registry_context, typed())

    def close(self) -> None:
        """End the world: its registry closed, its tasks ended (each peer stops), its loop
        closed, its folders removed, so that no file or socket stays open; what it saw and
        its hosts stay readable."""
        if self.server is not None:
            self._run_in(self._registry_context, self.server.close())
        self._ending()

    def kill_registry(self) -> None:
        server, self.server = self.server, None
        assert server is not None
        self.network.kill("registry")
        self._run_in(self._registry_context, server.close())

    def add_peer(self, name: str, port: int, ip: str = "127.0.0.1") -> Host:
        host = Host(name, port, self.root / f"{name}-{port}", ip=ip)
        host.context.run(OWNER.set, name)
        self.hosts[name] = host
        self.start_peer(name)
        return host

    def all_in_room_r(self, names: Sequence[str]) -> None:
        """Peers `names` (ports 6001, 6002, ...) register, then all join room r, 3 s each."""
        for i, name in enumerate(names):
            self.add_peer(name, 6001 + i)
        self.run(3)
        for name in names:
            self.type(name, "join r")
        self.run(3)

    def start_peer(self, name: str) -> None:
        host = self.hosts[name]
        host.exit_code, host.on_line, host.typed_ahead = None, None, []
        trust = ContactRule(code=self.join_code)
        settings = PeerSettings(port=host.port, bind=host.ip, keepalive=self.keepalive, trust=trust)

        async def start() -> None:
            try:
                node = PeerNode(
                    name=name,
                    server=REGISTRY,
                    data_dir=host.folder,
                    console=_Console(self, host),
                    settings=settings,
                )
            except StartRefused as refused:
                host.screen.append(str(refused))
                host.exit_code = 1
                return
            host.node, host.running = node, True
            self._watch(node.endpoint, host.addr, host)
            _count_writes(node, host, self.typed)
            host.task = asyncio.get_running_loop().create_task(self._serve(host, node))

        self._run_in(host.context, start())

    async def _serve(self, host: Host, node: PeerNode) -> None:
        code = await node.run()
        if host.node is node and host.running:
            host.exit_code = code

    def kill_peer(self, name: str) -> None:
        host = self.hosts[name]
        host.running = False
        self.network.kill(name)
        if host.task is not None and not host.task.done():
            host.task.cancel()
            task = host.task
            self._run_in(host.context, asyncio.wait([task]))

    def type(self, name: str, line: str) -> None:
        host = self.hosts[name]
        assert host.core is not None, f"{name} is not running"
        on_line = host.on_line
        if on_line is None:  # not started yet: read once it is
            host.typed_ahead.append(line)
            return

        async def typed() -> None:
            on_line(line)

        self._run_in(host.context, typed())

    # -- running ------------------------------------------------------------------------

    def run(self, seconds: float) -> None:
        """Let `seconds` of simulated time pass, delivering datagrams and firing timers."""
        end, loop = self.clock.now + seconds, self.loop
        # stopped the pass after the one at `end`, as a future done then would stop it
        loop.call_at(end, loop.call_soon, loop.stop)
        with self.clock.installed():
            loop.run_forever()
        self.clock.now = max(self.clock.now, end)
        self._raise_failures()

    def _run_in(self, context: contextvars.Context, coro: Coroutine[Any, Any, Any]) -> None:
        with self.clock.installed():
            task = self.loop.create_task(coro, context=context)
            self.loop.run_until_complete(task)
        self._raise_failures()

    def _failed(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        self.errors.append(exc if exc is not None else RuntimeError(context["message"]))

    def _raise_failures(self) -> None:
        if self.errors:
            errors, self.errors = self.errors, []
            raise errors[0]

    def _watch(self, endpoint: Endpoint, here: Addr, host: Host | None = None) -> None:
        endpoint.channel = _Watch(endpoint.channel, self, here, host)

    # -- looking --------------------------------------------------------------------------

    def arrived(self, dst: Addr, src: Addr, message: Message) -> None:
        """`message` from `src` reached `dst` and opened, about to be handed over (a test's
        world may watch more)."""
        for host in self.hosts.values():
            if host.addr == dst and host.core is not None:
                _note_confirmation(self, host, host.core, message)

    def printed(self, host: Host, text: str) -> None:
        """`host` showed the line `text` (a test's world may watch more)."""
        host.screen.append(text)

    def screen(self, name: str) -> list[str]:
        return self.hosts[name].screen

    def count(self, name: str, line: str) -> int:
        return self.hosts[name].screen.count(line)

    @property
    def disk(self) -> SimpleNamespace:
        """What the registry's data directory holds: `table`, `mail` (each direct message
        opened with its recipient's key), `history`."""
        kept = FileStore(self.root / "registry", lambda line: None).load(self.now)
        mail = {owner: [self.unsealed(m) for m in box] for owner, box in kept.mail.items()}
        return SimpleNamespace(table=kept.table, mail=mail, history=dict(kept.histories))

    def edit_disk(self, edit: Callable[[SimpleNamespace], None]) -> None:
        """Change what the registry's data directory holds while it is down: `edit` changes
        `disk`'s `table` or `history` (a room's taken out: its history is gone)."""
        assert self.server is None, "the registry is running"
        folder, kept = self.root / "registry", self.disk
        rooms = set(kept.history)
        edit(kept)
        store = FileStore(folder)
        store.write_table(table_text(kept.table))
        for room in rooms - set(kept.history):
            store.keep_history(room, ())

    def unsealed(self, message: Any) -> Any:
        """`message` (a save, a stored message) with its text opened, if it is sealed to a
        peer of this world."""
        text = getattr(message, "text", "")
        if not isinstance(text, str) or not text.startswith(SEALED_PREFIX):
            return message
        opened = self._opened.get(text) or self._open(text)
        if opened is None:
            return message
        if isinstance(message, tuple):  # a StoredMessage
            return message._replace(text=opened)
        return msgspec.structs.replace(message, text=opened)

    def _open(self, text: str) -> str | None:
        """The text sealed in `text`, opened with the key of the peer it is sealed to (kept:
        a message is sealed once and sent again as it is); None if no peer here opens it."""
        sealed = base64.urlsafe_b64decode(text[len(SEALED_PREFIX) :])
        for host in self.hosts.values():
            if host.node is None:
                continue
            if host.name not in self._openers:
                self._openers[host.name] = _opener(host)
            with contextlib.suppress(NoiseError, ValueError):
                payload = self._openers[host.name].open(sealed)[1]
                self._opened[text] = payload.decode().split("\0", 3)[3]
                return self._opened[text]
        return None


class _Watch:
    """An endpoint's secure channel, watched: what it seals is `sent`, unless the world's
    `drop` holds for it (then it is not sealed: lost)."""

    def __init__(self, channel: Any, world: SimNet, here: Addr, host: Host | None) -> None:
        self._channel, self._world, self._here, self._host = channel, world, here, host

    def open(self, datagram: bytes, addr: Addr, now: float) -> Any:
        opened = self._channel.open(datagram, addr, now)
        if opened.data is not None:
            messages = decode_datagram(opened.data)
            for message in messages if isinstance(messages, list) else [messages]:
                self._world.arrived(self._here, addr, message)
        return opened

    def __getattr__(self, name: str) -> Any:
        return getattr(self._channel, name)

    def seal(self, datas: list[bytes], dests: Sequence[Any], now: float, send: Any) -> None:
        world, here = self._world, self._here
        for data in datas:
            messages = decode_datagram(data)
            messages = messages if isinstance(messages, list) else [messages]
            for dest in dests:
                kept = messages
                if world.drop is not None:
                    kept = [m for m in messages if not world.drop(here, dest[0], m)]
                world.sent.extend((world.now, here, dest[0], world.unsealed(m)) for m in kept)
                if len(kept) == len(messages):
                    self._channel.seal([data], [dest], now, send)
                elif kept:
                    self._channel.seal(pack_datagrams([encode(m) for m in kept]), [dest], now, send)


def _note_confirmation(world: SimNet, host: Host, core: PeerCore, message: Message) -> None:
    """Record the ids of direct messages whose sender is about to be told that they
    were received ([Message received by ...]) or saved or delivered by the registry."""
    parts = core.parts
    acked = message.replies if isinstance(message, Acks) else ()
    if isinstance(message, Ack):
        acked = (message.reply_to,)
    for reply_to in acked:
        if parts.direct.awaiting_ack(reply_to):
            world.confirmed.add((host.name, reply_to))
    if isinstance(message, Saved) and parts.shared.requests.holds(message.reply_to):
        world.confirmed.add((host.name, message.reply_to))


def _watch_store(store: FileStore, dropped: list[str]) -> None:
    """Each room history the registry forgets (KeepHistory, empty) is added to `dropped`."""
    carry_out = store.carry_out

    def watched(action: Any) -> None:
        if isinstance(action, KeepHistory) and not action.history:
            dropped.append(action.room)
        carry_out(action)

    store.carry_out = watched  # type: ignore[method-assign]


def _count_writes(node: PeerNode, host: Host, typed: dict[str, tuple[str, Message]]) -> None:
    """Each record the core makes (actions.Record) is noted as it is made: every message in
    `typed`, each Sending's also in the host's `durable` (the adapter writes it durably)."""

    def note(record: Any) -> None:
        if not isinstance(record, str):
            message = record.message if isinstance(record, tuple) else record
            typed[message.id] = (host.name, message)
            if isinstance(record, tuple):  # a Sending
                host.durable.append(message)

    settling = node.core.parts.shared.settling
    node.core.records = settling.records = _Noted(note, settling.records)


class _Noted(list[Any]):
    """A list whose every append is told to `note` first."""

    def __init__(self, note: Callable[[Any], None], items: list[Any]) -> None:
        super().__init__(items)
        self._note = note

    def append(self, item: Any) -> None:
        self._note(item)
        super().append(item)


def _opener(host: Host) -> OneWayOpener:
    assert host.node is not None
    path = host.node.state.key_path
    static: X25519PrivateKey = load_or_make_key(path.parent, path.name)[0]
    return OneWayOpener(static, PROLOGUE)


def _end(loop: ClockLoop, root: Path) -> None:
    """The world is gone: its tasks end, its loop closes, its folders go."""
    with contextlib.suppress(Exception):
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        if tasks:
            loop.run_until_complete(asyncio.wait(tasks))
    with contextlib.suppress(Exception):
        loop.close()
    shutil.rmtree(root, ignore_errors=True)
