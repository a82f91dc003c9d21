"""This machine's IPv4 addresses on its networks, as the operating system knows them: what
peers on other machines use to reach a registry listening on every interface.

Asked of the OS only; nothing is sent on any network (no "connect a UDP socket to a public
address" trick). On Linux each interface is asked for its address (the SIOCGIFADDR ioctl);
elsewhere, or where that fails, the addresses the host's own name resolves to.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import struct
import sys

#: Linux's ioctl that reads an interface's IPv4 address (linux/sockios.h).
_SIOCGIFADDR = 0x8915


def lan_addresses() -> list[str]:
    """This machine's IPv4 addresses other than loopback and link-local, sorted, each once
    ([] when it has none)."""
    found = _by_interface() if sys.platform.startswith("linux") else []
    if not found:
        found = _by_host_name()
    return sorted({a for a in found if _usable(a)}, key=ipaddress.IPv4Address)


def _usable(text: str) -> bool:
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return not (address.is_loopback or address.is_link_local or address.is_unspecified)


def _by_interface() -> list[str]:
    import fcntl

    found = []
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _, name in socket.if_nameindex():
            with contextlib.suppress(OSError):  # an interface with no IPv4 address
                answer = fcntl.ioctl(
                    sock.fileno(), _SIOCGIFADDR, struct.pack("256s", name.encode()[:15])
                )
                found.append(socket.inet_ntoa(answer[20:24]))
    return found


def _by_host_name() -> list[str]:
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        return []
    return [str(info[4][0]) for info in infos]


def reach_line(addresses: list[str], port: int) -> str:
    """The start line that says where peers reach a registry listening on every interface
    at `port`."""
    here = f"Peers on this machine reach it at 127.0.0.1:{port}"
    if not addresses:
        return f"{here}; this machine has no network address other than that right now."
    others = " or ".join(f"{a}:{port}" for a in addresses)
    return f"{here}; peers on other machines at {others}."
