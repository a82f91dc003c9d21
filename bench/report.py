"""What bench.run_all leaves behind: every table in one file a person can diff run to run,
and, when matplotlib is installed, a plot of send_all time against members beside it.

    bench/results/latest.md      this run: the date, the commit, the builds, every table
    bench/results/previous.md    the run before (latest.md moved aside)
    bench/results/send_all.png   send_all median against members, ChatApp beside ngircd

`diff bench/results/previous.md bench/results/latest.md` shows what changed between runs.
"""

from __future__ import annotations

import datetime
import subprocess
from collections.abc import Sequence
from pathlib import Path

from bench.common import ROOT

RESULTS = ROOT / "bench" / "results"
#: The title the send_all table starts with (bench/relay.py `send_all_table`).
SEND_ALL_TITLE = "### send_all:"


def commit() -> str:
    """The checkout's commit, with "+ changes" when its tracked files differ from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=ROOT).returncode != 0
    except OSError:
        return "unknown (no git)"
    return f"{head or 'unknown'}{' + changes' if dirty else ''}"


def write(tables: Sequence[str], header: Sequence[str]) -> Path:
    """Write `tables` under `header` lines to latest.md (the previous one kept as
    previous.md), and the plot when it can; return the file written."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    latest = RESULTS / "latest.md"
    if latest.exists():
        latest.replace(RESULTS / "previous.md")
    stamp = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    lines = ["# bench.run_all", "", f"- date: {stamp}", f"- commit: {commit()}", *header, ""]
    latest.write_text("\n".join(lines) + "\n" + "\n".join(tables))
    plot = plot_send_all(tables, RESULTS / "send_all.png")
    if plot:
        print(plot)
    return latest


def send_all_series(tables: Sequence[str]) -> dict[str, list[tuple[int, float]]]:
    """From the send_all tables: (members, median ms) per line to draw, named by table
    suffix, loop and receivers ("asyncio, PeerNodes"), and ngircd's ("asyncio, ngircd")."""
    series: dict[str, list[tuple[int, float]]] = {}
    for text in tables:
        if not text.startswith(SEND_ALL_TITLE):
            continue
        build = " (compiled build)" if "[compiled build]" in text.splitlines()[0] else ""
        for row in text.splitlines()[4:]:
            cells = [c.strip() for c in row.strip().strip("|").split("|")]
            if len(cells) < 7 or not cells[1].isdigit():
                continue
            loop, members, receivers, med, irc = (
                cells[0],
                int(cells[1]),
                cells[2],
                cells[3],
                cells[5],
            )
            if med.endswith(" ms"):
                series.setdefault(f"{loop}, {receivers}{build}", []).append((members, _ms(med)))
            if irc.endswith(" ms"):
                series.setdefault(f"{loop}, ngircd", []).append((100, _ms(irc)))
    return {name: sorted(set(points)) for name, points in series.items()}


def _ms(cell: str) -> float:
    return float(cell.removesuffix(" ms").replace(",", ""))


def plot_send_all(tables: Sequence[str], path: Path) -> str:
    """Save the send_all plot to `path`; say what was done, or why not ("" if no data)."""
    series = send_all_series(tables)
    if not series:
        return ""
    try:
        import matplotlib

        matplotlib.use("Agg")  # a file, no display
        import matplotlib.pyplot as plt
    except ImportError:
        return f"(no plot: matplotlib is not installed; pip install matplotlib for {path.name})"
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, points in sorted(series.items()):
        xs, ys = zip(*points, strict=True)
        ax.plot(xs, ys, marker="o" if len(xs) > 1 else "s", label=name)
    ax.set_xlabel("members")
    ax.set_ylabel("send_all median, typed until every member has it (ms)")
    ax.set_title("send_all time against members (ngircd measured at 100)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return f"plot: {path}"
