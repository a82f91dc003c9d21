"""The lease of the registry that decides, and each registry's membership, in bucket
CHATAPP_LEAD (docs/PROTOCOL.md, "Several registries"). A registry in a join storm can keep its
event loop busy for seconds, and a lease renewed from there would run out: a thread with its
own loop and NATS connection keeps them, and tells the registry's loop of each change."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.kv import KeyValue

from registry.adapter.cluster.connect import close, connect, end_tasks_left
from registry.adapter.cluster.service_folder import ServiceFolder
from registry.adapter.cluster.store import ERRORS, WRONG_LAST, bucket, entries
from registry.adapter.store import StorageError

#: Seconds the lead (and a membership) lasts unless renewed: short, so that a registry gone is
#: found soon; a busy one keeps it, renewed from the keeper's thread. NATS counts whole seconds.
LEASE = 1.0
#: Seconds between renewals, and between looks for a lead that is free.
RENEW = 0.25
LEAD_BUCKET = "CHATAPP_LEAD"
#: Seconds after a renewal was sent during which it proves that this registry holds the lead
#: (`check`): none can take it before LEASE after it was stored; two renewals' margin covers
#: what a commit writes after its check.
FRESH = LEASE - 2 * RENEW

T = TypeVar("T")


class LeaseKeeper:
    """This registry's membership and lead, kept by its thread once started (a test may
    `attach` one to a connection of its own)."""

    def __init__(
        self,
        folder: ServiceFolder | None,
        me: str,
        reach: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.me, self.reach = me, reach
        self._clock = clock
        self._folder = folder
        self._value = json.dumps({"id": me, "reach": reach}).encode()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="lease", daemon=True)
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._kv: KeyValue | None = None
        self._task: asyncio.Task[None] | None = None
        self._caller: asyncio.AbstractEventLoop | None = None  # (the loop that started it)
        self._revision = 0  # of the lead key as this registry wrote it (0: not held)
        # the revision of `term` this registry wrote when it last took the lead (0: never)
        self._term = 0
        #: set (in the starting loop) after each change of `held`, `term` or `leader`
        self.news = asyncio.Event()
        self.held = False
        #: a lead lost to another and taken again is a new term, whose state is loaded afresh
        self.term = 0
        #: where peers reach the registry that decides ("ip:port"); None: not known
        self.leader: str | None = None
        #: when the last renewal that went through was sent
        self.renewed = -FRESH
        self._seen: str | None = None  # who held the lead at the last look
        self._lapse: asyncio.TimerHandle | None = None  # (`_tell` again as the lead runs out)

    async def start(self) -> None:
        """Connect (StorageError), join, take the lead if it is free, and keep both."""
        self._caller = asyncio.get_running_loop()
        self._thread.start()
        await self.call(self._open)

    async def attach(self, js: JetStreamContext) -> None:
        self._js, self._kv = js, await bucket(js, LEAD_BUCKET)

    async def call(self, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
        future = asyncio.run_coroutine_threadsafe(work(), self._loop)
        return await asyncio.wrap_future(future)

    async def check(self) -> None:
        """Raise StorageError unless this registry still holds the lead; a renewal sent less than
        FRESH seconds ago answers without a round trip (every commit asks)."""
        if self.held and self._clock() - self.renewed < FRESH:
            return
        await self.call(self.check_lead)

    async def stop(self) -> None:
        if self._thread.is_alive():
            with contextlib.suppress(*ERRORS):
                await self.call(self._close)
            self._loop.call_soon_threadsafe(self._loop.stop)
            await asyncio.to_thread(self._thread.join, 5)

    async def _open(self) -> None:
        assert self._folder is not None, "a keeper with no folder is only attached"
        self._nc, js = await connect(self._folder, lambda _: None)
        await self.attach(js)
        await self._tick()
        self._task = asyncio.get_running_loop().create_task(self._keep())

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(RENEW)
            await self._tick()

    async def _tick(self) -> None:
        """Renew the membership, and the lead if held; else take the lead if it is free. NATS
        away, the lead runs out here as it does in NATS (`_tell`)."""
        try:
            await self._publish(f"member.{self.me}", self.reach.encode())
            sent = self._clock()
            if self._revision and await self.renew():
                self.renewed = sent
            if not self._revision:
                self._seen = str((await self._holder())[0].get("reach", "")) or None
                # (a lead written with this registry's address is one it lost: take it
                # once it runs out, as any other)
                if self._seen in (None, self.reach) and await self.take():
                    self.renewed = sent
        except ERRORS:
            pass
        self._tell()

    def _tell(self) -> None:
        """Set `held`, `leader` and `term` (and `news`): the lead is held until LEASE after the
        last renewal that went through was sent (it runs out LEASE after it was stored)."""
        left = LEASE - (self._clock() - self.renewed) if self._revision else 0.0
        if self._lapse is not None:
            self._lapse.cancel()
        held = left > 0
        self._lapse = self._loop.call_later(left, self._tell) if held else None
        # (run out unrenewed: who holds it now is not known until NATS answers)
        leader = self.reach if held else (None if self._revision else self._seen)
        if (held, leader, self._term) != (self.held, self.leader, self.term):
            self.held, self.leader, self.term = held, leader, self._term
            if self._caller is not None:
                self._caller.call_soon_threadsafe(self.news.set)

    async def _close(self) -> None:
        if self._lapse is not None:
            self._lapse.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._nc is not None:
            await close(self._nc)
        # what the client left waiting (NATS away) ends here, not with the loop
        await end_tasks_left()

    async def take(self) -> bool:
        """Take the lead if nobody holds it; whether this registry holds it now."""
        assert self._kv is not None
        try:
            self._revision = await self._kv.create("lead", self._value, msg_ttl=LEASE)
        except nats.js.errors.KeyWrongLastSequenceError:
            # held, unless by this registry: a lead it lost, written as it was losing it
            if not await self._still_mine():
                return False
        try:  # `term` written with this registry's id, unless it holds this one's last write
            try:
                revision = (await self._kv.get("term")).revision
            except nats.js.errors.KeyNotFoundError:
                revision = None
            if revision != self._term:
                self._term = await self._kv.put("term", self.me.encode())
        except ERRORS:
            self._revision = 0  # (taken again at the next look: the lead names this one)
            raise
        return True

    async def renew(self) -> bool:
        if not self._revision:
            return False  # (a write expecting no revision would take a lead that ran out)
        try:
            self._revision = await self._publish("lead", self._value, self._revision)
        except nats.js.errors.APIError as exc:
            if exc.err_code not in WRONG_LAST:
                raise
            return await self._still_mine()
        return True

    async def _publish(self, key: str, value: bytes, last: int = 0) -> int:
        """Write `key` for LEASE seconds (over revision `last`, unless 0); its revision."""
        assert self._js is not None
        headers = {"Nats-Expected-Last-Subject-Sequence": str(last)} if last else None
        ack = await self._js.publish(
            f"$KV.{LEAD_BUCKET}.{key}", value, headers=headers, msg_ttl=LEASE
        )
        return ack.seq

    async def _still_mine(self) -> bool:
        """Whether the lead, at another revision, holds this registry's id (a renewal that
        timed out went through)."""
        holder, revision = await self._holder()
        self._revision = revision if holder.get("id") == self.me else 0
        return self._revision != 0

    async def _holder(self) -> tuple[dict[str, str], int]:
        assert self._kv is not None
        try:
            entry = await self._kv.get("lead")
        except nats.js.errors.KeyNotFoundError:
            return {}, 0
        return json.loads(entry.value or b"{}"), entry.revision or 0

    async def check_lead(self) -> None:
        """Raise StorageError unless this registry still holds the lead, or takes it again in its
        term (it ran out while NATS was away)."""
        term, sent = self._term, self._clock()
        if not await self.renew() and not (await self.take() and self._term == term):
            raise StorageError("another registry of the service decides for it now")
        self.renewed = sent

    async def members(self) -> dict[str, str]:
        """Each registry's address by its id (run on the keeper's loop: `call`)."""
        assert self._kv is not None
        return {
            key.removeprefix("member."): value.decode()
            for key, (_, value) in (await entries(self._kv)).items()
            if key.startswith("member.")
        }
