"""A file sent between two peers on loopback, beside a raw TCP copy of the same file.

Starts a registry and two real peers (`ChatApp.py`), offers a file of `--mb` megabytes
from alice to bob, and times from bob's /accept to his "Received" line (the SHA-256 check
and naming included; the offer's own hashing is not, as it comes before the answer). The
raw copy is two Python processes: one reads the file and writes it to a socket, the other
reads the socket and writes a file, in 1 MiB pieces. Prints MB/s for both and the ratio,
and the CPU seconds each used (both processes): on a busy machine the speeds follow the
share of the CPU each gets, the CPU seconds much less.

    python -m bench.files --mb 200 --runs 3
"""

from __future__ import annotations

import argparse
import functools
import os
import queue
import re
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
CHATAPP = ROOT / "ChatApp.py"
PIECE = 1024 * 1024

_RAW_RECEIVER = """
import socket, sys
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
print(srv.getsockname()[1], flush=True)
conn, _ = srv.accept()
with open(sys.argv[1], "wb") as out:
    while data := conn.recv(1 << 20):
        out.write(data)
conn.sendall(b"k")
"""


class Took(NamedTuple):
    """How long a copy took, and the CPU time its two processes used."""

    seconds: float
    cpu: float


def raw_copy(source: Path, target: Path) -> Took:
    """A plain TCP copy of `source`, into `target`."""
    receiver = subprocess.Popen(
        [sys.executable, "-c", _RAW_RECEIVER, str(target)], stdout=subprocess.PIPE, text=True
    )
    assert receiver.stdout is not None
    port = int(receiver.stdout.readline())
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    started, cpu = time.perf_counter(), time.process_time()
    with socket.create_connection(("127.0.0.1", port)) as conn, open(source, "rb") as src:
        while data := src.read(PIECE):
            conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)
        conn.recv(1)  # the receiver has written everything
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    receiver.wait(10)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu += after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    return Took(took, cpu)


def _cpu(pid: int) -> float:
    """CPU seconds (user and system, all threads) process `pid` has used (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Proc:
    """A ChatApp process whose output lines are read as they come (by a thread, so that a
    wait for a line that never comes ends at its timeout)."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        self.p = subprocess.Popen(
            [sys.executable, str(CHATAPP), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.p.stdout is not None
        for line in self.p.stdout:
            self._lines.put(line)
        self._lines.put("")  # the end

    def expect(self, pattern: str, timeout: float = 120.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        seen = []
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                break
            seen.append(line)
            if not line:
                break
            found = re.search(pattern, line)
            if found:
                return found
        raise RuntimeError(f"no line matching {pattern!r} in {''.join(seen[-5:])}")

    def send(self, line: str) -> None:
        assert self.p.stdin is not None
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()

    def stop(self) -> None:
        self.p.kill()
        self.p.wait()


def _free_port() -> int:
    """A port free for both UDP and TCP (a peer and the registry bind both)."""
    while True:
        with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            tcp.bind(("127.0.0.1", 0))
            port: int = tcp.getsockname()[1]
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port


def peer_copy(source: Path, folder: Path) -> Took:
    """From bob's /accept to his "Received" line for `source` sent by alice."""
    env = {**os.environ, "CHATAPP_DATA_DIR": str(folder / "default"), "NO_COLOR": "1"}
    port = _free_port()
    registry = Proc(
        "-s", str(port), "--bind", "127.0.0.1", "--data-dir", str(folder / "r"), env=env
    )
    procs = [registry]
    try:
        code = registry.expect(r"--registry-key ([\d-]+)").group(1)
        common = ["--data-dir", str(folder / "p"), "--registry-key", code]
        alice = Proc("-c", "alice", "127.0.0.1", str(port), str(_free_port()), *common, env=env)
        procs.append(alice)
        alice.expect(r"Welcome")
        bob = Proc(
            "-c", "bob", "127.0.0.1", str(port), str(_free_port()), *common,
            "--downloads", str(folder / "dl"), env=env,
        )  # fmt: skip
        procs.append(bob)
        bob.expect(r"Welcome")
        alice.expect(r"\[bob is online\]")  # bob's row: the offer needs it
        alice.send(f"/file bob {source}")
        number = bob.expect(r"/accept (\d+)").group(1)
        started, cpu = time.perf_counter(), _cpu(alice.p.pid) + _cpu(bob.p.pid)
        bob.send(f"/accept {number}")
        bob.expect(r"Received ")
        took = time.perf_counter() - started
        return Took(took, _cpu(alice.p.pid) + _cpu(bob.p.pid) - cpu)
    finally:
        for proc in procs:
            proc.stop()


def _fresh_copy(source: Path, folder: Path) -> Took:
    return peer_copy(source, folder / f"run-{time.time_ns()}")


def _retried(attempt: Callable[[], Took], tries: int = 3) -> Took:
    """`attempt()`, again when a port picked was taken meanwhile (the machine is shared)."""
    for left in range(tries - 1, -1, -1):
        try:
            return attempt()
        except RuntimeError as exc:
            if left == 0 or "Address already in use" not in str(exc):
                raise
    raise AssertionError("unreachable")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chatapp-bench-files-") as tmp:
        folder = Path(tmp)
        source = folder / "big.bin"
        with open(source, "wb") as out:
            for _ in range(args.mb):
                out.write(os.urandom(1_000_000))
        size = source.stat().st_size / 1e6
        for run in range(1, args.runs + 1):
            raw = raw_copy(source, folder / f"raw-{run}.bin")
            (folder / f"raw-{run}.bin").unlink()
            peers = _retried(functools.partial(_fresh_copy, source, folder))
            print(
                f"run {run}: {args.mb} MB  peers {size / peers.seconds:7.1f} MB/s"
                f"   raw TCP {size / raw.seconds:7.1f} MB/s"
                f"   ratio {raw.seconds / peers.seconds:.2f}"
                f"   CPU s peers {peers.cpu:5.2f} raw {raw.cpu:5.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
