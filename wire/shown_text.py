"""Text from someone else, made safe to show on a terminal, and how wide it shows.

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


#: East Asian widths a terminal gives two columns: wide (CJK, most emoji) and fullwidth.
_WIDE = frozenset({"W", "F"})
#: Categories a terminal gives no column: combining marks and invisible format characters.
_ZERO_WIDTH = frozenset({"Mn", "Me", "Cf"})


def width(text: str) -> int:
    """The columns `text` takes on a terminal: two for each wide or fullwidth character,
    none for a combining mark or an invisible format character, one for the rest. (An
    emoji sequence joined by U+200D may show narrower on some terminals.)"""
    if text.isascii():
        return len(text)
    return sum(
        0
        if unicodedata.category(ch) in _ZERO_WIDTH
        else 2
        if unicodedata.east_asian_width(ch) in _WIDE
        else 1
        for ch in text
    )


def pad(text: str, columns: int) -> str:
    """`text` with spaces after it to fill `columns` columns (as it is when wider)."""
    return text + " " * (columns - width(text))
