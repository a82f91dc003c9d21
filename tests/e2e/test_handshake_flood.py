"""A flood of handshake initiations, replayed and forged, from 60,000 spoofed source
addresses at 8,000 a second, at the registry and at a peer at once (bench/handshake_flood.py):
everyone else goes on as before. The flood goes on until each step is done, each within
PROMPT: a new peer registers (from the start of its process), a `send_all` arrives, two
peers chat directly, the newcomer too; the registry answered the flood with cookies, not
Diffie-Hellmans (its `stats`); and neither flooded process grows by 50 MB (docs/SECURITY.md,
"Handshakes under a flood"). The slowest steps are printed, beside the same steps just
before the flood. A few seconds of flood in the usual run; a minute with --run-soak."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .capture import can_capture
from .harness import (
    DEFAULT_TIMEOUT,
    HOST,
    REPO,
    WELCOME,
    ChatEnv,
    ChatProc,
    Peer,
    channel_line,
    chat_line,
    direct,
    line,
)
from .test_memory_bounds import key_of, status_kb

from wire.keys import key_text  # isort: skip

pytestmark = pytest.mark.skipif(not can_capture(), reason="needs a raw socket (root)")

#: Initiations a second at each flooded process, and their spoofed source addresses.
RATE = 8000
SOURCES = 60_000
#: Most a flooded process may grow by, in kB.
GROWTH_KB = 50 * 1024
#: Seconds each step is awaited, the flood going on meanwhile, so that a slow one is
#: measured and said (against PROMPT) rather than timed out. Without the defence (the check
#: under load taken out: every initiation opened, its Diffie-Hellmans done), a newcomer
#: took 26 s to register and its first message to bob never came within 60 s.
STEP_WAIT = 3 * DEFAULT_TIMEOUT
#: Seconds a flood goes on at most: until the test stops it, once its steps are done.
FLOOD_MOST = 170.0
#: Seconds each step takes at most under the flood: without it, under a tenth. Measured on
#: two cores kept busy by other programs: 1.4 s at most in 40 runs, most under 0.3 s. (A
#: newcomer took 4 to 8 s in one run of ten while the flooder, starved at its low priority,
#: made up the batches it had missed at once: 60,000 initiations in a burst overflowed the
#: registry's socket, honest datagrams lost with them. bench/handshake_flood.py keeps its
#: rate now.)
PROMPT = 2.0
#: What the registry's `stats` says of the initiations it answered with a cookie.
COOKIES = r"under load: answered with a cookie (\d+)"


class Flooder:
    """bench/handshake_flood.py flooding `port`'s process for at most `seconds`."""

    def __init__(self, port: int, seconds: float) -> None:
        key = key_text(key_of(port))
        # at the lowest priority: the attacker's CPU is its own machine's, not the one of
        # the processes it floods (on one machine, the flood takes only what they leave)
        self.popen = subprocess.Popen(
            ["nice", "-n", "19", sys.executable, "-m", "bench.handshake_flood",
             "--rate", str(RATE), "--seconds", str(seconds), "--sources", str(SOURCES),
             "--", f"{HOST}:{port}", key],  # (a key's text may begin with "-")
            cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.popen.stdout is not None
        assert json.loads(self.popen.stdout.readline()) == {"started": True}

    def stop(self) -> int:
        """Stop it (if still going); how many it sent (0: not said). Asked by closing its
        stdin, then killed if it has not stopped within 10 s. Its niceness is taken back
        first: at the lowest priority, a loaded machine left it no CPU to notice for 10 s."""
        with contextlib.suppress(OSError):  # (gone already)
            os.setpriority(os.PRIO_PROCESS, self.popen.pid, 0)
        try:  # (communicate closes its stdin first)
            out, _ = self.popen.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            out, _ = self.popen.communicate(timeout=10)
        said = [json.loads(text) for text in out.splitlines() if text.startswith("{")]
        return int(said[-1].get("sent", 0)) if said else 0


def cpu_seconds(proc: ChatProc) -> float:
    fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime, stime in clock ticks


def _peer(chat: ChatEnv, name: str, *, wait: bool = True) -> Peer:
    """A peer with a data folder, and so a key, of its own."""
    return chat.start_peer(name, data_dir=chat.root / name, wait=wait)


def _timed(proc: ChatProc, pattern: str, start: float | None = None) -> float:
    """Seconds from `start` (else now) until `proc` prints a line matching `pattern`
    (awaited within STEP_WAIT)."""
    start = time.monotonic() if start is None else start
    proc.expect(pattern, timeout=STEP_WAIT)
    return time.monotonic() - start


def _round(chat: ChatEnv, alice: Peer, bob: Peer, n: int | str) -> dict[str, float]:
    """A newcomer registers, alice sends to the channel, alice and bob chat, and the
    newcomer chats with bob: how long each took."""
    start = time.monotonic()  # from before its process starts
    newcomer = _peer(chat, f"carol{n}", wait=False)
    taken = {"register": _timed(newcomer, line(WELCOME), start)}
    alice.send(f"send_all flood {n}")
    taken["send_all"] = _timed(bob, channel_line("alice", f"flood {n}"))
    alice.send(f"send bob still here {n}")
    taken["direct"] = _timed(bob, chat_line("alice", f"still here {n}"))
    # a first handshake with the flooded peer: it asks for a cookie first
    newcomer.send(f"send bob hello {n}")
    taken["first direct"] = _timed(bob, chat_line(newcomer.name, f"hello {n}"))
    newcomer.close_stdin()  # quits
    return taken


def _flooded(chat: ChatEnv, seconds: float, rounds: int) -> None:
    registry = chat.start_registry()
    alice, bob = _peer(chat, "alice"), _peer(chat, "bob")
    alice.expect_line("[bob is online]")  # (the table's push may come after bob's Welcome)
    direct(alice, bob, "before the flood")
    # the same steps without the flood, just before it: the machine's own pace (on a busy
    # machine a step takes longer flooded or not), printed beside the flooded ones
    calm = _round(chat, alice, bob, "calm")
    flooded = {"registry": registry, "bob": bob}
    rss = {name: status_kb(proc, "VmRSS") for name, proc in flooded.items()}
    cpu = {name: cpu_seconds(proc) for name, proc in flooded.items()}
    assert chat.registry_port is not None
    flooders = [Flooder(chat.registry_port, FLOOD_MOST), Flooder(bob.port, FLOOD_MOST)]
    began = time.monotonic()
    taken: list[dict[str, float]] = []
    try:
        for n in range(rounds):
            time.sleep(1.5 if n == 0 else seconds / (rounds + 1))  # the flood well under way
            taken.append(_round(chat, alice, bob, n))
        elapsed = time.monotonic() - began
        grown = {name: status_kb(proc, "VmRSS") - rss[name] for name, proc in flooded.items()}
        used = {name: (cpu_seconds(proc) - cpu[name]) / elapsed for name, proc in flooded.items()}
        registry.send("stats")
        cookies = int(registry.expect(COOKIES).group(1))
    finally:
        sent = sum(flooder.stop() for flooder in flooders)
    worst = {what: max(t[what] for t in taken) for what in taken[0]}
    print(
        f"\n{sent} initiations in {elapsed:.1f} s; slowest: "
        + ", ".join(f"{what} {t:.2f} s" for what, t in worst.items())
        + f"; RSS growth {grown} kB; CPU "
        + ", ".join(f"{name} {share:.0%}" for name, share in used.items())
        + f"; {cookies} answered with a cookie by the registry; before the flood: "
        + ", ".join(f"{what} {t:.2f} s" for what, t in calm.items())
    )
    assert cookies > 0, "the registry did a Diffie-Hellman for every initiation of the flood"
    slow = {what: t for what, t in worst.items() if t > PROMPT}
    assert not slow, f"under the flood, steps took more than {PROMPT} s: {slow}"
    for name, kb in grown.items():
        assert kb < GROWTH_KB, f"{name} grew by {kb} kB under the flood"


@pytest.mark.slow
@pytest.mark.timeout(300)  # five processes, two rounds: a minute on a loaded machine, 8 steps
def test_a_handshake_flood_from_60000_spoofed_sources_delays_nobody(chat: ChatEnv) -> None:
    _flooded(chat, seconds=30.0, rounds=1)


@pytest.mark.soak
@pytest.mark.timeout(180)
def test_a_minute_of_handshake_flood_delays_nobody(chat: ChatEnv) -> None:
    _flooded(chat, seconds=60.0, rounds=10)
