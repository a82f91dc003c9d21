"""The secret that names a help-desk client's held-place files (`peer.adapter.desk.held_place`),
made at first use, its user's alone: a plain hash of a phone number is undone by trying them.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from pathlib import Path

from disk.files import create_once, read_text, replace_durably

#: The secret's file in `<state dir>/desk`.
SECRET_FILE = "place-secret"
#: Random bytes in the secret: far beyond trying.
SECRET_BYTES = 32


def load_or_make_secret(folder: Path) -> bytes:
    """The secret kept in `folder`, made (mode 0600) when there is none, or when the file
    holds no secret (it only names place files: a new one loses the places held under the
    old, which the desk gives up in time). Two clients starting at once never use different
    secrets (disk.files.create_once). Raises OSError when the folder cannot be used."""
    path = folder / SECRET_FILE
    secret = secrets.token_bytes(SECRET_BYTES)
    data = (secret.hex() + "\n").encode("ascii")
    kept = _kept(path)
    if kept is None and not create_once(path, data):
        kept = _kept(path)  # another start made it meanwhile
        if kept is None:
            replace_durably(path, data)  # a damaged one: ours replaces it
    return secret if kept is None else kept


def _kept(path: Path) -> bytes | None:
    """The secret in `path`, if it holds one."""
    with contextlib.suppress(FileNotFoundError, ValueError):
        raw = bytes.fromhex(read_text(path).strip())
        if len(raw) == SECRET_BYTES:
            return raw
    return None


def place_name(secret: bytes, label: str) -> str:
    """The name (without `.json`) of the place file for `label` (desk address and number)."""
    return "place-" + hmac.new(secret, label.encode(), hashlib.sha256).hexdigest()[:32]
