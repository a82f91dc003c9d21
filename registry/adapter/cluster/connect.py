"""Reaching the NATS servers of a service, with every failure said in one plain line."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DEFAULT_PREFIX

from disk.files import os_reason
from registry.adapter.cluster.service_folder import ServiceFolder
from registry.adapter.store import StorageError

T = TypeVar("T")

#: Seconds to reach one NATS server, any of them at start, for JetStream to answer at start
#: (a cluster just started elects a leader first), and for an answer of JetStream's.
CONNECT_TIMEOUT = 2.0
START_TIMEOUT = 5.0
READY_TIMEOUT = 10.0
ANSWER_TIMEOUT = 2.0
#: Seconds between the client's pings, and pings unanswered after which its connection is
#: made again: a link that drops everything closes no TCP connection, and nats-py's defaults
#: found out after minutes, what was sent meanwhile arriving late and all at once.
PING_INTERVAL = 1
MAX_OUTSTANDING_PINGS = 2


async def connect(
    folder: ServiceFolder, log: Callable[[str], None], stopping: asyncio.Event | None = None
) -> tuple[Client, JetStreamContext]:
    """A connection to the first of the service's NATS servers that answers, over TLS with
    the folder's credentials, and its JetStream; later outages are said once each on `log`
    unless `stopping`. StorageError when none answers, refuses, or has no JetStream."""
    failures: list[BaseException] = []  # (why none answered, at first)
    refused = asyncio.Event()  # (a server refused this registry for good)
    down = False

    async def disconnected() -> None:
        nonlocal down
        if not down and not (stopping and stopping.is_set()):
            down = True
            log("ERROR the NATS servers are not answering: saves and posts wait until they are")

    async def reconnected() -> None:
        nonlocal down
        down = False
        log("NATS answers again: what waited is being stored")

    async def error(exc: Exception) -> None:
        failures.append(exc)  # (later outages are said by `disconnected`)
        if isinstance(exc, ssl.SSLCertVerificationError) or "authorization" in str(exc).lower():
            refused.set()

    try:
        nc = await _connected(
            folder,
            refused,
            disconnected_cb=disconnected,
            reconnected_cb=reconnected,
            error_cb=error,
        )
    except (OSError, nats.errors.Error, TimeoutError) as exc:
        raise _unreachable(folder, [*failures[-20:], exc]) from None
    try:
        await _jetstream_ready(nc)
    except (nats.errors.Error, nats.js.errors.Error, TimeoutError) as exc:
        down = True  # (closed here: no outage to say besides this)
        await close(nc)
        raise StorageError(
            f"NATS at {', '.join(folder.urls)} has no JetStream ({os_reason(exc)}); start each "
            "node with its configuration from the service folder (nats-server -c ...)"
        ) from None
    return nc, nc.jetstream(timeout=ANSWER_TIMEOUT)


async def _connected(folder: ServiceFolder, refused: asyncio.Event, **callbacks: Any) -> Client:
    """A client of `folder`'s NATS servers: TimeoutError after START_TIMEOUT, or at once when
    `refused` is set; once connected, the client tries again for ever."""
    connecting = nats.connect(
        servers=folder.urls,
        tls=folder.tls(),
        connect_timeout=CONNECT_TIMEOUT,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        ping_interval=PING_INTERVAL,
        max_outstanding_pings=MAX_OUTSTANDING_PINGS,
        **callbacks,
    )
    task = asyncio.ensure_future(connecting)
    told = asyncio.ensure_future(refused.wait())
    await asyncio.wait({task, told}, timeout=START_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
    told.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    raise TimeoutError


def _unreachable(folder: ServiceFolder, failures: list[BaseException]) -> StorageError:
    """Why no NATS server of `folder` could be used, in words a user can act on (a node that
    closes a connection as soon as its TLS is up is refusing the credentials)."""
    said = [str(exc).lower() for exc in failures]
    if bad := [e for e in failures if isinstance(e, ssl.SSLCertVerificationError)]:
        why = f"its certificate is not of this service: {bad[-1].verify_message}"
    elif any("authorization" in text for text in said) or any(
        isinstance(e, BrokenPipeError | ConnectionResetError) for e in failures
    ):
        why = "it refused this service folder's credentials"
    else:
        why = os_reason(failures[-1])
    return StorageError(
        f"cannot reach NATS at {', '.join(folder.urls)} ({why}); start its nodes first "
        f"(nats-server -c {folder.path}/nats-server-1.conf ...)"
    )


async def _jetstream_ready(nc: Client) -> None:
    """Once JetStream answers: a cluster just started elects its leader first (waited out);
    a server without JetStream says NoRespondersError at once (not waited out)."""

    async def answered() -> None:
        reply = await nc.request(f"{DEFAULT_PREFIX}.INFO", b"", timeout=ANSWER_TIMEOUT)
        error = json.loads(reply.data).get("error")
        if error:  # "JetStream system temporarily unavailable", say
            raise nats.js.errors.APIError(error.get("code"), error.get("description"))

    await _waited_out(answered, (nats.errors.TimeoutError, nats.js.errors.Error))


async def when_streams_answer(work: Callable[[], Awaitable[T]]) -> T:
    """`work()`, tried again while a stream just made has no leader to answer yet."""
    return await _waited_out(work, (nats.js.errors.NoStreamResponseError,))


async def _waited_out(
    work: Callable[[], Awaitable[T]], waits: tuple[type[BaseException], ...]
) -> T:
    """`work()`, tried again every 0.25 s while it raises `waits`, for READY_TIMEOUT."""
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        try:
            return await work()
        except waits:
            if time.monotonic() >= deadline:
                raise
            await asyncio.sleep(0.25)


async def close(nc: Client, *, drain: bool = False) -> None:
    """Close `nc` (drained first when `drain`), whatever its state (over TLS, a close while the
    server is away can raise AttributeError from within asyncio)."""
    with contextlib.suppress(nats.errors.Error, TimeoutError, OSError, AttributeError):
        await (nc.drain() if drain else nc.close())


def _not_a_tls_end(record: logging.LogRecord) -> bool:
    """asyncio's warning that a NATS server's TLS close is not half-closed is no user's news."""
    return "eof_received()" not in record.getMessage()


logging.getLogger("asyncio").addFilter(_not_a_tls_end)

#: How long, at most, the tasks a closed NATS client left are cancelled again until they end.
TASKS_END_WITHIN = 2.0


async def end_tasks_left() -> None:
    """Cancel every task of this loop but the caller's, again until each ended (at most
    TASKS_END_WITHIN s): a NATS client closed while it reconnects can leave its task running,
    as Python 3.11's `asyncio.wait_for` may drop the cancellation, and hold the process."""
    current = asyncio.current_task()
    deadline = time.monotonic() + TASKS_END_WITHIN
    left = [task for task in asyncio.all_tasks() if task is not current]
    while left and time.monotonic() < deadline:
        for task in left:
            task.cancel()
        _, pending = await asyncio.wait(left, timeout=0.1)
        left = list(pending)
