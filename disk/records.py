"""A record: one msgspec value kept whole in a data file (or a service's bucket), read back or
said why not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import msgspec

from disk.files import os_reason, replace_durably

T = TypeVar("T")


def read_record(read: Callable[[], bytes], kind: type[T], holds: str) -> tuple[T | None, str]:
    """What `read()` gives decoded as `kind` (None: nothing, or unusable), and why it is
    unusable, said after the record's name ("" for nothing: FileNotFoundError)."""
    try:
        return msgspec.json.decode(read(), type=kind), ""
    except FileNotFoundError:
        return None, ""
    except OSError as exc:
        return None, os_reason(exc)
    except msgspec.ValidationError:
        return None, f"it holds no {holds}"
    except msgspec.DecodeError:  # (NaN and infinities too)
        return None, "it is not JSON"


def keep_record(path: Path, value: object) -> None:
    """Replace the record at `path` with `value` durably, its folder made this user's alone if
    there is none (None: remove it). Raises OSError."""
    if value is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    replace_durably(path, msgspec.json.encode(value))
