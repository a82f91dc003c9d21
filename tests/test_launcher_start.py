"""`ChatApp --help` loads the launcher alone, not the program it starts: the wire codec,
the registry and the peer take longer to import than the rest, and --help needs none of
them. A test of what is imported, not of how long it takes (a shared machine's timings
would make a flaky test)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import ChatApp
from launcher import checks

ROOT = Path(__file__).resolve().parent.parent

#: What --help must not load: the program's packages, asyncio (needed only once a mode
#: runs), and a library to read a command line (typer took a fifth of a start's CPU:
#: launcher/command_line.py reads it itself).
HEAVY = ("wire", "secure", "disk", "terminal", "net", "registry", "peer", "asyncio")
HEAVY += ("typer", "click", "argparse")


def _imported_by(*args: str, status: int = 0, said: str = "Usage: ChatApp") -> list[str]:
    """The modules `ChatApp.py <args>` imports, in order, from Python's -X importtime; it
    ends with `status`, having `said` a line."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", str(ROOT / "ChatApp.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == status, done.stderr
    assert said in done.stdout + done.stderr
    # "import time:  self [us] | cumulative | imported package"
    return [
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and not line.endswith("imported package")
    ]


@pytest.mark.parametrize("option", ["--help", "-h"])
def test_help_loads_none_of_the_program(option: str) -> None:
    imported = _imported_by(option)
    assert "launcher.command_line" in imported and "launcher.checks" in imported  # read right
    assert [name for name in imported if name.split(".")[0] in HEAVY] == []


@pytest.mark.timeout(40)
def test_a_peer_s_start_loads_no_registry_code() -> None:
    # the registry's values are checked by every mode, but made into its settings by a
    # registry alone (a peer's start loaded the registry's core with them: 10 ms of each)
    imported = _imported_by(
        "-c", "alice", "127.0.0.1", "5000", "no-port", status=2, said="client-port"
    )
    assert "launcher.checks" in imported
    assert [name for name in imported if name.split(".")[0] == "registry"] == []


@pytest.mark.parametrize(
    ("copy", "source", "name"),
    [
        ("MAILBOX_MESSAGES", "registry.core.post_office", "MAILBOX_MESSAGES"),
        ("NEW_NAMES", "registry.core.flood", "NEW_NAMES"),
        ("FORGET_AFTER", "registry.core.dispatch", "FORGET_AFTER"),
        ("NEWCOMER_NAMES", "registry.core.dispatch", "NEWCOMER_NAMES"),
        ("TYPICAL_SESSION", "registry.core.desk.limits", "TYPICAL_SESSION"),
    ],
)
def test_the_registry_defaults_help_shows_are_the_registry_s(
    copy: str, source: str, name: str
) -> None:
    # copied so that --help need not import the registry; the launcher passes them on as
    # the registry's settings, so a copy left behind would change what a registry does
    module = __import__(source, fromlist=[name])
    assert getattr(checks, copy) == getattr(module, name)


def test_help_into_a_pipe_closed_early_is_no_traceback() -> None:
    # found by trying it: `ChatApp --help | head -2` ended in a BrokenPipeError traceback
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written
    try:
        done = subprocess.run(
            [sys.executable, str(Path(ChatApp.__file__)), "--help"],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=15,
        )
    finally:
        os.close(write)
    assert done.returncode == 1 and done.stderr == ""


#: A mode's start that Ctrl-C cuts after its event loop is made, before the loop closes or
#: its coroutine starts (seen once in the suite: "Exception ignored in: <function
#: BaseEventLoop.__del__ ...>" with a traceback, and "coroutine 'run_peer' was never awaited").
_CUT_START = """
import asyncio, sys
import ChatApp
from launcher import event_loop

class Half:
    def __del__(self) -> None:
        raise RuntimeError("half made")

def cut(coro):
    sys.modules["__main__"].kept = (asyncio.new_event_loop(), coro, Half())
    raise KeyboardInterrupt

event_loop.run_guarded = cut
sys.exit(ChatApp.main(["-c", "x", "127.0.0.1", "5000", "5001"]))
"""


@pytest.mark.timeout(30)
def test_ctrl_c_that_cuts_a_start_leaves_without_a_word() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _CUT_START],
        cwd=Path(ChatApp.__file__).parent,
        stderr=subprocess.PIPE,
        text=True,
        timeout=20,
    )
    assert done.returncode == 130 and done.stderr == ""
