"""Which registry a client uses, of those found on the network (net/discovery.py), and what
it says of them (docs/GUIDE.md, "Finding the registry"). Pure: what was found in, the
choice and its lines out; the launcher looks, asks and prints.

What is found is a hint: the registry's key is checked at first contact, where a key other
than the one advertised is an alarm (peer/core/first_contact.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from msgspec import Struct

from net.discovery import LOOK, Found
from wire.keys import code_from_text


class Service(Struct, frozen=True):
    """The registries found that advertise one key (`code`, its join code's 30 digits):
    one service (docs/SCALING.md), used at the first of `at` (sorted)."""

    code: str
    at: tuple[tuple[str, int], ...]

    @property
    def where(self) -> str:
        """ "ip:port" of the registry used."""
        return f"{self.at[0][0]}:{self.at[0][1]}"

    @property
    def fingerprint(self) -> str:
        """The advertised key's fingerprint, as people compare it (six groups of five)."""
        return " ".join(self.code[i : i + 5] for i in range(0, len(self.code), 5))


def services(found: Sequence[Found], code: str | None = None) -> list[Service]:
    """The services of `found`, by address: records advertising the same key are one
    service; a record without a join code is no registry's; with `code` (--registry-key),
    only that key's service is kept."""
    by_code: dict[str, set[tuple[str, int]]] = {}
    for record in found:
        digits = code_from_text(record.code)
        if digits is not None and (code is None or digits == code):
            by_code.setdefault(digits, set()).add((record.ip, record.port))
    listed = [Service(digits, tuple(sorted(at))) for digits, at in by_code.items()]
    return sorted(listed, key=lambda service: service.at)


def found_line(service: Service) -> str:
    """What is said of the one registry found, which is used."""
    others = len(service.at) - 1
    of_service = f" (one of {others + 1} of its service)" if others else ""
    return f"[Found the registry at {service.where}{of_service}.]"


def none_line(instead: str, others: int = 0, coded: bool = False) -> str:
    """What is said when no registry was found: `instead`, the command to give with the
    address; `others`, the registries found that do not advertise the join code given
    (`coded`: one was)."""
    if coded and others:
        what = f"No registry on this network advertises that join code ({others} others answered)"
    else:
        what = f"No registry answered on this network within {LOOK:g} seconds"
    return f"[{what}; give its address instead: {instead}]"


def several_line(found: Sequence[Service], instead: str) -> str:
    """What a script is told when several registries were found: which, and to choose."""
    listed = ", ".join(f"{service.where} (key {service.fingerprint})" for service in found)
    return f"[Found {len(found)} registries: {listed}. Give the address of one: {instead}]"


def menu(found: Sequence[Service]) -> list[str]:
    """The numbered list a person on a terminal chooses from."""
    lines = [f"[Found {len(found)} registries on this network:]"]
    for number, service in enumerate(found, 1):
        more = f" (and {len(service.at) - 1} more of its service)" if len(service.at) > 1 else ""
        lines.append(f"  {number}) {service.where}{more}  key fingerprint {service.fingerprint}")
    return lines


def menu_question(count: int) -> str:
    return f"Which one? [1-{count}, or Enter for none] "


def chosen(found: Sequence[Service], answer: str) -> Service | None:
    """The service a person's `answer` to the menu's question names, or None."""
    text = answer.strip().rstrip(")").strip()
    if not text.isdigit() or not 1 <= int(text) <= len(found):
        return None
    return found[int(text) - 1]
