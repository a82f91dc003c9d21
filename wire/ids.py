"""Message ids, unique per sender. Left out of the compiled build: mypyc cannot compile a
subclass of `functools.partial`, whose calls run in C anyway."""

from __future__ import annotations

import functools
from itertools import count, repeat
from operator import concat


class IdMaker(functools.partial[str]):
    """Makes message ids `<session>-1`, `<session>-2`, ... (`IdMaker(session)()` makes
    the next): a random session (hex) in the adapters, so that a restart reuses none. The
    counter, `repr` and `concat` are the standard library's, called from C: no Python runs."""

    __slots__ = ()

    def __new__(cls, session: str) -> IdMaker:
        return super().__new__(cls, next, map(concat, repeat(f"{session}-"), map(repr, count(1))))
