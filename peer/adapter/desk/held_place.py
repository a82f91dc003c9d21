"""The held-place file of `ChatApp -d`, named by an HMAC under a secret of this client's: a
plain hash of a number is undone by trying them."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import time
from pathlib import Path
from typing import Annotated

import msgspec
from msgspec import Meta, Struct

from disk.files import read_bytes, replace_durably
from peer.core.desk.actions import KeepPlace
from secure.keys import KeyFileError, load_or_make_key
from wire.desk.phone import phone_key
from wire.desk.text import TOPICS

#: Seconds a held-place file's "last alive" time may lie ahead of the clock (NTP); further
#: ahead is damage, and would hold the place for ever.
CLOCK_SKEW = 60.0
#: The secret's file in `<state dir>/desk`, kept as a key file is.
SECRET_FILE = "place-secret"


class _Kept(Struct):
    token: Annotated[str, Meta(min_length=1)]
    topic: int
    grace: Annotated[float, Meta(ge=0)]
    alive: float
    description: str = ""


def place_file(root: Path, ip: str, port: int, phone: str) -> Path | None:
    """The file of the place `phone` holds at the desk at `ip`:`port`, in `root`/desk; None
    when its secret cannot be had (a read-only home only costs the restart feature)."""
    folder = root / "desk"
    try:
        secret = _secret(folder)
    except (OSError, KeyFileError):
        return None
    return folder / f"{place_name(secret, f'{ip}:{port}|{phone_key(phone)}')}.json"


def load_place(path: Path) -> KeepPlace | None:
    """The place kept at `path`, if it may still be held; stale or damaged files are removed."""
    try:
        kept = msgspec.json.decode(read_bytes(path), type=_Kept)
    except OSError:
        return None
    except msgspec.DecodeError:  # damaged, or NaN where a time should be
        kept = None
    now = time.time()
    if kept is None or kept.topic not in TOPICS:
        keep_place(path, KeepPlace())
    elif now > kept.alive + kept.grace or kept.alive > now + CLOCK_SKEW:
        keep_place(path, KeepPlace())  # the desk has given the place up, or the time is damage
    else:
        return KeepPlace(kept.token, kept.topic, kept.description, kept.grace)
    return None


def keep_place(path: Path, place: KeepPlace) -> None:
    """Write `place` at `path` (best effort); with no token, remove the file."""
    with contextlib.suppress(OSError):
        if not place.token:
            path.unlink()
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        kept = _Kept(place.token, place.topic, place.grace, time.time(), place.description)
        replace_durably(path, msgspec.json.encode(kept))


def _secret(folder: Path) -> bytes:
    """The secret kept in `folder`, made when there is none; a damaged one is replaced (it only
    loses the places held under it)."""
    try:
        return load_or_make_key(folder, SECRET_FILE)[0].private_bytes_raw()
    except KeyFileError:
        (folder / SECRET_FILE).unlink()
    return load_or_make_key(folder, SECRET_FILE)[0].private_bytes_raw()


def place_name(secret: bytes, label: str) -> str:
    return "place-" + hmac.new(secret, label.encode(), hashlib.sha256).hexdigest()[:32]
