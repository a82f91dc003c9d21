"""The rules for names of peers and rooms (docs/GUIDE.md)."""

import functools
import re
from collections.abc import Callable
from typing import Final

from wire.limits import MAX_NAME

_NAME: Final = re.compile(rf"[A-Za-z0-9_\-][A-Za-z0-9_.\-]{{0,{MAX_NAME - 1}}}")


#: Whether `name` is a valid name (`name_problem` says why not); remembered: asked per message.
valid_name: Callable[[str], bool] = functools.lru_cache(1024)(lambda n: bool(_NAME.fullmatch(n)))


def name_problem(name: str) -> str | None:
    """Return why `name` is not a valid name, or None when it is valid.

    Valid: 1 to 32 ASCII letters, digits, '_', '-', '.', not starting with '.'.
    """
    if _NAME.fullmatch(name):  # the pattern is the whole rule: a valid name takes one match
        return None
    if not name:
        return "a name cannot be empty"
    if len(name) > MAX_NAME:
        return f"a name has at most {MAX_NAME} characters"
    if name.startswith("."):
        return "a name cannot start with '.'"
    return "a name may use only the letters a-z and A-Z, digits, '_', '-' and '.'"


#: The key under which a name is unique: names are unique ignoring case. The string method
#: itself, not a function that calls it: it runs for every message sent and shown.
name_key: Final[Callable[[str], str]] = str.casefold


#: The name no peer may take: `server:who` and `server:exit` are commands, and the lines
#: about the registry call it Server.
SERVER_NAME = "server"
SERVER_NAME_TAKEN = (
    "The name server is the registry's: server:who and server:exit are commands. "
    "Choose another name."
)
