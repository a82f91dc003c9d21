"""The peer's asyncio adapter: sockets, clock, kept state and console around PeerCore; and
running a peer as the program (`run_peer`), until the user quits."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import math
import os
import secrets
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from disk.files import os_reason, private_folder
from net.endpoint import Endpoint
from net.wake import WakeTimer
from peer.adapter.files.service import FileHost, FileService, unfinished_transfers
from peer.adapter.key_checks import KeyChecks
from peer.adapter.start import (
    PASSWORD_AGAIN,
    PeerSettings,
    StartRefused,
    before_prompt,
    load_outbox,
    lock,
    own_key,
    own_token,
)
from peer.adapter.state import PeerStateFile, follow_renames
from peer.adapter.terminal import Console, PlainConsole, Sources, TerminalConsole, make_console
from peer.core.actions import (
    AcksLater,
    Action,
    Addr,
    AskRegistryKey,
    Dated,
    ExitPeer,
    FileDatagram,
    ForFiles,
    Held,
    Keep,
    KeysListed,
    OnceShown,
    PinKey,
    Print,
    Prompt,
    Rejected,
    Remember,
    Sending,
    SendSealed,
    Shown,
)
from peer.core.dispatch import PeerCore
from peer.core.lifecycle import LifePhase
from peer.core.room_membership import as_of
from peer.core.sealed_mail import SealedMail
from secure.channel import SecureChannel
from secure.noise import NoiseError, public_bytes
from terminal.prompt import ask_secret, ask_yes_no
from wire.keys import fingerprint
from wire.limits import REGISTRY_BURST, REGISTRY_RATE
from wire.messages import MailTaken, Message, PasswordAsk, SaveMessage, for_log, inbound_line
from wire.names import name_key
from wire.token_bucket import FloodGate, Key

#: Seconds a failed start waits for the rest of a script's input (see `PeerNode._finish`).
INPUT_AFTER_FAILURE = 1.0
#: Messages a second one address may send a peer: twice what the registry takes from one.
PEER_RATE = 2 * REGISTRY_RATE
PEER_BURST = 2 * REGISTRY_BURST

#: What each write of kept state keeps, and what its failure costs (said; nothing else lost).
_KEPT: dict[type | str, tuple[str, str]] = {
    Shown: ("the list of messages shown", "after a restart some may be shown again"),
    Held: ("a line waiting for an earlier one", "it is lost if ChatApp is killed meanwhile"),
    Sending: ("the messages you send", "a message on its way when ChatApp is killed may be lost"),
    "room": ("the room you are in", ""),
    "registries": ("the service's registries", "a restart finds only the one given"),
    "tickets": ("the mailbox tickets others gave you", "they are given again as you talk"),
}


def _debug_line(line: str) -> None:
    print(f"[debug] {line}", file=sys.stderr, flush=True)


class PeerGate:
    """The peer's flood gate (wire/token_bucket.py): admits what comes from an address within
    PEER_RATE (the registry at `server()` always); each drop is told to `rejected`
    (net/drop_log.py). What one address sends beyond it is dropped unopened."""

    def __init__(
        self,
        server: Callable[[], Addr],
        rejected: Callable[[str, str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._server = server
        self._rejected = rejected
        self._gate = FloodGate(PEER_RATE, PEER_BURST)
        self._keys = FloodGate(PEER_RATE, PEER_BURST)
        self._clock = clock
        self.dropped = 0

    def __call__(self, addr: Addr) -> bool:
        """Whether to open what just came from `addr` (each message counts one)."""
        return self._admits(self._gate, addr, addr, "")

    def by_key(self, addr: Addr, key: bytes) -> bool:
        """Whether to decode a live session's datagram sealed by `key` while the peer lags."""
        return self._admits(self._keys, key.hex(), addr, "the key at ")

    def _admits(self, gate: FloodGate, source: Key, addr: Addr, what: str) -> bool:
        if gate.take(source, self._clock()) or addr == self._server():
            return True
        self.dropped += 1
        self._rejected("flood", f"flood from {what}{addr[0]}:{addr[1]}: dropped")
        return False


