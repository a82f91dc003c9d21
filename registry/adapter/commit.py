"""Group commit: what one pass of the event loop stores is made durable by one commit after
it. The registry's own word waits for the commits begun before it; a peer's line passed on
(PASSED_ON) only follows what waits for the same peer (docs/PROTOCOL.md)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from registry.adapter.store import StorageError, Store
from registry.core.actions import PASSED_ON, Addr, Send, SendMany
from registry.core.table import Table

FAILING_LOG_EVERY = 30.0
#: Seconds a commit may keep the event loop busy before the next one waits as long again.
SLOW_COMMIT = 0.005


class GroupCommit:
    """The commits of `store`: `release` sends what waited after each (nothing on failure)."""

    def __init__(
        self,
        store: Store,
        table: Callable[[], Table],
        release: Callable[[list[Send | SendMany]], None],
        log: Callable[[str], None],
    ) -> None:
        self.store = store
        self._table = table
        self._release = release
        self._log = log
        # sends waiting for the next commit (None: none opened), and the one being made
        self._held: list[Send | SendMany] | None = None
        self._making: list[Send | SendMany] = []
        # called after the next commit, made or not (the help desk's answers: DeskService)
        self._then: list[Callable[[], None]] = []
        # the addresses of those sends, what else for them waits behind (None: not known)
        self._behind: set[Addr] | None = set()
        self._running = False  # a commit is being made, or its task waits to make it
        self._tasks: set[asyncio.Task[None]] = set()
        self._commit_after = 0.0  # the next commit is no sooner (see `open`)
        # while data cannot be stored: the error, when last logged, answers withheld since
        self._failing: tuple[str, float, int] | None = None

    @property
    def is_open(self) -> bool:
        return self._held is not None or self._running

    def hold(self, send: Send | SendMany) -> Send | SendMany | None:
        """What of `send` leaves now; the rest waits for the commit (opened if need be)."""
        if type(send.message) in PASSED_ON:
            if self._behind is None:  # (found once a commit, and only for these)
                self._behind = {a for s in (*self._making, *(self._held or ())) for a in _addrs(s)}
            if not self._behind:
                return send  # the usual: nothing waits for any peer
            now, later = _split(send, self._behind)
        elif self._held is not None or self._running or self.store.dirty:
            now, later = None, send
            self.open()
        else:
            return send
        if later is not None:  # with the newest sends that wait
            (self._making if self._held is None else self._held).append(later)
            if self._behind is not None:
                self._behind.update(_addrs(later))
        return now

    def after(self, then: Callable[[], None]) -> None:
        """Call `then` once what is stored now was committed (or failed to be: logged); at
        once when nothing waits."""
        if not self.is_open and not self.store.dirty:
            then()
            return
        self.open()
        self._then.append(then)

    def open(self) -> None:
        """Begin a commit after this pass (after a SLOW_COMMIT, once as long again passed)."""
        if self._held is None:
            self._held = []
            if not self._running:
                self._schedule()

    def _schedule(self) -> None:
        self._running = True
        task = asyncio.get_running_loop().create_task(self._after(self._commit_after))
        self._tasks.add(task)  # (a task only the loop holds may be collected mid-way)
        task.add_done_callback(self._tasks.discard)

    async def _after(self, at: float) -> None:
        wait = at - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        await self.commit()

    async def made(self) -> None:
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def settle(self) -> None:
        """Wait for the commits (a registry closing), and try once more for what waits."""
        await self.made()
        if self._held is not None or self.store.dirty:
            await self.commit()

    async def commit(self) -> None:
        self._running = True
        held = self._making = self._held or []
        then, self._held, self._then = self._then, None, []
        started = time.monotonic()
        try:
            busy = await self.store.commit(self._table())
        except (OSError, StorageError) as exc:
            self._failed(str(exc), len(held))
            held = []
            busy = time.monotonic() - started  # tried again no more often than it takes to fail
        else:
            if self._failing is not None:
                self._log("storing data works again: what waited is stored; answering again")
                self._failing = None
        finally:
            self._running = False
            self._making, self._behind = [], None
        self._commit_after = time.monotonic() + busy if busy >= SLOW_COMMIT else 0.0
        self._release(held)
        if self.is_open:  # opened meanwhile (a property: what the await changed is read)
            self._schedule()
        for call in then:  # (last: one that fails cannot hold the commits back)
            call()

    def _failed(self, error: str, withheld: int) -> None:
        """Log the error at once, then every FAILING_LOG_EVERY."""
        now = time.monotonic()
        last, logged, before = self._failing or (None, now, 0)
        if error == last:
            withheld += before
            if now - logged < FAILING_LOG_EVERY:
                self._failing = (error, logged, withheld)
                return
        self._log(
            f"ERROR storing data: {error}; {withheld} answers withheld. Nothing is "
            "answered until it can be stored; senders keep their messages and retry."
        )
        self._failing = (error, now, 0)


def _addrs(send: Send | SendMany) -> tuple[Addr, ...]:
    return (send.addr,) if isinstance(send, Send) else send.addrs


def _split(send: Send | SendMany, behind: set[Addr]) -> tuple[Send | SendMany | None, ...]:
    """`send` to the addresses not in `behind`, and to those (None: nothing)."""
    if isinstance(send, Send):
        return (None, send) if send.addr in behind else (send, None)
    if behind.isdisjoint(send.addrs):
        return send, None
    parts: tuple[list[tuple[Addr, bytes]], ...] = ([], [])
    for addr, key in zip(send.addrs, send.keys, strict=True):
        parts[addr in behind].append((addr, key))
    pairs = [tuple(zip(*part, strict=True)) for part in parts]  # (addresses, keys), or ()
    return tuple(SendMany(p[0], send.message, p[1]) if p else None for p in pairs)
