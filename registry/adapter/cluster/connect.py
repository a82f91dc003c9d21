"""Reaching the NATS servers of a service, with every failure said in one plain line."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import nats
import nats.errors
import nats.js.errors
from msgspec import Struct
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DEFAULT_PREFIX

from disk.files import os_reason
from registry.adapter.storage import StorageError

T = TypeVar("T")

#: Seconds to reach one NATS server, any of them at start, for JetStream to answer at start
#: (a cluster just started elects a leader first), and for an answer of JetStream's.
CONNECT_TIMEOUT = 2.0
START_TIMEOUT = 5.0
READY_TIMEOUT = 10.0
ANSWER_TIMEOUT = 2.0
#: Seconds between the client's pings, and pings unanswered after which its connection counts
#: as dead, is closed and made again: a link that drops everything (a partition, a firewall)
#: closes no TCP connection, and at nats-py's defaults (120 s, 2) the client found out after
#: 4 to 6 minutes: meanwhile it said nothing, and what it sent waited, to arrive late and all
#: at once should the link come back. Here within 2 to 3 s; a ping costs a few bytes.
PING_INTERVAL = 1
MAX_OUTSTANDING_PINGS = 2


class ClusterSettings(Struct, frozen=True):
    """A registry's place in a service: the `urls` of its NATS servers, and the address
    its peers reach it at (`advertise`)."""

    urls: list[str]
    advertise: str


class ClusterError(StorageError):
    """The service's NATS servers cannot be used (unreachable, no JetStream, refused)."""


def parse_urls(text: str) -> list[str]:
    """The URLs of `--cluster` (`nats://host:4222,nats://...`); ValueError naming a wrong one."""
    urls = [url.strip() for url in text.split(",") if url.strip()]
    if not urls:
        raise ValueError("--cluster needs at least one URL, such as nats://127.0.0.1:4222")
    for url in urls:
        if not url.startswith(("nats://", "tls://")):
            raise ValueError(f"{url!r} is not a NATS URL (nats://host:port)")
    return urls


async def connect(
    urls: list[str], log: Callable[[str], None], stopping: asyncio.Event | None = None
) -> tuple[Client, JetStreamContext]:
    """A connection to the first of `urls` that answers, and its JetStream; later outages
    are said once each on `log` (the client reconnects by itself), unless `stopping` is
    set. ClusterError when none answers, or JetStream is not enabled there."""
    said: dict[str, bool] = {"down": False}

    async def disconnected() -> None:
        if not said["down"] and not (stopping and stopping.is_set()):
            said["down"] = True
            log("ERROR the NATS servers are not answering: saves and posts wait until they are")

    async def reconnected() -> None:
        said["down"] = False
        log("NATS answers again: what waited is being stored")

    try:
        # (once connected, the client tries again for ever; at first, START_TIMEOUT in all)
        nc = await asyncio.wait_for(
            nats.connect(
                servers=urls,
                connect_timeout=CONNECT_TIMEOUT,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                ping_interval=PING_INTERVAL,
                max_outstanding_pings=MAX_OUTSTANDING_PINGS,
                disconnected_cb=disconnected,
                reconnected_cb=reconnected,
                error_cb=_unsaid,
            ),
            START_TIMEOUT,
        )
    except (OSError, nats.errors.Error, TimeoutError) as exc:
        raise ClusterError(
            f"cannot reach NATS at {', '.join(urls)} ({os_reason(exc)}); start it first "
            "(nats-server -js), or leave out --cluster to keep the data in files"
        ) from None
    js = nc.jetstream(timeout=ANSWER_TIMEOUT)
    try:
        await _jetstream_ready(nc)
    except (nats.errors.Error, nats.js.errors.Error, TimeoutError) as exc:
        said["down"] = True  # (closed here: no outage to say besides this)
        await nc.close()
        raise ClusterError(
            f"NATS at {', '.join(urls)} has no JetStream ({os_reason(exc)}); start it with "
            "nats-server -js (or jetstream {} in its configuration)"
        ) from None
    return nc, js


async def _unsaid(exc: Exception) -> None:
    """An error of the client's: each outage is said by `disconnected`, and the client
    retries by itself."""


async def _jetstream_ready(nc: Client) -> None:
    """Once JetStream answers. A cluster of NATS servers just started elects its leader
    first, and says so with an error or silence, which is waited out (`_waited_out`). A
    server without JetStream has nothing in reach to serve its API, and says so at once:
    NoRespondersError, which is not waited out."""

    async def answered() -> None:
        reply = await nc.request(f"{DEFAULT_PREFIX}.INFO", b"", timeout=ANSWER_TIMEOUT)
        error = json.loads(reply.data).get("error")
        if error:  # "JetStream system temporarily unavailable", say
            raise nats.js.errors.APIError(error.get("code"), error.get("description"))

    await _waited_out(answered, (nats.errors.TimeoutError, nats.js.errors.Error))


async def when_streams_answer(work: Callable[[], Awaitable[T]]) -> T:
    """`work()`, tried again while a stream has no leader to answer yet (a replicated
    stream just made elects one first; `_waited_out`)."""
    return await _waited_out(work, (nats.js.errors.NoStreamResponseError,))


async def _waited_out(
    work: Callable[[], Awaitable[T]], waits: tuple[type[BaseException], ...]
) -> T:
    """`work()`, tried again every 0.25 s while it raises one of `waits`, for
    READY_TIMEOUT; the last error is raised."""
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        try:
            return await work()
        except waits:
            if time.monotonic() >= deadline:
                raise
            await asyncio.sleep(0.25)


#: How long, at most, the tasks a closed NATS client left are cancelled again until they end.
TASKS_END_WITHIN = 2.0


async def end_tasks_left() -> None:
    """Cancel every task of this event loop but the caller's, again until each has ended,
    for TASKS_END_WITHIN seconds at most. A NATS client closed while it reconnects can leave
    its reconnecting task running: its connection attempt may end as the cancellation
    comes, and Python 3.11's `asyncio.wait_for` then drops the cancellation, so the task
    tries the next server for ever. Left to the loop's own end, such a task held the
    process after "Registry stopped." (or printed "Task was destroyed but it is pending!")."""
    current = asyncio.current_task()
    deadline = time.monotonic() + TASKS_END_WITHIN
    left = [task for task in asyncio.all_tasks() if task is not current]
    while left and time.monotonic() < deadline:
        for task in left:
            task.cancel()
        _, pending = await asyncio.wait(left, timeout=0.1)
        left = list(pending)
