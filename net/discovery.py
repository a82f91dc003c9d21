"""Finding registries on the local network by multicast DNS service discovery (`zeroconf`):
a registry advertises itself, a client looks. What is found is a hint, never trust
(docs/SECURITY.md). The record: docs/PROTOCOL.md, "Discovery".

A record is kept only when its join code is the key's that answers at the address it names
and a handshake of the secure channel with that key succeeds (docs/SECURITY.md,
"Discovery"); bounded for records anyone may advertise: at most CHECKED addresses, taken in
turn from each IP, each given PROBE seconds, all at once. The key is asked over TCP in
clear (`ask_key`), as the help-desk clients first ask it (a peer asks with a datagram).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import logging
import socket
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from msgspec import Struct

from net.served_stream import CONNECT_WAIT, connect, dial
from secure.channel import KEY_REQUEST_SIZE
from secure.stream import KEY_REQUEST_FRAME, MAX_HANDSHAKE_FRAME, frame, key_answer
from wire.keys import code_from_text, fingerprint, join_code
from wire.limits import FRAME_HEADER

if TYPE_CHECKING:  # zeroconf is loaded only where discovery is used (50 ms of a start)
    from zeroconf import ServiceInfo, ServiceStateChange
    from zeroconf.asyncio import AsyncZeroconf

#: The service type registries advertise (over UDP, as their chat is).
SERVICE_TYPE = "_chatapp._udp.local."
#: Seconds a client looks for registries when none answers (an answer comes within about a
#: second: responders wait up to 0.6 s to gather theirs, RFC 6762 section 6).
LOOK = 3.0
#: Seconds from the first question in which a client takes every registry that answers
#: (zeroconf asks at about 0.1 s and 1.1 s); a first answer later ends the look at once.
WINDOW = 2.0
#: Seconds a found record's addresses and port may take to arrive (most come with it).
RESOLVE = 1.0
#: Records a client takes at most, the first heard (anyone may advertise any number).
HEARD = 1024
#: Addresses (IP and port) checked at most of those found.
CHECKED = 64
#: Seconds an address has to answer with its key and finish a handshake (a registry on the
#: LAN takes milliseconds).
PROBE = 1.5


class Found(Struct, frozen=True):
    """A registry found on the network, and the join code it advertised ("": none)."""

    ip: str
    port: int
    code: str


class DiscoveryError(Exception):
    """No multicast socket could be opened; the message says why."""


def _zeroconf(bind: str) -> AsyncZeroconf:
    """A multicast DNS stack on the interface of `bind`. Raises DiscoveryError."""
    from zeroconf import InterfaceChoice, IPVersion
    from zeroconf.asyncio import AsyncZeroconf

    log = logging.getLogger("zeroconf")  # the library's own lines are not for the user
    log.addHandler(logging.NullHandler())
    log.propagate = False
    interfaces = InterfaceChoice.All if bind == "0.0.0.0" else [bind]
    try:
        return AsyncZeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only)
    except OSError as exc:
        raise DiscoveryError(exc.strerror or str(exc)) from None


def advertised_addresses(bind: str) -> list[str]:
    """The addresses a registry listening on `bind` advertises: that one; for 0.0.0.0, the
    machine's LAN addresses (`lan_addresses`), or loopback when it has none."""
    return [bind] if bind != "0.0.0.0" else (lan_addresses() or ["127.0.0.1"])


def _networks() -> list[tuple[str, int]]:
    import ifaddr

    return [
        (ip.ip, ip.network_prefix)
        for adapter in ifaddr.get_adapters()
        for ip in adapter.ips
        if isinstance(ip.ip, str)
    ]


def lan_addresses() -> list[str]:
    """This machine's IPv4 addresses but loopback, sorted: where peers on other machines
    reach a registry listening on every interface. Link-local ones only when it has no other."""
    own = {ipaddress.IPv4Address(ip) for ip, _ in _networks()}
    usable = [a for a in own if not (a.is_loopback or a.is_unspecified)]
    routable = [a for a in usable if not a.is_link_local]
    return [str(a) for a in sorted(routable or usable)]


