"""Text from someone else, made safe to show on a terminal.

A message's text is the sender's to choose, and a terminal obeys what it is sent: an
escape sequence can clear the screen or recolour it, a carriage return or a backspace can
overwrite what is already on the line (say, the sender's name), a newline can forge a line
of its own, and a bidirectional override can show the rest of the line reversed. Those
characters are shown as U+FFFD instead; every other character is shown as it is, the
invisible joiners and marks that emoji sequences and right-to-left scripts need included.
"""

from __future__ import annotations

import unicodedata

#: What a character that could drive the terminal is shown as.
REPLACEMENT = "\N{REPLACEMENT CHARACTER}"

#: Bidirectional embeddings, overrides and isolates: they reorder what follows them (the
#: plain left-to-right and right-to-left marks, which only nudge, are kept).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

#: Control characters (C0, DEL, C1) and the line and paragraph separators.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})


def unsafe(ch: str) -> bool:
    """Whether the character `ch` could drive a terminal (`clean` replaces it)."""
    return ch in _BIDI_CONTROLS or unicodedata.category(ch) in _UNSAFE_CATEGORIES


def clean(text: str) -> str:
    """`text` with every character that could drive a terminal replaced by U+FFFD; a tab
    becomes a space. Text that needs no change is returned as it is."""
    if text.isprintable():
        return text  # the usual case: no control, format or separator character at all
    text = text.replace("\t", " ")
    return "".join(REPLACEMENT if unsafe(ch) else ch for ch in text)
