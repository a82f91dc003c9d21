"""A received file's names: whether the sender's name can be used at all, the name it is
saved under (cut to what the folder's file system holds, in bytes), and its partial
file's name, which always fits too."""

from __future__ import annotations

import unicodedata

from wire.messages import MAX_FILE_NAME

#: Bytes a file name may take on most file systems (the adapter asks the folder's own).
NAME_MAX = 255
#: Names Windows keeps for its devices, in any case, with or without an extension.
_DEVICES = frozenset(
    ["con", "prn", "aux", "nul"] + [f"{d}{n}" for d in ("com", "lpt") for n in range(1, 10)]
)
#: Characters no file name here takes: controls, format marks, line and paragraph ends,
#: lone surrogates.
_REFUSED = ("Cc", "Cf", "Cs", "Zl", "Zp")
#: An extension longer than this (in bytes) is cut with the rest of the name.
_LONGEST_EXTENSION = 16


def name_problem(sent: str) -> str | None:
    """Why `sent`, a file name from an offer, cannot be saved as it is, or None. A name is
    one plain part: no folder (/ or \\), not . or .., no control character, not empty,
    at most MAX_FILE_NAME characters (one too long for the disk is cut: `fitted_name`)."""
    if not sent or not sent.strip():
        return "an empty file name"
    if len(sent) > MAX_FILE_NAME:
        return f"a file name over {MAX_FILE_NAME} characters"
    if any(unicodedata.category(c) in _REFUSED for c in sent):
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


def size(name: str) -> int:
    """The bytes `name` takes on disk (UTF-8, as the peer's file names are written)."""
    return len(name.encode("utf-8", "surrogateescape"))


def cut(text: str, most: int) -> str:
    """`text` cut to at most `most` bytes, at a character's end."""
    return text.encode("utf-8", "surrogateescape")[: max(most, 0)].decode("utf-8", "ignore")


def fitted_name(name: str, name_max: int, tail: str = "") -> str:
    """`name`, with `tail` (e.g. " (2)") before its extension, in at most `name_max` bytes:
    what does not fit is cut from the end of the part before the extension."""
    stem, dot, ext = name.rpartition(".")
    if not stem or size(dot + ext) > _LONGEST_EXTENSION:  # no extension, or a dot file
        stem, dot, ext = name, "", ""
    if size(stem + tail + dot + ext) <= name_max:
        return stem + tail + dot + ext
    return cut(stem, name_max - size(tail + dot + ext)) + tail + dot + ext


def partial_name(name: str, number: int, name_max: int) -> str:
    """The hidden name transfer `number` keeps its bytes under until whole: `.NAME.chatapp-
    NUMBER.part`, NAME cut so that the whole fits in `name_max` bytes."""
    suffix = f".chatapp-{number}.part"
    return "." + cut(name, name_max - 1 - size(suffix)) + suffix
