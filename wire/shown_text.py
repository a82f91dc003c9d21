"""Text from someone else, made safe to show on a terminal (what could drive it shows as
U+FFFD), and how wide it shows."""

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
#: Joins two emoji into one picture (a family, a profession, a rainbow flag).
_ZWJ = "\u200d"
#: Asks for the emoji picture of the character before it (`❤️`), two columns wide.
_EMOJI_PRESENTATION = "\ufe0f"
#: The skin tones (Fitzpatrick modifiers): they change the emoji before them, in its place.
_SKIN_TONES = range(0x1F3FB, 0x1F400)
#: Hangul medial vowels and final consonants: drawn into the syllable before them.
_HANGUL_JAMO_TAIL = range(0x1160, 0x1200)


def width(text: str) -> int:
    """The columns `text` takes on a terminal: two for a wide or fullwidth character, none
    for a combining mark or format character, one for the rest (ambiguous ones too); an
    emoji sequence (joined, skin-toned, `❤️`) is the one picture, two columns."""
    if text.isascii():
        return len(text)
    total = 0
    last = 0  # columns of the last character that took any: what a sequence extends
    joined = False  # the character before was a zero-width joiner
    for ch in text:
        code = ord(ch)
        wide = unicodedata.east_asian_width(ch) in _WIDE
        if ch == _ZWJ:
            joined = True
            continue
        if joined and last == 2 and (wide or unicodedata.category(ch) == "So"):
            joined = False  # one more emoji drawn into the picture before it
            continue
        joined = False
        if ch == _EMOJI_PRESENTATION:
            if last == 1:
                total, last = total + 1, 2
            continue
        if (code in _SKIN_TONES and last == 2) or code in _HANGUL_JAMO_TAIL:
            continue
        if unicodedata.category(ch) in _ZERO_WIDTH:
            continue
        last = 2 if wide else 1
        total += last
    return total


def pad(text: str, columns: int) -> str:
    """`text` with spaces after it to fill `columns` columns (as it is when wider)."""
    return text + " " * (columns - width(text))
