"""The registry's files: the table of known names and one mailbox file per recipient.

Layout under the data directory:
    table.json            names, owners (token, password hash), addresses, online status
    mail/<name>.jsonl     one JSON line per stored message, in the order received

Crash safety (DESIGN.md section 6): a mailbox append is written and fsynced before the
registry acknowledges it; a deletion after hand-over rewrites the file into a temporary and
renames it over the old one, so a crash leaves either the old or the new file, never half.
A torn last line (a crash in the middle of an append) is skipped when loading.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from registry.table import Table
from wire.messages import StoredMessage
from wire.names import name_problem


class StorageError(Exception):
    """The data directory cannot be used (unreadable, not ours, corrupt table)."""


class Storage:
    """Reads and writes the registry's data directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.mail_dir = root / "mail"
        try:
            self.mail_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot use data directory {root}: {exc.strerror}") from None
        self.skipped_lines = 0
        self._unsynced: set[Path] = set()
        self._new_files = False

    # -- the table ----------------------------------------------------------------------

    def load_table(self, now: float) -> Table:
        """The saved table, or an empty one if there is none yet."""
        path = self.root / "table.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return Table()
        except (OSError, ValueError) as exc:
            raise StorageError(f"cannot read {path}: {exc}") from None
        try:
            return Table.from_json(data, now)
        except ValueError as exc:
            raise StorageError(f"{path} is not a ChatApp table: {exc}") from None

    def save_table(self, table: Table) -> None:
        """Replace the saved table atomically and durably."""
        self._replace(self.root / "table.json", json.dumps(table.to_json(), indent=1) + "\n")

    # -- mailboxes ----------------------------------------------------------------------

    def load_mail(self) -> dict[str, list[StoredMessage]]:
        """Every mailbox, by owner key."""
        boxes: dict[str, list[StoredMessage]] = {}
        for path in sorted(self.mail_dir.glob("*.jsonl")):
            owner = path.stem
            if name_problem(owner):
                continue
            messages = self._read_box(path)
            if messages:
                boxes[owner] = messages
        return boxes

    def append(self, owner: str, message: StoredMessage, *, sync: bool = True) -> None:
        """Append one message to `owner`'s mailbox and fsync it.

        With `sync=False` the line is written but not yet durable: the caller must call
        `sync()` before anything that depends on it (the ack saying "saved") leaves. One
        `sync()` then covers every append since the last one (group commit).
        """
        line = json.dumps(_to_json(message), ensure_ascii=False) + "\n"
        path = self._box(owner)
        if not sync and not path.exists():
            self._new_files = True  # its directory entry needs an fsync of the directory too
        with open(path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            if sync:
                os.fsync(f.fileno())
            else:
                self._unsynced.add(path)

    def sync(self) -> None:
        """Make every append made with `sync=False` durable (one fsync per mailbox file)."""
        paths, self._unsynced = self._unsynced, set()
        new_files, self._new_files = self._new_files, False
        for path in paths:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_APPEND)
            except FileNotFoundError:
                continue  # handed over and dropped (or moved) since: that replace was durable
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        if new_files:
            _fsync_dir(self.mail_dir)

    @property
    def unsynced(self) -> bool:
        """Whether appends are waiting for `sync()`."""
        return bool(self._unsynced)

    def drop(self, owner: str, ids: tuple[str, ...]) -> None:
        """Remove the messages `ids` from `owner`'s mailbox by atomic replace."""
        path = self._box(owner)
        gone = set(ids)
        keep = [m for m in self._read_box(path) if m.id not in gone]
        if keep:
            text = "".join(json.dumps(_to_json(m), ensure_ascii=False) + "\n" for m in keep)
            self._replace(path, text)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            _fsync_dir(self.mail_dir)

    def move(self, old: str, new: str) -> None:
        """Move `old`'s mailbox to `new` (a rename), appending to any messages already there."""
        src, dst = self._box(old), self._box(new)
        messages = self._read_box(dst) + self._read_box(src)
        if messages:
            text = "".join(json.dumps(_to_json(m), ensure_ascii=False) + "\n" for m in messages)
            self._replace(dst, text)
        if src != dst:
            with contextlib.suppress(FileNotFoundError):
                src.unlink()
        _fsync_dir(self.mail_dir)

    def _box(self, owner: str) -> Path:
        # Names are validated (letters, digits, _ - . and no leading dot), so a name can never
        # spell a path outside the mail directory; check anyway, as this is the last gate.
        if name_problem(owner) or owner != owner.casefold():
            raise StorageError(f"refusing mailbox name {owner!r}")
        return self.mail_dir / f"{owner}.jsonl"

    def _read_box(self, path: Path) -> list[StoredMessage]:
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            return []
        messages = []
        for line in lines:
            try:
                messages.append(_from_json(json.loads(line)))
            except (ValueError, KeyError, TypeError):
                self.skipped_lines += 1  # a torn last line from a crash mid-append
        return messages

    def _replace(self, path: Path, text: str) -> None:
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)


def _to_json(message: StoredMessage) -> dict[str, str]:
    return {
        "id": message.id,
        "sender": message.sender,
        "text": message.text,
        "stamp": message.stamp,
        "kind": message.kind,
    }


def _from_json(data: Any) -> StoredMessage:
    if not isinstance(data, dict):
        raise ValueError("not a stored message")
    fields = [data[k] for k in ("id", "sender", "text", "stamp", "kind")]
    if not all(isinstance(v, str) for v in fields):
        raise ValueError("not a stored message")
    return StoredMessage(*fields)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
