"""Message ids, unique per sender (docs/PROTOCOL.md).

Left out of the compiled build (setup.py): a subclass of the standard library's
`functools.partial` cannot be one of mypyc's native classes, and its calls run in C anyway.
"""

from __future__ import annotations

import functools
import itertools


class IdMaker(functools.partial[str]):
    """Makes message ids `<session>-1`, `<session>-2`, ... (`IdMaker(session)()` makes
    the next): a random session in the adapters, so that a restart reuses none. The
    counter and format are the standard library's, called from C: no Python code runs."""

    __slots__ = ()

    def __new__(cls, session: str) -> IdMaker:
        return super().__new__(cls, next, map(f"{session}-{{}}".format, itertools.count(1)))
