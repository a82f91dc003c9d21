"""The answers of the registry console's own commands (see `RegistryServer.console_line`):
`who`, `rooms`, `operators`, `desk`, `stats`, `help`, the usage of a command typed wrong,
and `.log`, which hides or shows the log lines. `release`, `revoke` and `quit` act on the
running registry: its adapter carries them out."""

from __future__ import annotations

from typing import Protocol

from net.endpoint import Endpoint
from registry.core.dispatch import RegistryCore
from wire.words import counted

#: The console's command that hides or shows the log lines (see `LogShown`).
LOG_COMMAND = ".log"

#: What `help` answers.
HELP = (
    "  who              every name, status, address, waiting mail, room",
    "  rooms            every room with its members",
    "  release <name>   forget a name so that anyone may take it",
    "  operators        the help-desk operators' keys authorised, by name",
    "  revoke <name>    revoke operator <name>'s key (it shows the operator key again)",
    "  desk             the help desk's waiting room, in order",
    "  stats            counters of rejected input, of refusals, and of",
    "                   registrations asked to wait (a join storm)",
    "  quit             stop the registry (Ctrl-C works too)",
    "  .log off|on      hide or show the log lines on this console",
    "  .help            the help-desk operator commands (.room, .end, ...)",
    "  While the console serves someone at the help desk, what you type goes",
    "  to them; /who, /rooms and the other commands with a / (/revoke ann) still",
    "  reach the registry (a / works at any time).",
)


class DeskViews(Protocol):
    """What the console reads of the help desk (registry/adapter/desk/service.py, closed.py)."""

    def operators(self) -> list[str]: ...
    def waiting_room(self) -> list[str]: ...


#: The console's commands that only read, which a registry that relays for a service
#: asks of the one that decides (registry/adapter/cluster/console.py).
READING = frozenset({"who", "rooms", "operators", "desk"})


def answer(words: list[str], core: RegistryCore, endpoint: Endpoint, desk: DeskViews) -> list[str]:
    """The lines that answer the console's command `words` (a command that only answers;
    see the module's docstring), or that say it is unknown."""
    match words[0].lower():
        case "who" | "rooms" | "stats" | "help" | "operators" | "desk" as word if len(words) > 1:
            # a word more is a slip (`who alice`?), not to be passed over in silence
            return [f"  usage: {word}   (it takes nothing more)"]
        case "who":
            return _who(core)
        case "rooms":
            return _rooms(core)
        case "operators":
            return desk.operators()
        case "desk":
            return desk.waiting_room()
        case "release":
            return ["  usage: release <name>   (forget one name so that anyone may take it)"]
        case "revoke":
            return ["  usage: revoke <name>   (revoke one help-desk operator's key)"]
        case "stats":
            return _stats(core, endpoint)
        case "help":
            return list(HELP)
        case _:
            return [f"  unknown command {words[0]!r}; type help"]


def _who(core: RegistryCore) -> list[str]:
    lines = []
    for r in sorted(core.table.records.values(), key=lambda r: r.name.casefold()):
        status = "online" if r.online else "offline"
        waiting = len(core.mail.get(r.name.casefold(), []))
        room = f"  in {r.room}" if r.room else ""
        lines.append(f"  {r.name:<20} {status:<8} {r.ip}:{r.port}  {waiting} waiting{room}")
    return lines or ["  no names registered yet"]


def _rooms(core: RegistryCore) -> list[str]:
    lines = []
    for each in sorted(core.rooms.rooms.values(), key=lambda r: r.name.casefold()):
        names = ", ".join(m.name for m in each.members)
        lines.append(f"  {each.name:<20} {len(each.members)} in it: {names}")
    return lines or ["  no rooms"]


def _stats(core: RegistryCore, endpoint: Endpoint) -> list[str]:
    return [
        f"  bad datagrams {endpoint.bad_datagrams}, bad frames "
        f"{endpoint.bad_frames}, frames too slow {endpoint.slow_frames}, "
        f"flood drops {core.flood.dropped}, "
        f"table version {core.table.version}",
        f"  datagrams that did not open {sum(endpoint.channel.dropped.values())}, "
        f"connections over the memory budget {endpoint.buffers.dropped}, "
        f"registrations asked to wait {core.busy_answers}",
        f"  refusals and failed checks {endpoint.drops.total()}, of "
        f"{counted(len(endpoint.drops.counts), 'kind')} (each logged once per "
        f"{endpoint.drops.interval:g} s with a count)",
    ]


class LogShown:
    """Whether the log lines are shown on the console's screen: `.log off` hides them
    (error lines still show), `.log on` shows them again and says how many were hidden. A
    log that goes to a file or a pipe (not `on_screen`) is the only copy of it: it is
    never hidden."""

    def __init__(self, *, on_screen: bool) -> None:
        self.on_screen = on_screen
        # while `.log off` hides the log: how many lines it hid (None: the log is shown)
        self._hidden: int | None = None

    def hides(self) -> bool:
        """Whether a log line that tells of no error is hidden now; it is counted if so."""
        if self._hidden is None:
            return False
        self._hidden += 1
        return True

    def command(self, words: list[str]) -> str:
        """The answer to `.log` followed by `words`, which it carries out."""
        match [w.lower() for w in words]:
            case ["off"] if not self.on_screen:
                return "  the log goes to a file or a pipe here, not to a screen: it is not hidden"
            case ["off"]:
                if self._hidden is None:
                    self._hidden = 0
                return (
                    "  log lines are hidden from this console now (errors still show); "
                    ".log on shows them"
                )
            case ["on"]:
                hidden, self._hidden = self._hidden, None
                if hidden is None:
                    return "  log lines are shown on this console already"
                return f"  log lines are shown again; {counted(hidden, 'line')} hidden meanwhile"
            case _:
                return (
                    f"  usage: {LOG_COMMAND} off | {LOG_COMMAND} on   "
                    "(hide or show the log lines here)"
                )

    def hint(self) -> str:
        """The start's line on the console's own commands (`.log off` only where it hides)."""
        if not self.on_screen:
            return "  help lists every command of this console."
        return "  .log off hides the log lines here (.log on shows them); help lists every command."
