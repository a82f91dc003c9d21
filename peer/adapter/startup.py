"""What the peer adapter settles before it runs: its settings, its name's files locked for
it alone, and its own key."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import NotRequired, TypedDict

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from msgspec import Struct

from disk.files import InUse, hold_lock, os_reason
from peer.adapter.key_contact import Confirm, ContactRule
from peer.adapter.state import PeerStateFile
from peer.core.registry_watch import SILENT_KEEPALIVES
from secure.keys import KEY_FILE, KeyFileError, load_or_make_key
from wire.names import name_key


class PeerOptions(TypedDict):
    """The settings of one peer, as keywords (see PeerSettings)."""

    port: int
    bind: str
    keepalive: float
    password: str
    verbose: NotRequired[bool]
    accept_new_key: NotRequired[bool]
    registry_code: NotRequired[str | None]
    advertised: NotRequired[str | None]
    trust_first_key: NotRequired[bool]
    downloads: NotRequired[str]


class PeerSettings(Struct, frozen=True):
    """The settings of one peer: the UDP `port` and address (`bind`) it listens on, the
    `keepalive` period (seconds), its `password` ("" for none), whether it logs each
    datagram (`verbose`), and how the registry's key is trusted (docs/SECURITY.md, "First
    contact"): `accept_new_key`, its pinned key set aside (its owner made a new one);
    `registry_code`, the digits of its join code (--registry-key); `advertised`, those of
    the code it advertised where it was found on the network (a hint, not trust);
    `trust_first_key`, a script with a password may trust the first key that answers.
    `downloads`: where received files go ("": the user's downloads folder)."""

    port: int
    bind: str
    keepalive: float
    password: str
    verbose: bool = False
    accept_new_key: bool = False
    registry_code: str | None = None
    advertised: str | None = None
    trust_first_key: bool = False
    downloads: str = ""

    def contact_rule(self, confirm: Confirm | None) -> ContactRule:
        """How first contact goes with these settings, asking with `confirm` if given."""
        return ContactRule(
            code=self.registry_code,
            trust_first=self.trust_first_key,
            accept_new=self.accept_new_key,
            secret="your password" if self.password else "",
            advertised=self.advertised,
            confirm=confirm,
            patience=SILENT_KEEPALIVES * self.keepalive,
        )


class StartRefused(Exception):
    """The peer cannot start (its line for the user is the message)."""


def lock(data_dir: Path, name: str) -> int:
    """Lock `name`'s files in `data_dir` for this peer (see `hold_lock`): a second start
    of the same name would take the name from the first, which is never told, and both
    would write the same outbox and lists. StartRefused when that is so, or when the
    directory cannot be used (its token could not be kept either)."""
    path = data_dir / "peers" / f"{name_key(name)}.lock"
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        return hold_lock(path)
    except InUse as busy:
        pid = f" (pid {busy.pid})" if busy.pid else ""
        raise StartRefused(
            f"[{name} is already running with the data directory {data_dir}{pid}; "
            "quit it first, or use another name.]"
        ) from None
    except OSError as exc:
        raise StartRefused(
            f"[Cannot use the data directory {data_dir}: {os_reason(exc)}. Without it your "
            "name's token could not be kept; give another with --data-dir.]"
        ) from None


def own_key(state: PeerStateFile) -> X25519PrivateKey:
    """The static key of the peer whose files are `state`, its name's own: two names of
    one data folder are two people to everyone else, so they never share a key. Made the
    first time; the key of a data folder from before keys were per name (`identity.key`)
    goes to the first name that starts (see `_take_shared_key`). StartRefused when it
    cannot be read or kept."""
    data_dir, path = state.root, state.key_path
    try:
        if not path.exists():
            _take_shared_key(data_dir, path)
        static, _ = load_or_make_key(path.parent, path.name)
    except KeyFileError as exc:
        raise StartRefused(f"[{exc}]") from None
    except OSError as exc:
        why = os_reason(exc)
        raise StartRefused(f"[Cannot keep your key in {data_dir}: {why}.]") from None
    return static


#: Beside the names' keys: a link to the data folder's shared key from before keys were per
#: name, made by the first name to take it (so that no other name takes it too).
SHARED_KEY_TAKEN = "identity.key.taken"


def _take_shared_key(data_dir: Path, path: Path) -> None:
    """Give the name whose key goes at `path` the data folder's shared key (KEY_FILE), if
    it has one no name took yet: its contacts and the registry know that key. The claim is
    a link made with O_EXCL's guarantee: two names starting at once never both take it.
    The shared file stays, for a help-desk client that may use the folder too. Raises
    OSError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(data_dir / KEY_FILE, path.parent / SHARED_KEY_TAKEN)
    except (FileNotFoundError, FileExistsError):
        return  # none, or taken by another name: this one makes a key of its own
    os.link(path.parent / SHARED_KEY_TAKEN, path)


def own_token(state: PeerStateFile, name: str) -> str:
    """The token kept in `state`, the files of `name`; the first time, a new one, kept
    before the registration is sent: a registration the registry carries out after this
    peer gave up on it (or whose answer was lost) then still leaves the name to this peer
    at its next start. A token file that is there but cannot be read is left as it is, for
    its owner to mend. StartRefused when a new token cannot be kept: registering with it
    would make the name someone else's for every later start."""
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
