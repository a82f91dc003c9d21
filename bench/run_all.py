"""Every benchmark at modest sizes, one after the other, each table with its baseline from
the same run; then all the tables again together. Takes a few minutes on 2 cores.

When the compiled build is present (.compiled/, made by .ci/run-compiled), each benchmark of
a message's cost (direct, direct_path, send_all, burst, cpu_line, peer_line) runs again on
it beside its pure run, and a table sets both builds' direct targets side by side
(bench/compiled.py). Every table is written to bench/results/latest.md, with a plot of
send_all when matplotlib is installed (bench/report.py).

    python -m bench.run_all [--loop asyncio|uvloop|both] [--quick] [--no-compiled] [--skip a,b]
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable

from bench import (
    compiled,
    cpu_line,
    direct,
    direct_path,
    flood,
    mailbox,
    memory,
    peer_line,
    relay,
    report,
    saves,
    screen,
    screen_libs,
    table_bytes,
    udp_raw,
)
from bench.common import Table, idle_wait, raise_fd_limit, scratch_folder


def main(argv: list[str] | None = None) -> None:
    scratch_folder()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loop", default="both", help="asyncio, uvloop or both (if installed)")
    parser.add_argument("--quick", action="store_true", help="smaller counts, for a smoke run")
    parser.add_argument(
        "--no-compiled", action="store_true", help="leave out the compiled build's rows"
    )
    parser.add_argument("--skip", default="", help="steps to leave out, by name: flood,join")
    args = parser.parse_args(argv)
    raise_fd_limit()
    q = args.quick
    started = time.perf_counter()
    direct_args = ["--loop", args.loop, "--count", "2000" if q else "8000"]
    pure: dict[str, dict[str, float]] = {}
    with_compiled = compiled.available() and not args.no_compiled
    raw_args = ["--count", "50000" if q else "150000", "--rtts", "1000" if q else "3000"]
    #: The benchmarks of a message's cost, each run again on the compiled build beside it.
    per_message: list[tuple[str, str, list[str]]] = [
        ("direct_path", "direct_path", ["--count", "1000" if q else "5000"]),
        ("send_all", "relay", ["send_all", "--loop", args.loop, "--sizes",
                               "10,100" if q else "10,100,500", "--rounds", "10" if q else "30"]),
        ("burst", "relay", ["burst", "--loop", args.loop, "--burst", "50" if q else "200",
                            "--turns", "1" if q else "5"]),
        ("cpu_line", "cpu_line", ["--loop", args.loop, "--members", "100" if q else "1000"]),
        ("peer_line", "peer_line", ["--loop", args.loop, "--turns", "4" if q else "8"]),
    ]  # fmt: skip
    steps: list[tuple[str, Callable[[], object]]] = [
        ("udp_raw", lambda: udp_raw.main(["--loop", args.loop, *raw_args])),
        ("direct", lambda: pure.update(direct.main(direct_args))),
    ]
    if with_compiled:
        steps.append(("direct, compiled build", lambda: _compiled_direct(direct_args, pure)))
    modules = {
        "direct_path": direct_path.main,
        "relay": relay.main,
        "cpu_line": cpu_line.main,
        "peer_line": peer_line.main,
    }
    for name, module, argv in per_message:
        steps.append((name, functools.partial(modules[module], argv)))
        if with_compiled:
            twin = functools.partial(compiled.run_bench, module, argv)
            steps.append((f"{name}, compiled build", twin))
    steps += [
        (
            "join",
            lambda: relay.main(
                ["join", "--loop", args.loop, "--join", "100" if q else "500", "--limit", "60"]
            ),
        ),
        (
            "table_bytes",
            lambda: table_bytes.main(["--sizes", "10,100,1000" if q else "10,100,1000,5000"]),
        ),
        (
            "mailbox",
            lambda: mailbox.main(["--loop", args.loop, "--count", "2000" if q else "10000"]),
        ),
        ("saves", lambda: saves.main(["--count", "1000" if q else "5000"])),
        ("memory", lambda: memory.main(["--peers", "2000" if q else "10000"])),
        ("flood", lambda: flood.main(["--seconds", "2" if q else "4"])),
        ("screen", lambda: screen.main(["--seconds", "2" if q else "5"])),
        ("screen_libs", lambda: screen_libs.main(["--runs", "1" if q else "3"])),
    ]
    skipped = set(args.skip.split(","))
    for name, step in [(name, step) for name, step in steps if name not in skipped]:
        t0 = time.perf_counter()
        print(f"## {name}", flush=True)
        try:
            step()
        except Exception as exc:  # one failing benchmark must not hide the others
            table = Table(f"{name}: FAILED", ["error"])
            table.add(f"{type(exc).__name__}: {exc}")
            table.print()
        print(f"({name}: {time.perf_counter() - t0:.0f} s)\n", flush=True)
    print("=" * 100)
    print(f"# All tables ({time.perf_counter() - started:.0f} s in all)\n")
    for text in Table.printed:
        print(text)
    header = [
        f"- loops: {args.loop}{', quick' if q else ''}",
        f"- left out: {args.skip or 'nothing'}",
        "- compiled build: "
        + (f".compiled/ from {compiled.built_from()}" if with_compiled else "not run"),
        f"- took: {time.perf_counter() - started:.0f} s",
        f"- {idle_wait()} (bench/common.py: it sets every round trip's floor)",
    ]
    print(f"written: {report.write(Table.printed, header)}")


def _compiled_direct(argv: list[str], pure: dict[str, dict[str, float]]) -> None:
    """bench.direct on the compiled build, then both builds' targets in one table."""
    compiled.comparison(pure, compiled.run_direct(argv))


if __name__ == "__main__":
    main()
