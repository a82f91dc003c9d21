"""The registry console's commands (`COMMANDS`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from net.endpoint import Endpoint
from registry.core.dispatch import RegistryCore
from wire.words import counted

if TYPE_CHECKING:
    from registry.adapter.server import RegistryServer as Registry

#: The console's command that hides or shows the log lines (RegistryConsole).
LOG_COMMAND = ".log"


class Command(NamedTuple):
    """One console command: the `argument` it takes ("": none), its lines in `help`, and
    whether it only `reads`."""

    argument: str
    says: tuple[str, ...]
    run: Callable[[Registry, str], list[str]]
    reads: bool = False


def _stop(registry: Registry, _: str) -> list[str]:
    registry.stop()
    return []


def _release(registry: Registry, name: str) -> list[str]:
    registry.handle(lambda core, now: core.release_name(name, now))
    return []


#: Every command of the console, in the order `help` lists them.
COMMANDS: dict[str, Command] = {
    "who": Command(
        "", ("every name, status, address, waiting mail, room",), lambda r, _: _who(r.core), True
    ),
    "rooms": Command("", ("every room with its members",), lambda r, _: _rooms(r.core), True),
    "release": Command("<name>", ("forget a name so that anyone may take it",), _release),
    "operators": Command(
        "",
        ("the help-desk operators' keys authorised, by name",),
        lambda r, _: r.desk.operators(),
        True,
    ),
    "revoke": Command(
        "<name>",
        ("revoke operator <name>'s key: it must show the operator key again",),
        lambda r, name: [r.desk.revoke(name)],
    ),
    "desk": Command(
        "", ("the help desk's waiting room, in order",), lambda r, _: r.desk.waiting_room(), True
    ),
    "stats": Command(
        "",
        (
            "counters of rejected input, of refusals, and of",
            "registrations asked to wait (a join storm)",
        ),
        lambda r, _: _stats(r.core, r.endpoint),
    ),
    "quit": Command("", ("stop the registry (Ctrl-C works too)",), _stop),
    "exit": Command("", (), _stop),
    "help": Command("", (), lambda r, _: list(HELP)),
}


def help_lines(names: list[str]) -> list[str]:
    lines = []
    for name in names:
        command = COMMANDS[name]
        for n, line in enumerate(command.says):
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
        what = f"({command.says[0]})" if command.argument else "(it takes nothing more)"
        return [f"  usage: {name} {command.argument}".rstrip() + f"   {what}"]
    return command.run(registry, words[1] if command.argument else "")


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


#: Reasons shown for the datagrams that did not open, the commonest first.
REASONS_SHOWN = 4


def _stats(core: RegistryCore, endpoint: Endpoint) -> list[str]:
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
