"""Names the registry forgets: those unused for long, and newcomers past the bound. The
caller releases what `sweep` names."""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from registry.core.actions import Emit, SaveTable
from registry.core.services import Services
from registry.core.table import Record
from wire.words import counted

DAY = 24 * 3600.0
#: Seconds a name may go unused before it is forgotten (--forget-names-after).
FORGET_AFTER = 180 * DAY
#: Names kept offline whose owner never came back: past this many, some are released, from
#: the address that registered the most of them first (--newcomer-names).
NEWCOMER_NAMES = 1000
#: A name's owner came back when it was online this long after its name was made.
COME_BACK = DAY
#: How stale the stamp of an online name may grow before it is stamped again.
USED_EVERY = 3600.0


def came_back(record: Record) -> bool:
    """Whether `record`'s owner came back a day after making it (not stamped: it did)."""
    return not record.made or record.used - record.made >= COME_BACK


class Forgetting:
    """The names of `table` to forget: unused for long, and newcomers over the bound."""

    def __init__(self, services: Services, forget_after: float, newcomer_names: int) -> None:
        if forget_after <= 0 or newcomer_names < 1:
            raise ValueError("forget_after must be positive and newcomer_names at least 1")
        self._table = services.table
        self._wall = services.wall
        self.forget_after = forget_after
        self.newcomer_names = newcomer_names

    def sweep(self, now: float, emit: Emit) -> list[tuple[Record, str]]:
        """Stamp the online names as used; the names to release, each with why."""
        wall = self._wall(now)
        stamped = []
        for key, record in self._table.records.items():
            if (record.online and wall - record.used >= USED_EVERY) or not record.used:
                record.used = wall
                stamped.append(key)
        if stamped:
            emit(SaveTable(tuple(stamped)))
        after = self.forget_after
        why = f"unused for {counted(int(after // DAY), 'day') if after >= DAY else f'{after:g} s'}"
        unused = [
            r for r in self._table.records.values() if not r.online and wall - r.used >= after
        ]
        gone = {id(record) for record in unused}
        return [(record, why) for record in unused] + list(self._newcomers_over(gone))

    def _newcomers_over(self, gone: set[int]) -> Iterator[tuple[Record, str]]:
        """The offline newcomers over the bound (besides `gone`): of the address holding
        the most, its oldest first."""
        newcomers = [
            r
            for r in self._table.records.values()
            if not r.online and id(r) not in gone and not came_back(r)
        ]
        over = len(newcomers) - self.newcomer_names
        if over <= 0:
            return
        by_ip: dict[str, list[Record]] = {}
        for record in newcomers:
            by_ip.setdefault(record.ip, []).append(record)
        for records in by_ip.values():
            records.sort(key=lambda r: r.made)  # (of one second, the table's order)
            records.reverse()  # the oldest last, to pop
        # the address holding the most left first (of those tied, the least in order)
        heap = [(-len(records), ip) for ip, records in by_ip.items()]
        heapq.heapify(heap)
        why = (
            f"one of more than {counted(self.newcomer_names, 'name')} whose owner never "
            "came back, from the address that registered the most"
        )
        for _ in range(over):
            _, ip = heapq.heappop(heap)
            records = by_ip[ip]
            yield records.pop(), why
            if records:
                heapq.heappush(heap, (-len(records), ip))
