"""How `ChatApp -d` and `ChatApp -o` start: folder locked, registry trusted, operator key found."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from disk.files import InUse, default_dir, hold_lock, os_reason, private_folder
from disk.operator_key import key_path, read_key
from net.discovery import ask_key, registry_label
from peer.adapter.desk.runner import DeskRunner, RunnerSettings, ScreenRunner
from peer.adapter.key_checks import OTHER_VERSION
from peer.adapter.key_contact import ContactRule, KeyContact
from peer.core.desk.duty import OperatorCore
from peer.core.desk.link import Addr, ClientSettings
from peer.core.desk.person import PersonCore
from secure.keys import KEY_FILE, KeyFileError, Pins, load_or_make_key
from wire.base import IdMaker
from wire.codec import OtherVersion
from wire.names import name_key
from wire.refusals import RefusalCode

ANY_TRUST = ContactRule()
#: The lock a person's client holds: two would share the held-place files.
PERSON_LOCK = "person.lock"
KEY_ENV = "CHATAPP_DESK_KEY"
NO_KEY = (
    f"an operator needs the registry's operator key, typed when asked on a terminal or set in "
    f"{KEY_ENV} (the registry keeps it in its data directory, file desk-key)"
)
PERSON_BUSY = (
    "Another help desk client is already running with the data directory {root}{pid}; the "
    "two would share the places they hold. Quit it first, or give this one a directory of "
    "its own with --data-dir."
)
OPERATOR_BUSY = (
    "An operator client for {name} is already running with the data directory {root}{pid}; "
    "quit it first, or go on duty under another name."
)


class Untrusted(Exception):
    """Nothing may be sent to the registry (said already): the client ends with status 1."""


async def run_desk_client(
    desk: Addr, *, stdin_is_tty: bool, state_dir: Path, trust: ContactRule = ANY_TRUST
) -> int:
    """Ask the help desk at `desk`; the exit status. Never raises."""

    async def run(key: bytes | None, static: X25519PrivateKey) -> int:
        core = PersonCore(desk, IdMaker(os.urandom(4).hex()), ClientSettings(prompt=stdin_is_tty))
        settings = RunnerSettings(
            client="help desk client", places=state_dir, key=static, registry_key=key
        )
        return await DeskRunner(core, settings).run()

    return await run_locked(state_dir, PERSON_LOCK, PERSON_BUSY, desk, trust, run)


async def run_operator(  # noqa: PLR0913 (who, where, key, terminal, folder, trust)
    name: str,
    desk: Addr,
    *,
    key: str,
    stdin_is_tty: bool,
    state_dir: Path,
    trust: ContactRule = ANY_TRUST,
    full_screen: bool = False,
) -> int:
    """Serve at the desk at `desk` as `name`; the exit status. Never raises."""

    async def run(registry_key: bytes | None, static: X25519PrivateKey) -> int:
        # input that is no terminal serves nobody until it says `.serve` (OperatorCore)
        client = ClientSettings(prompt=stdin_is_tty, serve_when_asked=not stdin_is_tty)
        core = OperatorCore(name, desk, key, IdMaker(os.urandom(4).hex()), client)
        settings = RunnerSettings(client="operator client", key=static, registry_key=registry_key)
        runner = ScreenRunner if full_screen else DeskRunner
        code = await runner(core, settings).run()
        _remember_authorised(state_dir, key, core, registry_key)
        return code

    busy = OPERATOR_BUSY.replace("{name}", name.replace("{", "{{").replace("}", "}}"))
    return await run_locked(state_dir, operator_lock(name), busy, desk, trust, run)


async def run_locked(  # noqa: PLR0913 (where, which lock, what it says, whom, how, what)
    root: Path,
    lock: str,
    busy: str,
    where: tuple[str, int],
    trust: ContactRule,
    run: Callable[[bytes | None, X25519PrivateKey], Awaitable[int]],
) -> int:
    """A desk client's run: `root` private and its `lock` held (else `busy` said: 1), our key
    usable and the registry at `where` trusted (else 1), then `run` with its key and ours."""
    with contextlib.suppress(OSError):  # (one that cannot be made is left to the lock)
        tightened = private_folder(root)
        if tightened:
            say(f"[{tightened}]")
    try:
        static = load_or_make_key(root / "desk")[0]
        held = hold_client_lock(root, lock)
    except InUse as other:
        say(f"[{busy.format(root=root, pid=other.by)}]")
        return 1
    except (KeyFileError, OSError) as exc:  # (a damaged one: said what to do)
        say(f"[Cannot use your key: {os_reason(exc)}]")
        return 1
    try:
        return await run(await desk_registry_key(root, *where, trust), static)
    except Untrusted:
        return 1
    finally:
        if held is not None:
            os.close(held)


def hold_client_lock(root: Path, lock: str) -> int | None:
    """Lock `<root>/desk/<lock>` while the descriptor is open; None: run without."""
    try:
        return hold_lock(root / "desk" / lock)
    except InUse:
        raise
    except OSError:
        return None


def operator_lock(name: str) -> str:
    """One lock per name: else two of a name take turns on duty."""
    return f"operator-{name_key(name)}.lock"


async def desk_registry_key(root: Path, ip: str, port: int, rule: ContactRule) -> bytes | None:
    """The registry's key, pinned, or trusted now and pinned; None when no key answered.
    Raises Untrusted (said why)."""
    asks: set[asyncio.Task[None]] = set()
    where, other_version = f"{ip}:{port}", False  # a registry of another version: said once

    async def asked() -> None:
        nonlocal other_version
        try:
            key = await ask_key(ip, port)
        except ConnectionRefusedError:
            contact.refused()  # the registry is down: said by the client as it connects
            return
        except OtherVersion:
            if not other_version:
                say(OTHER_VERSION.format(where))
            other_version = True
            contact.refused()  # no key of ours is coming: the wait ends
            return
        if key is not None:
            contact.answered(key)

    def ask() -> None:
        task = asyncio.create_task(asked())
        asks.add(task)
        task.add_done_callback(asks.discard)

    contact = KeyContact(where, rule, ask, lambda line, error: say(line))
    try:
        key, unasked = await contact.trust(Pins(root), registry_label(ip, port), no_answer="")
    finally:
        for task in list(asks):
            task.cancel()
    if key is None and (other_version or contact.answers.heard or rule.refusal(where) is not None):
        raise Untrusted
    if unasked:
        say(unasked)
    return key


def say(line: str) -> None:
    print(f">>> {line}", flush=True)


def find_operator_key(stdin_is_tty: bool, registry_dir: Path | None = None) -> str | None:
    """The operator key: $CHATAPP_DESK_KEY; else this user's registry's; else asked for on a
    terminal; else None."""
    if given := os.environ.get(KEY_ENV, "").strip():
        return given
    if (local := read_key(key_path(registry_dir or default_dir("registry")))) is not None:
        return local
    if stdin_is_tty:
        with contextlib.suppress(EOFError, KeyboardInterrupt):
            return getpass.getpass("Operator key: ").strip() or None
    return None


def _authorised_label(name: str, ip: str, port: int) -> str:
    # per name: the registry authorises a key for the name it was given, and no other
    return f"operator {name_key(name)} authorised at registry {ip}:{port}"


def operator_authorised(root: Path, name: str, ip: str, port: int) -> bool:
    return Pins(root).get(_authorised_label(name, ip, port)) is not None


def _remember_authorised(root: Path, key: str, core: OperatorCore, registry: bytes | None) -> None:
    """On duty by the operator `key`: our key is authorised from now on; refused: no more."""
    pins, label = Pins(root), _authorised_label(core.name, core.link.ip, core.link.port)
    with contextlib.suppress(OSError):  # not kept: the key is asked for again next time
        if core.on_duty and key and registry:
            pins.pin(label, registry)
        elif not key and core.refused_code is RefusalCode.OPERATOR_KEY:
            pins.forget(label)


def take_earlier_key(root: Path) -> None:
    """Move the key pair an earlier ChatApp kept in `root` into `root`/desk."""
    earlier, now = root / KEY_FILE, root / "desk" / KEY_FILE
    if not earlier.exists():
        return  # (nor is a folder made: run_locked makes it, private)
    with contextlib.suppress(OSError):
        now.parent.mkdir(mode=0o700, exist_ok=True)
        os.link(earlier, now)  # fails when a key is there already
        earlier.unlink()