class PeerNode:
    def __init__(
        self, *, name: str, server: Addr, data_dir: Path, console: Console, settings: PeerSettings
    ) -> None:
        self._data_dir = data_dir
        # what to say before registering (a start under a name given up by a rename)
        self._start_lines: list[Print] = []
        self._tightened = ""  # said after the Welcome (see `run`); one unusable: `lock` says
        with contextlib.suppress(OSError):
            self._tightened = private_folder(data_dir)
        current, typed = follow_renames(data_dir, name), name
        if current != name:
            line = f"[You renamed {name} to {current}; starting as {current}.]"
            self._start_lines.append(Print(line, "system"))
            name = current
        # the name's files locked for this peer, let go by `stop` (the kernel does at exit)
        self._locks = contextlib.ExitStack()
        self._locks.callback(os.close, lock(data_dir, name))
        try:
            #: The name's state kept on disk (another after a rename; read-only outside).
            self.state = PeerStateFile(data_dir, name)
            token, static = own_token(self.state, name), own_key(self.state)
            self.core = PeerCore(
                name=name,
                port=settings.port,
                server=server,
                session=secrets.token_hex(4),
                token=token,
                seen=self.state.load_seen(),
                outbox=load_outbox(self.state, token),
                room=self.state.load_room(),
                keepalive=settings.keepalive,
                fingerprint=fingerprint(public_bytes(static)),
                wall_offset=lambda: time.time() - time.monotonic(),
                tickets=self.state.load_tickets(),
            )
            if typed != name:  # a message still for the name typed, from before, is ours
                self.core.state.former.add(name_key(typed))
            self._make(static, server, console, settings)
        except BaseException:
            self._locks.close()
            raise

    def _make(
        self, static: X25519PrivateKey, server: Addr, console: Console, settings: PeerSettings
    ) -> None:
        self._settings, self._static, self._server = settings, static, server
        self.password_anew = False  # the start ended as its password was not set: another may be
        self.console = console
        self._verbose = settings.verbose
        self._debug = _debug_line if settings.verbose else lambda line: None
        entry = self.core.table.entry
        # the question of first contact is asked before the console takes the terminal
        confirm = ask_yes_no if isinstance(console, TerminalConsole) else None
        rule = settings.contact_rule(confirm)
        self.keys = KeyChecks(self._data_dir, server, self.core.trust, console.show, rule=rule)
        tickets = self.core.tickets.for_owner  # (shown with each save)
        self.mail = SealedMail(static, entry, self.keys.pinned_key, self.keys.pinned, tickets)
        self.core.open_mail = self.mail.opened
        host = FileHost(
            entry,
            lambda: self.core.state.name,
            lambda addr, key, message: self.endpoint.send(addr, message, key),
            console.show,
            self._not_kept,
        )
        # the folder of the name the peer has now (a rename moves it: `_remember`)
        folder = lambda: self.state.files_path  # noqa: E731
        self.files = FileService(static, host, folder=folder, downloads=settings.downloads)
        gate = PeerGate(lambda: self.core.server, lambda *drop: self.endpoint.rejections(*drop))
        self.endpoint = Endpoint(
            lambda message, addr, key: self.received_batch([message], addr, key, self.now()),
            clock=time.monotonic,  # as `now` reads it: `received_batch` takes its `read_at`
            channel=SecureChannel(static),
            session=secrets.token_hex(4),
            log=self._debug,
            on_batch=self.received_batch,
            handoff=self.files.handoff,
            gate=gate,
            key_gate=gate.by_key,  # a live session's data is opened, bounded per key in a lag
        )
        self.endpoint.on_key = self.keys.key_answered  # the key in clear: weighed, not believed
        self.endpoint.on_handshake = lambda a, key: self.core.registry_answered(a, key, self.now())
        self.endpoint.on_stream_end = lambda i: self._run(self.core.stream_ended(i, self.now()))
        self._timer = WakeTimer(lambda: self._run(self.core.tick(self.now())), spare=True)
        self._done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._ending = False  # the user asked to quit (Ctrl-C, Ctrl-D, end of input)
        self._failed_writes: set[str] = set()  # see `_not_kept`
        #: The carrier of each type of action (`carry_out`, bound once; read-only outside).
        self.carriers, self._carry_out = self._carrier_table(), self.carry_out

    async def run(self) -> int:
        """Bind, register, and serve the user until they quit; the exit status."""
        port = self._settings.port
        try:
            await self.endpoint.open(self._settings.bind, port)
        except OSError as exc:
            why = exc.strerror or exc
            self.console.show(Print(f"[Cannot listen on port {port}: {why}.]", "error"))
            return 1
        if not port:  # none given: the one the system chose, said after the Welcome
            self.core.state.port = port = self.endpoint.address[1]
            chosen = f"[Listening on port {port}, a free one (a CLIENT-PORT chooses it).]"
            self.core.after_welcome.append(Print(chosen, "system"))
        key = lambda: self.keys.registry_key(self.endpoint, self.core.after_welcome)  # noqa: E731
        try:
            on_terminal = isinstance(self.console, TerminalConsole)  # lines typed meanwhile held
            steps: tuple[Callable[[], Awaitable[bool]], ...] = (key, self._password_proof)
            for step in steps:
                if not await (before_prompt(step(), self.carry_out) if on_terminal else step()):
                    return 1
            self.core.parts.shared.registries = self.state.load_registries(self.core.trust.registry)
            if self._tightened:  # after the Welcome, and the registry's key first met
                self.core.after_welcome.append(Print(f"[{self._tightened}]", "system"))
            self._catch_signals()
            self.console.start(self.typed, self._ended)
            for line in self._start_lines:
                self.console.show(line)
            for problem in self.state.problems:
                self.console.show(Print(f"[{problem}]", "error"))
            self.start()
            self.files.start()
            # what start-up made (modules, classes, the state read) lives as long as the peer:
            # frozen, no collection walks it again, as each full one did (CPython's gc.freeze)
            gc.freeze()
            return await self._done
        finally:  # a start refused too: the console says what it was given (the full screen's)
            self.stop()
            stop = getattr(self.console, "stop", None)  # consoles of other callers may lack it
            if stop is not None:
                await stop()
            await self.endpoint.close()

    async def _password_proof(self) -> bool:
        """With --password: the proof (or verifier) the registration carries; False: it ends."""
        if not self._settings.password:
            return True
        ask = PasswordAsk(self.core.parts.shared.new_id(), self.core.state.name)
        asks = (ask_yes_no, ask_secret) if isinstance(self.console, TerminalConsole) else None
        ours = public_bytes(self._static)
        made = await self.keys.prove(self.endpoint.send, ask, ours, self._settings, asks)
        if made is None:
            self.password_anew = self.keys.ask_anew
            return False
        self.core.state.proof, self.core.state.verifier = made
        self.core.state.password_asked_again = self._settings.ask_again
        return True

    def start(self) -> None:
        self._run(self.core.start(self.now()))

    def stop(self) -> None:
        self._timer.cancel()
        self.files.close()
        self.state.close()  # its maps, before the lock on the folder goes
        self._locks.close()

    def _catch_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self._interrupted)
        # the terminal was closed: nobody is left to wait for, or to read what is shown
        with contextlib.suppress(NotImplementedError, RuntimeError, AttributeError):
            loop.add_signal_handler(signal.SIGHUP, self._leave_now, 128 + signal.SIGHUP, False)

    def _interrupted(self) -> None:
        # The first Ctrl-C quits politely (what was sent delivered, then dereg); one after
        # that, or after the end of input, leaves at once (on a terminal, the prompt's first).
        if self._ending:
            self._leave_now(128 + signal.SIGINT)
        else:
            self._ended()

    def _leave_now(self, code: int, show: bool = True) -> None:
        if not self._done.done():
            actions = self.core.leave_now()
            self._run(actions if show else [a for a in actions if not isinstance(a, Print)])
        self._finish(code)

    def typed(self, text: str) -> None:
        # each action carried out as the core decides it: the message typed leaves first
        self.core.line(text, time.monotonic(), self._carry_out)
        self._event_done()

    def _ended(self) -> None:
        self._ending = True
        # A terminal prompt handles Ctrl-C itself while it runs, and takes the loop's SIGINT
        # handler away when it ends: ours again, so that the next Ctrl-C leaves at once.
        self._catch_signals()
        self._run(self.core.end_of_input(self.now()))

    def received_batch(
        self, messages: list[Message], at: Any, key: bytes, now: float | None = None
    ) -> None:
        """The endpoint's `on_batch`: one datagram's messages from `at`, sealed by `key`, as
        one event at `now` (by default the drain's `read_at`)."""
        if self._verbose:
            for one in messages:
                self._debug(inbound_line(one, at))
        if now is None:
            now = self.endpoint.read_at  # one reading of the clock per drain, not per event
        if self.keys.asked is not None:  # a proof of the password under way
            messages = [m for m in messages if not self.keys.password_answered(m)]
        core = self.core
        core.receive_all(messages, at, key, now, self._carry_out)
        if core.records or core.alarm.at != self._timer.at:  # most datagrams change neither
            self._event_done()

    def now(self) -> float:
        return time.monotonic()

    def _run(self, actions: list[Action]) -> None:
        for action in actions:
            self.carry_out(action)
        self._event_done()

    def carry_out(self, action: Action) -> None:
        """Carry out one action of the core, now (a Shown is written before the message's ack
        and line: a killed peer never shows a message twice)."""
        try:
            self.carriers[type(action)](action)
        except OSError as exc:
            kept = _KEPT.get(action.what if type(action) is Keep else type(action))
            if kept is None:
                raise
            self._not_kept(*kept, exc)

    def _carrier_table(self) -> dict[type, Callable[[Any], object]]:
        console, loop = self.console, asyncio.get_running_loop()
        return {
            Shown: self.state.add_shown,  # (made again when `_state` is another)
            Held: self.state.hold,
            SendSealed: self._send,
            Print: console.show,
            Dated: lambda a: console.show(as_of(a, time.time())),  # the day as it is shown
            OnceShown: lambda a: console.after_printed(functools.partial(self._run, list(a.then))),
            Remember: lambda a: self._remember(a.name, a.token),
            Prompt: lambda a: console.set_prompt(a.text),
            Keep: lambda a: self.state.keep(a.what, a.text),
            ExitPeer: lambda a: self._finish(a.code),
            # after this pass's sends: an initiation they made goes first (secure.channel)
            AskRegistryKey: lambda a: loop.call_soon(self.endpoint.ask_key, self.core.server),
            ForFiles: lambda a: self.files.typed(a.verb, a.args),
            FileDatagram: lambda a: self.files.received(a.message, a.key),
            PinKey: lambda a: self.keys.pinned(a.name, a.key),
            KeysListed: lambda a: self.keys.listed_in(a.message),
            Rejected: lambda a: self.endpoint.rejections(a.why, a.line),
            AcksLater: self._acks_later if self._verbose else self.endpoint.acks_later,
        }

    def _event_done(self) -> None:
        """After one event's actions: write the core's records, and set the timer. A kill
        before a message's id is written sends it again at the next start, shown once."""
        records = self.core.records
        if records:
            try:
                self.state.write_sending(records, self.core.unsettled.values(), self.endpoint.sent)
            except OSError as exc:
                self._not_kept(*_KEPT[Sending], exc)
            records.clear()  # the core's list: it appends to the same one
        at = self.core.alarm.at
        if at != self._timer.at and not self._done.done():  # mostly set for it already
            self._timer.set(at)

    def _acks_later(self, action: AcksLater) -> None:  # --verbose
        self._debug(f"-> {action.addr[0]}:{action.addr[1]} acks of {', '.join(action.replies)}")
        self.endpoint.acks_later(action)

    def _send(self, action: SendSealed) -> None:
        """A save is sealed to its recipient as it leaves; a MailTaken waits for the lines
        before it to be printed."""
        addr, message, key, stream = action.addr, action.message, action.key, action.stream
        if self._verbose:
            self._debug(f"-> {addr[0]}:{addr[1]} {for_log(message)}")
        if type(message) is SaveMessage:
            try:  # sealed, or as it is when the table has no key for them
                message = self.mail.sealed(message) or message
            except NoiseError:
                self._debug(f"not sent: {message.to}'s key in the table is unusable")
                return
        elif type(message) is MailTaken and not stream:
            self.console.after_printed(functools.partial(self.endpoint.send, addr, message, key))
            return
        self.endpoint.send(addr, message, key, stream=stream)

    def _not_kept(self, what: str, then: str, exc: OSError) -> None:
        """Say that `what` was not kept on disk (once only when it says a cost, `then`)."""
        if then and what in self._failed_writes:
            return
        self._failed_writes.add(what)
        cost = f"; {then}" if then else ""
        line = f"[Could not keep {what} on disk: {os_reason(exc)}{cost}]"
        self.console.show(Print(line, "error"))

    def _remember(self, name: str, token: str) -> None:
        """Keep `token` in the state of `name`: after a rename, all kept moves there."""
        previous = self.state
        self.files.settle()  # no transfer's record is being written as its folder moves
        try:
            state = previous.moved_to(name, token)
        except OSError as exc:
            why = os_reason(exc)
            self.console.show(Print(f"[Could not keep your token for {name}: {why}]", "error"))
            return
        self.state = state
        self.carriers = self._carrier_table()  # a Shown is kept in the new name's files
        if previous.path != state.path:
            # the new name's files are this peer's too (best effort: the registry gave it
            # the name, so no other start of it should run)
            with contextlib.suppress(OSError, StartRefused):
                self._locks.callback(os.close, lock(self._data_dir, name))
            previous.left_for(name)

    def _finish(self, code: int, *, wait: bool = True) -> None:
        # A failed start's script may have lines on their way (the refusal can come before
        # stdin is read): each read is said not carried out; its end exits (the core's ExitPeer).
        failed = wait and self.core.state.life.phase is LifePhase.START_FAILED and not self._ending
        if failed and isinstance(self.console, PlainConsole):
            exit_later = functools.partial(self._finish, code, wait=False)
            asyncio.get_running_loop().call_later(INPUT_AFTER_FAILURE, exit_later)
        elif not self._done.done():  # (a wait that ran out after the end of input: nothing)
            self._done.set_result(code)
            self._timer.cancel()  # the core is woken no more


