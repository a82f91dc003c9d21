"""A process forked by the tests' fork server (tests/fork_server.py) is one a fresh
interpreter would be: the same output, exit status and end by a signal, as the test's
own child."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from tests import forked_terminal
from tests.e2e.harness import ChatEnv
from tests.fork_server import REPO, ForkedPopen, popen

#: Programs for `-c`: what each prints of its start, and how it ends.
PROGRAMS = {
    "its start": (
        "import os, sys; print(__name__, sys.argv, sys.path[0] == '', os.getcwd(),"
        " os.environ.get('ONLY_HERE'), sys.stdin.readline().strip(),"
        " sys.stdout.seekable(), sys.stdout.line_buffering, sys.stdout.write_through,"
        " sys.stdin.encoding, sys.stderr.errors); sys.exit(3)"
    ),
    "an exit with a message": "import sys; sys.exit('leaving')",
    "an uncaught exception": "raise ValueError('out')",
    "output closed before its end": "import os, sys; print('x'); os.close(1)",
    "an end awaiting a thread and atexit": (
        "import atexit, sys, threading, time; atexit.register(print, 'at exit');"
        " threading.Thread(target=lambda: (time.sleep(0.2), print('thread'))).start();"
        " sys.exit(5)"
    ),
}


def _both(argv: list[str], **options: object) -> list[tuple[str, str, int]]:
    """`argv` run fresh, then forked: what each wrote, and its status."""
    ran = []
    for start in (subprocess.Popen, popen):
        proc = start(
            argv,
            cwd=REPO,
            env=dict(os.environ, ONLY_HERE="yes", PYTHONUNBUFFERED="1"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            **options,
        )
        assert isinstance(proc, ForkedPopen) == (start is popen)
        out, err = proc.communicate("a line\n", timeout=30)
        ran.append((out, err, proc.returncode))
    return ran


@pytest.mark.timeout(60)
@pytest.mark.parametrize("program", PROGRAMS)
def test_a_forked_program_starts_and_ends_as_a_fresh_one(program: str) -> None:
    fresh, forked = _both([sys.executable, "-c", PROGRAMS[program], "one", "two"])
    assert forked == fresh


@pytest.mark.timeout(60)
def test_a_forked_script_starts_and_ends_as_a_fresh_one(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    said = "print(__name__, __file__, sys.argv, sys.path[0])"
    script.write_text(f"import sys\n{said}\nraise KeyError(sys.argv[1])\n")
    fresh, forked = _both([sys.executable, "-u", str(script), "one"])
    assert forked == fresh


@pytest.mark.timeout(60)
@pytest.mark.parametrize("words", [["--version"], ["-s", "not-a-port"], ["--help"]])
def test_chatapp_forked_says_and_ends_as_a_fresh_one(words: list[str]) -> None:
    fresh, forked = _both([sys.executable, "-u", "-m", "ChatApp", *words])
    assert forked == fresh


@pytest.mark.timeout(60)
@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_a_forked_process_is_the_tests_child_and_ends_by_a_signal_as_a_fresh_one(
    sent: signal.Signals,
) -> None:
    program = "import os, sys; print(os.getppid(), flush=True); sys.stdin.read()"
    statuses = []
    # both starts from SIGINT's default, as at a terminal (test_core_launcher does the same):
    # a fresh start inherits SIGINT ignored, and in two compiled runs of the suite, started
    # in the background of a script, the fresh process never ended on SIGINT
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _signalled_twice(program, sent, statuses)
    finally:
        signal.signal(signal.SIGINT, before)
    assert statuses[1] == statuses[0]


def _signalled_twice(program: str, sent: signal.Signals, statuses: list[int]) -> None:
    """Start `program` fresh, then forked, send each `sent`, and add its exit status to
    `statuses`."""
    for start in (subprocess.Popen, popen):
        proc = start(
            [sys.executable, "-c", program],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdout is not None
        assert int(proc.stdout.readline()) == os.getpid()
        proc.send_signal(sent)
        statuses.append(proc.wait(timeout=30))
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.close()
        proc.stdout.close()


@pytest.mark.timeout(30)
def test_what_a_server_cannot_give_starts_fresh(tmp_path: Path) -> None:
    elsewhere = popen([sys.executable, "-c", "pass"], cwd=tmp_path)
    with_an_option = popen([sys.executable, "-X", "utf8", "-c", "pass"], cwd=REPO)
    for proc in (elsewhere, with_an_option):
        assert not isinstance(proc, ForkedPopen)
        assert proc.wait(timeout=20) == 0


@pytest.mark.timeout(60)
def test_forked_processes_make_keys_of_their_own() -> None:
    """The server loads OpenSSL's backend before it forks: each process still draws its
    own randomness (a key, a nonce), as fresh ones do."""
    code = (
        "import os, nacl.utils; from cryptography.hazmat.primitives.asymmetric.x25519 import"
        " X25519PrivateKey; print(X25519PrivateKey.generate().public_key().public_bytes_raw()"
        ".hex(), nacl.utils.random(16).hex(), os.urandom(16).hex())"
    )
    drawn = []
    for _ in range(3):
        proc = popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
        assert isinstance(proc, ForkedPopen)
        drawn.extend(proc.communicate(timeout=30)[0].split())
    assert len(drawn) == len(set(drawn)) == 9


@pytest.mark.timeout(60)
def test_the_end_to_end_harness_forks_the_programs_it_starts(tmp_path: Path) -> None:
    chat = ChatEnv(tmp_path)
    try:
        registry = chat.start_registry()
        peer = chat.start_peer("alice")
        for proc in (registry, peer):
            assert isinstance(proc.popen, ForkedPopen)
    finally:
        chat.close()


#: What a program on a terminal sees of it: its streams on it, it its controlling terminal,
#: the leader of its own session, the terminal's size; then a line typed, and a Ctrl-C.
ON_A_TERMINAL = (
    "import os, shutil, sys; print([s.isatty() for s in (sys.stdin, sys.stdout, sys.stderr)],"
    " os.getsid(0) == os.getpid(), os.tcgetpgrp(0) == os.getpgrp(),"
    " os.get_terminal_size(), sys.stdout.line_buffering, flush=True);"
    " print(input('typed? ')); input('more? ')"
)


@pytest.mark.timeout(60)
def test_a_program_forked_on_a_terminal_sees_it_and_ends_as_a_fresh_one() -> None:
    seen: list[tuple[str, int | None, int | None]] = []
    # both starts from SIGINT's default, as the test above
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        for start in (pexpect.spawn, forked_terminal.Spawn):
            seen.append(_typed_to_then_interrupted(start(
                sys.executable, ["-c", ON_A_TERMINAL], cwd=str(REPO), encoding="utf-8",
                timeout=30, dimensions=(30, 90), env=dict(os.environ, PYTHONUNBUFFERED="1"),
            )))  # fmt: skip
    finally:
        signal.signal(signal.SIGINT, before)
    assert "[True, True, True] True True os.terminal_size(columns=90, lines=30) False" in seen[0][0]
    assert "KeyboardInterrupt" in seen[0][0]
    assert seen[1] == seen[0]


def _typed_to_then_interrupted(child: pexpect.spawn) -> tuple[str, int | None, int | None]:
    """What `child` (ON_A_TERMINAL) said, given a line and then a Ctrl-C, and how it ended."""
    try:
        child.expect("typed\\? ")
        said = child.before
        child.sendline("a line")
        child.expect("more\\? ")
        child.sendintr()
        child.expect(pexpect.EOF)
        said += child.before
    finally:
        child.close()
    return said.replace("\r\n", "\n"), child.exitstatus, child.signalstatus


@pytest.mark.timeout(20)  # (buffered, it waits here for its line until the timeout)
def test_a_start_with_u_is_unbuffered_where_the_environment_says_nothing() -> None:
    """`python -u` forked, under an environment without PYTHONUNBUFFERED (a clean one, as
    `env -i` gives): its line reaches the pipe before it ends, as a fresh one's does."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    code = "import sys; print('ready'); sys.stdin.readline()"
    for start in (subprocess.Popen, popen):
        proc = start(
            [sys.executable, "-u", "-c", code],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert isinstance(proc, ForkedPopen) == (start is popen)
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline() == "ready\n"  # (buffered, it would wait for the end)
        proc.stdin.write("\n")
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
