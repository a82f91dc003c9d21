"""A peer's start, before its prompt: its settings, its name's files locked, its own key and
token, lines typed meanwhile held."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import msgspec
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from msgspec import Struct

from disk.files import InUse, hold_lock, os_reason
from peer.adapter.key_contact import Confirm, ContactRule
from peer.adapter.mapped_log import why_unreadable
from peer.adapter.state import PeerStateFile
from peer.core.actions import Action, Print
from peer.core.registry_watch import SILENT_KEEPALIVES
from peer.core.shared import not_carried_out
from secure.keys import KEY_FILE, KeyFileError, load_or_make_key
from terminal.typed_ahead import hold_typed_ahead, kept_on_interrupt, read_typed_ahead
from wire.messages import Message
from wire.names import name_key
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
