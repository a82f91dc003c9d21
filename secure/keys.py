"""A program's key pair, made at its first start and kept in its data directory, and the
keys of others it has pinned on first use, as SSH does (docs/SECURITY.md).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from disk.files import create_once, parse_json, read_text, replace_durably, why_unreadable
from wire.keys import KEY_BYTES, key_from_text, key_text

#: The key pair's file in a data directory: the 32 bytes of the private key, in hex.
KEY_FILE = "identity.key"
#: The pinned keys' file in a data directory.
PINS_FILE = "known-keys.json"


class KeyFileError(Exception):
    """A key file that holds no key (damaged): the message says what to do."""


def load_or_make_key(data_dir: Path, file: str = KEY_FILE) -> tuple[X25519PrivateKey, bool]:
    """The key pair kept in `data_dir` (in `file`), and whether it was made just now (mode
    0600). KeyFileError for a file that holds no key (never replaced: the key proves who
    we are); OSError for one that cannot be read now, or a folder that cannot be written."""
    path = data_dir / file
    try:
        text = read_text(path, errors="replace")
    except FileNotFoundError:
        private = X25519PrivateKey.generate()
        if create_once(path, (private.private_bytes_raw().hex() + "\n").encode("ascii")):
            return private, True
        return load_or_make_key(data_dir, file)[0], True  # another start kept one first
    try:
        raw = bytes.fromhex(text.strip())
        if len(raw) != KEY_BYTES:
            raise ValueError
        return X25519PrivateKey.from_private_bytes(raw), False
    except ValueError:
        raise KeyFileError(
            f"The key file {path} holds no key. Move it aside to make a new key "
            "(others will be told your key changed)."
        ) from None


class Pins:
    """Keys pinned on first use, by label ("registry 10.0.0.5:5000"), in PINS_FILE. A
    damaged file is read as empty, said in `problem`."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / PINS_FILE
        self.problem = ""
        self._keys: dict[str, str] = {}
        try:
            self._keys = self._read()
        except (OSError, ValueError, RecursionError) as exc:
            why = why_unreadable(exc)
            self.problem = (
                f"Could not read the pinned keys in {self.path} ({why}); starting afresh."
            )

    def get(self, label: str) -> bytes | None:
        text = self._keys.get(label)
        return key_from_text(text) if text is not None else None

    def labels(self) -> list[str]:
        return list(self._keys)

    def pin(self, label: str, public: bytes) -> None:
        """Pin `public` for `label` (replacing any other), durably, keeping what another
        program sharing the data folder pinned meanwhile. Raises OSError."""
        self._save({label: key_text(public)})

    def forget(self, label: str) -> None:
        self._save({}, gone=label)

    def _save(self, pins: dict[str, str], gone: str = "") -> None:
        with contextlib.suppress(OSError, ValueError, RecursionError):  # (damaged: afresh)
            self._keys = {**self._read(), **self._keys}
        self._keys.update(pins)
        self._keys.pop(gone, None)
        # through a file of this process's own: two programs may share the folder
        data = json.dumps(self._keys, indent=2, sort_keys=True) + "\n"
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        replace_durably(self.path, data.encode("utf-8"), tmp=tmp)

    def _read(self) -> dict[str, str]:
        """The file's pins ({} when there is none). Raises OSError, ValueError (damaged)."""
        try:
            data = parse_json(read_text(self.path))
        except FileNotFoundError:
            return {}
        if not isinstance(data, dict) or not all(
            isinstance(v, str) and key_from_text(v) for v in data.values()
        ):
            raise ValueError("not a table of keys")
        return dict(data)
