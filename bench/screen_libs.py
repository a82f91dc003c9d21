"""The full-screen libraries side by side: prompt_toolkit's Application and Textual, each
drawing the same minimal chat (a status bar, the lines, an input line) in a fresh
interpreter on a pseudo-terminal of 80x24, in the same run:

  first frame   from the start of the interpreter to the status bar on the terminal
  RSS           resident memory once drawn, and its peak after the lines
  CPU           the share of a core while 50 lines a second arrive (for --seconds)
  80x24         whether the status bar, the last line and the input row are all on screen

    python -m bench.screen_libs [--seconds 5] [--runs 3]

Textual is not a dependency: `pip install textual` to measure it (else its row says so).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import statistics
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

import pyte

from bench.common import Table

#: Lines a second, as in a busy room.
RATE = 50
READY = "READY-MARK"

PTK_APP = """
import asyncio, time
from prompt_toolkit.application import Application
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.layout import HSplit, Layout, Window
from prompt_toolkit.layout.controls import BufferControl, FormattedTextControl
lines = []
def body():
    return "\\n".join(lines[-22:])
def add(app, n):
    lines.append(f"bob (in lab): line {n} of the burst, as a room line is")
    app.invalidate()
async def main():
    buffer = Buffer()
    app = Application(layout=Layout(HSplit([
        Window(FormattedTextControl(" READY-MARK alice 127.0.0.1"), height=1, style="reverse"),
        Window(FormattedTextControl(body), wrap_lines=True),
        Window(BufferControl(buffer), height=1)]), focused_element=buffer),
        full_screen=True, min_redraw_interval=0.05)
    loop = asyncio.get_running_loop()
    async def feed():
        await asyncio.sleep(0.3)
        n = 0
        start = time.monotonic()
        while True:
            n += 1
            add(app, n)
            await asyncio.sleep(max(0, start + n / RATE - time.monotonic()))
    task = loop.create_task(feed())
    await app.run_async()
asyncio.run(main())
"""

TEXTUAL_APP = """
from textual.app import App
from textual.widgets import Input, RichLog, Static
class Chat(App):
    CSS = "Static { height: 1; background: $boost; }"
    def compose(self):
        yield Static(" READY-MARK alice 127.0.0.1")
        yield RichLog(max_lines=2000)
        yield Input()
    def on_mount(self):
        self.n = 0
        self.set_timer(0.3, lambda: self.set_interval(1 / RATE, self.add))
    def add(self):
        self.n += 1
        line = f"bob (in lab): line {self.n} of the burst, as a room line is"
        self.query_one(RichLog).write(line)
Chat().run()
"""


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _status(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024  # MiB
    return 0.0


class Child:
    """A program on a pty of 80x24, its screen read through pyte."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        ours, theirs = pty.openpty()
        os.set_blocking(ours, False)
        fcntl.ioctl(theirs, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        env = dict(env or os.environ, TERM="xterm-256color", COLUMNS="80", LINES="24")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            argv, stdin=theirs, stdout=theirs, stderr=theirs, env=env, start_new_session=True
        )
        os.close(theirs)
        self.fd = ours
        self.screen = pyte.Screen(80, 24)
        self.stream = pyte.ByteStream(self.screen)

    def pump(self) -> None:
        try:
            while data := os.read(self.fd, 65536):
                self.stream.feed(data)
        except (BlockingIOError, OSError):
            pass

    def wait_for(self, text: str, timeout: float = 20.0) -> float:
        """Seconds from the start until `text` is on the screen."""
        return self.wait_until(lambda rows: any(text in row for row in rows), text, timeout)

    def wait_until(
        self, ok: Callable[[list[str]], bool], what: str, timeout: float = 20.0
    ) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            self.pump()
            if ok(self.screen.display):
                return time.perf_counter() - self.started
            time.sleep(0.002)
        raise TimeoutError(what + ":\n" + "\n".join(self.screen.display))

    def run_for(self, seconds: float) -> float:
        """The share of a core it used for `seconds`, its output read meanwhile."""
        used, start = _cpu(self.proc.pid), time.perf_counter()
        while time.perf_counter() - start < seconds:
            self.pump()
            time.sleep(0.01)
        return (_cpu(self.proc.pid) - used) / (time.perf_counter() - start)

    def readable(self) -> bool:
        rows = self.screen.display  # the status on top, the newest lines above the input
        return READY in rows[0] and any("line" in row for row in rows[-5:])

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        os.close(self.fd)


def measure(source: str, seconds: float) -> dict[str, float]:
    child = Child([sys.executable, "-c", f"RATE = {RATE}\n" + source])
    try:
        first = child.wait_for(READY)
        time.sleep(0.2)
        rss = _status(child.proc.pid, "VmRSS")
        cpu = child.run_for(seconds)
        return {
            "first": first,
            "rss": rss,
            "peak": _status(child.proc.pid, "VmHWM"),
            "cpu": cpu,
            "fits": float(child.readable()),
        }
    finally:
        child.close()


def _has_textual() -> bool:
    tried = subprocess.run([sys.executable, "-c", "import textual"], capture_output=True)
    return tried.returncode == 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    libraries = {"prompt_toolkit": PTK_APP, **({"Textual": TEXTUAL_APP} if _has_textual() else {})}
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in libraries}
    for _ in range(args.runs):  # interleaved, so that both see the same machine
        for name, source in libraries.items():
            rows[name].append(measure(source, args.seconds))
    table = Table(
        f"Full-screen libraries: a minimal chat at 80x24, {RATE} lines/s",
        ["library", "first frame", "RSS drawn", "RSS peak", "CPU at 50 lines/s", "80x24"],
    )
    for name, runs in rows.items():
        med = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        table.add(
            name,
            f"{med['first'] * 1000:.0f} ms",
            f"{med['rss']:.0f} MiB",
            f"{med['peak']:.0f} MiB",
            f"{med['cpu'] * 100:.0f}% of a core",
            "readable" if med["fits"] else "cut",
        )
    if "Textual" not in libraries:
        table.add("Textual", "not installed", "", "", "", "")
    table.note("Headless: prompt_toolkit's create_pipe_input and DummyOutput; Textual's run_test.")
    table.note("Over ssh both write escape sequences only; Textual's input takes 3 rows of 24.")
    table.print()


if __name__ == "__main__":
    main()
