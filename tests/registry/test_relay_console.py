"""The console of a registry that relays for a service (registry/adapter/cluster/console.py): what
only reads is asked of the registry that decides and printed in the order typed; what acts
is typed there, as one line says; NATS's silence is one line too."""

from __future__ import annotations

import asyncio

import msgspec
import nats.errors
import pytest

from registry.adapter.cluster.console import CONSOLE_SUBJECT, RELAY_HELP, RelayConsole, answer_asked

pytestmark = pytest.mark.timeout(10)

DECIDING = "10.0.0.5:5000"


def typed(lines: list[str], ask: object, deciding: str = DECIDING) -> list[str]:
    """What the console prints for `lines`, once every answer came."""
    printed: list[str] = []

    async def run() -> None:
        console = RelayConsole(ask, printed.append, lambda: deciding)  # type: ignore[arg-type]
        for line in lines:
            console.line(line)
        await console.settled()

    asyncio.run(run())
    return printed


def test_what_only_reads_is_answered_by_the_registry_that_decides_in_the_order_typed() -> None:
    asked: list[tuple[str, list[str]]] = []

    async def ask(subject: str, data: bytes, timeout: float) -> bytes:
        words = msgspec.json.decode(data, type=list[str])
        asked.append((subject, words))
        await asyncio.sleep(0.05 if words[0] == "who" else 0)  # the first answer is slower
        return msgspec.json.encode([f"  answer to {' '.join(words)}"])

    printed = typed(["who", "/rooms", "stats", "DESK"], ask)
    assert asked == [
        (CONSOLE_SUBJECT, ["who"]),
        (CONSOLE_SUBJECT, ["rooms"]),
        (CONSOLE_SUBJECT, ["desk"]),
    ]
    assert printed == [
        "  answer to who",
        "  answer to rooms",
        f"  stats is typed at the registry that decides for the service ({DECIDING}); "
        "this one relays to it",
        "  answer to desk",
    ]


def test_what_acts_is_typed_at_the_registry_that_decides_which_is_named() -> None:
    async def ask(subject: str, data: bytes, timeout: float) -> bytes:
        raise AssertionError("nothing is asked")

    printed = typed(["release bob", "stats", "frobnicate", "help"], ask)
    assert printed[:3] == [
        f"  release is typed at the registry that decides for the service ({DECIDING}); "
        "this one relays to it",
        f"  stats is typed at the registry that decides for the service ({DECIDING}); "
        "this one relays to it",
        "  unknown command 'frobnicate'; type help",
    ]
    assert printed[3:] == list(RELAY_HELP)


def test_no_answer_is_one_line_naming_the_registry_that_decides() -> None:
    async def ask(subject: str, data: bytes, timeout: float) -> bytes:
        raise nats.errors.NoRespondersError

    printed = typed(["who"], ask)
    assert printed == [
        f"  who: the registry that decides ({DECIDING}) did not answer; try again in a moment"
    ]
    printed = typed(["rooms"], ask, deciding="")
    assert printed == [
        "  rooms: the registry that decides (none yet) did not answer; try again in a moment"
    ]


def test_the_registry_that_decides_answers_only_what_reads() -> None:
    def answer(words: list[str]) -> list[str]:
        return [f"  {len(words)} words"]

    def lines(data: bytes) -> list[str]:
        return msgspec.json.decode(answer_asked(data, answer), type=list[str])

    assert lines(b'["who"]') == ["  1 words"]
    refused = ["  only who, rooms, operators and desk are asked of another registry"]
    assert lines(b'["release", "bob"]') == refused
    assert lines(b"not json") == refused and lines(b"[]") == refused and lines(b"[1]") == refused


def test_no_answer_names_the_registry_that_decides_by_then_not_the_one_asked() -> None:
    leads = ["127.0.0.1:7001"]

    async def ask(subject: str, data: bytes, timeout: float) -> bytes:
        leads[0] = "127.0.0.1:7002"  # the one asked stopped; another took the lead meanwhile
        raise nats.errors.TimeoutError

    printed: list[str] = []

    async def run() -> None:
        console = RelayConsole(ask, printed.append, lambda: leads[0])
        console.line("who")
        await console.settled()

    asyncio.run(run())
    assert printed == [
        "  who: the registry that decides (127.0.0.1:7002) did not answer; try again in a moment"
    ]
