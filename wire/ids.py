"""Message ids, unique per sender (docs/PROTOCOL.md).

Left out of the compiled build (setup.py): a subclass of the standard library's
`functools.partial` cannot be one of mypyc's native classes, and its calls run in C anyway.
"""

from __future__ import annotations

import functools
import itertools


class IdMaker(functools.partial[str]):
    """Makes message ids unique per sender: a per-process session prefix and a counter,
    `<session>-1`, `<session>-2`, ... (`IdMaker(session)()` makes the next).

    The session prefix comes from the caller (random in the adapters, fixed in tests), so
    that a restarted process never reuses the ids of its previous life. The counter and
    the format are the standard library's, called from C: an id is made for every message
    and every ack, and making one runs no Python code.
    """

    __slots__ = ()

    def __new__(cls, session: str) -> IdMaker:
        return super().__new__(cls, next, map(f"{session}-{{}}".format, itertools.count(1)))
