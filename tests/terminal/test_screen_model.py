"""The full screen's model, without a terminal: windows open at their first line, unread
and mention marks come and go, scrollback, lines wrapped between words, and a transfer's
speed and time left."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from terminal.screen_model import (
    SCROLLBACK,
    ChatWindow,
    ScreenModel,
    Speeds,
    bar,
    duration,
    wrapped,
)
from tests.hypothesis_profiles import examples


def _line(text: str) -> list[tuple[str, str]]:
    return [("", text)]


def _model() -> ScreenModel:
    return ScreenModel(ChatWindow("registry", "registry"))


def test_a_window_opens_once_at_its_first_line_and_keeps_its_place() -> None:
    model = _model()
    lab = model.window("#lab", "lab")
    assert model.window("#lab", "lab") is lab
    model.add(model.window("@bob", "bob"), _line("bob: hi"))
    assert [w.title for w in model.windows] == ["registry", "lab", "bob"]


def test_a_renamed_persons_window_is_theirs_under_the_new_name_unless_that_has_one() -> None:
    model = _model()
    bob = model.window("@bob", "bob")
    model.add(bob, _line("bob: hi"))
    model.rekey("@bob", "@robert", "robert", "red")
    assert model.window("@robert", "robert") is bob and (bob.title, bob.style) == ("robert", "red")
    assert list(bob.lines) == [_line("bob: hi")]  # the conversation goes on in it
    carol = model.window("@carol", "carol")
    model.rekey("@carol", "@robert", "robert")  # robert has a window: each keeps its own
    assert model.window("@carol", "carol") is carol and model.window("@robert", "x") is bob
    model.rekey("@nobody", "@new", "new")
    assert [w.title for w in model.windows] == ["registry", "robert", "carol"]


def test_closing_shows_the_window_before_and_the_first_stays() -> None:
    model = _model()
    for key in ("#lab", "@bob", "@carol"):
        model.add(model.window(key, key[1:]), _line("hi"))
    model.switch(3)  # bob's
    assert model.close() and model.shown.title == "lab"
    assert [w.title for w in model.windows] == ["registry", "lab", "carol"]
    model.add(model.window("@bob", "bob"), _line("back"))  # a closed window's line opens it
    assert [w.title for w in model.windows][-1] == "bob" and model.windows[-1].unread == 1
    model.switch(1)
    assert not model.close() and len(model.windows) == 4


def test_a_line_elsewhere_is_unread_and_showing_its_window_clears_the_mark() -> None:
    model = _model()
    lab = model.window("#lab", "lab")
    model.add(lab, _line("bob: hi"))
    model.add(lab, _line("bob: alice?"), mention=True)
    model.add(model.shown, _line("[a notice]"))  # the window shown: nothing unread
    assert (lab.unread, lab.mentioned, model.shown.unread) == (2, True, 0)
    assert model.switch(2)
    assert (lab.unread, lab.mentioned) == (0, False)
    assert not model.switch(9)
    assert model.shown is lab


def test_a_line_not_said_to_anyone_marks_nothing() -> None:
    model = _model()
    lab = model.window("#lab", "lab")
    model.add(lab, _line("[Message received by bob.]"), unread=False)
    assert lab.unread == 0


def test_ctrl_n_and_ctrl_p_go_round_the_ends() -> None:
    model = _model()
    model.window("#lab", "lab")
    model.step(-1)
    assert model.shown.title == "lab"
    model.step(1)
    assert model.shown.title == "registry"


def test_scrolling_back_shows_older_lines_and_new_ones_do_not_move_them() -> None:
    model = _model()
    for n in range(50):
        model.add(model.shown, _line(f"line {n}"))
    assert model.visible(3)[-1] == _line("line 49")
    model.scroll(10)
    assert model.visible(3)[-1] == _line("line 39")
    model.add(model.shown, _line("line 50"))
    assert model.visible(3)[-1] == _line("line 39")
    model.scroll(-1000)
    assert model.visible(3)[-1] == _line("line 50")
    model.scroll(1000)
    assert model.visible(3) == [_line("line 0")]


def test_a_window_keeps_its_last_lines_only() -> None:
    model = _model()
    for n in range(SCROLLBACK + 5):
        model.add(model.shown, _line(str(n)))
    assert len(model.shown.lines) == SCROLLBACK
    assert model.shown.lines[0] == _line("5")


def test_a_transfer_has_a_speed_and_a_time_left_once_it_moves() -> None:
    speeds = Speeds()
    first = speeds.progress("1", "big.bin from bob", 0, 10_000_000, now=100.0)
    assert (first.speed, first.left, first.fraction) == (0.0, math.inf, 0.0)
    later = speeds.progress("1", "big.bin from bob", 4_000_000, 10_000_000, now=102.0)
    assert later.speed == 2_000_000
    assert later.left == 3.0
    assert later.fraction == 0.4
    speeds.keep_only(set())
    again = speeds.progress("1", "big.bin from bob", 5_000_000, 10_000_000, now=103.0)
    assert again.speed == 0.0  # forgotten: measured afresh


def test_bars_and_durations_read_as_people_read_them() -> None:
    assert bar(0.5, 10) == "█████░░░░░"
    assert bar(2.0, 4) == "████"
    assert [duration(s) for s in (4.4, 185, 3840, math.inf)] == [
        "4 s",
        "3 min 5 s",
        "1 h 4 min",
        "?",
    ]


def _texts(rows: list[list[tuple[str, str]]]) -> list[str]:
    return ["".join(text for _, text in row) for row in rows]


def test_a_long_line_breaks_between_words_and_keeps_its_colours() -> None:
    line = [("name", "alice: "), ("", "the meeting moved to room 4 at noon")]
    rows = wrapped(line, 16)
    assert _texts(rows) == ["alice: the", "meeting moved to", "room 4 at noon"]
    assert rows[0] == [("name", "alice: "), ("", "the")]


def test_only_a_word_longer_than_a_row_is_cut_and_wide_letters_take_two_cells() -> None:
    assert _texts(wrapped(_line("see https://example.org/a/long/path ok"), 12)) == [
        "see",
        "https://exam",
        "ple.org/a/lo",
        "ng/path ok",
    ]
    assert _texts(wrapped(_line("界界界 界"), 5)) == ["界界", "界 界"]
    assert _texts(wrapped(_line(""), 10)) == [""]


@settings(max_examples=examples(200), deadline=None)
@given(st.text(alphabet="ab \n界", max_size=60), st.integers(1, 20))
def test_wrapping_loses_nothing_but_the_spaces_and_newlines_it_breaks_at(
    text: str, width: int
) -> None:
    rows = _texts(wrapped(_line(text), width))
    assert all(sum(2 if c == "界" else 1 for c in row) <= max(width, 2) for row in rows)
    assert "".join(rows).replace(" ", "") == text.replace(" ", "").replace("\n", "")
