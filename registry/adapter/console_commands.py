"""The registry console's commands (`COMMANDS`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from wire.messages import NO_REASON
from wire.words import counted

if TYPE_CHECKING:
    from registry.adapter.server import RegistryServer as Registry

#: The console's command that hides or shows the log lines (RegistryConsole).
LOG_COMMAND = ".log"
#: Reasons shown for the datagrams that did not open, the commonest first.
REASONS_SHOWN = 4


class ConsoleCommand(NamedTuple):
    """One console command: `run` answers it, `says` is its lines in `help`, the `argument` it
    takes ("": none), and whether it only `reads`."""

    run: Callable[[Registry, str], list[str]]
    says: str = ""
    argument: str = ""
    reads: bool = False


def _stop(registry: Registry, _: str) -> list[str]:
    registry.stop()
    return []


def _release(registry: Registry, name: str) -> list[str]:
    registry.handle(lambda core, now: core.release_name(name, now))
    return []


def _who(registry: Registry, _: str) -> list[str]:
    lines, mail = [], registry.core.mail
    for r in sorted(registry.core.table.records.values(), key=lambda r: r.name.casefold()):
        status = "online" if r.online else "offline"
        waiting = len(mail.get(r.name.casefold(), []))
        room = f"  in {r.room}" if r.room else ""
        away = "" if not r.away else "  (away)" if r.away == NO_REASON else f"  (away: {r.away})"
        row = f"  {r.name:<20} {status:<8} {r.ip}:{r.port}  {waiting} waiting{room}{away}"
        lines.append(row)
    return lines or ["  no names registered yet"]


def _rooms(registry: Registry, _: str) -> list[str]:
    lines = []
    for each in sorted(registry.core.rooms.rooms.values(), key=lambda r: r.name.casefold()):
        names = ", ".join(m.name for m in each.members)
        lines.append(f"  {each.name:<20} {len(each.members)} in it: {names}")
    return lines or ["  no rooms"]


def _stats(registry: Registry, _: str) -> list[str]:
    core, endpoint = registry.core, registry.endpoint
    unopened = endpoint.channel.dropped
    lines = [
        f"  bad datagrams {endpoint.bad_datagrams}, bad frames "
        f"{endpoint.bad_frames}, frames too slow {endpoint.slow_frames}, "
        f"flood drops {core.flood.dropped}, "
        f"table version {core.table.version}",
        f"  datagrams that did not open {unopened.total()}, "
        f"connections over the memory budget {endpoint.buffers.dropped}, "
        f"registrations asked to wait {core.registration.busy_answers}",
        f"  refusals and failed checks {endpoint.rejections.counts.total()}, of "
        f"{counted(len(endpoint.rejections.counts), 'kind')} (each logged once per "
        f"{endpoint.rejections.interval:g} s with a count)",
    ]
    if unopened:  # which: a handshake flood shows as cookies answered under load
        why = (f"{reason} {count}" for reason, count in unopened.most_common(REASONS_SHOWN))
        lines.append(f"  not opened: {', '.join(why)}")
    return lines


#: Every command of the console, in the order `help` lists them.
COMMANDS: dict[str, ConsoleCommand] = {
    "who": ConsoleCommand(_who, "every name, status, address, waiting mail, room", reads=True),
    "rooms": ConsoleCommand(_rooms, "every room with its members", reads=True),
    "release": ConsoleCommand(_release, "forget a name so that anyone may take it", "<name>"),
    "operators": ConsoleCommand(
        lambda r, _: r.desk.operators(),
        "the help-desk operators' keys authorised, by name",
        reads=True,
    ),
    "revoke": ConsoleCommand(
        lambda r, name: [r.desk.revoke(name)],
        "revoke operator <name>'s key: it must show the operator key again",
        "<name>",
    ),
    "desk": ConsoleCommand(
        lambda r, _: r.desk.waiting_room(), "the help desk's waiting room, in order", reads=True
    ),
    "stats": ConsoleCommand(
        _stats,
        "counters of rejected input, of refusals, and of\n"
        "registrations asked to wait (a join storm)",
    ),
    "quit": ConsoleCommand(_stop, "stop the registry (Ctrl-C works too)"),
    "exit": ConsoleCommand(_stop),
    "help": ConsoleCommand(lambda r, _: list(HELP)),
}


def help_lines(names: list[str]) -> list[str]:
    lines = []
    for name in names:
        command = COMMANDS[name]
        for n, line in enumerate(command.says.splitlines()):
            lines.append(f"  {f'{name} {command.argument}' if n == 0 else '':<16} {line}")
    return lines


HELP: tuple[str, ...] = (
    *help_lines(list(COMMANDS)),
    "  .log off|on      hide or show the log lines on this console",
    "  .help            the help-desk operator commands (.room, .end, ...)",
    "  While the console serves someone at the help desk, what you type goes",
    "  to them; /who, /rooms and the other commands with a / (/revoke ann) still",
    "  reach the registry (a / works at any time).",
)


def is_registry_command(line: str) -> bool:
    words = line.split(maxsplit=1)
    return bool(words) and words[0].removeprefix("/").lower() in COMMANDS


def run_command(words: list[str], registry: Registry) -> list[str]:
    name = words[0].lower()
    if (command := COMMANDS.get(name)) is None:
        return [f"  unknown command {words[0]!r}; type help"]
    if len(words) != (2 if command.argument else 1):
        what = f"({command.says})" if command.argument else "(it takes nothing more)"
        return [f"  usage: {name} {command.argument}".rstrip() + f"   {what}"]
    return command.run(registry, words[1] if command.argument else "")
