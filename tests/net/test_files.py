"""Data files that are not regular files (a named pipe, a directory) are refused at once,
with a reason that names what they are: never a start that waits forever."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from disk.files import (
    NotRegularFile,
    append_bytes,
    create_once,
    hold_lock,
    open_regular,
    os_reason,
    private_folder,
    read_bytes,
    read_text,
    replace_durably,
)


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "x.seen"
    os.mkfifo(path)
    return path


@pytest.mark.timeout(10)
def test_a_named_pipe_is_refused_for_reading_without_waiting(fifo: Path) -> None:
    with pytest.raises(NotRegularFile) as refused:
        read_bytes(fifo)
    assert str(refused.value) == "not a regular file (a named pipe)"
    assert os_reason(refused.value) == f"not a regular file (a named pipe): {fifo}"
    with pytest.raises(NotRegularFile):
        read_text(fifo)


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "write",
    [
        lambda path: append_bytes(path, b"x\n", fsync=True),
        lambda path: hold_lock(path),
        lambda path: os.close(open_regular(path, os.O_RDWR | os.O_CREAT)),
    ],
    ids=["append", "lock", "read-write"],
)
def test_a_named_pipe_is_refused_for_writing_without_waiting(fifo: Path, write: object) -> None:
    assert callable(write)
    with pytest.raises(NotRegularFile, match="a named pipe"):
        write(fifo)


@pytest.mark.timeout(10)
def test_a_replace_refuses_a_named_pipe_in_place_of_its_temporary(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "table.json.tmp")
    with pytest.raises(NotRegularFile, match="a named pipe"):
        replace_durably(tmp_path / "table.json", b"{}")


def test_a_directory_is_named_as_one(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    with pytest.raises(IsADirectoryError, match="Is a directory"):
        read_bytes(tmp_path / "d")
    with pytest.raises(IsADirectoryError, match="Is a directory"):
        append_bytes(tmp_path / "d", b"x", fsync=True)


def test_regular_files_read_as_before(tmp_path: Path) -> None:
    path = tmp_path / "f"
    append_bytes(path, "é\n".encode(), fsync=True)
    assert read_bytes(path) == "é\n".encode()
    assert read_text(path) == "é\n"
    with pytest.raises(FileNotFoundError):
        read_bytes(tmp_path / "missing")


def test_parse_json_refuses_numbers_chatapp_never_writes() -> None:
    # Python's json reads NaN and the infinities; a time that is one breaks every ordering
    from disk.files import parse_json

    assert parse_json('{"a": [1, 2.5, "NaN"]}') == {"a": [1, 2.5, "NaN"]}
    for text, said in (
        ("NaN", "NaN is not a number ChatApp writes"),
        ('{"t": Infinity}', "Infinity is not a number ChatApp writes"),
        ("[-Infinity]", "-Infinity is not a number ChatApp writes"),
        ('{"t": 1e999}', "1e999 is too large a number"),
    ):
        with pytest.raises(ValueError, match=said):
            parse_json(text)
    with pytest.raises(RecursionError):
        parse_json("[" * 100_000)


def test_a_data_folder_is_made_private_and_one_others_read_is_tightened(tmp_path: Path) -> None:
    new = tmp_path / "a" / "b"
    assert private_folder(new) == ""
    assert stat.S_IMODE(new.stat().st_mode) == 0o700
    assert private_folder(new) == ""  # already so: nothing to say
    old = tmp_path / "old"
    old.mkdir(mode=0o755)
    os.chmod(old, 0o755)
    said = private_folder(old)
    assert stat.S_IMODE(old.stat().st_mode) == 0o700
    assert said == f"{old} could be read by others (mode 755); it is now yours alone (mode 700)."


def test_a_file_created_once_keeps_the_first_content_and_leaves_nothing_else(
    tmp_path: Path,
) -> None:
    path = tmp_path / "new" / "secret"
    assert create_once(path, b"first\n")  # its folder is made too
    assert not create_once(path, b"second\n")  # there already: the caller reads it
    assert path.read_bytes() == b"first\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["secret"]
