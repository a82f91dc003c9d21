"""A client started without the registry's address (`ChatApp -c NAME`, `-d`, `-o NAME`)
finds it on the network: one found is used and named, several are listed to choose from
on a terminal (in a script, listed with the command to give instead), none is said with
that command (docs/GUIDE.md, "Finding the registry"). The rules are peer/adapter/finding.py's;
this module looks (net/discovery.py), asks and prints, before the client's own start.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from launcher.checks import check_ip, check_port

if TYPE_CHECKING:
    from peer.adapter.finding import Service


class NoRegistry(Exception):
    """No registry is used (none found, none chosen, or several found by a script). `line`
    makes what to say from the command to give instead, which the launcher knows."""

    def __init__(self, line: Callable[[str], str]) -> None:
        super().__init__()
        self.line = line


def say(line: str) -> None:
    """A line of the client's, before its terminal starts (as clients print theirs)."""
    print(f">>> {line}", flush=True)


def registry_at(
    ip_text: str, port_text: str, bind: str, code: str | None
) -> tuple[tuple[str, int], str | None]:
    """The registry's address as given (`ip_text`, `port_text`, checked), or else ("")
    found on the network of `bind` (see `find_registry`), with the join code's digits it
    advertised: a hint for first contact, no trust. Raises UsageProblem or NoRegistry."""
    if ip_text or port_text:
        return (check_ip(ip_text), check_port(port_text, "server-port")), None
    service = find_registry(bind, code, sys.stdin.isatty())
    return service.at[0], service.code


def find_registry(bind: str, code: str | None, tty: bool) -> Service:
    """The registry (with the others of its service) to use, found on the network of
    `bind`: with a join code `code`, only one advertising it; `tty`, whether a person may
    choose among several. Says which was found. Raises NoRegistry."""
    from launcher.event_loop import run_guarded
    from net.discovery import DiscoveryError, look
    from peer.adapter.finding import found_line, none_line, services, several_line

    try:
        found = run_guarded(look(bind))
    except DiscoveryError as exc:
        reason = str(exc)
        raise NoRegistry(
            lambda instead: (
                f"[Cannot look for registries here ({reason}); give the address: {instead}]"
            )
        ) from None
    listed = services(found, code)
    if not listed:
        others = len(services(found))
        raise NoRegistry(lambda instead: none_line(instead, others, coded=code is not None))
    if len(listed) == 1:
        say(found_line(listed[0]))
        return listed[0]
    if not tty:
        raise NoRegistry(lambda instead: several_line(listed, instead))
    return _chosen(listed)


def _chosen(listed: list[Service]) -> Service:
    """The service a person picks from the numbered list. Raises NoRegistry."""
    from peer.adapter.finding import chosen, menu, menu_question

    for line in menu(listed):
        say(line)
    try:
        answer = input(menu_question(len(listed)))
    except EOFError:
        answer = ""
    service = chosen(listed, answer)
    if service is None:
        raise NoRegistry(lambda instead: f"[None chosen; to give an address: {instead}]")
    say(f"[Using the registry at {service.where}.]")
    return service
