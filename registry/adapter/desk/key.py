"""The help desk's operator key: a secret in the registry's data directory, made on its
first start, which `ChatApp -o` must show (the operator sees the full number).
"""

from __future__ import annotations

import secrets
from pathlib import Path

from disk.files import create_once
from disk.operator_key import key_path, read_key_strictly

#: Random bytes in a new key (shown as 22 URL-safe characters): far beyond guessing.
KEY_BYTES = 16


def load_or_create_key(data_dir: Path) -> tuple[str, str]:
    """The operator key kept in `data_dir` (made first if there is none) and ""; or "" and
    why the desk is closed, when the file cannot be read or holds no key (it is never
    replaced: operators hold it). Raises OSError when a new key cannot be written."""
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
