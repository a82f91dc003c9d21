"""Named records of bytes that outlive the registry (a shelf): files, or a service's bucket.
`read` raises FileNotFoundError for none, else OSError; `write` and `remove` raise OSError (a
shelf acknowledging later, `pending` meanwhile, logs its own failures); `set_aside` keeps a
damaged one under the name returned, never raising; `flushed` returns once every write is
acknowledged. A `shared` shelf is the service's: a desk that closes keeps its places there."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias, TypeVar

import msgspec

from disk.files import os_reason, read_bytes, replace_durably

if TYPE_CHECKING:
    from registry.adapter.cluster.desk_bucket import BucketShelf

T = TypeVar("T")


def aside(name: str) -> str:
    return name + ".unreadable"


class FolderShelf:
    """The records as files in a registry's data folder, each written at once."""

    pending = False
    shared = False

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def where(self, name: str) -> str:
        return str(self.folder / name)

    def read(self, name: str) -> bytes:
        return read_bytes(self.folder / name)

    def write(self, name: str, data: bytes) -> None:
        replace_durably(self.folder / name, data)

    def remove(self, name: str) -> None:
        (self.folder / name).unlink(missing_ok=True)

    def set_aside(self, name: str) -> str:
        with contextlib.suppress(OSError):
            os.replace(self.folder / name, self.folder / aside(name))
        return aside(name)

    async def flushed(self) -> None:
        return None


Shelf: TypeAlias = "FolderShelf | BucketShelf"


def read_record(shelf: Shelf, name: str, kind: type[T], holds: str) -> tuple[T | None, str]:
    """The record `name` decoded as `kind` (None: none, or unusable), and why not for the log."""
    why = ""
    try:
        return msgspec.json.decode(shelf.read(name), type=kind), ""
    except FileNotFoundError:
        return None, ""
    except OSError as exc:
        why = os_reason(exc)
    except msgspec.ValidationError:
        why = f"it holds no {holds}"
    except msgspec.DecodeError:
        why = "it is not JSON"
    return None, f"desk: could not read {shelf.where(name)} ({why})"


def keep_record(shelf: Shelf, name: str, value: object) -> str:
    """Replace the record `name` with `value` (None: remove it); why it could not be."""
    try:
        if value is None:
            shelf.remove(name)
        else:
            shelf.write(name, msgspec.json.encode(value))
    except OSError as exc:
        return f"desk: could not keep {shelf.where(name)} ({os_reason(exc)})"
    return ""
