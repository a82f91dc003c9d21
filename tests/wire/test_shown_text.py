"""wire/shown_text.py: nothing that drives a terminal gets through; everything else does."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from wire.shown_text import REPLACEMENT, clean, pad, width


def test_escapes_returns_newlines_and_bells_are_replaced() -> None:
    assert clean("hi\x1b[2J\nthere\r\x08\x07\x7f\x9b") == "hi\ufffd[2J\ufffdthere" + "\ufffd" * 5


def test_a_tab_is_a_space() -> None:
    assert clean("a\tb") == "a b"


def test_bidi_overrides_are_replaced_and_the_marks_kept() -> None:
    assert clean("abc\u202edcba") == "abc\ufffddcba"
    arabic = "\u200f\u0645\u0631\u062d\u0628\u0627 \u200e"  # a greeting, between marks
    assert clean(arabic) == arabic


def test_emoji_sequences_and_combining_marks_are_untouched() -> None:
    for text in ("👨‍👩‍👧", "🏳️‍🌈", "क्षि", "e\u0301", "日本語 ok"):
        assert clean(text) == text


@given(st.text())
def test_no_character_that_drives_a_terminal_survives(text: str) -> None:
    shown = clean(text)
    assert len(shown) == len(text)  # one for one: nothing is dropped or added
    for before, after in zip(text, shown, strict=True):
        unsafe = unicodedata.category(before) in ("Cc", "Zl", "Zp") or before in (
            "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
        )
        if before == "\t":
            assert after == " "
        elif unsafe:
            assert after == REPLACEMENT
        else:
            assert after == before


def test_width_counts_terminal_columns() -> None:
    assert width("Alice") == 5
    assert width("王小明") == 6  # wide
    assert width("\uff21\uff22") == 4  # fullwidth A and B
    assert width("e\u0301") == 1  # a combining accent takes no column
    assert width("😀 ok") == 5
    assert width("a\u200bb") == 2  # an invisible format character neither
    assert pad("王", 4) == "王  " and pad("Alice", 3) == "Alice"


def test_an_emoji_sequence_takes_the_two_columns_of_the_one_picture_shown() -> None:
    assert width("👩\u200d💻") == 2  # woman + joiner + laptop: one technologist
    assert width("👨\u200d👩\u200d👧") == 2  # a family
    assert width("🏳️\u200d🌈") == 2  # a rainbow flag
    assert width("👍🏽") == 2  # a skin tone changes the emoji, in its place
    assert width("❤️ Lu") == 5  # a heart asked to show as an emoji is two columns
    assert width("1️⃣") == 2  # a keycap
    assert width("🇬🇧 Bo") == 5  # a flag: two regional indicators, one column each


def test_a_joiner_inside_a_word_of_letters_joins_nothing_away() -> None:
    assert width("क्\u200dष") == 2  # Devanagari: the joiner shapes the letters, both drawn
    assert width("a\u200db") == 2
    assert width("\u1100\u1161") == 2  # a Hangul syllable spelled in jamo: one wide block
