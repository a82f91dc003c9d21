"""Where a registry keeps the help desk's operator key, and how to read it.

The registry makes the key (`registry.adapter.desk.key`); an operator started on the same machine
reads it from the registry's data directory instead of being asked for it. Both sides use
this module, so the peer side never imports the registry.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from disk.files import read_text

#: The key's file in the registry's data directory.
KEY_FILE = "desk-key"


def key_path(data_dir: Path) -> Path:
    """Where the registry using `data_dir` keeps its operator key."""
    return data_dir / KEY_FILE


def read_key(path: Path) -> str | None:
    """The key in the file at `path`, or None when there is no readable key there."""
    with contextlib.suppress(OSError, ValueError):
        return read_key_strictly(path)
    return None


def read_key_strictly(path: Path) -> str:
    """The key in the file at `path`: its first line, blanks trimmed. Raises OSError when
    the file cannot be read and ValueError when it holds no key: empty, not text, or with
    characters nobody can type (a binary file may decode as text); the message says which."""
    try:
        text = read_text(path)
    except UnicodeDecodeError:
        raise ValueError("it is not text (a binary file?)") from None
    lines = text.split("\n")  # not splitlines: see registry.adapter.storage
    key = lines[0].strip() if lines else ""
    if not key:
        raise ValueError("it is empty" if not text.strip() else "it holds no key")
    if not key.isprintable():
        raise ValueError("it holds control characters, not a key (a binary file?)")
    return key
