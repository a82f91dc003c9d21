"""A peer's start, before its prompt: its settings, its name's files locked, its own key and
token, the password proven by SRP-6a (a new name's verifier set only with a checked registry
key, and a yes; docs/SECURITY.md), lines typed meanwhile held. The password stays here."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import msgspec
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from msgspec import Struct

from disk.files import InUse, hold_lock, os_reason
from peer.adapter.key_contact import Confirm, ContactRule, Say
from peer.adapter.mapped_log import why_unreadable
from peer.adapter.state import PeerStateFile
from peer.core.actions import Action, Print
from peer.core.registry_watch import SILENT_KEEPALIVES
from peer.core.retry_wait import SilentRounds
from peer.core.shared import not_carried_out
from secure import password
from secure.keys import KEY_FILE, KeyFileError, load_or_make_key
from terminal.typed_ahead import hold_typed_ahead, kept_on_interrupt, read_typed_ahead
from wire.messages import Message, PasswordAsk, PasswordChallenge, Refused
from wire.names import name_key
from wire.reliable import ATTEMPTS, TIMEOUT
from wire.words import counted


class PeerSettings(Struct, frozen=True):
    """The settings of one peer, from the command line ("": none given)."""

    port: int = 0
    bind: str = "0.0.0.0"
    keepalive: float = 10.0
    password: str = ""
    #: without a terminal, set the password of a name the registry says is new
    new_password: bool = False
    verbose: bool = False
    trust: ContactRule = ContactRule()
    downloads: str = ""
    colour: bool = True
    bell: bool = False
    #: a password refused (wrong, or too short to set) ends the start with PASSWORD_AGAIN,
    #: for the launcher to ask it again on the terminal
    ask_again: bool = False

    @property
    def patience(self) -> float:
        """Seconds a start asks a silent registry after a first round."""
        return SILENT_KEEPALIVES * self.keepalive

    def contact_rule(self, confirm: Confirm | None) -> ContactRule:
        """`trust`, with the password as the secret it guards, asking with `confirm`."""
        secret = "your password" if self.password else ""
        return msgspec.structs.replace(
            self.trust, secret=secret, confirm=confirm, patience=self.patience
        )


#: A start's status (never an exit status) when it ended as its password was refused (wrong),
#: or not set for a new name (too short, or typed differently again), with `ask_again`: the
#: launcher asks another.
PASSWORD_AGAIN = -1


class StartRefused(Exception):
    """The peer cannot start (its line for the user is the message)."""


def lock(data_dir: Path, name: str) -> int:
    """Lock `name`'s files in `data_dir` for this peer, or StartRefused."""
    path = data_dir / "peers" / f"{name_key(name)}.lock"
    try:
        return hold_lock(path)
    except InUse as busy:
        raise StartRefused(
            f"[{name} is already running with the data directory {data_dir}{busy.by}; "
            "quit it first, or use another name.]"
        ) from None
    except OSError as exc:
        raise StartRefused(
            f"[Cannot use the data directory {data_dir}: {os_reason(exc)}. Without it your "
            "name's token could not be kept; give another with --data-dir.]"
        ) from None


def own_key(state: PeerStateFile) -> X25519PrivateKey:
    """The static key of the name of `state` (made, or the folder's older shared key), or
    StartRefused."""
    data_dir, path = state.root, state.key_path
    try:
        if not path.exists():
            _take_shared_key(data_dir, path)
        static, _ = load_or_make_key(path.parent, path.name)
    except KeyFileError as exc:
        raise StartRefused(f"[{exc}]") from None
    except OSError as exc:
        why = os_reason(exc)
        raise StartRefused(f"[Cannot read or keep your key in {data_dir}: {why}.]") from None
    return static


def own_outbox(state: PeerStateFile, token: str) -> list[Message]:
    """What an earlier run left unsent; StartRefused when its log cannot be read."""
    try:
        return state.load_outbox(token)
    except OSError as exc:
        raise StartRefused(
            f"[Cannot read {state.sending_path} ({why_unreadable(exc)}). It keeps what your last "
            "session had not seen delivered; start again once it can be read.]"
        ) from None


#: Beside the names' keys: a link to the data folder's shared key from before keys were per
#: name, made by the first name to take it (so that no other name takes it too).
SHARED_KEY_TAKEN = "identity.key.taken"


