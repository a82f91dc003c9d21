"""The command line's words and numbers, checked: the value, or UsageProblem with the one line
the user sees. Light to import (--help reads the registry's defaults here)."""

from __future__ import annotations

import ipaddress
import math
import os
import re
from pathlib import Path

#: The ports a user may choose: below 1024 needs root, above 65535 does not exist.
PORT_RANGE = (1024, 65535)
MIN_KEEPALIVE = 0.05
#: The largest --mailbox-limit and --new-names: beyond these a limit is no limit.
MAX_MAILBOX_LIMIT = 1_000_000
MAX_NEW_NAMES = 1_000_000_000
#: The shortest and longest --forget-names-after: a second (for tests), a century (never).
FORGET_AFTER_RANGE = (1.0, 100 * 365 * 24 * 3600.0)
TYPICAL_SESSION_RANGE = (10.0, 4 * 3600.0)

# The registry's defaults, copied from the modules named (tests/test_launcher_start.py).

#: registry.core.post_office.MAILBOX_MESSAGES: messages one mailbox keeps.
MAILBOX_MESSAGES = 1000
#: registry.core.flood.NEW_NAMES: new names one IP address may register per hour.
NEW_NAMES = 50
#: registry.core.dispatch.FORGET_AFTER: seconds a name may go unused before it is forgotten.
FORGET_AFTER = 180 * 24 * 3600.0
#: registry.core.dispatch.NEWCOMER_NAMES: names kept whose owner never came back.
NEWCOMER_NAMES = 1000
#: registry.core.desk.limits.TYPICAL_SESSION: seconds a help-desk session is taken to last.
TYPICAL_SESSION = 600.0


class UsageProblem(Exception):
    """A command-line mistake; its message is the one line the user sees."""


def check_port(text: str, what: str) -> int:
    return check_whole(text, what, *PORT_RANGE)


def check_whole(text: str, what: str, low: int, high: int) -> int:
    try:
        number = int(text)
    except ValueError:
        raise UsageProblem(f"{what} needs a whole number, not {text!r}") from None
    if not low <= number <= high:
        raise UsageProblem(
            f"{what} must be between {_grouped(low)} and {_grouped(high)}, not {_grouped(number)}"
        )
    return number


def _grouped(number: int) -> str:
    # a million is easier read as 1,000,000; a port is written as the number it is
    return f"{number:,}" if abs(number) >= 100_000 else str(number)


def check_seconds(text: str, what: str, least: float) -> float:
    try:
        seconds = float(text)
        if not math.isfinite(seconds):
            raise ValueError
    except ValueError:
        raise UsageProblem(f"{what} needs a number of seconds, not {text!r}") from None
    if seconds < least:
        raise UsageProblem(f"{what} must be at least {least:g} seconds, not {text}")
    return seconds


#: The units a length of time may be written in (`--typical-session`): seconds by default.
_LENGTH = re.compile(r"(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>s|sec|m|min|h|d|days?)?", re.IGNORECASE)
_UNIT_SECONDS = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
_UNIT_SECONDS |= {"d": 86400, "day": 86400, "days": 86400}


def check_length(text: str, what: str, low: float, high: float) -> float:
    """`text` as seconds (`600`, `600s`, `10m`, `10 min`, `1.5h`, `180d`), `low` to `high`."""
    match = _LENGTH.fullmatch(text.strip())
    if match is None:
        raise UsageProblem(f"{what} needs a length of time like 10m or 600s, not {text!r}")
    unit = (match.group("unit") or "").lower()
    seconds = float(match.group("number")) * _UNIT_SECONDS[unit]
    if not low <= seconds <= high:
        bounds = f"from {length_text(low)} to {length_text(high)}"
        raise UsageProblem(f"{what} must be {bounds}, not {length_text(seconds)}")
    return seconds


def length_text(seconds: float) -> str:
    """A length of time as one would type it: 10s, 10m, 4h, 180d."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def check_ip(text: str, what: str = "server-ip") -> str:
    if text == "localhost":
        return "127.0.0.1"
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise UsageProblem(
            f"{what} must be an IP address like 192.168.1.20, not {text!r}"
        ) from None


def check_name(text: str, *, peer: bool = False) -> str:
    # here: wire's package loads its codec; not for --help
    from wire.names import SERVER_NAME, SERVER_NAME_TAKEN, name_key, name_problem

    problem = name_problem(text)
    if problem:
        raise UsageProblem(f"bad name {text!r}: {problem}")
    if peer and name_key(text) == SERVER_NAME:
        raise UsageProblem(SERVER_NAME_TAKEN)
    return text


def check_data_dir(given: str | None, env_dir: str | None) -> Path | None:
    """The data directory --data-dir names, else $CHATAPP_DATA_DIR's (None: neither)."""
    if given is not None and not given.strip():
        # Path("") is the current directory: never what someone typing --data-dir "" meant
        raise UsageProblem("--data-dir needs a directory, not an empty name")
    if given is None and env_dir and not env_dir.strip():
        raise UsageProblem("CHATAPP_DATA_DIR needs a directory, not blank space")
    if given is None:
        return _expanded(env_dir, "CHATAPP_DATA_DIR") if env_dir else None
    return _expanded(given, "--data-dir")


def _expanded(text: str, what: str) -> Path:
    try:
        return Path(text).expanduser()
    except RuntimeError:  # `~ann/chat` with no user ann here: Python's error had a traceback
        raise UsageProblem(
            f"{what} names a home directory this machine does not know: {text!r}"
        ) from None


def check_downloads(text: str) -> str:
    """What to say at start of --downloads' folder: "", or a line for one made with the first
    file. UsageProblem for one that cannot take files (it would fail only once one arrives)."""
    if not text:
        return ""
    path = _expanded(text, "--downloads").absolute()
    there = next(p for p in (path, *path.parents) if p.exists())  # the root, at least
    if not there.is_dir():
        raise UsageProblem(f"--downloads {text}: {there} is not a folder")
    if not os.access(there, os.W_OK | os.X_OK):
        raise UsageProblem(f"--downloads {text}: you may not write in {there}")
    if there != path:
        return f"ChatApp: --downloads {text} does not exist yet; it is made for the first file"
    return ""


def check_crisis_notice(text: str) -> str:
    from wire.desk.text import crisis_notice_problem  # here, as for check_name

    problem = crisis_notice_problem(text)
    if problem:
        raise UsageProblem(f"--crisis-notice {problem}")
    return text


def check_join_code(text: str) -> str:
    from wire.keys import code_from_text  # here, as for check_name

    code = code_from_text(text)
    if code is None:
        raise UsageProblem(
            f"--registry-key needs the registry's join code, the 30 digits of the fingerprint "
            f"it prints at its start (dashes or spaces between them are fine), not {text!r}"
        )
    return code