def reach_line(addresses: list[str], port: int) -> str:
    """The start line that says where peers reach a registry on every interface."""
    here = f"Peers on this machine reach it at 127.0.0.1:{port}"
    if not addresses:
        return f"{here}; this machine has no network address other than that right now."
    others = " or ".join(f"{a}:{port}" for a in addresses)
    return f"{here}; peers on other machines at {others}."


def nearest(addresses: Sequence[str], networks: Sequence[tuple[str, int]]) -> str:
    """Of a registry's `addresses`, one on a network this machine is on (`networks`: our
    addresses and prefix lengths), else the first."""
    ours = [ipaddress.ip_network(f"{ip}/{prefix}", strict=False) for ip, prefix in networks]
    for address in addresses:
        if any(ipaddress.ip_address(address) in net for net in ours):
            return address
    return addresses[0]


class Advertisement:
    """A registry's record, advertised on the network until `close`."""

    def __init__(self, bind: str, port: int, code: str, done: Callable[[str | None], None]):
        """Advertise the registry at `bind`:`port` with its join code. Returns at once;
        `done` is called once the record is on the network (about 1.5 s) with None, or
        with the reason it could not be. Raises DiscoveryError."""
        from zeroconf import ServiceInfo

        host = "".join(c if c.isalnum() else "-" for c in socket.gethostname().lower())[:40]
        instance = f"ChatApp registry {host or 'here'} {port}"
        info = ServiceInfo(
            SERVICE_TYPE,
            f"{instance}.{SERVICE_TYPE}",
            port=port,
            properties={"code": code},
            # a host name of our own: the machine's own responder answers for its name
            server=f"chatapp-{port}-{host or 'here'}.local.",
            parsed_addresses=advertised_addresses(bind),
        )
        self._zc = _zeroconf(bind)
        self._registered = asyncio.create_task(self._register(info, done))

    async def _register(self, info: ServiceInfo, done: Callable[[str | None], None]) -> None:
        try:
            # a name in use is changed by zeroconf ("... (2)"): the record is still ours
            announced = await self._zc.async_register_service(info, allow_name_change=True)
            await announced
        except Exception as exc:  # zeroconf's own errors, and the network's
            done(str(exc) or type(exc).__name__)
            return
        done(None)

    async def close(self) -> None:
        if not self._registered.done():
            self._registered.cancel()
        with contextlib.suppress(Exception):  # the registry stops whatever the network says
            await self._zc.async_close()


async def look(bind: str, look_for: float = LOOK, window: float = WINDOW) -> list[Found]:
    """The registries that answer on the interface of `bind` (every one for 0.0.0.0): all
    those heard within `window` seconds of the first question, else the first heard
    within `look_for` seconds (with any heard at the same moment), else none.
    Raises DiscoveryError."""
    from zeroconf import DNSQuestionType, ServiceStateChange
    from zeroconf.asyncio import AsyncServiceBrowser

    zc = _zeroconf(bind)
    names: list[str] = []
    heard = asyncio.Event()

    def changed(name: str, state_change: ServiceStateChange, **_: object) -> None:
        if state_change is ServiceStateChange.Added and name not in names and len(names) < HEARD:
            names.append(name)
            heard.set()

    asked = asyncio.get_running_loop().time()
    # every question multicast: an answer to a unicast one goes to port 5353, which other
    # mDNS sockets share (avahi's), and the kernel may hand it to one of them
    browser = AsyncServiceBrowser(
        zc.zeroconf, SERVICE_TYPE, handlers=[changed], question_type=DNSQuestionType.QM
    )
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(heard.wait(), look_for)
        if names:
            await asyncio.sleep(asked + window - asyncio.get_running_loop().time())
        resolved = await asyncio.gather(*(_resolved(zc, name) for name in names))
        return [found for found in resolved if found is not None]
    finally:
        await browser.async_cancel()
        await zc.async_close()