def _take_shared_key(data_dir: Path, path: Path) -> None:
    """Give the name whose key goes at `path` the folder's shared key, if no name took it
    (claimed by a link; the file stays, for a help-desk client)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(data_dir / KEY_FILE, path.parent / SHARED_KEY_TAKEN)
    except (FileNotFoundError, FileExistsError):
        return  # none, or taken by another name: this one makes a key of its own
    os.link(path.parent / SHARED_KEY_TAKEN, path)


def own_token(state: PeerStateFile, name: str) -> str:
    """The token kept in `state`, else a new one, kept; StartRefused when it cannot be."""
    token = state.load_token()
    if not token and (not state.path.exists() or state.renamed_to()):
        token = secrets.token_hex(16)
        try:
            state.save_token(token)
        except OSError as exc:
            raise StartRefused(
                f"[Could not keep your token for {name} ({os_reason(exc)}), so the "
                "name would be lost at your next start; not registering. Mend it, or give "
                "another directory with --data-dir.]"
            ) from None
    return token


async def before_prompt(step: Awaitable[bool], say: Callable[[Action], None]) -> bool:
    """Await `step` (False: the start ends) at a terminal, saying with `say`."""
    fd = sys.stdin.fileno()
    with kept_on_interrupt(fd), _asked_first(fd, say):
        try:
            done = await step
        except asyncio.CancelledError:  # Ctrl-C: asyncio.run cancels the start
            sys.stdout.write("\n")  # below the "^C" the terminal echoed
            typed_meanwhile(fd, say)
            raise
        if not done:
            typed_meanwhile(fd, say)
        return done


def typed_meanwhile(fd: int, say: Callable[[Action], None]) -> None:
    ahead = read_typed_ahead(fd, unfinished=True)
    not_carried_out((*ahead.lines, ahead.partial), "nothing was sent", say)


def waiting(fd: int) -> str:
    """What a quit now would lose of the lines typed at `fd` ("": nothing), held for the prompt."""
    ahead = hold_typed_ahead(fd, unfinished=False)
    typed = [text for text in ahead.lines if text.strip()]
    if not typed:
        return ""
    return f"{counted(len(typed), 'line')} typed {'waits' if len(typed) == 1 else 'wait'}"


@contextlib.contextmanager
def _asked_first(fd: int, say: Callable[[Action], None]) -> Iterator[None]:
    """A first Ctrl-C while lines typed wait says so; any other goes to the handler there was."""
    loop = asyncio.get_running_loop()
    before = signal.getsignal(signal.SIGINT)
    asked = False

    def interrupted() -> None:
        nonlocal asked
        if not asked and (lost := waiting(fd)):
            asked = True
            sys.stdout.write("\n")  # below the "^C" the terminal echoed
            say(Print(f"[{lost} for the registry; Ctrl-C again quits.]", "system"))
            return
        loop.remove_signal_handler(signal.SIGINT)
        signal.signal(signal.SIGINT, before)
        if callable(before):
            before(signal.SIGINT, None)

    try:
        loop.add_signal_handler(signal.SIGINT, interrupted)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
        yield
        return
    try:
        yield
    finally:
        if loop.remove_signal_handler(signal.SIGINT):
            signal.signal(signal.SIGINT, before)


#: How a person at a terminal is asked: a yes or no (terminal.prompt.ask_yes_no), and a
#: password again, not echoed (ask_secret).
Asks = tuple[Confirm, Callable[[str], Awaitable[str]]]
#: Asked once the person says yes to setting a new name's password, as passwd asks.
SAME_AGAIN = "The same password again, to be sure of it: "


def new_name_question(name: str) -> str:
    return f"The registry says {name} is a new name: set this password for it? [y/N] "


def key_owns(name: str) -> str:
    """Said when this machine's key owns `name`: a password there is neither checked nor
    changed (whether the name has one or not)."""
    return (
        f"[This machine's key owns {name}: the password was neither checked nor changed (a "
        "password is set with a new name only).]"
    )


def too_short(secret: str) -> str:
    """Why `secret` may not be set as a new name's password ("": it may)."""
    if len(secret) >= password.MIN_LENGTH:
        return ""
    return (
        f"[A new password needs at least {password.MIN_LENGTH} characters; this one has "
        f"{len(secret)}. No password was set.]"
    )


