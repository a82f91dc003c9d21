"""The registry's data directory, locked for it alone, and what it loads from there."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from msgspec import Struct

from disk.files import InUse, hold_lock, os_reason, private_folder
from disk.operator_key import key_path
from net.drop_log import Rejections
from registry.adapter.desk.service import DeskService
from registry.adapter.desk.shelf import Shelf
from registry.adapter.router import ALONE, Router
from registry.adapter.settings import RegistrySettings
from registry.adapter.storage import StorageError
from registry.adapter.store import FileStore, Kept, Store
from registry.core.desk.limits import DeskSettings
from registry.core.dispatch import RegistryCore
from secure.channel import SecureChannel
from secure.keys import KeyFileError, load_or_make_key


class Backend(Struct, frozen=True):
    store: Store
    kept: Kept
    static: X25519PrivateKey
    key_made: bool
    #: the secure channel whose sessions to go on with (None: a new one)
    channel: SecureChannel | None = None
    #: where the help desk keeps what it keeps (None: files in the data directory)
    desk: Shelf | None = None
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
    backend: Backend,
    rejections: Rejections,
    settings: RegistrySettings,
) -> tuple[DeskService, RegistryCore]:
    """The registry's help desk and core; StorageError when the desk's key cannot be used."""
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
            shelf=backend.desk,
        )
    except (OSError, ValueError) as exc:
        where = key_path(data_dir)
        raise StorageError(f"cannot use the help desk's operator key {where}: {exc}") from None
    core = RegistryCore(
        session=secrets.token_hex(4),
        new_token=lambda: secrets.token_hex(16),
        table=backend.kept.table,
        mail=backend.kept.mail,
        owners=backend.kept.owners,
        histories=backend.kept.histories,
        keepalive=settings.keepalive,
        mailbox_limit=settings.mailbox_limit,
        new_names=settings.new_names,
        forget_after=settings.forget_after,
        newcomer_names=settings.newcomer_names,
        wall_offset=lambda: time.time() - time.monotonic(),  # for the stamps it keeps
    )
    return desk, core


LOCK_FILE = "registry.lock"


def private(data_dir: Path) -> str:
    """Make the data directory this user's alone; the line saying so, or ""."""
    try:
        return private_folder(data_dir)
    except OSError as exc:
        raise StorageError(f"cannot make the data directory: {os_reason(exc)}") from None


def lock(data_dir: Path) -> int:
    """Lock the data directory for this registry; StorageError when another runs there."""
    path = data_dir / LOCK_FILE
    try:
        return hold_lock(path)
    except InUse as busy:
        raise StorageError(
            f"the data directory {data_dir} is in use by another running registry{busy.by}"
        ) from None
    except OSError as exc:
        raise StorageError(f"cannot lock the data directory: {os_reason(exc)}") from None
