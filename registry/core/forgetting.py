"""Names the registry forgets: those unused for long, and newcomers past the bound. The
caller releases what `sweep` names."""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from registry.core.actions import Emit, SaveTable
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
    """Whether `record`'s owner came back a day after making it (not stamped: yes)."""
    return not record.made or record.used - record.made >= COME_BACK


def checked(forget_after: float, newcomer_names: int) -> tuple[float, int]:
    """The bounds of forgetting, as given; ValueError when out of bounds."""
    if forget_after <= 0 or newcomer_names < 1:
        raise ValueError("forget_after must be positive and newcomer_names at least 1")
    return forget_after, newcomer_names


def sweep(
    records: dict[str, Record], wall: float, bounds: tuple[float, int], emit: Emit
) -> list[tuple[Record, str]]:
    """Stamp the online names of `records` as used at time of day `wall`; the names to
    release, each with why, by `bounds` (`checked`)."""
    stamped = []
    for key, record in records.items():
        if (record.online and wall - record.used >= USED_EVERY) or not record.used:
            record.used = wall
            stamped.append(key)
    if stamped:
        emit(SaveTable(tuple(stamped)))
    after, newcomer_names = bounds
    why = f"unused for {counted(int(after // DAY), 'day') if after >= DAY else f'{after:g} s'}"
    offline = [record for record in records.values() if not record.online]
    unused = [record for record in offline if wall - record.used >= after]
    newcomers = [one for one in offline if wall - one.used < after and not came_back(one)]
    return [(record, why) for record in unused] + list(_newcomers_over(newcomers, newcomer_names))


def _newcomers_over(newcomers: list[Record], bound: int) -> Iterator[tuple[Record, str]]:
    """Those of `newcomers` over `bound`: of the address holding the most, oldest first."""
    over = len(newcomers) - bound
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
        f"one of more than {counted(bound, 'name')} whose owner never "
        "came back, from the address that registered the most"
    )
    for _ in range(over):
        _, ip = heapq.heappop(heap)
        records = by_ip[ip]
        yield records.pop(), why
        if records:
            heapq.heappush(heap, (-len(records), ip))