async def run_peer(
    *,
    name: str,
    server: Addr,
    data_dir: Path,
    settings: PeerSettings,
    plain: bool = False,
) -> int:
    """Run a peer until the user quits; the exit status, or PASSWORD_AGAIN when its password
    was refused and `settings.ask_again`."""
    console = make_console(colour=settings.colour, bell=settings.bell, plain=plain)
    try:
        node = PeerNode(
            name=name, server=server, data_dir=data_dir, console=console, settings=settings
        )
    except StartRefused as refused:
        console.show(Print(str(refused), "error"))
        return 1
    if isinstance(console, TerminalConsole):
        from peer.adapter.kept_history import KeptHistory  # prompt_toolkit's: on a terminal only

        core, requests = node.core, node.core.parts.shared.requests
        sources = Sources(
            me=lambda: core.state.name,
            names=core.table.online_names,
            rooms=core.room_names,
            room=lambda: core.state.room,
            question=core.question,
            kept=KeptHistory(lambda: node.state.history_path, secret=settings.password),
            losing=lambda: [*core.unfinished(), *unfinished_transfers(node.state.files_path)],
            people=lambda: [(row.name, row.online, row.away) for row in core.table.rows()],
            registry=lambda: "{}:{}".format(*core.server),
            answers=lambda: None if requests.heard_at == -math.inf else not requests.down,
            outbox=lambda: len(core.outbox),
            transfers=node.files.progress,
        )
        console.bind(sources)
    status = await node.run()
    wrong = node.core.state.password_refused
    if settings.ask_again and (wrong or node.password_anew):
        return PASSWORD_AGAIN
    return status
