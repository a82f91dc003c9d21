"""The README's picture of the full screen, from a real session: a registry, bob and carol
piped, and alice full-screen on an 80x24 pseudo-terminal read through pyte; the screen
is written as an SVG while bob's file moves.

    python -m bench.screenshot [--out docs/full-screen.svg]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import threading
import time
from html import escape
from pathlib import Path
from typing import IO, Any

from bench.common import ROOT
from bench.screen import Registry, _drain, _peer, _type
from bench.screen_libs import Child

PORT = 22960
#: Colours of a dark terminal, by pyte's names (others are hex already).
PALETTE = {
    "default": "#d0d0d0",
    "black": "#1c1c1c",
    "red": "#d75f5f",
    "green": "#5faf5f",
    "brown": "#d7af5f",
    "yellow": "#d7af5f",
    "blue": "#5f87d7",
    "magenta": "#af5faf",
    "cyan": "#5fafaf",
    "white": "#d0d0d0",
    "brightblack": "#808080",
}
BACKGROUND = "#1c1c1c"
CELL_W, CELL_H = 8.4, 17


def _colour(name: str, fallback: str) -> str:
    if name == "default":
        return fallback
    if len(name) == 6 and all(c in "0123456789abcdef" for c in name.lower()):
        return "#" + name
    return PALETTE.get(name) or PALETTE.get(name.removeprefix("bright"), fallback)


def svg(screen: Any) -> str:
    """The pyte `screen` as an SVG: a run of cells of one look per <text>, with its box."""
    width, height = screen.columns * CELL_W, screen.lines * CELL_H
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height + 8:.0f}"'
        ' font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="14">',
        f'<rect width="100%" height="100%" fill="{BACKGROUND}"/>',
    ]
    for y in range(screen.lines):
        row = screen.buffer[y]
        x = 0
        while x < screen.columns:
            first = row[x]
            look = (first.fg, first.bg, first.bold, first.reverse)
            end = x
            while end < screen.columns and (
                (row[end].fg, row[end].bg, row[end].bold, row[end].reverse) == look
            ):
                end += 1
            out += _run(x, y, "".join(row[i].data for i in range(x, end)), look)
            x = end
    out.append("</svg>")
    return "\n".join(out)


def _run(x: int, y: int, text: str, look: tuple[str, str, bool, bool]) -> list[str]:
    fg_name, bg_name, bold, reverse = look
    fg, bg = _colour(fg_name, PALETTE["default"]), _colour(bg_name, BACKGROUND)
    if reverse:
        fg, bg = bg, fg
    parts = []
    left, top = x * CELL_W, y * CELL_H + 4
    if bg != BACKGROUND:
        parts.append(
            f'<rect x="{left:.1f}" y="{top}" width="{len(text) * CELL_W:.1f}" '
            f'height="{CELL_H}" fill="{bg}"/>'
        )
    if text.strip():
        weight = ' font-weight="bold"' if bold else ""
        parts.append(
            f'<text x="{left:.1f}" y="{top + 13}" fill="{fg}"{weight} xml:space="preserve" '
            f'textLength="{len(text) * CELL_W:.1f}">{escape(text)}</text>'
        )
    return parts


def _piped(name: str, folder: Path, code: str) -> tuple[subprocess.Popen[str], IO[str]]:
    proc = subprocess.Popen(
        _peer(name, PORT, folder, code),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    threading.Thread(target=_drain, args=(proc.stdout,), daemon=True).start()
    return proc, proc.stdin


def _say(stdin: IO[str], *lines: str) -> None:
    for line in lines:
        stdin.write(line + "\n")
        stdin.flush()
        time.sleep(0.15)


def session(folder: Path) -> str:
    """Play the session in `folder` (made) and return the SVG of alice's screen while bob's
    file moves."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    registry = Registry(PORT, folder)
    big = folder / "holiday-photos.tar"
    with big.open("wb") as out:
        out.truncate(400_000_000)
    bob, to_bob = _piped("bob", folder, registry.code)
    carol, to_carol = _piped("carol", folder, registry.code)
    env = dict(os.environ, PROMPT_TOOLKIT_NO_CPR="1")
    downloads = ["--downloads", str(folder / "Downloads")]
    alice = Child([*_peer("alice", PORT, folder, registry.code), *downloads], env)
    try:
        alice.wait_for("[Welcome")
        _type(alice, "join lab\r")
        _say(to_bob, "join lab", "morning all", "the build is green again")
        _say(to_carol, "join kitchen", "/send_all coffee machine is fixed")
        _say(to_carol, "/send alice are you coming to the demo?")
        _say(to_bob, "/me waves at alice", "alice, can you review the screen patch?")
        alice.wait_for("review the screen")
        _say(to_bob, f"/file alice {big}")
        alice.wait_for("/accept 1")
        _type(alice, "/accept 1\r")
        _type(alice, "sure, sending notes after lunch")
        alice.wait_until(lambda rows: any("MB/s" in row for row in rows), "a moving bar", 60)
        alice.pump()
        print("\n".join(row.rstrip() for row in alice.screen.display))
        return svg(alice.screen)
    finally:
        alice.close()
        for proc in (bob, carol):
            proc.kill()
            proc.wait()
        registry.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "full-screen.svg"))
    args = parser.parse_args(argv)
    scratch = Path(tempfile.gettempdir()) / "chatapp-demo"  # a short path in the picture
    try:
        picture = session(scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    Path(args.out).write_text(picture)
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
