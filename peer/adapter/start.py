"""A peer's start, before its prompt: its settings, its name's files locked, its own key and
token, what an earlier run left unsent, lines typed meanwhile held."""

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

from disk.files import InUse, append_bytes, hold_lock, os_reason, read_bytes, why_unreadable
from peer.adapter.key_contact import Confirm, ContactRule
from peer.adapter.state import PeerStateFile, sending_records
from peer.core.actions import Action, Print
from peer.core.requests import SILENT_KEEPALIVES
from peer.core.shared import not_carried_out
from secure.keys import KEY_FILE, KeyFileError, load_or_make_key
from terminal.typed_ahead import hold_typed_ahead, kept_on_interrupt, read_typed_ahead
from wire.codec import DecodeError, decode
from wire.messages import Chat, Message, SaveMessage
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

    def contact_rule(self, confirm: Confirm | None) -> ContactRule:
        """`trust`, with the password as the secret it guards, asking with `confirm`."""
        secret = "your password" if self.password else ""
        patience = SILENT_KEEPALIVES * self.keepalive
        return msgspec.structs.replace(
            self.trust, secret=secret, confirm=confirm, patience=patience
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
    """The name's static key (made, or the folder's older shared key), or StartRefused."""
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


def load_outbox(state: PeerStateFile, token: str) -> list[Message]:
    """What an earlier run sent and did not see delivered (and an earlier version's
    outbox), in the order typed, direct messages as saves with `token`; the log is
    rewritten with them. StartRefused when the log cannot be read (nothing changed)."""
    try:
        sent, unreadable = sent_earlier(state)
    except OSError as exc:
        raise StartRefused(
            f"[Cannot read {state.sending_path} ({why_unreadable(exc)}). It keeps what your last "
            "session had not seen delivered; start again once it can be read.]"
        ) from None
    taken = _earlier_outbox(state)
    earlier = taken or []
    # what the log lacks of that outbox was kept by a run before the log's, which holds
    # the rest in the order typed
    logged, held = {m.id for m in sent}, {m.id: m for m in earlier}
    messages: list[Message] = [
        SaveMessage(m.id, m.sender, token, m.to, m.text, after=m.after)
        if isinstance(m, Chat)
        else m
        for m in [m for m in earlier if m.id not in logged] + [held.get(m.id, m) for m in sent]
    ]
    try:
        if unreadable:
            aside = _set_aside(state.sending_path, unreadable)
            some = counted(len(unreadable), "record")
            state.problems.append(f"{some} of what your last session sent {_UNREAD}{aside}.")
        if sent or unreadable or earlier:
            state.sending.replace(sending_records(messages))
        if taken is not None:
            state.outbox_path.unlink(missing_ok=True)
    except OSError as exc:
        state.problems.append(
            f"Could not rewrite {state.sending_path} ({why_unreadable(exc)}); what your last "
            "session sent is sent in this session, and kept there meanwhile."
        )
        if taken:  # (it goes once the log holds it)
            state.problems.append(f"Your outbox waits for it: {_NOT_SENT}")
            return [m for m in messages if m.id in logged]
    return messages


def sent_earlier(state: PeerStateFile) -> tuple[list[Message], list[bytes]]:
    """What an earlier run left unsettled in `state.sending`: messages, and records not one."""
    found: dict[str, tuple[Message | None, bytes]] = {}  # by id, those no `-<id>` settles
    for number, line in enumerate(state.sending.read()):
        if line.startswith(b"-"):
            found.pop(line[1:].decode(errors="replace"), None)
            continue
        try:
            message = decode(line[1:]) if line.startswith(b"+") else None
        except DecodeError:
            message = None
        # a record that is not a message is reported: no id has a space, none settles it
        found[message.id if message else f" {number}"] = (message, line + b"\n")
    kept = found.values()
    return [m for m, _ in kept if m], [record for m, record in kept if m is None]


def _earlier_outbox(state: PeerStateFile) -> list[Message] | None:
    """What an earlier version's outbox file holds; None when there is none, or it
    stays (unreadable, said). One with unreadable lines is set aside whole."""
    path = state.outbox_path
    try:
        lines = [line for line in read_bytes(path).splitlines() if line.strip()]
        messages = []
        for line in lines:
            with contextlib.suppress(DecodeError):
                messages.append(decode(line))
        if len(messages) < len(lines):
            aside = _set_aside(path, [line + b"\n" for line in lines])
            some = counted(len(lines) - len(messages), "line")
            state.problems.append(f"{some} of your outbox {_UNREAD}{aside}.")
    except FileNotFoundError:
        return None
    except OSError as exc:
        state.problems.append(
            f"Could not use your outbox {path} ({why_unreadable(exc)}); {_NOT_SENT}"
        )
        return None
    return messages


#: Said of what a kept file holds that cannot be read, then where it was set aside.
_UNREAD = (
    "could not be read (damaged, or from another version of ChatApp) and did not go out; kept in "
)
_NOT_SENT = "what it holds was not sent (it stays there)."


def _set_aside(path: Path, records: list[bytes]) -> Path:
    aside = path.with_name(path.name + ".unreadable")
    append_bytes(aside, b"".join(records), fsync=True)
    return aside


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
        done = False
        try:
            done = await step
        except asyncio.CancelledError:  # Ctrl-C: asyncio.run cancels the start
            sys.stdout.write("\n")  # below the "^C" the terminal echoed
            raise
        finally:
            if not done:  # what was typed meanwhile
                ahead = read_typed_ahead(fd, unfinished=True)
                not_carried_out((*ahead.lines, ahead.partial), "nothing was sent", say)
        return done


def waiting(fd: int) -> str:
    """What a quit now would lose of the lines typed at `fd` ("": nothing), held for the prompt."""
    ahead = hold_typed_ahead(fd, unfinished=False)
    typed = [text for text in ahead.lines if text.strip()]
    if not typed:
        return ""
    return f"{counted(len(typed), 'line')} typed {'waits' if len(typed) == 1 else 'wait'}"


@contextlib.contextmanager
def _asked_first(fd: int, say: Callable[[Action], None]) -> Iterator[None]:
    """A first Ctrl-C while lines typed wait says so; any other quits (KeyboardInterrupt),
    whatever handler was there before (it is put back)."""
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
        raise KeyboardInterrupt  # (one left by a prompt or a loop may do nothing)

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
