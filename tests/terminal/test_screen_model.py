"""The full screen's model, without a terminal: windows open at their first line, unread
and mention marks come and go, scrollback, and a transfer's speed and time left."""

from __future__ import annotations

import math

from terminal.screen_model import SCROLLBACK, ChatWindow, ScreenModel, Speeds, bar, duration


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
