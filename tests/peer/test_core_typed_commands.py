"""PeerCore as a whole, the commands of no part of their own: mistakes, /whois."""

from __future__ import annotations

from peer.core import actions as pa
from peer.core.shared import NO_USER
from tests.peer.core_kit import (
    T0,
    prints,
    registered,
    sent,
)
from wire.keys import fingerprint, key_text
from wire.limits import MAX_TEXT
from wire.messages import (
    Entry,
)


def test_mistakes_get_one_clear_line_and_send_nothing() -> None:
    core, _ = registered()
    for line, expected in [
        ("dereg bob", "[You can only dereg yourself (dereg alice).]"),
        ("send nobody hi", NO_USER.format("nobody", "who")),
        ("flibber", "Not a command"),
    ]:
        out = core.line(line, T0)
        assert sent(out) == [] and expected in prints(out)[0]
    out = core.line("send bob " + "x" * (MAX_TEXT + 1), T0)
    assert sent(out) == [] and "too long" in prints(out)[0]


def test_whois_shows_a_names_key_fingerprint_and_ours() -> None:
    core, _ = registered()
    ours = core.parts.commands.fingerprint = "11111 22222 33333 44444 55555 66666"
    bob_key = bytes(range(32))
    core.table.replace(1, (Entry("bob", "10.0.0.2", 6002, True, key_text(bob_key)),), ())
    out: list[object] = []
    core.line("/whois bob", 0.0, out.append)  # type: ignore[arg-type]
    [shown] = [a for a in out if isinstance(a, pa.Print)]
    assert fingerprint(bob_key) in shown.text and ours in shown.text
    out.clear()
    core.line("whois nobody", 0.0, out.append)  # type: ignore[arg-type]
    assert [a.text for a in out if isinstance(a, pa.Print)] == [NO_USER.format("nobody", "who")]
