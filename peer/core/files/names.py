"""The name a received file is saved under: a plain name inside the downloads folder,
whatever the sender wrote. Nothing here touches the disk."""

from __future__ import annotations

import unicodedata

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
