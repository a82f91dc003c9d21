"""A file sent between two peers on loopback, beside a raw TCP copy of the same file.

Starts a registry and two real peers (`ChatApp.py`), offers a file of `--mb` megabytes
from alice to bob, and times from bob's /accept to his "Received" line (the SHA-256 check
and naming included; the offer's own hashing is not, as it comes before the answer). The
raw copy is two Python processes: one reads the file and writes it to a socket, the other
reads the socket and writes a file, in 1 MiB pieces. Prints MB/s for both and the ratio.

    python -m bench.files --mb 200 --runs 3
"""

from __future__ import annotations

import argparse
import functools
import os
import queue
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

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


def raw_copy(source: Path, target: Path) -> float:
    """Seconds a plain TCP copy of `source` takes, into `target`."""
    receiver = subprocess.Popen(
        [sys.executable, "-c", _RAW_RECEIVER, str(target)], stdout=subprocess.PIPE, text=True
    )
    assert receiver.stdout is not None
    port = int(receiver.stdout.readline())
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as conn, open(source, "rb") as src:
        while data := src.read(PIECE):
            conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)
        conn.recv(1)  # the receiver has written everything
    took = time.perf_counter() - started
    receiver.wait(10)
    return took


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


def peer_copy(source: Path, folder: Path) -> float:
    """Seconds from bob's /accept to his "Received" line for `source` sent by alice."""
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
        alice.expect(r"Client table updated")  # bob's row
        alice.send(f"/file bob {source}")
        number = bob.expect(r"/accept (\d+)").group(1)
        started = time.perf_counter()
        bob.send(f"/accept {number}")
        bob.expect(r"Received ")
        return time.perf_counter() - started
    finally:
        for proc in procs:
            proc.stop()


def _fresh_copy(source: Path, folder: Path) -> float:
    return peer_copy(source, folder / f"run-{time.time_ns()}")


def _retried(attempt: Callable[[], float], tries: int = 3) -> float:
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
            raw = size / raw_copy(source, folder / f"raw-{run}.bin")
            (folder / f"raw-{run}.bin").unlink()
            peers = size / _retried(functools.partial(_fresh_copy, source, folder))
            print(
                f"run {run}: {args.mb} MB  peers {peers:7.1f} MB/s   raw TCP {raw:7.1f} MB/s"
                f"   ratio {peers / raw:.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
