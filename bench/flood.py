"""Does one flooding address slow everyone else down? (flood control)

Starts a real registry, measures a well-behaved client's request-to-answer round trip
alone, then again while another process floods the registry from one address as fast as it
can, and prints both with what the flood gate dropped. The polite client asks the registry's
key (a KEY_REQUEST, answered in clear by its secure channel: secure/channel.py), so it needs no
session; the flood is old clear-text requests, which the registry drops or refuses.

    python -m bench.flood [--samples 500] [--seconds 4]
"""

from __future__ import annotations

import argparse
import re
import socket
import subprocess
import sys
import tempfile
import time

from bench.common import ROOT, Table, free_port, median, pct, scratch_folder, us
from secure.channel import KEY_REQUEST, KEY_REQUEST_SIZE

HOST = "127.0.0.1"

FLOODER = """
import socket, sys, time
from wire.codec import encode
from wire.messages import TableRequest
port, seconds = int(sys.argv[1]), float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
data = encode(TableRequest("flood-1"))
end, sent = time.monotonic() + seconds, 0
while time.monotonic() < end:
    for _ in range(200):
        try:
            s.sendto(data, ("127.0.0.1", port))
            sent += 1
        except BlockingIOError:
            pass
print(sent, flush=True)
"""


def round_trips(port: int, samples: int) -> list[float]:
    """`samples` request-to-answer times of a polite client (one request at a time)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(1.0)
    times = []
    ask = bytes([KEY_REQUEST]) + bytes(KEY_REQUEST_SIZE - 1)
    try:
        for _ in range(samples):
            t0 = time.perf_counter()
            sock.sendto(ask, (HOST, port))
            try:
                sock.recv(65536)
            except TimeoutError:
                times.append(1.0)  # counted as a one-second stall
                continue
            times.append(time.perf_counter() - t0)
            time.sleep(0.002)  # a polite client: ~500 requests/s at most
    finally:
        sock.close()
    return times


def main(argv: list[str] | None = None) -> None:
    scratch_folder()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args(argv)
    port = free_port()
    data = tempfile.mkdtemp(prefix="chatapp-bench-flood-")
    registry = subprocess.Popen(
        [sys.executable, str(ROOT / "ChatApp.py"), "-s", str(port), "--bind", HOST,
         "--data-dir", data, "--no-discovery"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert registry.stdout is not None and registry.stdin is not None
        for line in registry.stdout:
            if "listening on" in line:
                break
        quiet = round_trips(port, args.samples)
        flooder = subprocess.Popen(
            [sys.executable, "-c", FLOODER, str(port), str(args.seconds)],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(0.3)  # let the flood get going before measuring under it
        flooded = round_trips(port, min(args.samples, int((args.seconds - 0.6) / 0.003)))
        out, _ = flooder.communicate(timeout=args.seconds + 10)
        sent = int(out.strip() or 0)
        registry.stdin.write("stats\n")
        registry.stdin.flush()
        dropped = "?"
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            line = registry.stdout.readline()
            match = re.search(r"flood drops (\d+)", line)
            if match:
                dropped = f"{int(match.group(1)):,}"
                break
    finally:
        registry.terminate()
        registry.wait(timeout=10)
    table = Table(
        "Flood control: a polite client's round trip, alone and while another address floods",
        ["polite client", "median", "p99", "max", "flood sent", "flood dropped by the gate"],
    )
    table.add("registry idle", us(median(quiet)), us(pct(quiet, 0.99)), us(max(quiet)), "", "")
    table.add(
        "one address flooding",
        us(median(flooded)),
        us(pct(flooded, 0.99)),
        us(max(flooded)),
        f"{sent:,}",
        dropped,
    )
    table.note(
        "The gate admits 500 messages/s (bursts of 1,000) per address; what is over is dropped "
        "before any work is done on it. Both processes share this machine's 2 cores."
    )
    table.print()


if __name__ == "__main__":
    main()
