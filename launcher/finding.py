"""A client started without the registry's address finds it on the network (docs/GUIDE.md,
"Finding the registry"), listing only registries that proved the key they advertised."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from launcher.checks import check_ip, check_port

if TYPE_CHECKING:
    from net.discovery import Found


class NoRegistry(Exception):
    """No registry is used. `line` makes what to say from the command to give instead."""

    def __init__(self, line: Callable[[str], str]) -> None:
        super().__init__()
        self.line = line


@dataclass(frozen=True)
class FoundService:
    """The registries found that advertise one join code: one service, used at the first."""

    code: str
    at: tuple[tuple[str, int], ...]

    @property
    def where(self) -> str:
        return f"{self.at[0][0]}:{self.at[0][1]}"

    @property
    def fingerprint(self) -> str:
        return " ".join(self.code[i : i + 5] for i in range(0, len(self.code), 5))


def say(line: str) -> None:
    """A line of the client's, before its terminal starts."""
    print(f">>> {line}", flush=True)


def registry_at(
    ip_text: str, port_text: str, bind: str, code: str | None
) -> tuple[tuple[str, int], str | None]:
    """The registry's address as given (checked), or else found on the network with the join
    code it advertised. Raises UsageProblem or NoRegistry."""
    if ip_text or port_text:
        return (check_ip(ip_text), check_port(port_text, "server-port")), None
    service = find_registry(bind, code, sys.stdin.isatty())
    return service.at[0], service.code


def find_registry(bind: str, code: str | None, tty: bool) -> FoundService:
    """The service to use, found and proven (with `tty`, chosen among several). Raises
    NoRegistry."""
    from launcher.event_loop import run_guarded
    from net.discovery import DiscoveryError, look_checked, to_probe

    try:
        heard, proven = run_guarded(look_checked(bind, code))
    except DiscoveryError as exc:
        reason = str(exc)
        raise NoRegistry(
            lambda instead: (
                f"[Cannot look for registries here ({reason}); give the address: {instead}]"
            )
        ) from None
    listed = services(proven)
    if not listed:
        others, checked = len(services(heard)), len(to_probe(heard, code))
        raise NoRegistry(lambda instead: none_line(instead, others, code is not None, checked))
    if len(listed) == 1:
        say(found_line(listed[0]))
        return listed[0]
    if not tty:
        raise NoRegistry(lambda instead: several_line(listed, instead))
    for line in menu(listed):
        say(line)
    try:
        answer = input(f"Which one? [1-{len(listed)}, or Enter for none] ")
    except EOFError:
        answer = ""
    service = chosen(listed, answer)
    if service is None:
        raise NoRegistry(lambda instead: f"[None chosen; to give an address: {instead}]")
    say(f"[Using the registry at {service.where}.]")
    return service


def services(found: Sequence[Found]) -> list[FoundService]:
    """The services of `found` (by join code), by address."""
    from wire.keys import code_from_text

    by_code: dict[str, set[tuple[str, int]]] = {}
    for record in found:
        digits = code_from_text(record.code)
        if digits is not None:
            by_code.setdefault(digits, set()).add((record.ip, record.port))
    listed = [FoundService(digits, tuple(sorted(at))) for digits, at in by_code.items()]
    return sorted(listed, key=lambda service: service.at)


def found_line(service: FoundService) -> str:
    of_service = f" (one of {len(service.at)} of its service)" if len(service.at) > 1 else ""
    return f"[Found the registry at {service.where}{of_service}.]"


def none_line(instead: str, others: int = 0, coded: bool = False, checked: int = 0) -> str:
    """What is said when no registry was found: `others` advertise another join code than
    the one given; `checked` addresses failed to prove theirs."""
    from net.discovery import LOOK

    if checked:
        what = f"No registry on this network proved the key it advertised ({checked} checked)"
    elif coded and others:
        what = f"No registry on this network advertises that join code ({others} others answered)"
    else:
        what = f"No registry answered on this network within {LOOK:g} seconds"
    return f"[{what}; give its address instead: {instead}]"


def several_line(found: Sequence[FoundService], instead: str) -> str:
    listed = ", ".join(f"{service.where} (key {service.fingerprint})" for service in found)
    return f"[Found {len(found)} registries: {listed}. Give the address of one: {instead}]"


def menu(found: Sequence[FoundService]) -> list[str]:
    lines = [f"[Found {len(found)} registries on this network:]"]
    for number, service in enumerate(found, 1):
        more = f" (and {len(service.at) - 1} more of its service)" if len(service.at) > 1 else ""
        lines.append(f"  {number}) {service.where}{more}  key fingerprint {service.fingerprint}")
    return lines


def chosen(found: Sequence[FoundService], answer: str) -> FoundService | None:
    text = answer.strip().rstrip(")").strip()
    return found[int(text) - 1] if text.isdigit() and 1 <= int(text) <= len(found) else None
