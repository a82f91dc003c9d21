"""Transfers kept on disk, one small JSON file each in the peer's state folder, so that a
restart of either side resumes where it was (peer/core/files/transfers.py `loaded`)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import msgspec

from disk.files import read_bytes, replace_durably
from peer.core.files.transfer import Transfer

_DECODE = msgspec.json.Decoder(Transfer)


class TransferStore:
    """The records of one peer name's transfers, in `folder` (made when first needed)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def load(self) -> tuple[list[Transfer], list[str]]:
        """Every record kept, and a line for each that could not be read (set aside)."""
        kept: list[Transfer] = []
        problems: list[str] = []
        if not self.folder.is_dir():
            return kept, problems
        for path in sorted(self.folder.glob("*.json")):
            try:
                kept.append(_DECODE.decode(read_bytes(path)))
            except (OSError, msgspec.DecodeError) as exc:
                problems.append(
                    f"A kept transfer could not be read ({path.name}: {exc}); left out."
                )
                with contextlib.suppress(OSError):
                    path.rename(path.with_suffix(".damaged"))
        return kept, problems

    def keep(self, transfer: Transfer) -> None:
        """Write `transfer`'s record durably. Raises OSError."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        replace_durably(self._path(transfer), msgspec.json.encode(transfer))

    def forget(self, transfer: Transfer) -> None:
        """Delete `transfer`'s record (none kept is no error). Raises OSError."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(transfer))

    def _path(self, transfer: Transfer) -> Path:
        return self.folder / f"{transfer.number}.json"


def free_path(folder: Path, name: str) -> Path:
    """A path in `folder` for `name` that holds no file yet: `name`, else `name (2)`, ...,
    the number before the extension. The caller still creates it exclusively: a file may
    appear between the look and the write."""
    stem, dot, ext = name.rpartition(".")
    if not stem:  # no extension, or a dot file
        stem, dot, ext = name, "", ""
    number = 1
    while True:
        candidate = name if number == 1 else f"{stem} ({number}){dot}{ext}"
        path = folder / candidate
        if not os.path.lexists(path):
            return path
        number += 1
