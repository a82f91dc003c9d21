"""Raw UDP on loopback: round trip (ping-pong) and one-way blast, the ceilings the other
benchmarks are compared with; and the registry's own receive rate at 100k datagrams/s.

    python -m bench.udp_raw [--loop asyncio|uvloop|both] [--count N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import socket
import time
from collections.abc import Callable

from bench.common import (
    HOST,
    Helper,
    Table,
    have_uvloop,
    loops_to_run,
    median,
    pct,
    rate,
    ratio,
    run,
    scratch_folder,
    us,
)
from wire.codec import encode
from wire.messages import Ack

#: The anchors, measured on this kind of machine (2 cores, loopback).
RTT_ANCHOR = {"C": 50e-6, "blocking": 57e-6, "asyncio": 104e-6, "uvloop": 66e-6}
BLAST_ANCHOR = {"C": 312e3, "blocking": 293e3, "uvloop": 271e3, "asyncio": 54e3}

#: A datagram the size of a small ChatApp message (a valid Ack, so the Endpoint decodes it).
PAYLOAD = encode(Ack("bench-123456", "sender-0000000042"))


# -- round trip ----------------------------------------------------------------------------


async def _rtt_evented(port: int, count: int) -> list[float]:
    """Round trips to the echo at `port`, each timed from its send to the reply's arrival
    (in `datagram_received`, as ChatApp's are timed when the ack is taken in), not to the
    loop pass, one or more later, in which the waiting task resumes."""
    loop = asyncio.get_running_loop()
    waiter: list[asyncio.Future[float]] = []

    class Client(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            if waiter and not waiter[0].done():
                waiter[0].set_result(time.perf_counter())

    transport, _ = await loop.create_datagram_endpoint(Client, remote_addr=(HOST, port))
    times: list[float] = []
    try:
        for i in range(count + count // 10):
            fut = loop.create_future()
            waiter[:] = [fut]
            t0 = time.perf_counter()
            transport.sendto(PAYLOAD)
            arrived = await asyncio.wait_for(fut, 1.0)
            if i >= count // 10:  # the first tenth warms up
                times.append(arrived - t0)
    finally:
        transport.close()
    return times


async def echoed_rate(port: int, count: int, inflight: int) -> float:
    """Datagrams per second echoed by the echo at `port`, `inflight` outstanding, on the
    running loop (`count` of them; fewer if one is lost, after 30 s)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[float] = loop.create_future()  # set to the last reply's arrival
    state = {"sent": 0, "got": 0}
    transport: asyncio.DatagramTransport

    class Client(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            state["got"] += 1
            if state["got"] >= count:
                if not done.done():
                    done.set_result(time.perf_counter())
            elif state["sent"] < count:
                state["sent"] += 1
                transport.sendto(PAYLOAD)

    transport, _ = await loop.create_datagram_endpoint(Client, remote_addr=(HOST, port))
    t0 = time.perf_counter()
    for _ in range(inflight):
        state["sent"] += 1
        transport.sendto(PAYLOAD)
    with contextlib.suppress(TimeoutError):  # a lost datagram: count what came back
        await asyncio.wait_for(asyncio.shield(done), 30.0)
    took = (done.result() if done.done() else time.perf_counter()) - t0
    transport.close()
    return state["got"] / took


def pipelined(loop: str, count: int = 20_000, inflight: int = 32) -> float:
    """Echoed datagrams per second with `inflight` outstanding, both ends on `loop`."""
    with Helper("echo", "--loop", loop, "--mode", "protocol") as echo:
        return run(lambda: echoed_rate(echo.ready["port"], count, inflight), loop)


def _rtt_blocking(port: int, count: int) -> list[float]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(1.0)
    sock.connect((HOST, port))
    times = []
    for i in range(count + count // 10):
        t0 = time.perf_counter()
        sock.send(PAYLOAD)
        sock.recv(2048)
        if i >= count // 10:
            times.append(time.perf_counter() - t0)
    sock.close()
    return times


def round_trip(loop: str, count: int = 3000) -> list[float]:
    """Round-trip times of a raw UDP ping-pong, both ends on event loop `loop` (the client
    here, the echo server in its own process): the baseline of the direct-message latency."""
    with Helper("echo", "--loop", loop, "--mode", "protocol") as echo:
        return run(lambda: _rtt_evented(echo.ready["port"], count), loop)


def rtt_table(loops: list[str], count: int) -> dict[str, float]:
    table = Table(
        "UDP round trip, loopback, two processes (median)",
        ["ends", "median", "p99", "anchor", "ratio to anchor"],
    )
    medians: dict[str, float] = {}
    with Helper("echo", "--mode", "blocking") as echo:
        times = _rtt_blocking(echo.ready["port"], count)
    table.add(
        "Python blocking sockets",
        us(median(times)),
        us(pct(times, 0.99)),
        us(RTT_ANCHOR["blocking"]),
        ratio(median(times), RTT_ANCHOR["blocking"]),
    )
    medians["blocking"] = median(times)
    for loop in loops:
        times = round_trip(loop, count)
        medians[loop] = median(times)
        table.add(
            f"{loop} DatagramProtocol",
            us(median(times)),
            us(pct(times, 0.99)),
            us(RTT_ANCHOR[loop]),
            ratio(median(times), RTT_ANCHOR[loop]),
        )
    table.add("C (anchor only, not run)", "", "", us(RTT_ANCHOR["C"]), "")
    if not have_uvloop():
        table.note("uvloop not installed: pip install uvloop (or the project's [fast] extra)")
    table.print()
    return medians


# -- one-way blast -------------------------------------------------------------------------


def blast(port: int, count: int, *, per_second: float = 0.0, sources: int = 1) -> float:
    """Send `count` datagrams to `port` as fast as a blocking socket can (or paced at
    `per_second`), round robin from `sources` sockets; return the send rate achieved."""
    socks = []
    for _ in range(sources):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
        sock.connect((HOST, port))
        socks.append(sock)
    send: Callable[[bytes], int]
    if sources == 1:
        send = socks[0].send
    else:
        senders = itertools.cycle([s.send for s in socks])

        def send(data: bytes) -> int:
            return next(senders)(data)

    t0 = time.perf_counter()
    if per_second:
        slot = 1000 / per_second  # seconds per 1000 datagrams
        sent = 0
        while sent < count:
            for _ in range(min(1000, count - sent)):
                with contextlib.suppress(BlockingIOError, ConnectionRefusedError):
                    send(PAYLOAD)
            sent += 1000
            pause = t0 + (sent / 1000) * slot - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
    else:
        for _ in range(count):
            with contextlib.suppress(ConnectionRefusedError):
                send(PAYLOAD)
    took = time.perf_counter() - t0
    for sock in socks:
        sock.close()
    return count / took


def received(helper: Helper, count: int) -> dict[str, float]:
    time.sleep(0.5)  # let the receiver finish what the kernel queued
    report = helper.ask("report")
    got = report["count"]
    return {
        "rate": got / report["span"] if report["span"] else float("nan"),
        "lost": 1 - got / count,
        "drops": report.get("drops") or 0,
    }


def blast_table(loops: list[str], count: int) -> None:
    table = Table(
        "One-way UDP datagrams received per second (sender: blocking socket, flat out)",
        ["receiver", "received/s", "sent/s", "lost", "anchor", "ratio to anchor"],
    )
    modes = [("blocking", "", "Python blocking recvfrom", BLAST_ANCHOR["blocking"])]
    for loop in loops:
        modes.append(("protocol", loop, f"{loop} DatagramProtocol", BLAST_ANCHOR[loop]))
        modes.append(("drain", loop, f"{loop} add_reader, drain per wake-up", BLAST_ANCHOR[loop]))
        modes.append(
            ("endpoint", loop, f"ChatApp Endpoint on {loop} (decodes)", BLAST_ANCHOR[loop])
        )
    for mode, loop, label, anchor in modes:
        args = ["sink", "--mode", mode, "--rcvbuf", str(4 * 1024 * 1024)]
        if loop:
            args += ["--loop", loop]
        with Helper(*args) as sink:
            sent = blast(sink.ready["port"], count)
            r = received(sink, count)
        table.add(
            label,
            rate(r["rate"]),
            rate(sent),
            f"{r['lost']:.0%}",
            rate(anchor),
            ratio(r["rate"], anchor),
        )
    table.add("C (anchor only, not run)", "", "", "", rate(BLAST_ANCHOR["C"]), "")
    table.note(
        "Anchors: uvloop 271k/s for uvloop rows, stock asyncio DatagramProtocol 54k/s "
        "for asyncio rows; lost = sent but never counted (kernel drops). A receiver that "
        "loses nothing is only as fast as the one Python sender (sent/s)."
    )
    table.print()


def registry_rx_table(loops: list[str], count: int, per_second: float = 100_000) -> None:
    """The real registry (RegistryServer: Endpoint + core) fed Ack datagrams at 100k/s."""
    table = Table(
        f"Registry receive at {per_second / 1e3:.0f}k datagrams/s ({count:,} Acks, paced)",
        ["registry loop", "receive buffer", "handled/s", "kernel drops", "target"],
    )
    for loop in loops:
        for rcvbuf, label in ((212_992, "default 208 KiB"), (0, "Endpoint's own (4 MiB)")):
            with Helper(
                "registry",
                "--loop",
                loop,
                "--count",
                *(["--rcvbuf", str(rcvbuf)] if rcvbuf else []),
            ) as reg:
                port = reg.ready["port"]
                before = reg.ask("report")["drops"] or 0
                # from 200 source ports: the registry's flood gate admits 500/s per address
                blast(port, count, per_second=per_second, sources=200)
                time.sleep(0.5)
                rep = reg.ask("report")
            handled = rep["count"] / rep["span"] if rep["span"] else float("nan")
            drops = (rep["drops"] or 0) - before
            table.add(
                loop, label, rate(handled), f"{drops:,} ({drops / count:.0%})", "0 drops at 100k/s"
            )
    table.note(
        "handled/s = datagrams decoded and passed to the core per second while busy; "
        "Acks of no push, from 200 source ports (the flood gate admits 500/s each)."
    )
    table.print()


def main(argv: list[str] | None = None) -> None:
    scratch_folder()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loop", default="both")
    parser.add_argument("--count", type=int, default=200_000, help="datagrams per blast")
    parser.add_argument("--rtts", type=int, default=3000, help="round trips per row")
    args = parser.parse_args(argv)
    loops = loops_to_run(args.loop)
    rtt_table(loops, args.rtts)
    blast_table(loops, args.count)
    registry_rx_table(loops, min(args.count, 100_000))


if __name__ == "__main__":
    main()
