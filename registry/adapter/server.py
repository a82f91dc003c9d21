"""The registry's asyncio adapter: sockets, clock, files and console around RegistryCore; its
data directory, locked for it alone, and what it loads from there."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from msgspec import Struct

from disk.files import InUse, hold_lock, os_reason, private_folder
from disk.operator_key import key_path
from net.discovery import lan_addresses, reach_line
from net.drop_log import Rejections
from net.endpoint import Endpoint
from net.wake import WakeTimer
from registry.adapter.commit import GroupCommit
from registry.adapter.desk.service import DeskService
from registry.adapter.password_checks import PasswordChecks
from registry.adapter.registry_console import RegistryConsole, key_lines
from registry.adapter.settings import RegistrySettings
from registry.adapter.store import STORE_ACTIONS, FileStore, Kept, StorageError, Store
from registry.core.actions import Action, Addr, CheckPassword, Log, Send, SendMany
from registry.core.desk.limits import DeskSettings
from registry.core.dispatch import RegistryCore
from registry.core.flood import count_requests
from registry.core.requests import fmt
from secure.channel import SecureChannel
from secure.keys import KeyFileError, load_or_make_key
from wire.desk.messages import DESK_TYPES
from wire.messages import Message, for_log, inbound_line
from wire.words import counted


class Router(Protocol):
    """Where a registry's sends go: a registry on its own reaches every peer itself (`ALONE`);
    the one that decides for a service hands what is for the other registries' peers to them."""

    in_a_service: bool

    def heard_here(self, addr: Addr) -> None:
        """The peer at `addr` sent to this registry itself."""

    def linked(self) -> bool:
        """Whether the other registries' peers can be heard now (else none is judged silent)."""

    def send(self, action: Send | SendMany | None) -> Send | SendMany | None:
        """Hand on what of `action` is for other registries' peers; return the rest, or None."""


class Alone:
    in_a_service = False

    def heard_here(self, addr: Addr) -> None:
        pass

    def linked(self) -> bool:
        return True

    def send(self, action: Send | SendMany | None) -> Send | SendMany | None:
        return action


ALONE = Alone()


class Backend(Struct, frozen=True):
    store: Store
    kept: Kept
    static: X25519PrivateKey
    key_made: bool
    #: the secure channel whose sessions to go on with (None: a new one)
    channel: SecureChannel | None = None
    #: where sends go: every peer is this registry's own (ALONE), or the router of the
    #: registry that decides for a service
    router: Router = ALONE
    #: where the registries of its service are reached ("ip:port" each)
    registries: tuple[str, ...] = ()

    @classmethod
    def from_files(cls, store: FileStore, data_dir: Path) -> Backend:
        """The data directory's state and key; StorageError when it cannot be used."""
        kept = store.load(time.monotonic())  # every row heard from now
        try:
            static, key_made = load_or_make_key(data_dir)
        except (KeyFileError, OSError) as exc:
            raise StorageError(os_reason(exc)) from None  # (a damaged one: what to do)
        return cls(store, kept, static, key_made)


def registry_channel(static: X25519PrivateKey) -> SecureChannel:
    return SecureChannel(static, answers_key_requests=True, rehandshakes_on_silence=False)


def load(
    data_dir: Path,
    commits: GroupCommit,
    kept: Kept,
    rejections: Rejections,
    settings: RegistrySettings,
) -> tuple[DeskService, RegistryCore]:
    """The registry's help desk, keeping through `commits`, and core, from `kept`; StorageError
    when the desk's key cannot be used."""
    try:
        desk = DeskService(
            data_dir,
            rejections.log,
            DeskSettings(
                crisis_notice=settings.crisis_notice or "",
                heartbeat=settings.keepalive,
                typical_session=settings.typical_session,
            ),
            rejected=rejections,
            commits=commits,
        )
    except (OSError, ValueError) as exc:
        where = key_path(data_dir)
        raise StorageError(f"cannot use the help desk's operator key {where}: {exc}") from None
    core = RegistryCore(
        session=secrets.token_hex(4),
        new_token=lambda: secrets.token_hex(16),
        table=kept.table,
        mail=kept.mail,
        owners=kept.owners,
        histories=kept.histories,
        keepalive=settings.keepalive,
        mailbox_limit=settings.mailbox_limit,
        new_names=settings.new_names,
        forget_after=settings.forget_after,
        newcomer_names=settings.newcomer_names,
        wall_offset=lambda: time.time() - time.monotonic(),  # for the stamps it keeps
    )
    return desk, core


LOCK_FILE = "registry.lock"


def lock(data_dir: Path) -> tuple[str, int]:
    """Make the data directory this user's alone (the line saying so, or "") and lock it for
    this registry; StorageError when another runs there."""
    try:
        tightened = private_folder(data_dir)
    except OSError as exc:
        raise StorageError(f"cannot make the data directory: {os_reason(exc)}") from None
    try:
        return tightened, hold_lock(data_dir / LOCK_FILE)
    except InUse as busy:
        raise StorageError(
            f"the data directory {data_dir} is in use by another running registry{busy.by}"
        ) from None
    except OSError as exc:
        raise StorageError(f"cannot lock the data directory: {os_reason(exc)}") from None


