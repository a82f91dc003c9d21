"""The secret that names a help-desk client's held-place files (`peer.adapter.desk.held_place`):
random, made at first use, kept in the client's data folder readable by its user only.

A place file is named by an HMAC of the desk's address and the phone number under this secret,
so that its name says nothing to whoever lists the folder: a plain hash of a phone number is
undone by trying every number (a million of them take about a second).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from disk.files import fsync_dir, open_regular, read_text

#: The secret's file in `<state dir>/desk`.
SECRET_FILE = "place-secret"
#: Random bytes in the secret: far beyond trying.
SECRET_BYTES = 32


def load_or_make_secret(folder: Path) -> bytes:
    """The secret kept in `folder`, made (mode 0600) when there is none, or when the file
    holds no secret (it only names place files: a new one loses the places held under the
    old, which the desk gives up in time). Written whole to a file of this process's, then
    linked in place, so two clients starting at once never use different secrets. Raises
    OSError when the folder cannot be used."""
    path = folder / SECRET_FILE
    with contextlib.suppress(FileNotFoundError, ValueError):
        raw = bytes.fromhex(read_text(path).strip())
        if len(raw) == SECRET_BYTES:
            return raw
    folder.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_bytes(SECRET_BYTES)
    tmp = folder / f"{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = open_regular(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write((secret.hex() + "\n").encode("ascii"))
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            if _usable(path):
                return load_or_make_secret(folder)  # another start made it meanwhile
            os.replace(tmp, path)  # a damaged one: ours replaces it
        fsync_dir(folder)
    finally:
        tmp.unlink(missing_ok=True)
    return secret


def _usable(path: Path) -> bool:
    with contextlib.suppress(OSError, ValueError):
        return len(bytes.fromhex(read_text(path).strip())) == SECRET_BYTES
    return False


def place_name(secret: bytes, label: str) -> str:
    """The name (without `.json`) of the place file for `label` (desk address and number)."""
    return "place-" + hmac.new(secret, label.encode(), hashlib.sha256).hexdigest()[:32]
