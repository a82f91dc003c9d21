"""What an eavesdropper on the loopback interface sees: every UDP and TCP payload, read from
a raw AF_PACKET socket (as tcpdump reads it; root only), and a way to send a datagram
again from any source address (a raw IP socket), as a forger would. The one home of the
hostile tests' packet helpers: `parse_packet` reads an IP packet, `spoofed_packet` makes
one."""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
#: Bytes of the link-layer header on loopback (an Ethernet header of zero addresses).
LINK_HEADER = 14


@dataclass(frozen=True)
class Packet:
    """One UDP datagram or TCP segment seen on the interface."""

    proto: str  # "udp" or "tcp"
    src: tuple[str, int]
    dst: tuple[str, int]
    payload: bytes


def can_capture() -> bool:
    """Whether a raw socket on loopback may be opened here (root, or CAP_NET_RAW)."""
    try:
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(ETH_P_ALL)).close()
    except (PermissionError, OSError, AttributeError):
        return False
    return True


class Capture:
    """Records every UDP and TCP payload on `lo` while it runs (each packet once: those the
    kernel shows again as outgoing are skipped)."""

    def __init__(self) -> None:
        self.packets: list[Packet] = []
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(ETH_P_ALL))
        self._sock.bind(("lo", 0))
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._sock], [], [], 0.1)
            if ready:
                self._read_waiting(self._stop)

    def _read_waiting(self, stop: threading.Event | None = None) -> None:
        """Every frame the kernel holds for this socket now (the whole machine's loopback
        traffic, when other tests run beside: read one a wake-up, it fell behind), or
        until `stop` is set: the machine's traffic may never pause."""
        while stop is None or not stop.is_set():
            try:
                frame, addr = self._sock.recvfrom(65_600, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
            if addr[2] == PACKET_OUTGOING:
                continue
            packet = parse_packet(frame[LINK_HEADER:])
            if packet is not None:
                self.packets.append(packet)

    def stop(self) -> list[Packet]:
        """Stop, with every packet sent before this call (those the thread had not read
        yet are read here, not dropped with the socket)."""
        self._stop.set()
        self._thread.join()  # within a frame or a select's wait: it reads no more then
        self._read_waiting()
        self._sock.close()
        return self.packets


def parse_packet(ip: bytes) -> Packet | None:
    """The UDP datagram or TCP segment an IPv4 packet holds (None: neither, or not IPv4)."""
    if len(ip) < 20 or ip[0] >> 4 != 4:
        return None
    ihl = (ip[0] & 0x0F) * 4
    total = struct.unpack_from("!H", ip, 2)[0]
    proto = ip[9]
    src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
    body = ip[ihl:total]
    if proto == 17 and len(body) >= 8:
        sport, dport = struct.unpack_from("!HH", body)
        return Packet("udp", (src, sport), (dst, dport), body[8:])
    if proto == 6 and len(body) >= 20:
        sport, dport = struct.unpack_from("!HH", body)
        offset = (body[12] >> 4) * 4
        return Packet("tcp", (src, sport), (dst, dport), body[offset:])
    return None


@contextlib.contextmanager
def capturing() -> Iterator[Capture]:
    capture = Capture()
    try:
        yield capture
    finally:
        capture.stop()


def spoofed_packet(payload: bytes, src: tuple[str, int], dst: tuple[str, int]) -> bytes:
    """The IPv4 packet of a UDP datagram carrying `payload` from `src` to `dst`, whatever
    address `src` is: for a raw IP socket, which sends it as it is."""
    udp_len = 8 + len(payload)
    pseudo = (
        socket.inet_aton(src[0]) + socket.inet_aton(dst[0]) + struct.pack("!BBH", 0, 17, udp_len)
    )
    header = struct.pack("!HHHH", src[1], dst[1], udp_len, 0)
    checksum = _checksum(pseudo + header + payload) or 0xFFFF
    udp = struct.pack("!HHHH", src[1], dst[1], udp_len, checksum) + payload
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
        socket.inet_aton(src[0]), socket.inet_aton(dst[0]),
    )  # fmt: skip
    return ip + udp


def send_spoofed(payload: bytes, src: tuple[str, int], dst: tuple[str, int]) -> None:
    """Send `payload` as a UDP datagram that claims to come from `src` (a raw IP socket:
    the kernel does not check the source address a root process writes)."""
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as sock:
        sock.sendto(spoofed_packet(payload, src, dst), (dst[0], 0))


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF
