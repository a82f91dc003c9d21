"""Command-line mistakes give a one-line error and exit status 2, never a traceback
(docs/GUIDE.md, "Starting")."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wire.version import WIRE_VERSION, build_name

from .harness import CHATAPP, HOST, WELCOME, ChatEnv, free_port

BAD = {
    "bad ip": ["-c", "x", "999.1.1.1", "5000", "6000"],
    "server port 80": ["-c", "x", "127.0.0.1", "80", "6000"],
    "client port 70000": ["-c", "x", "127.0.0.1", "5000", "70000"],
    "missing server port": ["-c", "x", "127.0.0.1"],
    "missing everything after -c": ["-c"],
    "registry port 80": ["-s", "80"],
    "registry port 70000": ["-s", "70000"],
    "registry without port": ["-s"],
    "mailbox limit 0": ["-s", "5000", "--mailbox-limit", "0"],
    "empty data dir": ["-s", "5000", "--data-dir", ""],
    "keepalive inf": ["-s", "5000", "--keepalive", "inf"],
    "keepalive nan": ["-c", "x", "127.0.0.1", "5000", "6000", "--keepalive", "nan"],
    # no CHATAPP_DESK_KEY, no registry data of this user, not a terminal to ask on
    "operator without a key": ["-o", "ann", "127.0.0.1", "5000"],
}


@pytest.mark.timeout(20)
@pytest.mark.parametrize("args", list(BAD.values()), ids=list(BAD))
def test_bad_command_line(chat: ChatEnv, args: list[str]) -> None:
    proc = chat.spawn(*args, label="launcher")
    proc.close_stdin()
    status = proc.wait_exit(10)
    output = proc.collect(5)
    text = "\n".join(output)
    assert status == 2, f"exit status {status} for {args}, output:\n{text}"
    assert "Traceback" not in text, f"a traceback for {args}:\n{text}"
    lines = [item for item in output if item.strip()]
    assert len(lines) == 1, f"expected one line of error for {args}, got {len(lines)}:\n{text}"


@pytest.mark.timeout(20)
def test_version_names_the_release_and_the_wire(chat: ChatEnv) -> None:
    # what a user compares between two machines when the registry says the versions differ
    proc = chat.spawn("--version", label="launcher")
    proc.close_stdin()
    assert proc.wait_exit(10) == 0
    (line,) = [item for item in proc.collect(5) if item.strip()]
    assert line.startswith("ChatApp ")
    assert line.endswith(f", wire {WIRE_VERSION}, {build_name()} build")


@pytest.mark.timeout(40)
def test_a_password_read_without_a_terminal_does_not_stop_the_peer(shared_chat: ChatEnv) -> None:
    # cron, CI or ssh without -t: no controlling terminal, so getpass reads the password
    # from standard input before the peer reads its commands from it
    chat = shared_chat
    argv = [
        sys.executable, str(CHATAPP), "-c", chat.named("pw"), HOST, str(chat.registry_port),
        str(free_port()), "--data-dir", str(chat.peer_dir), "--password", *chat.trusting(),
    ]  # fmt: skip
    for told, status in ((), 1), (("--new-password",), 0):
        done = subprocess.run(
            [*argv, *told],
            input="secret words\nwho\n",
            capture_output=True,
            text=True,
            timeout=20,
            start_new_session=True,  # no controlling terminal
        )
        assert "Traceback" not in done.stdout + done.stderr
        assert "GetPassWarning" not in done.stderr  # Python's own warning is not for the user
        assert done.returncode == status, done.stdout
        lines = done.stdout.splitlines()
        if status:  # a new name's password is set only when told, as no one can be asked
            said = ">>> [No password set (without a terminal: --new-password); nothing was sent.]"
            assert said in lines and f">>> {WELCOME}" not in lines
        else:
            assert f">>> {WELCOME}" in lines


@pytest.mark.timeout(30)
@pytest.mark.parametrize("given", ["\nwho\n", ""], ids=["empty line", "no input"])
def test_an_empty_password_is_refused_not_taken_as_no_protection(chat: ChatEnv, given: str) -> None:
    argv = [
        sys.executable, str(CHATAPP), "-c", "pw", HOST, "5000", str(free_port()),
        "--data-dir", str(chat.peer_dir), "--password",
    ]  # fmt: skip
    done = subprocess.run(
        argv, input=given, capture_output=True, text=True, timeout=20, start_new_session=True
    )
    assert done.returncode == 2
    assert "ChatApp: error: --password needs a password" in done.stderr
    assert "GetPassWarning" not in done.stderr and "Traceback" not in done.stderr


@pytest.mark.timeout(20)
@pytest.mark.parametrize("args", [["-s", "5000"], ["-c", "x", "127.0.0.1", "5000", "6000"]])
def test_a_blank_chatapp_data_dir_is_refused(chat: ChatEnv, args: list[str]) -> None:
    chat.env["CHATAPP_DATA_DIR"] = "  "
    proc = chat.spawn(*args, label="launcher")
    proc.close_stdin()
    assert proc.wait_exit(10) == 2
    output = [item for item in proc.collect(5) if item.strip()]
    assert output == ["ChatApp: error: CHATAPP_DATA_DIR needs a directory, not blank space"]
    assert not (chat.root.parent / "  ").exists() and not Path("  ").exists()


@pytest.mark.timeout(120)  # nine interpreters started in turn: seconds each on a loaded machine
def test_ctrl_c_while_the_program_loads_gives_no_traceback(chat: ChatEnv) -> None:
    # found by trying it: Ctrl-C a fifth of a second after `ChatApp -c ...` printed a
    # traceback from the middle of an import (KeyboardInterrupt). Loading takes a few
    # tenths of a second; interrupts sent across that time land in it.
    args = ["-c", "x", HOST, str(free_port()), str(free_port()), "--data-dir", str(chat.root)]
    # As at a terminal, the child gets Ctrl-C's default (a handler of ours is reset at exec):
    # run in the background of a script, the suite would pass on an ignored SIGINT, and a
    # peer started after that leaves by its first Ctrl-C only once its registration is
    # settled (over a minute with no registry), not at once.
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _interrupt_while_loading(chat, args)
    finally:
        signal.signal(signal.SIGINT, before)


def _interrupt_while_loading(chat: ChatEnv, args: list[str]) -> None:
    for delay in (0.06, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45):
        proc = subprocess.Popen(
            [sys.executable, str(CHATAPP), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=chat.env,
            text=True,
        )
        time.sleep(delay)  # the moment a person presses Ctrl-C: nothing to await
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired as exc:
            proc.kill()
            proc.communicate()
            said = exc.stderr.decode() if isinstance(exc.stderr, bytes) else exc.stderr or ""
            if said.startswith("Failed checking if argv[0] is an import path entry"):
                continue  # in the interpreter's own start, which says so and runs on, unstopped
            raise
        if "Fatal Python error: init_" in err or err.strip() == "KeyboardInterrupt":
            continue  # in the interpreter's own start (its site, its streams), before ChatApp
        if proc.returncode == 1 and not err:
            continue  # there too: no word at all (seen at 0.06 s on a loaded machine)
        if err.startswith("Error processing line"):
            continue  # there too: in site's reading of a .pth file, which says so itself
        if err.startswith("python: failed to set __main__.__loader__"):
            continue  # there too: as it sets up the script's module, before its first line
        if _before_the_guard(err):
            continue  # in the launcher's first lines, which install the guard
        assert "Traceback" not in err, (delay, err)
        assert proc.returncode in (130, -signal.SIGINT), (delay, proc.returncode, err)


def _before_the_guard(err: str) -> bool:
    """Whether traceback `err` comes from ChatApp.py's lines up to the one that installs
    its Ctrl-C guard (`import signal` and the like): nothing can guard those."""
    lines = CHATAPP.read_text().splitlines()
    guard = next(i for i, line in enumerate(lines, 1) if "signal.signal(signal.SIGINT" in line)
    found = re.findall(rf'File "{re.escape(str(CHATAPP))}", line (\d+)', err)
    return bool(found) and int(found[-1]) <= guard
