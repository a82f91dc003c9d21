"""The name a received file is saved under: a plain name inside the downloads folder,
whatever the sender wrote. Nothing here writes a file; `free_path` looks."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

from wire.file_messages import MAX_FILE_NAME

#: Names Windows keeps for its devices, in any case, with or without an extension.
_DEVICES = frozenset(
    ["con", "prn", "aux", "nul"] + [f"{d}{n}" for d in ("com", "lpt") for n in range(1, 10)]
)


def name_problem(sent: str) -> str | None:
    """Why `sent`, a file name from an offer, cannot be saved as it is, or None. A name is
    one plain part: no folder (/ or \\), not . or .., no control character, not empty,
    at most MAX_FILE_NAME characters."""
    if not sent or not sent.strip():
        return "an empty file name"
    if len(sent) > MAX_FILE_NAME:
        return f"a file name over {MAX_FILE_NAME} characters"
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in sent):
        return "a control character in the file name"
    if "/" in sent or "\\" in sent or sent in (".", ".."):
        return "a folder in the file name"
    if sent.split(".")[0].strip().lower() in _DEVICES:
        return "a device's name"
    return None


def shown_name(sent: str) -> str:
    """`sent` made safe to print on one line (for a refusal that names it)."""
    kept = "".join(c if unicodedata.category(c)[0] != "C" else "?" for c in sent[:60])
    return repr(kept)


def free_path(folder: Path, name: str, taken: set[str] | None = None) -> Path:
    """A path in `folder` for `name` that holds no file yet: `name`, else `name (2)`, ...,
    the number before the extension. `taken` lists names to treat as held besides. The
    caller still creates it exclusively: a file may appear between the look and the
    write."""
    stem, dot, ext = name.rpartition(".")
    if not stem:  # no extension, or a dot file
        stem, dot, ext = name, "", ""
    number = 1
    while True:
        candidate = name if number == 1 else f"{stem} ({number}){dot}{ext}"
        path = folder / candidate
        if not os.path.lexists(path) and candidate not in (taken or set()):
            return path
        number += 1


def default_downloads() -> Path:
    """The user's downloads folder: $XDG_DOWNLOAD_DIR where set, else ~/Downloads."""
    given = os.environ.get("XDG_DOWNLOAD_DIR")
    return Path(given).expanduser() if given else Path.home() / "Downloads"
