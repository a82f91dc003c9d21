"""A registry starting against NATS servers that are still electing a stream's leader
waits for it (registry/adapter/cluster/connect.when_streams_answer) instead of giving up at
the first "no response from stream"."""

from __future__ import annotations

import asyncio

import nats.js.errors
import pytest

from registry.adapter.cluster import connect
from registry.adapter.cluster.connect import when_streams_answer

pytestmark = pytest.mark.timeout(20)


def test_work_is_tried_again_while_no_stream_answers() -> None:
    tries: list[int] = []

    async def work() -> str:
        tries.append(1)
        if len(tries) < 3:
            raise nats.js.errors.NoStreamResponseError
        return "opened"

    assert asyncio.run(when_streams_answer(work)) == "opened" and len(tries) == 3


def test_a_stream_that_never_answers_is_said_once_the_wait_is_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(connect, "READY_TIMEOUT", 0.5)

    async def work() -> str:
        raise nats.js.errors.NoStreamResponseError

    with pytest.raises(nats.js.errors.NoStreamResponseError):
        asyncio.run(when_streams_answer(work))


def test_other_errors_are_not_waited_out() -> None:
    tries: list[int] = []

    async def work() -> str:
        tries.append(1)
        raise nats.js.errors.BadRequestError

    with pytest.raises(nats.js.errors.BadRequestError):
        asyncio.run(when_streams_answer(work))
    assert len(tries) == 1
