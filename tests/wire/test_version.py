"""The wire version: a fingerprint that changes with the shape of any message, and only
with that (or a deliberate revision)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from wire import messages
from wire.base import WireMessage
from wire.desk import messages as desk
from wire.version import MODULES, REVISION, WIRE_VERSION, fingerprint, wire_refusal

REPO = Path(__file__).resolve().parents[2]


def module(*shapes: tuple[str, list[tuple[str, str]]]) -> ModuleType:
    """A module holding a message type per (name, [(field, type)]), defined in that order."""
    mod = ModuleType("shapes")
    for name, fields in shapes:
        namespace = {"__annotations__": dict(fields), "__module__": mod.__name__}
        cls = type(name, (WireMessage,), namespace, frozen=True)
        setattr(mod, name, cls)
    return mod


PING = ("Ping", [("id", "str"), ("text", "str")])
PONG = ("Pong", [("id", "str"), ("reply_to", "str")])


def test_the_wire_version_is_eight_hex_digits_of_every_message_and_record_shape() -> None:
    assert fingerprint([messages, desk]) == WIRE_VERSION
    assert len(WIRE_VERSION) == 8 and int(WIRE_VERSION, 16) >= 0


def test_every_message_type_is_defined_in_a_fingerprinted_module() -> None:
    fingerprinted = {m.__name__ for m in MODULES}
    assert {t.__module__ for t in messages.MESSAGE_TYPES.values()} <= fingerprinted


def test_the_same_shapes_give_the_same_fingerprint_in_any_order() -> None:
    assert fingerprint([module(PING, PONG)]) == fingerprint([module(PONG, PING)])


def test_any_change_of_shape_or_revision_gives_another_fingerprint() -> None:
    base = fingerprint([module(PING, PONG)])
    changed = [
        module(PING),  # a type fewer
        module(PING, PONG, ("Pang", [("id", "str")])),  # a type more
        module(("Ping", [("id", "str"), ("text", "str"), ("v", "int")]), PONG),  # a field more
        module(("Ping", [("id", "str"), ("body", "str")]), PONG),  # a field renamed
        module(("Ping", [("id", "str"), ("text", "int")]), PONG),  # a field of another type
        module(("Ping", [("text", "str"), ("id", "str")]), PONG),  # fields in another order
        module(("Pung", PING[1]), PONG),  # a type renamed
    ]
    prints = [fingerprint([m]) for m in changed] + [fingerprint([module(PING, PONG)], REVISION + 1)]
    assert base not in prints and len(set(prints)) == len(prints)


def test_the_wire_version_is_the_same_in_every_process() -> None:
    # not derived from anything a process randomises (str hashes, ids, set order)
    code = "from wire.version import WIRE_VERSION; print(WIRE_VERSION)"
    seen = {
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert seen == {WIRE_VERSION}


def test_a_refusal_names_both_wires_and_never_shows_what_is_not_a_wire_version() -> None:
    reason = wire_refusal("0badc0de", "peer")
    assert reason.startswith("ChatApp versions differ: your peer speaks wire 0badc0de, ")
    assert f"this registry wire {WIRE_VERSION}." in reason
    for garbage in ("", "\x1b[2J", "x" * 5000, "0BADC0DE", "0badc0de0"):
        reason = wire_refusal(garbage, "peer")
        assert f"your peer speaks another wire than this registry (wire {WIRE_VERSION})." in reason
