"""A fresh registry's help desk gives an estimate from the first caller: from the typical
session length it was given (`--typical-session`), and says so."""

from __future__ import annotations

import pytest

from wire.desk.render import ahead_of_you

from .harness import HOST, ChatEnv, ChatProc


def _person(chat: ChatEnv, name: str, phone: str) -> ChatProc:
    """`ChatApp -d` with a state directory of its own (one client runs per directory),
    answering the form: `name`, `phone`, topic 2."""
    assert chat.registry_port is not None
    state = chat.root / "people" / name
    state.mkdir(parents=True)
    proc = chat.spawn(
        "-d", HOST, str(chat.registry_port), "--data-dir", str(state), label=f"person:{name}"
    )
    for line in (name, phone, "2"):
        proc.send(line)
    return proc


@pytest.mark.timeout(40)
def test_queue_on_a_fresh_desk_gives_a_typical_estimate(chat: ChatEnv) -> None:
    chat.start_registry(options=("--typical-session", "2m", "--no-desk-console"))
    assert chat.registry_port is not None
    key = (chat.registry_dir / "desk-key").read_text().strip()
    chat.env["CHATAPP_DESK_KEY"] = key
    ann = chat.spawn("-o", "ann", HOST, str(chat.registry_port), *chat.trusting(), label="operator")
    ann.send(".serve all")  # piped: it takes nobody until told (docs/DESK.md)
    ann.expect(r"On duty as ann, serving all topics")
    alice = _person(chat, "Alice", "+44 7700 900123")
    ann.expect(r"Now serving Alice")
    bob = _person(chat, "Bob", "0151-2345-6789")
    # next in line behind a session of a typical 2 min just begun: 1 to 3 min
    bob.expect(r"Estimated wait: 1-3 min, from a typical session length\.")
    bob.send(".queue")
    bob.expect(rf"\[{ahead_of_you(0)}; .*estimated wait: 1-3 min, from a typical session length")
    assert alice.count("Traceback") == bob.count("Traceback") == 0


@pytest.mark.timeout(20)
def test_a_bad_typical_session_stops_the_start_with_one_line(chat: ChatEnv) -> None:
    registry = chat.spawn("-s", "5000", "--typical-session", "ten minutes", label="registry")
    registry.expect(r"ChatApp: error: --typical-session needs a length of time like 10m or 600s")
    assert registry.wait_exit(10) == 2
    assert registry.count("Traceback") == 0
