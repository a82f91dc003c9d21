"""A registry of a service (`--cluster DIR`): it decides while its lease keeper holds the lead,
and relays to the one that does otherwise; its console is one through both roles (run.py runs
it)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from disk.files import os_reason, replace_durably
from disk.operator_key import key_path, read_key
from registry.adapter.cluster.connect import close, connect, end_tasks_left, when_streams_answer
from registry.adapter.cluster.console import CONSOLE_SUBJECT, RelayConsole, answer_asked
from registry.adapter.cluster.follower import FORGET_PERIODS, Follower
from registry.adapter.cluster.keeper import RENEW, LeaseKeeper
from registry.adapter.cluster.link import (
    INBOUNDS,
    LEAD_SUBJECT,
    Elsewhere,
    Publisher,
    queued_since,
    registry_subject,
)
from registry.adapter.cluster.service_folder import ServiceFolder
from registry.adapter.cluster.store import ERRORS, JetStreamStore
from registry.adapter.console_commands import run_command
from registry.adapter.registry_console import (
    ConsolePrompt,
    key_lines,
    printable,
    read_console,
    stop_hint,
)
from registry.adapter.server import Backend, RegistryServer, registry_channel
from registry.adapter.settings import RegistrySettings
from registry.adapter.store import StorageError
from registry.core.actions import Action
from registry.core.dispatch import RegistryCore
from terminal.prompt import on_a_terminal
from wire.codec import DecodeError, decode
from wire.messages import for_log
from wire.words import counted

#: Seconds a registry that takes the lead waits for the others to say which peers they hold
#: before it pushes anything (more than one of their looks at the lead).
ANNOUNCED = 1.2 * RENEW


class ClusterRegistry:
    """One registry of the service: `open` reaches the service before `run`."""

    _nc: Client
    _keeper: LeaseKeeper
    _store: JetStreamStore
    _publish: Publisher

    def __init__(
        self,
        folder: ServiceFolder,
        listen: tuple[str, int],
        out: Callable[[str], None],
        data_dir: Path,
        settings: RegistrySettings,
    ) -> None:
        self._folder = folder
        self.public = folder.key.public_key().public_bytes_raw()
        # one secure channel for the life of the process: a peer's session outlives a role
        self._channel = registry_channel(folder.key)
        self._listen = listen
        # (the prompt, as the console, outlives a role)
        self._prompt = ConsolePrompt(self.stop, self._whom) if on_a_terminal() else None
        self.out = self.say = printable(self._prompt.print if self._prompt else out)
        self._data_dir = data_dir
        self._settings = msgspec.structs.replace(settings, console_operator=False, prompt=False)
        self._stopped = asyncio.Event()
        self._stopping = asyncio.Event()  # (a connection drained at the end is no outage to say)
        self._turned = 0.0  # when silent peers were last forgotten
        self._server: RegistryServer | None = None
        self._elsewhere: Elsewhere | None = None
        self._leader_reach = ""  # where the registry this one relays to is reached
        self._said_lead = ""  # where the registry last said to decide is reached
        self._follower: Follower | None = None
        self._queued_since: float | None = None  # (link.queued_since)
        self._lead_sub: Subscription | None = None
        self._console = RelayConsole(self._ask, self.out, lambda: self._leader_reach)

    async def open(self) -> None:
        """Reach the service's state in NATS and ask for this registry's lease; StorageError
        saying why when NATS cannot give it."""
        folder, data_dir = self._folder, self._data_dir
        try:
            data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            why = exc.strerror or exc
            raise StorageError(f"cannot use data directory {data_dir}: {why}") from None
        try:
            said = service_desk_key(folder.desk_key, data_dir)
        except OSError as exc:
            why = os_reason(exc)
            raise StorageError(f"cannot write the operator key into {data_dir}: {why}") from None
        self._nc, js = await connect(folder, self.log, self._stopping)
        reach = f"{self._settings.advertise}:{self._listen[1]}"
        self._keeper = LeaseKeeper(folder, secrets.token_hex(4), reach)
        self._publish = Publisher(self._nc.publish)

        try:
            self._store = await when_streams_answer(lambda: JetStreamStore.open(js))
            await self._keeper.start()  # (it takes the lead if it is free)
        except (*ERRORS, StorageError, ValueError) as exc:
            await self._leave()
            raise StorageError(f"cannot use NATS at {', '.join(folder.urls)}: {exc}") from None
        for line in key_lines(self.public, False, service=True):
            self.out(line)
        if said:
            self.log(said)

    async def close(self) -> None:
        self._stopping.set()
        await self._leave(drain=True)
        if self._prompt is not None:
            await self._prompt.stop()
        await end_tasks_left()

    async def _leave(self, *, drain: bool = False) -> None:
        await self._keeper.stop()
        await close(self._nc, drain=drain)

    def log(self, line: str) -> None:
        self.out(f"{time.strftime('%H:%M:%S')} {line}")

    def stop(self) -> None:
        self._stopped.set()
        self._keeper.news.set()

    async def run(self) -> None:
        while not self._stopped.is_set():
            await (self._decide() if self._keeper.held else self._relay())

    async def _next(self, forget_silent: Callable[[], None]) -> None:
        """Until the lead changes, RENEW seconds pass or a stop; now and then `forget_silent()`."""
        news = self._keeper.news
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(news.wait(), RENEW)
        news.clear()
        if time.monotonic() - self._turned >= FORGET_PERIODS * self._settings.keepalive:
            self._turned = time.monotonic()
            forget_silent()

    async def _decide(self) -> None:
        """Decide until stopped or the lead is lost; back early (to try again) when NATS did
        not give the service's state."""
        keeper, term, store = self._keeper, self._keeper.term, self._store
        store.fence = keeper.check
        elsewhere = self._elsewhere = Elsewhere(
            lambda registry, out: self._publish(registry_subject(registry), out),
            linked=lambda: keeper.held,
        )
        sub = self._lead_sub = await self._nc.subscribe(LEAD_SUBJECT, cb=self._inbound)
        asked = await self._nc.subscribe(CONSOLE_SUBJECT, cb=self._console_asked)
        try:
            # the others say which peers they hold as they see the lead change hands, while
            # the state loads: what is pushed at start then reaches each through its own
            try:
                kept, _ = await asyncio.gather(
                    store.load(time.monotonic()), asyncio.sleep(ANNOUNCED)
                )
            except ERRORS as exc:
                self.log(f"ERROR cannot load the service's state from NATS ({exc}); trying again")
                return
            known = await self._members() or {}
            server = self._server = RegistryServer(
                data_dir=self._data_dir,
                listen=self._listen,
                out=self.out,
                backend=Backend(
                    store,
                    kept,
                    self._folder.key,
                    False,
                    self._channel,
                    router=elsewhere,
                    registries=tuple(sorted(known.values())),
                ),
                settings=self._settings,
            )
            try:
                await self._serve(server, elsewhere, term, known)
            finally:
                await server.close()
        finally:
            await sub.unsubscribe()
            await asked.unsubscribe()
            self._server = self._elsewhere = self._lead_sub = None

    async def _serve(
        self, server: RegistryServer, elsewhere: Elsewhere, term: int, known: dict[str, str]
    ) -> None:
        keeper = self._keeper
        # (their table updates: the others deliver them; a peer with a session needs no handshake)
        server.core.hand_over(elsewhere, lambda addr: bool(self._channel.sessions_at(addr)))
        await server.start()
        self._say_lead(keeper.reach)
        self._turned = time.monotonic()
        while not self._stopped.is_set():
            await self._next(elsewhere.forget_silent)
            if not keeper.held or keeper.term != term:
                if not keeper.leader:  # (a lead taken again, by any registry, is said again)
                    self._said_lead = ""
                    self.log("the lead ran out unrenewed (NATS did not answer): this one relays")
                return  # (which registry decides now is said as this one relays to it)
            members = await self._members(unless=keeper.news)
            if members is None or members == known:
                continue  # (None: not known now, and nobody is taken for gone)
            for registry in set(known) - set(members):
                elsewhere.forget(registry)
            listed = tuple(sorted(members.values()))
            server.handle(lambda core, now: core.new_registries(listed, now))  # noqa: B023
            server.desk.tell_registries()
            known = members

    async def _relay(self) -> None:
        keeper = self._keeper
        follower = Follower(self._nc, keeper.me, self._channel, self.log, self._desk_where)
        addr = await follower.start(*self._listen)
        self._follower = follower
        self.out(
            f"ChatApp registry listening on {addr[0]}:{addr[1]} (UDP and TCP), relaying to "
            "the registry that decides for the service"
        )
        self._leader_reach = self._lead_seen()
        self._turned = time.monotonic()
        try:
            while not self._stopped.is_set():
                await self._next(follower.forget_silent)
                if keeper.held:
                    return  # (said once it decides)
                reach = self._lead_seen()
                if reach and reach != self._leader_reach:
                    follower.announce()
                self._leader_reach = reach
        finally:
            self._follower, self._leader_reach = None, ""
            await follower.close()

    def _lead_seen(self) -> str:
        """Where the registry that decides is reached ("": none, or this one), said if new."""
        leader = self._keeper.leader
        reach = "" if leader is None or leader == self._keeper.reach else leader
        self._say_lead(reach)
        return reach

    def _say_lead(self, reach: str) -> None:
        if not reach or reach == self._said_lead:
            return
        self._said_lead = reach
        if reach == self._keeper.reach:
            self.log(f"this registry decides for the service now ({reach})")
        else:
            self.log(f"the registry at {reach} decides for the service now; this one relays to it")

    async def _desk_where(self) -> tuple[str, str, list[str]]:
        """Where this registry is, where the help desk is ("": none yet), and all registries."""
        here = self._keeper.reach
        if not self._leader_reach:
            return here, "", [here]
        members = {*((await self._members()) or {}).values(), here, self._leader_reach}
        return here, self._leader_reach, sorted(members)

    async def _members(self, unless: asyncio.Event | None = None) -> dict[str, str] | None:
        """LeaseKeeper.members, or None when NATS did not say, or `unless` was set first."""
        asked = asyncio.ensure_future(self._keeper.call(self._keeper.members))
        if unless is not None:
            news = asyncio.ensure_future(unless.wait())
            await asyncio.wait((asked, news), return_when=asyncio.FIRST_COMPLETED)
            news.cancel()
            if not asked.done():
                asked.cancel()
                return None
        try:
            return await asked
        except ERRORS:
            return None

    async def _inbound(self, msg: Msg) -> None:
        """What other registries' peers sent; one that sent nothing was heard there."""
        elsewhere = self._elsewhere
        if elsewhere is None:
            return
        try:
            inbounds = [
                (inbound, [decode(data) for data in inbound.messages])
                for inbound in INBOUNDS.decode(msg.data)
            ]
        except (msgspec.DecodeError, msgspec.ValidationError, DecodeError):
            self.log("dropped what another registry handed over: not ChatApp's")
            return
        for inbound, _ in inbounds:
            elsewhere.heard_via((inbound.ip, inbound.port), inbound.registry)
        sub, now = self._lead_sub, time.monotonic()
        since = self._queued_since = queued_since(
            self._queued_since, sub.pending_msgs if sub else 0, now
        )
        server = self._server
        if server is None:
            return
        # behind in what NATS queued, or its own socket (at the registry it came through: each)
        behind = max(0.0 if since is None else now - since, server.endpoint.behind())
        if self._settings.verbose:
            for inbound, messages in inbounds:
                for message in messages:
                    where = f"{inbound.ip}:{inbound.port}"
                    self.log(f"<- {where} (via another registry) {for_log(message)}")

        def received(core: RegistryCore, now: float) -> list[Action]:
            core.heard_elsewhere([((i.ip, i.port), i.key) for i, m in inbounds if not m], now)
            return [
                action
                for inbound, messages in inbounds
                for message in messages
                for action in core.receive(
                    message, (inbound.ip, inbound.port), now, key=inbound.key,
                    datagram=inbound.datagram, behind=max(behind, inbound.behind),
                )
            ]  # fmt: skip

        server.handle(received)

    def take_console(self) -> None:
        if self._prompt is not None:
            self.out(stop_hint())
        read_console(self._prompt or sys.stdin, self._line, self.stop, self.say)

    def _whom(self) -> list[str]:
        if self._server is not None:
            return self._server.console.whom()
        held = self._follower.held() if self._follower is not None else 0
        return [f"{counted(held, 'peer')} online"] if held else []

    def _line(self, line: str, begun: float | None = None) -> None:
        """A line typed: quit stops the registry in either role, any other goes to the console
        of its role, the lead's or a relay's."""
        words = line.split()
        if words and words[0].removeprefix("/").lower() in ("quit", "exit"):
            self.stop()
        elif self._server is not None:
            self._server.console.line(line, begun)
        else:
            self._console.line(line)

    async def _ask(self, subject: str, data: bytes, timeout: float) -> bytes:
        return (await self._nc.request(subject, data, timeout=timeout)).data

    async def _console_asked(self, msg: Msg) -> None:
        server = self._server
        if server is not None and msg.reply:
            with contextlib.suppress(*ERRORS):
                await msg.respond(answer_asked(msg.data, lambda words: run_command(words, server)))


def service_desk_key(key: str, data_dir: Path) -> str:
    """Write the service's operator key into `data_dir`, for the desk and operators here; a
    line for the log when the registry's own key was another, else "". Raises OSError."""
    path = key_path(data_dir)
    if key == (local := read_key(path)):
        return ""
    replace_durably(path, (key + "\n").encode())
    return f"the help desk's operator key in {path} is the service's now" if local else ""