class RegistryServer:
    """One running registry: binds, loads its data directory, and serves until stopped. Its
    clock is time.monotonic(): a step of the time of day must not fire or hold back retries."""

    core: RegistryCore
    desk: DeskService
    endpoint: Endpoint

    def __init__(
        self,
        *,
        data_dir: Path,
        listen: tuple[str, int],
        out: Callable[[str], None],
        backend: Backend | None = None,
        settings: RegistrySettings | None = None,
    ) -> None:
        """`out` prints one console line; state is kept in `backend` (loaded by the caller), or
        else in files in `data_dir`. StorageError when the data directory cannot be used."""
        settings = settings or RegistrySettings()
        self.data_dir = data_dir
        self.bind, self.port = listen
        self.console = RegistryConsole(self, out, settings)
        self.log, self.say = self.console.log, self.console.say
        self._verbose = settings.verbose
        #: The one log of every refusal and failed check, of the chat and the desk alike.
        self.rejections = Rejections(self.log)
        # (that it was made its user's alone is said once the registry is listening: `start`)
        self._tightened, self._lock = lock(data_dir)
        try:
            if backend is None:
                backend = Backend.from_files(FileStore(data_dir, self.log), data_dir)
            self._store = backend.store
            self.commits = GroupCommit(
                self._store, lambda: self.core.table, self._release, self.log
            )
            self.desk, self.core = load(
                data_dir, self.commits, backend.kept, self.rejections, settings
            )
            self._set_up(backend)
        except BaseException:
            os.close(self._lock)
            raise
        self.core.registries = backend.registries  # (told at start: Restarted)
        self.desk.registries = lambda: self.core.registries  # its clients: where next
        self.desk.shared = backend.router.in_a_service

    def _set_up(self, backend: Backend) -> None:
        self._key_made = backend.key_made
        self._router = backend.router
        handoff = (frozenset(DESK_TYPES), self.desk.handle_connection)
        channel = backend.channel or registry_channel(backend.static)
        self._gate = self._admit  # (bound once: each datagram is offered to it)
        self.endpoint = Endpoint(
            self._received,
            channel=channel,
            session=secrets.token_hex(4),
            handoff=handoff,
            log=self.log,
            rejections=self.rejections,
            gate=self._gate,
            on_batch=self._received_batch,
            # a relay: what datagrams read together ask for leaves together, packed
            coalesce_drains=True,
            arrival_stamps=True,  # `behind`, which Busy answers by
            on_drained=self._drained,
        )
        self._timer = WakeTimer(self._tick)
        self._wake_stale = False  # datagrams were handled since the timer was re-armed
        # the drain's datagrams of acks alone not yet handed to the core
        self._held: list[tuple[list[Message], Addr, bytes]] = []
        self._stopped = asyncio.Event()
        self._closing = False
        self._checks = PasswordChecks(
            lambda ticket, outcome: self.run_actions(
                self.core.password_checked(ticket, outcome, time.monotonic())
            ),
            backend.static,
        )

    async def start(self) -> Addr:
        addr = await self.endpoint.open(self.bind, self.port)
        # (it sweeps for the peers of the table read)
        self.run_actions(self.core.start(time.monotonic()))
        await self.desk.start()
        in_a_service = self._router.in_a_service
        kept = "the service's NATS JetStream" if in_a_service else self.data_dir
        core, rooms = self.core, len(self.core.rooms.rooms)
        self.console.out(
            f"ChatApp registry listening on {addr[0]}:{addr[1]} (UDP and TCP); data in {kept}; "
            f"{counted(len(core.table.records), 'known name')}, "
            f"{counted(self.console.stored(), 'stored message')}"
            + (f", {counted(rooms, 'room')}" if rooms else "")
        )
        if addr[0] in ("0.0.0.0", "::"):
            self.console.out(reach_line(lan_addresses(), addr[1]))
        if self._tightened:
            self.console.out(self._tightened)
        if not in_a_service:  # (a registry of a service said the service's key)
            for line in key_lines(self.endpoint.channel.public, self._key_made):
                self.console.out(line)
        if self.desk.problem:
            self.console.out(self.desk.problem)
        else:
            self.console.out(
                f"Help-desk operators (ChatApp -o) need the key in {self.desk.key_path}"
            )
        self.console.started()
        return addr

    @property
    def public(self) -> bytes:
        return self.endpoint.channel.public

    def take_console(self) -> None:
        self.console.read()

    async def run(self) -> None:
        await self._stopped.wait()

    def stop(self) -> None:
        self._stopped.set()

    async def close(self) -> None:
        """Stop: from the first step on, take nothing more in, so that only what was decided
        settles (a registry of a service must not decide beside its successor)."""
        self._closing = True
        await self.commits.settle()
        self._timer.cancel()
        self._checks.close()
        await self.desk.close()
        await self.endpoint.close()
        self.rejections.close()
        await self.console.stop()
        if self._lock >= 0:
            os.close(self._lock)  # another registry may use the data directory now
            self._lock = -1

    def _admit(self, addr: Addr, now: float | None = None) -> bool:
        # asked of each message of a frame, of every datagram but a live session's data
        # before it is opened, and of that data's requests (`count_requests`)
        if self._closing:
            return False
        admitted, actions = self.core.admit(addr, time.monotonic() if now is None else now)
        if actions:
            self.run_actions(actions)  # its line is a rejection: many addresses make one line
        return admitted

    def _received(self, message: Message, addr: Addr, key: bytes) -> None:
        # a message read from a TCP connection
        self._router.heard_here(addr)
        if self._verbose:
            self.log(f"<- {addr[0]}:{addr[1]} {for_log(message)}")
        now, behind = time.monotonic(), self.endpoint.behind()
        self.run_actions(self.core.receive(message, addr, now, key=key, behind=behind))

    def _received_batch(self, messages: list[Message], at: Any, key: bytes) -> None:
        addr: Addr = at  # (hot path: `at` Any, kept boxed)
        now = self.endpoint.read_at  # its drain's
        requests = count_requests(messages, self._gate, addr, now, self.endpoint.lagging)
        if self._closing or not messages:
            return
        self._router.heard_here(addr)
        if self._verbose:
            for message in messages:
                self.log(inbound_line(message, addr))
        # a relay's acks come back a hundred at a time: those alone wait for the drain's end
        # or its next request (`behind`, which Busy answers by, is read only for requests)
        self._held.append((messages, at, key))
        if requests:
            self._take_held(self.endpoint.behind())

    def _take_held(self, behind: float = 0.0) -> None:
        held, self._held = self._held, []
        now = self.endpoint.read_at
        self._carry_out_all(self.core.receive_datagrams(held, now, datagram=True, behind=behind))
        self._wake_stale = True  # the timer is re-armed once the drain is over (`_drained`)

    def handle(self, event: Callable[[RegistryCore, float], list[Action]]) -> None:
        """Carry out what the core answers to `event` (the cluster's, the console's), unless
        closing."""
        if not self._closing:
            self.run_actions(event(self.core, time.monotonic()))

    def _drained(self) -> None:
        if self._held and not self._closing:
            with self.endpoint.packed():  # as the drain's own sends left, packed
                self._take_held()
        if self._wake_stale and not self._closing:
            self._wake_stale = False
            self._timer.set(self.core.next_wake())

    def _tick(self) -> None:
        if self._closing:
            return
        # what a wake-up sends leaves packed (a burst's retries: one entry for their members)
        with self.endpoint.packed():
            # (a lead whose lease is not fresh may be cut off from NATS, and so from the other
            # registries' peers: none is judged silent)
            behind = self.endpoint.behind() if self._router.linked() else float("inf")
            self.run_actions(self.core.tick(time.monotonic(), behind))

    def run_actions(self, actions: Sequence[Action]) -> None:
        """Carry out the actions of one event, then re-arm the timer: how every event ends."""
        self._carry_out_all(actions)
        if not self._closing:
            self._timer.set(self.core.next_wake())

    def _carry_out_all(self, actions: Sequence[Action]) -> None:
        for action in actions:
            try:
                self._carry_out(action)
            except (OSError, StorageError) as exc:
                # Nothing after a failed write may go out: it could be the ack of that write.
                self.log(f"ERROR storing data: {exc}; the request stays unanswered")
                break

    def _carry_out(self, action: Action) -> None:
        """The one way the core's actions are carried out; OSError or StorageError for a write
        that fails."""
        # (exact types: a Struct class's isinstance that fails is a call of its metaclass)
        if type(action) is Send or type(action) is SendMany:
            self._send(self.commits.hold(action))
        elif type(action) is Log:
            if action.kind:
                self.rejections(action.kind, action.line)
            else:
                self.log(action.line)
        elif type(action) is CheckPassword:
            self._checks.start(action)  # off this thread: its outcome comes back later
        elif isinstance(action, STORE_ACTIONS):
            self._store.carry_out(action)
            if self._store.dirty:
                self.commits.open()

    def _send(self, action: Send | SendMany | None) -> None:
        action = self._router.send(action)  # (what is for here)
        if action is None:
            return
        if type(action) is SendMany:
            if self._verbose:
                self.log(f"-> {len(action.addrs)} peers {for_log(action.message)}")
            self.endpoint.send_many(action.addrs, action.keys, action.message)
        elif isinstance(action, Send):
            if self._verbose:
                self.log(f"-> {fmt(action.addr)} {for_log(action.message)}")
            self.endpoint.send(action.addr, action.message, action.key)

    def _release(self, held: list[Send | SendMany]) -> None:
        with self.endpoint.packed():
            for send in held:
                self._send(send)
        if self.console.waiting:
            # after the endpoint's end-of-pass flush, which these sends may have scheduled
            asyncio.get_running_loop().call_soon(self.console.write)
