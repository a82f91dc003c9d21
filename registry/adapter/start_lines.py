"""What a registry says as it starts: where it listens, where it keeps its data, how peers
reach it, and its key (with the join code that pins it)."""

from __future__ import annotations

from net.lan_addresses import lan_addresses, reach_line
from registry.core.dispatch import RegistryCore
from wire.keys import fingerprint, join_code
from wire.words import counted

Addr = tuple[str, int]


def listening_lines(addr: Addr, kept_in: str, core: RegistryCore) -> list[str]:
    """Where the registry listens and reached at, and what it found in `kept_in`."""
    boxes = sum(len(box) for box in core.mail.values())
    rooms = len(core.rooms.rooms)
    lines = [
        f"ChatApp registry listening on {addr[0]}:{addr[1]} (UDP and TCP); "
        f"data in {kept_in}; {counted(len(core.table.records), 'known name')}, "
        f"{counted(boxes, 'stored message')}" + (f", {counted(rooms, 'room')}" if rooms else "")
    ]
    if addr[0] in ("0.0.0.0", "::"):
        lines.append(reach_line(lan_addresses(), addr[1]))
    return lines


def key_lines(public: bytes, made: bool, *, service: bool = False) -> list[str]:
    """The registry's key (or its service's), and the join code that pins it."""
    made_text = " (made just now)" if made else ""
    if service:
        whose = f"This service's key{made_text}"
        meets = "every registry of the service answers with it"
    else:
        whose = f"This registry's key{made_text}"
        meets = "peers are shown it when they first meet it"
    return [
        f"{whose} has the fingerprint {fingerprint(public)}: {meets}.",
        f"Join code: peers and help-desk clients started with --registry-key "
        f"{join_code(public)} trust this key alone, without asking"
        + (" (at any registry of it)." if service else "."),
    ]
