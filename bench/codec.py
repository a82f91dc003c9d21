"""The codec's cost: encode and decode of a `Chat` and an `Ack`, in µs per round trip,
beside the same from another revision of the code, measured in turns in one run.

    python -m bench.codec [--against REV] [--rounds N]

Each side runs in a fresh process of its own checkout (the other in a temporary git
worktree), alternating round by round so that both meet the same moments of this shared
machine; the table gives each side's median over the rounds and their range.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import timeit
from collections.abc import Iterator
from pathlib import Path

from bench.common import ROOT, Table, median, ratio

#: Round trips timed per sample; the best of SAMPLES samples is a round's figure.
LOOPS = 20_000
SAMPLES = 5


def measure() -> dict[str, float]:
    """µs per encode+decode of a typical Chat and Ack, with the codec importable here."""
    from wire.codec import decode, encode
    from wire.messages import Ack, Chat

    chat = Chat("k3f9-1042", "alice", "bob", "see you at the station at six, by the clock")
    ack = Ack("b7q2-88", "k3f9-1042")
    figures = {}
    for name, message in (("Chat", chat), ("Ack", ack)):
        assert decode(encode(message)) == message
        timer = timeit.Timer(lambda m=message: decode(encode(m)))  # type: ignore[misc]
        best = min(timer.repeat(SAMPLES, LOOPS))
        figures[name] = best / LOOPS * 1e6
    return figures


def _run_in(folder: Path) -> dict[str, float]:
    code = "import json, bench.codec as c; print(json.dumps(c.measure()))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=folder, capture_output=True, text=True, check=True
    )
    figures: dict[str, float] = json.loads(out.stdout)
    return figures


@contextlib.contextmanager
def _checkout(rev: str) -> Iterator[Path]:
    """A temporary worktree of `rev`, with this bench script in it."""
    with tempfile.TemporaryDirectory(prefix="chatapp-codec-") as tmp:
        folder = Path(tmp) / "tree"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "-q", str(folder), rev], cwd=ROOT, check=True
        )
        try:
            (folder / "bench" / "codec.py").write_text(Path(__file__).read_text())
            yield folder
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=ROOT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="", help="a git revision to compare with")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sides = {"this checkout": ROOT}
    with contextlib.ExitStack() as stack:
        if args.against:
            sides[args.against] = stack.enter_context(_checkout(args.against))
        runs: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
        for _ in range(args.rounds):
            for side, folder in sides.items():
                runs[side].append(_run_in(folder))
    table = Table(
        "Codec: encode + decode, µs per message", ["message", *sides, "ratio (this / other)"]
    )
    for name in ("Chat", "Ack"):
        cells = []
        medians = []
        for side in sides:
            values = [run[name] for run in runs[side]]
            medians.append(median(values))
            cells.append(f"{median(values):.2f} ({min(values):.2f}-{max(values):.2f})")
        other = ratio(medians[0], medians[1]) if len(medians) > 1 else ""
        table.add(name, *cells, other)
    table.note(f"median (range) over {args.rounds} rounds in turn; each round the best of")
    table.note(f"{SAMPLES} samples of {LOOPS:,} round trips, in a fresh process per side.")
    table.print()


if __name__ == "__main__":
    main()
