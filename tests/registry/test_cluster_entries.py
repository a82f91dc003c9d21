"""Reading a whole bucket (registry/adapter/cluster/store.py's `entries`) ends even when the
watch never says it gave every key."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import nats.errors
import pytest

from registry.adapter.cluster import store

pytestmark = pytest.mark.timeout(10)


class SilentWatcher:
    """nats-py's KeyWatcher as it was seen to fail under load: its keys, then neither more
    nor the None that says they were all."""

    def __init__(self, keys: list[str]) -> None:
        self._updates: asyncio.Queue[Any] = asyncio.Queue()
        for revision, key in enumerate(keys, 1):
            self._updates.put_nowait(
                SimpleNamespace(key=key, revision=revision, value=b"v", operation=None)
            )

    async def updates(self, timeout: float = 5.0) -> Any:
        try:
            return await asyncio.wait_for(self._updates.get(), timeout)
        except TimeoutError:
            raise nats.errors.TimeoutError from None

    def __aiter__(self) -> SilentWatcher:
        return self

    async def __anext__(self) -> Any:
        return await self._updates.get()

    async def stop(self) -> None:
        pass


class Bucket:
    """A KeyValue holding `keys`, whose every watch goes silent."""

    def __init__(self, keys: list[str]) -> None:
        self.keys, self.watches = keys, 0

    async def watchall(self) -> SilentWatcher:
        self.watches += 1
        return SilentWatcher(self.keys)

    async def status(self) -> Any:
        return SimpleNamespace(
            stream_info=SimpleNamespace(state=SimpleNamespace(messages=len(self.keys)))
        )


def test_a_watch_that_never_says_it_gave_all_ends_after_a_silence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the registry's lease keeper waited for ever on such a watch, and with it whatever asked
    monkeypatch.setattr(store, "WATCH_SILENCE", 0.05)
    bucket = Bucket(["member.r1", "member.r2"])
    found = asyncio.run(asyncio.wait_for(store.entries(bucket), 5))  # type: ignore[arg-type]
    assert found == {"member.r1": (1, b"v"), "member.r2": (2, b"v")}
    assert bucket.watches == 1  # every key came: not read again
