"""How long a client looks (net/discovery.py, `look`): every registry that answers within
the window counted from its question, each question multicast. zeroconf is replaced by a
browser whose answers come at set times: the records on a real network are tested end to
end in a namespace (tests/e2e/test_discovery.py)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

import pytest
import zeroconf.asyncio
from zeroconf import DNSQuestionType, ServiceStateChange

import net.discovery as discovery
from net.discovery import Found, look

pytestmark = pytest.mark.timeout(10)


class _Stack:
    zeroconf = None

    async def async_close(self) -> None:
        pass


def _browser_answering(at: dict[str, float], asked: list[object]) -> type:
    """A browser class whose records `at` (name: seconds after it starts) are heard then."""

    class Browser:
        def __init__(self, _zc: object, _type: str, handlers: list[Callable[..., None]], **kw: Any):
            asked.append(kw.get("question_type"))
            loop, added = asyncio.get_running_loop(), ServiceStateChange.Added
            self._calls = [
                loop.call_later(t, functools.partial(handlers[0], name=name, state_change=added))
                for name, t in at.items()
            ]

        async def async_cancel(self) -> None:
            for call in self._calls:
                call.cancel()

    return Browser


def _looked(
    monkeypatch: pytest.MonkeyPatch, at: dict[str, float], **times: float
) -> tuple[list[str], list[object]]:
    asked: list[object] = []
    monkeypatch.setattr(discovery, "_zeroconf", lambda bind: _Stack())
    monkeypatch.setattr(zeroconf.asyncio, "AsyncServiceBrowser", _browser_answering(at, asked))

    async def resolved(_zc: object, name: str) -> Found:
        return Found("127.0.0.1", int(name), "")

    monkeypatch.setattr(discovery, "_resolved", resolved)
    found = asyncio.run(look("127.0.0.1", **times))
    return [str(f.port) for f in found], asked


def test_a_registry_answering_late_in_the_window_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    # the first answers at once, the second only to the question asked again: both taken
    ports, asked = _looked(monkeypatch, {"5000": 0.02, "5001": 0.3}, look_for=1.0, window=0.4)
    assert ports == ["5000", "5001"]
    assert asked == [DNSQuestionType.QM]  # every question multicast


def test_an_answer_after_the_window_is_not_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:

    ports, _ = _looked(monkeypatch, {"5000": 0.02, "5001": 2.0}, look_for=3.0, window=0.2)
    assert ports == ["5000"]


def test_a_first_answer_after_the_window_ends_the_look_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ports, _ = _looked(monkeypatch, {"5000": 0.3, "5001": 2.0}, look_for=1.0, window=0.1)
    assert ports == ["5000"]
