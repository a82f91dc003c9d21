"""The memory-mapped record log under the shown-ids file and the sending log."""

import stat
from pathlib import Path

from peer.adapter.state import CHUNK, MappedLog, complete_records


def test_records_round_trip_and_the_file_is_private_and_padded(tmp_path: Path) -> None:
    log = MappedLog(tmp_path / "sub" / "x.log")
    log.append(b"one\n")
    log.append(b"two\nthree\n")
    assert log.read() == [b"one", b"two", b"three"]
    assert log.size == len(b"one\ntwo\nthree\n")
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600
    assert log.path.stat().st_size == CHUNK


def test_a_log_opened_again_goes_on_after_its_records(tmp_path: Path) -> None:
    first = MappedLog(tmp_path / "x.log")
    first.append(b"a\nb\n")
    first.close()
    again = MappedLog(tmp_path / "x.log")
    again.append(b"c\n")
    assert again.read() == [b"a", b"b", b"c"]


def test_growing_past_a_chunk_keeps_every_record(tmp_path: Path) -> None:
    log = MappedLog(tmp_path / "x.log")
    records = [f"record-{i:06d}".encode() for i in range(3 * CHUNK // 14)]
    for record in records:
        log.append(record + b"\n")
    assert log.read() == records
    assert log.path.stat().st_size % CHUNK == 0
    big = b"y" * (2 * CHUNK)  # one record larger than a chunk
    log.append(big + b"\n")
    assert log.read()[-1] == big


def test_clear_forgets_every_record_and_the_next_goes_first(tmp_path: Path) -> None:
    log = MappedLog(tmp_path / "x.log")
    log.append(b"old-1\nold-2\n")
    log.clear()
    assert log.read() == [] and log.size == 0
    log.append(b"new\n")
    assert log.read() == [b"new"]


def test_replace_makes_the_given_records_the_whole_file(tmp_path: Path) -> None:
    log = MappedLog(tmp_path / "x.log")
    log.append(b"a\nb\nc\n")
    log.replace(b"b\n")
    assert log.read() == [b"b"]
    log.append(b"d\n")
    assert log.read() == [b"b", b"d"]
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600


def test_what_a_kill_leaves_half_written_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    # cut short before its newline; and one with its newline but bytes still missing
    path.write_bytes(b"good\nhal\0\0f\nalso-good\ncut-sh" + bytes(40))
    assert complete_records(path.read_bytes()) == b"good\nhal\0\0f\nalso-good\n"
    log = MappedLog(path)
    assert log.read() == [b"good", b"also-good"]
    log.append(b"next\n")  # written where the cut record was
    assert log.read() == [b"good", b"also-good", b"next"]


def test_a_missing_file_reads_as_no_records(tmp_path: Path) -> None:
    assert MappedLog(tmp_path / "none.log").read() == []
