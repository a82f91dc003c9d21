"""The held-place file of `ChatApp -d`: the token of a place in the help desk's waiting
room, kept so that a client started again within the grace period takes the place back."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated

import msgspec
from msgspec import Meta, Struct

from disk.files import InUse, hold_lock, private_folder, read_bytes, replace_durably
from peer.adapter.desk.place_secret import load_or_make_secret, place_name
from peer.adapter.desk.registry_trust import Untrusted, desk_registry_key
from peer.adapter.key_contact import ContactRule
from peer.core.desk.actions import KeepPlace
from secure.keys import KEY_FILE
from wire.desk.phone import phone_key
from wire.desk.text import TOPICS
from wire.names import name_key

#: Seconds a held-place file's "last alive" time may lie ahead of the clock: the clock may
#: have been set back a little since it was written (NTP). A time further ahead is damage
#: (a clock that was far ahead, or a file written by hand), and would hold the place for
#: ever: the file could never grow stale.
CLOCK_SKEW = 60.0


class _Kept(Struct):
    """The held-place file: the place, and when it was last known alive (time of day)."""

    token: Annotated[str, Meta(min_length=1)]
    topic: int
    grace: Annotated[float, Meta(ge=0)]
    alive: float
    description: str = ""


class HeldPlace:
    """The token of a place, kept so that a restarted client takes it back: one file per
    desk and number, named by an HMAC under this client's secret (`place_secret`)."""

    def __init__(self, root: Path, ip: str, port: int, phone: str) -> None:
        label = f"{ip}:{port}|{phone_key(phone)}"
        folder = root / "desk"
        try:
            secret = load_or_make_secret(folder)
        except OSError:
            secret = b""  # a read-only home only costs the restart feature
        self.path = folder / f"{place_name(secret, label)}.json"
        self._usable = bool(secret)

    def load(self) -> KeepPlace | None:
        """The kept place, if there is one that may still be held; None otherwise (stale
        or damaged files are removed)."""
        if not self._usable:
            return None
        try:
            kept = msgspec.json.decode(read_bytes(self.path), type=_Kept)
        except OSError:
            return None
        except msgspec.DecodeError:  # damaged, or NaN where a time should be
            kept = None
        if kept is None or kept.topic not in TOPICS:
            self.clear()
            return None
        now = time.time()
        if now > kept.alive + kept.grace or kept.alive > now + CLOCK_SKEW:
            self.clear()  # the desk has given the place up by now, or the time is damage
            return None
        return KeepPlace(kept.token, kept.topic, kept.description, kept.grace)

    def save(self, token: str, topic: int, description: str, grace: float) -> None:
        """Keep the place (or refresh the time it was last known alive). Best effort: a
        read-only home only costs the restart feature."""
        if not self._usable:
            return
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            kept = _Kept(token, topic, grace, time.time(), description)
            replace_durably(self.path, msgspec.json.encode(kept))

    def clear(self) -> None:
        """Forget the place (left, served, refused or given up)."""
        with contextlib.suppress(OSError):
            self.path.unlink()


#: The lock a person's client (`ChatApp -d`) holds in its state directory: one at a time,
#: since two would share the held-place files, and each take back the other's place.
PERSON_LOCK = "person.lock"


def operator_lock(name: str) -> str:
    """The lock an operator's client (`ChatApp -o <name>`) holds in its state directory:
    one per name, since two of one name would each be refused as already on duty whenever
    the other holds it, and take turns at the desk."""
    return f"operator-{name_key(name)}.lock"


def take_earlier_key(root: Path) -> None:
    """Move the key pair an earlier ChatApp kept at the top of the per-user desk folder
    `root` into its desk/ folder, where desk clients keep it now, so that an operator's
    authorised key stays its own. Only for that folder: no registry shares it. A key already
    in desk/ is kept (never replaced); a move that fails leaves the old key where it was."""
    earlier, now = root / KEY_FILE, root / "desk" / KEY_FILE
    if not earlier.exists():
        return  # (nor is a folder made: private_root makes it, private)
    with contextlib.suppress(OSError):
        now.parent.mkdir(mode=0o700, exist_ok=True)
        os.link(earlier, now)  # fails when a key is there already
        earlier.unlink()


def private_root(root: Path) -> None:
    """Make the state folder `root` this user's alone, saying so in one line when others
    could read it (disk.files.private_folder). One that cannot be made is left for the
    lock to find."""
    with contextlib.suppress(OSError):
        tightened = private_folder(root)
        if tightened:
            print(f">>> [{tightened}]", flush=True)


def hold_client_lock(root: Path, lock: str) -> int | None:
    """Lock `<root>/desk/<lock>` for as long as the returned descriptor stays open (see
    `disk.files.hold_lock`: it goes with the process, however it ends). Raises InUse when
    another running process holds it. None when the directory cannot be used: the client
    then runs without the lock, as it runs without its held-place files there."""
    path = root / "desk" / lock
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        return hold_lock(path)
    except InUse:
        raise
    except OSError:
        return None


#: How a desk client's first contact with the registry goes when nothing is said of it.
ANY_TRUST = ContactRule()


async def run_locked(  # noqa: PLR0913 (where, which lock, what it says, whom, how, what)
    root: Path,
    lock: str,
    busy: str,
    where: tuple[str, int],
    trust: ContactRule,
    run: Callable[[bytes | None], Awaitable[int]],
) -> int:
    """A desk client's run: its state folder `root` made private and its `lock` held (else
    `busy` is said, with `{root}` and `{pid}` filled in, and 1 returned), the registry at
    `where` trusted (else 1), then `run` with the registry's key; its exit status."""
    private_root(root)
    try:
        held = hold_client_lock(root, lock)
    except InUse as other:
        pid = f" (pid {other.pid})" if other.pid else ""
        print(f">>> [{busy.format(root=root, pid=pid)}]", flush=True)
        return 1
    try:
        return await run(await desk_registry_key(root, *where, trust))
    except Untrusted:
        return 1
    finally:
        if held is not None:
            os.close(held)