async def _resolved(zc: AsyncZeroconf, name: str) -> Found | None:
    from zeroconf.asyncio import AsyncServiceInfo

    info = AsyncServiceInfo(SERVICE_TYPE, name)
    if not await info.async_request(zc.zeroconf, int(RESOLVE * 1000)):
        return None
    addresses = [a for a in info.parsed_addresses() if ipaddress.ip_address(a).version == 4]
    if not addresses or not info.port:
        return None
    code = info.properties.get(b"code") or b""
    return Found(nearest(addresses, _networks()), info.port, code.decode("ascii", "replace"))


class Advertised(Struct, frozen=True):
    """An address records named, and the join codes' digits they advertised for it."""

    ip: str
    port: int
    codes: frozenset[str]


def usable(ip: str, port: int) -> bool:
    """Whether a record's address and port could be a registry's: an IPv4 address of one
    machine (not 0.0.0.0, multicast or broadcast) and a port."""
    try:
        address = ipaddress.IPv4Address(ip)
    except ValueError:
        return False
    unusable = address.is_unspecified or address.is_multicast or address.is_reserved
    return not unusable and 0 < port < 65536


def to_probe(
    found: Sequence[Found], code: str | None = None, limit: int = CHECKED
) -> list[Advertised]:
    """The addresses to check of the records `found` with a join code (with `code`, that
    one) at a usable address: one from each IP in turn, in the order heard, `limit` at most,
    so that many records at a few addresses crowd out none elsewhere."""
    codes_at: dict[tuple[str, int], set[str]] = {}
    for record in found:
        digits = code_from_text(record.code)
        if digits is None or (code is not None and digits != code):
            continue
        if usable(record.ip, record.port):
            codes_at.setdefault((record.ip, record.port), set()).add(digits)
    by_ip: dict[str, list[Advertised]] = {}
    for (ip, port), codes in codes_at.items():
        by_ip.setdefault(ip, []).append(Advertised(ip, port, frozenset(codes)))
    turns = itertools.zip_longest(*by_ip.values())
    return [probe for turn in turns for probe in turn if probe is not None][:limit]


async def proven(probe: Advertised) -> Found | None:
    """The record of `probe` whose code is the key's that answered there, once a handshake with
    that key, which only its private key's holder can make, succeeded within PROBE seconds (ours
    under a key for this alone, nothing sent after it); else None."""
    try:
        async with asyncio.timeout(PROBE):
            key = await ask_key(probe.ip, probe.port)
            digits = code_from_text(fingerprint(key)) if key is not None else None
            if key is None or digits not in probe.codes:
                return None
            where, ours = (probe.ip, probe.port), X25519PrivateKey.generate()
            reader, writer, stream = await dial(where, key, ours)
            with contextlib.closing(writer):
                while not stream.ready and (data := await reader.read(MAX_HANDSHAKE_FRAME)):
                    stream.feed(data)  # a frame over MAX_HANDSHAKE_FRAME, or one not opening
            return Found(probe.ip, probe.port, join_code(key)) if stream.ready else None
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
        return None  # (a DecodeError, OtherVersion too, is a ValueError)


async def checked(found: Sequence[Found], code: str | None = None) -> list[Found]:
    proofs = await asyncio.gather(*(proven(probe) for probe in to_probe(found, code)))
    return [record for record in proofs if record is not None]


async def look_checked(bind: str, code: str | None) -> tuple[list[Found], list[Found]]:
    """The records heard on the network of `bind` (`look`), and those of them proven, of
    `code` if given. Raises DiscoveryError."""
    heard = await look(bind)
    return heard, await checked(heard, code)


def registry_label(host: str, port: int) -> str:
    return f"registry {host}:{port}"


async def ask_key(host: str, port: int) -> bytes | None:
    """The key the registry at `host`:`port` answers with within CONNECT_WAIT, or None. Raises
    ConnectionRefusedError: nothing listens there; OtherVersion: another version answers."""
    try:
        async with asyncio.timeout(CONNECT_WAIT):
            reader, writer = await connect((host, port))
            with contextlib.closing(writer):
                writer.write(frame(KEY_REQUEST_FRAME))
                length = int.from_bytes(await reader.readexactly(FRAME_HEADER), "big")
                if length > KEY_REQUEST_SIZE:
                    return None
                return key_answer(await reader.readexactly(length))
    except ConnectionRefusedError:
        raise
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        return None
