"""The full screen beside the line mode (`--plain`), in the same run: a real registry, a
piped peer bob saying room lines, and alice at an 80x24 pseudo-terminal read through pyte.

  drawn      from alice's start until her prompt is on the screen (usable)
  Welcome    from alice's start until the Welcome is on it
  burst      from bob's 1,000 room lines written until the last is on alice's screen
  50 lines/s alice's share of a core while bob says 50 room lines a second
  --help     `ChatApp --help`, start to exit (the median of 5)

    python -m bench.screen [--seconds 5]

Targets: the burst within 2 s, 50 lines a second under a quarter of a core, the screen
usable within a second of the Welcome, and --help as fast as in line mode (it loads
neither prompt_toolkit nor the screen).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO

from bench.common import ROOT, Table
from bench.screen_libs import Child

CHATAPP = [sys.executable, str(ROOT / "ChatApp.py")]
#: Ports of the benchmark's registry and peers: one registry per mode.
PORTS = {"full screen": 22900, "line mode": 22910}
#: The peers, in the order of their ports after the registry's.
PEER_PORTS = ("alice", "bob", "carol")
BURST = 1000
RATE = 50


class Registry:
    def __init__(self, port: int, folder: Path) -> None:
        argv = [*CHATAPP, "-s", str(port), "--bind", "127.0.0.1", "--no-discovery"]
        argv += ["--data-dir", str(folder / "registry")]
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if found := re.search(r"--registry-key ([\d-]+)", line):
                self.code = found[1]
                break
        threading.Thread(target=_drain, args=(self.proc.stdout,), daemon=True).start()

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def _drain(stream: IO[str]) -> None:
    for _ in stream:
        pass


def _peer(name: str, port: int, folder: Path, code: str) -> list[str]:
    return [
        *CHATAPP, "-c", name, "127.0.0.1", str(port), str(port + PEER_PORTS.index(name) + 1),
        "--data-dir", str(folder / name), "--registry-key", code, "--keepalive", "60",
    ]  # fmt: skip


def _said(child: Child, text: str) -> bool:
    return any(text in row for row in child.screen.display)


def measure(mode: str, seconds: float) -> dict[str, float]:
    port = PORTS[mode]
    with tempfile.TemporaryDirectory(prefix="chatapp-screen-") as scratch:
        folder = Path(scratch)
        registry = Registry(port, folder)
        bob = subprocess.Popen(
            _peer("bob", port, folder, registry.code),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert bob.stdin is not None and bob.stdout is not None
        threading.Thread(target=_drain, args=(bob.stdout,), daemon=True).start()
        plain = ["--plain"] if mode == "line mode" else []
        quiet = dict(os.environ, PROMPT_TOOLKIT_NO_CPR="1")  # pyte answers no position request
        alice = Child([*_peer("alice", port, folder, registry.code), *plain], quiet)
        try:
            return _session(alice, bob.stdin, seconds)
        finally:
            alice.close()
            bob.kill()
            bob.wait()
            registry.close()


def _session(alice: Child, bob: IO[str], seconds: float) -> dict[str, float]:
    prompt = re.compile(r"^alice(@\w+)?> *$")
    drawn = alice.wait_until(lambda rows: any(prompt.match(r) for r in rows), "the prompt")
    welcome = alice.wait_for("Welcome")
    bob.write("join lab\n")
    bob.flush()
    alice.wait_for("[bob", timeout=10)  # bob is in the table
    _type(alice, "join lab\r")
    alice.wait_for("joined lab", timeout=10)
    started = time.perf_counter()
    bob.write("".join(f"line {n} of the burst\n" for n in range(BURST)))
    bob.flush()
    alice.wait_for(f"line {BURST - 1} of the burst", timeout=30)
    burst = time.perf_counter() - started
    time.sleep(1)
    feeding = threading.Thread(target=_feed, args=(bob, seconds + 1), daemon=True)
    feeding.start()
    time.sleep(0.5)
    cpu = alice.run_for(seconds)
    feeding.join()
    return {"drawn": drawn, "welcome": welcome, "burst": burst, "cpu": cpu}


def _type(child: Child, text: str) -> None:
    os.write(child.fd, text.encode())


def _feed(bob: IO[str], seconds: float) -> None:
    start = time.perf_counter()
    for n in range(int(seconds * RATE)):
        time.sleep(max(0.0, start + n / RATE - time.perf_counter()))
        bob.write(f"steady line {n}\n")
        bob.flush()


def help_time() -> float:
    times = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([*CHATAPP, "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    table = Table(
        "The full screen beside the line mode: alice at 80x24, bob's room lines",
        ["mode", "prompt drawn", "Welcome shown", f"burst of {BURST}", f"CPU at {RATE} lines/s"],
    )
    for mode in PORTS:
        got = measure(mode, args.seconds)
        table.add(
            mode,
            f"{got['drawn'] * 1000:.0f} ms",
            f"{got['welcome'] * 1000:.0f} ms",
            f"{got['burst']:.2f} s",
            f"{got['cpu'] * 100:.0f}% of a core",
        )
    table.note(f"ChatApp --help: {help_time() * 1000:.0f} ms (it loads no terminal library).")
    table.print()


if __name__ == "__main__":
    main()
