"""A program's key pair, the keys it has pinned, and how a key is shown to people.

Every registry, peer and help-desk client has an X25519 key pair, made at its first start
and kept in its data directory, readable by its user only (docs/SECURITY.md). Keys of
others are pinned on first use, as SSH does: `Pins` remembers them and says when one
changes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from net.files import open_regular, parse_json, read_text, replace_durably
from wire.keys import KEY_BYTES, key_from_text, key_text

#: The key pair's file in a data directory: the 32 bytes of the private key, in hex.
KEY_FILE = "identity.key"
#: The pinned keys' file in a data directory.
PINS_FILE = "known-keys.json"


class KeyFileError(Exception):
    """A key file that exists but cannot be used; the message says which and why."""


def public_of(private: X25519PrivateKey) -> bytes:
    """The raw 32 bytes of `private`'s public key."""
    return private.public_key().public_bytes_raw()


def load_or_make_key(data_dir: Path) -> tuple[X25519PrivateKey, bool]:
    """The key pair kept in `data_dir`, made (mode 0600) when there is none; with True when
    it was made just now. Raises KeyFileError for a file that holds no key (it is never
    replaced: the key is what proves who we are), OSError when the folder cannot be
    written."""
    path = data_dir / KEY_FILE
    try:
        text = read_text(path, errors="replace")
    except FileNotFoundError:
        return _make_key(path), True
    except OSError as exc:
        raise KeyFileError(f"Cannot read the key file {path}: {exc.strerror or exc}.") from None
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


def _make_key(path: Path) -> X25519PrivateKey:
    path.parent.mkdir(parents=True, exist_ok=True)
    private = X25519PrivateKey.generate()
    text = (private.private_bytes_raw().hex() + "\n").encode("ascii")
    # O_EXCL: two starts at once must not each make a key and keep different ones
    try:
        fd = open_regular(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_or_make_key(path.parent)[0]
    with os.fdopen(fd, "wb") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    return private


class Pins:
    """Keys pinned on first use, by label ("registry 10.0.0.5:5000", "peer bob@..."),
    kept in `<data dir>/known-keys.json`. A damaged file is set aside and read as empty,
    which is said in `problem`."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / PINS_FILE
        self.problem = ""
        self._keys: dict[str, str] = {}
        try:
            data = parse_json(read_text(self.path))
            if not isinstance(data, dict) or not all(
                isinstance(v, str) and key_from_text(v) for v in data.values()
            ):
                raise ValueError("not a table of keys")
            self._keys = dict(data)
        except FileNotFoundError:
            pass
        except (OSError, ValueError, RecursionError) as exc:
            self.problem = (
                f"Could not read the pinned keys in {self.path} ({exc}); starting afresh."
            )

    def get(self, label: str) -> bytes | None:
        """The key pinned for `label`, if any."""
        text = self._keys.get(label)
        return key_from_text(text) if text is not None else None

    def pin(self, label: str, public: bytes) -> None:
        """Pin `public` for `label` (replacing any other), durably. Raises OSError."""
        self._keys[label] = key_text(public)
        data = json.dumps(self._keys, indent=2, sort_keys=True) + "\n"
        replace_durably(self.path, data.encode("utf-8"))
