"""The compiled build's rows for bench.run_all: bench.direct run again on the compiled build
(setup.py), in the copy of this checkout that `.ci/run-compiled` builds, with its own venv.

    .ci/run-compiled --co -q          # builds .compiled/ (a few minutes), lists the tests
    python -m bench.run_all           # then adds the compiled rows beside the pure ones
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bench.common import ROOT, Table, rate, ratio, us

#: The compiled build's copy of the checkout, and what it was copied from.
TREE = ROOT / ".compiled"
PYTHON = TREE / ".venv" / "bin" / "python"
BUILT_FROM = TREE / "BUILT_FROM"
#: The targets of docs/ARCHITECTURE.md's benchmarks, send to ack against raw UDP.
ONE_TARGET = {"pure": "<= 1.50x", "compiled": "<= 1.20x"}
MANY_TARGET = ">= 0.50x"


def available() -> bool:
    return PYTHON.exists()


def built_from() -> str:
    """The commit the compiled copy was made from (written by .ci/run-compiled)."""
    try:
        return BUILT_FROM.read_text().strip()
    except OSError:
        return "unknown"


def run_bench(module: str, argv: list[str]) -> str:
    """Run `python -m bench.<module> argv` on the compiled build; show and keep its tables
    (with bench.run_all's), and return them."""
    command = [str(PYTHON), "-m", f"bench.{module}", *argv]
    done = subprocess.run(command, cwd=TREE, stdout=subprocess.PIPE, text=True)
    print(done.stdout, end="", flush=True)
    Table.printed.append(done.stdout)
    done.check_returncode()
    return done.stdout


def run_direct(argv: list[str]) -> dict[str, Any]:
    """bench.direct on the compiled build (`run_bench`); return its summary (`--summary`)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as summary:
        run_bench("direct", [*argv, "--summary", summary.name])
        result: dict[str, Any] = json.loads(Path(summary.name).read_text() or "{}")
    return result


def comparison(pure: dict[str, dict[str, float]], compiled: dict[str, Any]) -> None:
    """Print the table of bench.direct's two targets, each build beside raw UDP of its run."""
    table = Table(
        "Direct send to ack, pure and compiled builds, each against raw UDP of its own run",
        ["loop", "build", "one at a time", "raw UDP", "ratio", "target",
         "32 in flight", "raw echo", "ratio", "target"],
    )  # fmt: skip
    builds = {"pure": pure, "compiled": compiled.get("loops", {})}
    for loop in pure:
        for build, loops in builds.items():
            m = loops.get(loop)
            if m is None:
                continue
            table.add(
                loop, build, us(m["one"]), us(m["raw"]), ratio(m["one"], m["raw"]),
                ONE_TARGET[build], rate(m["many_rate"]), rate(m["raw_rate"]),
                ratio(m["many_rate"], m["raw_rate"]), MANY_TARGET,
            )  # fmt: skip
    table.note(f"compiled build: .compiled/, copied from {built_from()} (.ci/run-compiled)")
    table.print()
