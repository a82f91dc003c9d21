"""Command-line mistakes the launcher finds before its parse or a registry would: a mode missing
values before an option (the parse would take that option as one of them and blame something
else), and a crisis notice too long to show whole."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

import ChatApp
from launcher.checks import (
    MIN_KEEPALIVE,
    UsageProblem,
    check_downloads,
    check_join_code,
    check_length,
    check_seconds,
    check_whole,
)
from launcher.command_line import CommandLine


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (
            ["-c", "henry", "127.0.0.1", "--bind", "127.0.0.1"],
            "-c needs NAME [SERVER-IP SERVER-PORT [CLIENT-PORT]] (got 2: henry 127.0.0.1)",
        ),
        (
            ["--client", "henry", "127.0.0.1", "--verbose"],
            "--client needs NAME [SERVER-IP SERVER-PORT [CLIENT-PORT]] (got 2: henry 127.0.0.1)",
        ),
        (["-s", "--verbose"], "-s needs PORT (got none)"),
        (["-d", "127.0.0.1", "-v"], "-d needs [SERVER-IP SERVER-PORT] (got 1: 127.0.0.1)"),
        (
            ["-o", "ann", "127.0.0.1"],
            "-o needs NAME [SERVER-IP SERVER-PORT] (got 2: ann 127.0.0.1)",
        ),
    ],
)
def test_missing_values_of_a_mode_are_named(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ChatApp.main(argv) == 2
    assert capsys.readouterr().err == f"ChatApp: error: {said}\n"


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["-c", "-dan", "127.0.0.1", "5000", "80"], "client-port must be between 1024"),
        (["-o", "-dan", "127.0.0.1", "80"], "server-port must be between 1024"),
    ],
)
def test_a_name_starting_with_a_dash_is_a_name(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # found by trying it: `/nick -dan` is allowed (the name rules allow a leading -), and
    # then `ChatApp -c -dan ...` said "-c needs NAME ... (got none)": the name could not
    # be started again. Here it gets as far as the port, checked after the name.
    assert ChatApp.main(argv) == 2
    assert said in capsys.readouterr().err


def test_a_downloads_folder_that_cannot_take_files_is_said_at_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    afile = tmp_path / "a-file"
    afile.write_text("")
    for folder in (afile, afile / "under"):
        argv = ["-c", "bob", "127.0.0.1", "5000", "6000", "--downloads", str(folder)]
        assert ChatApp.main(argv) == 2
        said = f"ChatApp: error: --downloads {folder}: {afile} is not a folder\n"
        assert capsys.readouterr().err == said


def test_a_downloads_folder_not_made_yet_is_said_and_made_for_the_first_file(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "new" / "files"
    assert check_downloads(str(folder)) == (
        f"ChatApp: --downloads {folder} does not exist yet; it is made for the first file"
    )
    assert not folder.exists()  # made by the first file, not at start
    assert check_downloads(str(tmp_path)) == "" and check_downloads("") == ""


def test_an_option_where_the_name_goes_is_still_a_missing_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert ChatApp.main(["-c", "--bind", "127.0.0.1", "5000", "6000"]) == 2
    assert (
        "-c needs NAME [SERVER-IP SERVER-PORT [CLIENT-PORT]] (got none)" in capsys.readouterr().err
    )


def test_a_negative_number_is_a_value_to_check_not_an_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert ChatApp.main(["-c", "bob", "127.0.0.1", "-5", "6000"]) == 2
    assert "server-port must be between" in capsys.readouterr().err


def test_a_password_comes_from_the_first_line_of_input_that_is_not_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Found by trying it: `printf 'secret1\n...' | ChatApp -c ... --password` from a
    # terminal asked the terminal, and the piped secret was then taken as a typed line.
    import getpass
    import io

    def asks_the_terminal(prompt: str = "", stream: object = None) -> str:
        raise AssertionError("asked the terminal")

    monkeypatch.setattr(getpass, "getpass", asks_the_terminal)
    monkeypatch.setattr("sys.stdin", io.StringIO("secret1\nsend bob hi\n"))
    said_on_stderr = io.StringIO()
    monkeypatch.setattr("sys.stderr", said_on_stderr)
    assert ChatApp.read_password("alice") == "secret1"
    # as getpass says it, and the next line begins a line of its own
    said = "Warning: Password input may be echoed.\nPassword for alice: \n"
    assert said_on_stderr.getvalue() == said
    assert sys.stdin.readline() == "send bob hi\n"  # the rest is left to read


def test_the_registrys_own_name_is_refused_before_anything_is_sent(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # it reached the registry first, to be refused there, and the exit status was 1
    assert ChatApp.main(["-c", "Server", "127.0.0.1", "5000", "6000"]) == 2
    assert "The name server is the registry's" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("notice", "said"),
    [
        ("x" * 990 + " CALL 116 123 NOW", "has at most 1000 characters; yours has 1007"),
        ("\n".join(f"line {i}" for i in range(14)), "has at most 12 lines; yours has 14"),
    ],
)
def test_a_crisis_notice_that_would_be_cut_stops_the_start(
    notice: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # cut short, it could end in the middle of the number to call
    assert ChatApp.main(["-s", "5000", "--crisis-notice", notice]) == 2
    assert capsys.readouterr().err == f"ChatApp: error: --crisis-notice {said}\n"


@pytest.mark.parametrize(
    "mode", [["-c", "a", "127.0.0.1", "5000", "5001"], ["-d", "127.0.0.1", "5000"]]
)
def test_a_join_code_that_is_not_30_digits_stops_the_start(
    mode: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert ChatApp.main([*mode, "--registry-key", "12345-678"]) == 2
    assert "--registry-key needs the registry's join code, the 30 digits" in capsys.readouterr().err
    digits = "0123456789" * 3
    assert check_join_code("-".join(digits[i : i + 5] for i in range(0, 30, 5))) == digits
    assert check_join_code(" ".join(digits[i : i + 5] for i in range(0, 30, 5))) == digits


def test_help_names_every_option_with_a_word_that_says_what_it_takes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert ChatApp.main(["--help"]) == 0
    text = capsys.readouterr().out
    for shown in (
        "-s, --server PORT",
        "-c, --client NAME [SERVER-IP SERVER-PORT [CLIENT-PORT]]",
        "-d, --desk [SERVER-IP SERVER-PORT]",
        "-o, --operator NAME [SERVER-IP SERVER-PORT]",
        "--data-dir DIR",
        "--bind ADDRESS",
        "--keepalive SECONDS",
        "--crisis-notice TEXT",
        "--mailbox-limit N",
        "--new-names N",
        "--typical-session LENGTH",
    ):
        assert shown in text, text
    assert "<str>" not in text and "range>" not in text, text


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--keepalive", "abc"], "--keepalive needs a number of seconds, not 'abc'"),
        (["--keepalive", "inf"], "--keepalive needs a number of seconds, not 'inf'"),
        (["--keepalive", "nan"], "--keepalive needs a number of seconds, not 'nan'"),
        (["--keepalive", "0.01"], "--keepalive must be at least 0.05 seconds, not 0.01"),
        (["--mailbox-limit", "0"], "--mailbox-limit must be between 1 and 1,000,000, not 0"),
        (["--mailbox-limit", "2.5"], "--mailbox-limit needs a whole number, not '2.5'"),
        (["--new-names", "x"], "--new-names needs a whole number, not 'x'"),
        (["--new-names", "-3"], "--new-names must be between 1 and 1,000,000,000, not -3"),
        (
            ["--typical-session", "ten"],
            "--typical-session needs a length of time like 10m or 600s, not 'ten'",
        ),
        (
            ["--typical-session", "-5m"],
            "--typical-session needs a length of time like 10m or 600s, not '-5m'",
        ),
        (
            ["--typical-session", "nan"],
            "--typical-session needs a length of time like 10m or 600s, not 'nan'",
        ),
        (["--typical-session", "5"], "--typical-session must be from 10s to 4h, not 5s"),
        (["--typical-session", "300m"], "--typical-session must be from 10s to 4h, not 5h"),
    ],
)
def test_numbers_on_the_command_line_are_checked_with_their_own_words(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # said by ChatApp's own checks, whatever a value looks like ("-5m" too)
    assert ChatApp.main(["-s", "5000", *argv]) == 2
    assert capsys.readouterr().err == f"ChatApp: error: {said}\n"


def test_numbers_within_their_range_are_taken() -> None:
    assert check_seconds("0.05", "--keepalive", MIN_KEEPALIVE) == 0.05
    assert check_seconds("10", "--keepalive", MIN_KEEPALIVE) == 10.0
    assert check_whole("1", "--new-names", 1, 5) == 1
    assert check_whole("5", "--new-names", 1, 5) == 5


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("600", 600.0), ("90s", 90.0), ("10m", 600.0), ("10 min", 600.0), ("1.5h", 5400.0)],
)
def test_a_typical_session_is_a_length_in_seconds_minutes_or_hours(
    text: str, seconds: float
) -> None:
    assert check_length(text, "--typical-session", 10, 4 * 3600) == seconds


@pytest.mark.parametrize("given", ["option", "environment"])
def test_a_data_dir_in_an_unknown_user_s_home_is_one_line_not_a_traceback(
    given: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # found by trying it: Path.expanduser raised RuntimeError, a traceback for the user
    where = "~no-such-user-of-chatapp/chat"
    if given == "option":
        argv, what = ["-s", "5000", "--data-dir", where], "--data-dir"
    else:
        monkeypatch.setenv("CHATAPP_DATA_DIR", where)
        argv, what = ["-c", "bob", "127.0.0.1", "5000", "6000"], "CHATAPP_DATA_DIR"
    assert ChatApp.main(argv) == 2
    said = f"{what} names a home directory this machine does not know: {where!r}"
    assert capsys.readouterr().err == f"ChatApp: error: {said}\n"


class _Terminal:
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("typed", "result"), [("s3cret", "s3cret"), ("", "empty")])
def test_a_password_is_asked_once_at_a_terminal(
    monkeypatch: pytest.MonkeyPatch, typed: str, result: str
) -> None:
    # a new name's is asked again once the registry says it is new (test_password_login.py)
    import getpass

    prompts: list[str] = []

    def at_the_terminal(prompt: str = "", stream: object = None) -> str:
        prompts.append(prompt)
        return typed

    monkeypatch.setattr(getpass, "getpass", at_the_terminal)
    monkeypatch.setattr("sys.stdin", _Terminal())
    if result == "empty":
        with pytest.raises(UsageProblem, match="an empty one protects nothing"):
            ChatApp.read_password("alice")
    else:
        assert ChatApp.read_password("alice") == result
    assert prompts == ["Password for alice: "]


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["-c", "--help"], "Commands (a leading / always works"),
        (["--client", "-h"], "send <name> <text>"),
        (["-s", "--help"], "ChatApp -s PORT: a registry"),
        (["-d", "--help"], "ChatApp -d SERVER-IP SERVER-PORT"),
        (["-o", "--help"], "ChatApp -o NAME SERVER-IP SERVER-PORT"),
        (["--help"], "ChatApp -c alice 127.0.0.1 5000 6001"),
        (["--help"], "Chat commands (ChatApp -c): send <name> <text>"),
    ],
)
def test_help_for_a_mode_and_examples_for_every_mode(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ChatApp.main(argv) == 0
    assert said in capsys.readouterr().out


def test_a_missing_library_says_which_command_installs_them() -> None:
    said = ChatApp.missing_dependency(
        ModuleNotFoundError("No module named 'msgspec'", name="msgspec")
    )
    assert said.startswith("ChatApp: error: msgspec is not installed") and ChatApp.INSTALL in said
    assert "Traceback" not in said


@pytest.mark.timeout(20)
def test_chatapp_py_without_its_libraries_says_how_to_install_them() -> None:
    import subprocess
    from pathlib import Path

    # -S: no site-packages, as a python3 that never had ChatApp installed
    script = Path(ChatApp.__file__)
    done = subprocess.run(
        [sys.executable, "-S", str(script), "-s", "5000"],
        capture_output=True,
        text=True,
        timeout=15,
        cwd=script.parent,
    )
    assert done.returncode == 1
    assert "pip install -e ." in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["-c", "ann"], CommandLine(client=("ann", "", "", ""))),
        (["-c", "ann", "10.0.0.1", "5000"], CommandLine(client=("ann", "10.0.0.1", "5000", ""))),
        (
            ["-c", "ann", "10.0.0.1", "5000", "6000"],
            CommandLine(client=("ann", "10.0.0.1", "5000", "6000")),
        ),
        (["-c", "-dan", "--bell"], CommandLine(client=("-dan", "", "", ""), bell=True)),
        (["-v", "-d"], CommandLine(desk=("", ""), verbose=True)),
        (
            ["-o", "ann", "--bind", "10.0.0.1"],
            CommandLine(operator=("ann", "", ""), bind="10.0.0.1"),
        ),
        (["-s", "5000"], CommandLine(server="5000")),
        # a mode's spelling as another option's value is that value
        (["-s", "5000", "--crisis-notice", "-c"], CommandLine(server="5000", crisis_notice="-c")),
    ],
)
def test_a_mode_s_address_left_out_is_given_as_empty(
    argv: list[str], expected: CommandLine
) -> None:
    from launcher.command_line import parse

    assert parse(argv) == expected


def test_the_command_to_give_instead_names_the_address_s_place() -> None:
    from launcher.command_line import with_address

    assert with_address(["-c", "ann", "--bell"]) == "ChatApp -c ann SERVER-IP SERVER-PORT --bell"
    assert with_address(["--data-dir", "my dir", "-d"]) == (
        "ChatApp --data-dir 'my dir' -d SERVER-IP SERVER-PORT"
    )
    assert with_address(["-o", "ann"]) == "ChatApp -o ann SERVER-IP SERVER-PORT"


def test_a_refused_password_is_asked_again_each_try_a_start_of_its_own(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from peer.adapter.start import PASSWORD_AGAIN, PeerSettings

    tried: list[PeerSettings] = []
    asked: list[str] = []

    async def start(peer: PeerSettings) -> int:
        tried.append(peer)
        signal.signal(signal.SIGINT, lambda *_: None)  # as a prompt that ended leaves it
        if peer.ask_again:
            return PASSWORD_AGAIN  # too short, say, then wrong
        return 1  # the last try: refused, and said so by the peer itself

    def read(name: str) -> str:
        asked.append(name)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Ctrl-C ends it
        return f"try number {len(asked) + 1}"

    monkeypatch.setattr(ChatApp, "read_password", read)
    first = PeerSettings(password="short", ask_again=True)
    before = signal.getsignal(signal.SIGINT)
    try:
        assert ChatApp.asked_again("pat", first, start) == 1
    finally:
        signal.signal(signal.SIGINT, before)
    assert [p.password for p in tried] == ["short", "try number 2", "try number 3"]
    assert [p.ask_again for p in tried] == [True, True, False]
    assert asked == ["pat", "pat"]
    assert capsys.readouterr().out.splitlines() == [
        "[Try again (2 tries left).]",
        "[Try again (1 try left).]",
    ]
