"""The help desk's operator key: a secret in the registry's data directory, made at its
first start, which `ChatApp -o` must show (an operator on the same machine reads it there).
"""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path

from disk.files import create_once, read_text

#: The key's file in the registry's data directory.
KEY_FILE = "desk-key"
#: Random bytes in a new key (shown as 22 URL-safe characters): far beyond guessing.
KEY_BYTES = 16


def key_path(data_dir: Path) -> Path:
    return data_dir / KEY_FILE


def read_key(path: Path) -> str | None:
    """The key in the file at `path`, or None."""
    with contextlib.suppress(OSError, ValueError):
        return read_key_strictly(path)
    return None


def read_key_strictly(path: Path) -> str:
    """The key in the file at `path`: its first line, trimmed. Raises OSError, and
    ValueError saying why it holds no key (empty, not text, control characters)."""
    try:
        text = read_text(path)
    except UnicodeDecodeError:
        raise ValueError("it is not text (a binary file?)") from None
    key = text.split("\n")[0].strip()  # not splitlines: see registry.adapter.store
    if not key:
        raise ValueError("it is empty" if not text.strip() else "it holds no key")
    if not key.isprintable():
        raise ValueError("it holds control characters, not a key (a binary file?)")
    return key


def load_or_create_key(data_dir: Path) -> tuple[str, str]:
    """The operator key kept in `data_dir` (made if there is none) and ""; or "" and why the
    desk is closed (a file never replaced: operators hold it). Raises OSError."""
    path = key_path(data_dir)
    try:
        return read_key_strictly(path), ""
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        why = f"cannot be read ({exc.strerror or exc})" if isinstance(exc, OSError) else exc
        return "", (
            f"The help desk's operator key file {path} {str(why).removeprefix('it ')}, so the "
            "help desk is closed (chat works): delete the file to have a new key made, or put "
            "a key in it (one line), then restart the registry."
        )
    key = secrets.token_urlsafe(KEY_BYTES)
    if create_once(path, (key + "\n").encode()):
        return key, ""
    return load_or_create_key(data_dir)  # another start made it meanwhile: theirs counts
