"""The lease of one registry of a service, kept from a thread of its own.

A registry in a join storm can keep its event loop busy for seconds: a lease renewed from it
would run out, and a registry only busy would lose the lead and its peers. So a thread with its
own loop and NATS connection renews the membership, and the lead while held, every RENEW
seconds (lead.py), takes the lead when free, and tells the registry's loop of each change
(`news`); the registry reads `held`, `term` and `leader`, and asks the rest through `call`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from nats.aio.client import Client

from registry.adapter.cluster.connect import connect, end_tasks_left
from registry.adapter.cluster.lead import LEAD_BUCKET, LEASE, RENEW, Lead
from registry.adapter.cluster.store import DUPLICATE_WINDOW, ERRORS, bucket

#: Seconds after a renewal of the lead was sent during which it is taken as proof that this
#: registry holds the lead (`check`): no other registry can take it before it runs out, LEASE
#: after the renewal was stored, which is later than it was sent; the margin left (two
#: renewals) covers what a commit writes after its check.
FRESH = LEASE - 2 * RENEW
#: Seconds without a renewal after which a lead that takes the lead again, nobody else having
#: held it, loads the state afresh all the same: a save it publishes again after
#: DUPLICATE_WINDOW may be stored twice, and a load knows every copy.
GOES_ON_WITHIN = DUPLICATE_WINDOW

T = TypeVar("T")


class LeaseKeeper:
    """This registry's membership and lead, kept from a thread (see the module's
    docstring). `held` and `leader` are what the thread saw last."""

    def __init__(
        self, urls: list[str], me: str, reach: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """`me` names this registry to the others; `reach` is where peers reach it; `clock`
        reads seconds for the renewals' ages."""
        self.me, self.reach = me, reach
        self._clock = clock
        self._urls = urls
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="lease", daemon=True)
        self._nc: Client | None = None
        self._lead: Lead | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed: Callable[[], None] = lambda: None
        #: set (in the loop that started the keeper) after each change of `held` or `leader`
        self.news = asyncio.Event()
        #: whether this registry holds the lead
        self.held = False
        #: which term of the lead this registry holds (Lead.term): a lead lost to another
        #: and taken again is a new term, whose state is loaded afresh; one that ran out
        #: while nobody else took it is not
        self.term = 0
        #: where peers reach the registry that decides ("ip:port"), None when none does
        self.leader: str | None = None
        #: when the last renewal of the lead that went through was sent (`clock` seconds)
        self.renewed = -FRESH

    async def start(self) -> None:
        """Connect (ClusterError as registry.adapter.cluster.connect says), say this registry is
        there, take the lead if it is free, and keep both from now on."""
        caller = asyncio.get_running_loop()

        def changed() -> None:
            caller.call_soon_threadsafe(self.news.set)

        self._changed = changed
        self._thread.start()
        await self._in_thread(self._open())

    async def call(self, work: Callable[[Lead], Coroutine[Any, Any, T]]) -> T:
        """`work(lead)`, run in the keeper's thread, awaited here."""
        lead = self._lead
        if lead is None:
            raise RuntimeError("the lease keeper is not started")
        return await self._in_thread(work(lead))

    async def check(self) -> None:
        """Raise Superseded unless this registry still holds the lead (Lead.check). A
        renewal sent less than FRESH seconds ago answers without a round trip: every commit
        of the registry that decides asks, and each waited for NATS, answers held meanwhile."""
        if self.held and self._clock() - self.renewed < FRESH:
            return
        await self.call(self._renewed_now)

    async def _renewed_now(self, lead: Lead) -> None:
        sent = self._clock()
        await lead.check(afresh=sent - self.renewed > GOES_ON_WITHIN)
        self.renewed = sent

    async def stop(self) -> None:
        """Stop keeping the lease (it runs out), and the thread."""
        if self._thread.is_alive():
            with contextlib.suppress(*ERRORS):
                await self._in_thread(self._close())
            self._loop.call_soon_threadsafe(self._loop.stop)
            await asyncio.to_thread(self._thread.join, 5)

    async def _in_thread(self, work: Coroutine[Any, Any, T]) -> T:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self._loop))

    async def _open(self) -> None:
        self._nc, js = await connect(self._urls, lambda _: None)
        self._lead = Lead(await bucket(js, LEAD_BUCKET), js, self.me, self.reach)
        await self._tick()
        self._task = asyncio.get_running_loop().create_task(self._keep())

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(RENEW)
            await self._tick()

    async def _tick(self) -> None:
        """Renew the membership, and the lead if held; else look for the lead, and take it
        when it is free. NATS away, nothing changes: nobody else can take the lead meanwhile."""
        lead = self._lead
        assert lead is not None
        seen = self.leader
        try:
            await lead.keep_membership()
            if lead.held:
                sent = self._clock()
                if await lead.renew():
                    self.renewed = sent
            if not lead.held:
                seen = await lead.leader()
                # (a lead written with this registry's address is one it lost: take it
                # once it runs out, as any other)
                away = self._clock() - self.renewed > GOES_ON_WITHIN
                if seen in (None, self.reach) and await lead.take(afresh=away):
                    seen = self.reach
        except ERRORS:
            pass
        if (lead.held, seen, lead.term) != (self.held, self.leader, self.term):
            self.held, self.leader, self.term = lead.held, seen, lead.term
            self._changed()

    async def _close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._nc is not None:
            with contextlib.suppress(*ERRORS):
                await self._nc.close()
        # what the client left waiting (NATS away) ends here, not with the loop
        await end_tasks_left()
