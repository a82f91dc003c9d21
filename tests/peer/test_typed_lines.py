"""Typed lines not carried out are said, one line each (blank ones and the end of input not)."""

from __future__ import annotations

from peer.core import actions as pa
from peer.core.shared import not_carried_out


def test_each_typed_line_not_carried_out_is_said_but_blank_ones() -> None:
    out: list[pa.Action] = []
    not_carried_out(["send bob hi", "  ", None], "you are not registered", out.append)
    assert out == [pa.Print("[Not carried out, as you are not registered: send bob hi]", "error")]