class PasswordLogin:
    """One proof for `name` to the `registry` (where, and how its key was trusted: ""
    unchecked), bound to the channel's `keys` (ours, the registry's)."""

    def __init__(
        self,
        name: str,
        registry: tuple[str, str],
        keys: tuple[bytes, bytes],
        send: Callable[[Message], None],
        say: Say,
    ) -> None:
        self._name, (self._where, self._how), self._keys = name, registry, keys
        self._send, self._say = send, say
        #: Seconds a silent registry is asked after a first round (0: that round only).
        self.patience = 0.0
        #: Set when the proof ended as a new name's password was too short (`too_short`) or
        #: typed differently again: another may be typed.
        self.ask_anew = False
        self._ask: PasswordAsk | None = None
        self._answer: asyncio.Future[PasswordChallenge | Refused] | None = None

    def answered(self, message: Message) -> bool:
        """Whether `message` answers our PasswordAsk (then taken here)."""
        ask, answer = self._ask, self._answer
        if ask is None or answer is None or answer.done():
            return False
        if not isinstance(message, PasswordChallenge | Refused) or message.reply_to != ask.id:
            return False
        answer.set_result(message)
        return True

    async def prove(
        self, secret: str, new_id: str, asks: Asks | None, set_unasked: bool
    ) -> tuple[str, str] | None:
        """(proof, verifier) for the Register, one of them "" (both: no proof is needed);
        None when the start ends (said). `asks` asks the person (None: no terminal, where
        `set_unasked` decides a new name's password)."""
        reply = await self._exchange(PasswordAsk(new_id, self._name))
        if reply is None:
            self._say("[Could not register; is the registry running?]", True)
            return None
        if isinstance(reply, Refused):
            self._say(f"[{reply.reason.rstrip('.')}.]", True)
            return None
        if reply.new:
            return await self._set(secret, asks, set_unasked)
        if not reply.public:  # our key owns the name
            self._say(key_owns(self._name), False)
            return "", ""
        ident = password.identity(self._name, *self._keys)
        args = (secret, ident, reply.scrypt, reply.salt, reply.public)
        proof = await asyncio.to_thread(password.prove, *args)
        if not proof:
            self._say("[The registry's password challenge could not be answered.]", True)
            return None
        return proof, ""

    async def _set(
        self, secret: str, asks: Asks | None, set_unasked: bool
    ) -> tuple[str, str] | None:
        """A verifier for a new name, when the registry is trusted and the person agrees
        (and, at a terminal, types the password again)."""
        name = self._name
        if short := too_short(secret):
            self._say(short, True)
            self.ask_anew = True
            return None
        if not self._how:
            self._say(
                f"[The registry says {name} is a new name, but its key was not checked: a "
                "password is set only with a registry trusted by its join code, a pinned key "
                "or a fingerprint you confirmed. Nothing was sent.]",
                True,
            )
            return None
        self._say(f"[The registry at {self._where} is trusted by {self._how}.]", False)
        agreed = set_unasked if asks is None else await asks[0](new_name_question(name))
        if not agreed:
            why = "" if asks is not None else " (without a terminal: --new-password)"
            self._say(f"[No password set{why}; nothing was sent.]", True)
            return None
        if asks is not None and await asks[1](SAME_AGAIN) != secret:
            self._say("[The two passwords differ. No password was set.]", True)
            self.ask_anew = True
            return None
        self._say(
            f"[Setting the password of {name}: the registry keeps a verifier, never the password.]",
            False,
        )
        return "", await asyncio.to_thread(password.new_verifier, secret)

    async def _exchange(self, ask: PasswordAsk) -> PasswordChallenge | Refused | None:
        """Send `ask` in rounds of ATTEMPTS, until answered or the patience is over."""
        self._ask = ask
        self._answer = answer = asyncio.get_running_loop().create_future()
        rounds = SilentRounds(self._where, self.patience, time.monotonic())
        try:
            while True:
                for attempt in range(ATTEMPTS + 1):
                    if attempt < ATTEMPTS:
                        self._send(ask)
                    with contextlib.suppress(TimeoutError):
                        return await asyncio.wait_for(
                            asyncio.shield(answer), TIMEOUT * 2 ** min(attempt, 2)
                        )
                if (later := rounds.after_round(now := time.monotonic())) is None:
                    return None
                self._say(later[1], False)
                with contextlib.suppress(TimeoutError):
                    return await asyncio.wait_for(asyncio.shield(answer), later[0] - now)
        finally:
            answer.cancel()
            self._ask = None
