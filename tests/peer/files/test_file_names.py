"""A received file's names, counted in bytes against the folder's limit: a name that fits
is saved as it is, its partial file's name fits too, a name too long is cut (said once,
at /accept), and `name (2)` of a name that fits just fits too."""

from __future__ import annotations

import os
from pathlib import Path

from peer.adapter.files.pull import free_path, name_limit
from peer.core.actions import Print
from peer.core.files.names import fitted_name, name_problem, partial_name
from peer.core.files.transfer import FileAction, KeepTransfer
from peer.core.files.transfers import FileTransfers
from wire.base import IdMaker
from wire.messages import Entry, FileOffer

DIGEST = "ab" * 32
FITS = "n" * 246 + ".bin"  # 250 bytes
WIDE = "é" * 200 + ".txt"  # 200 characters, 404 bytes


def accepted(name: str) -> list[FileAction]:
    """bob's actions as he accepts an offer of `name`."""
    rows = {"alice": Entry("alice", "127.0.0.1", 5000, True, "KA")}
    bob = FileTransfers(own=lambda: "bob", entry=rows.get, new_id=IdMaker("b"), downloads="/dl")
    offer = FileOffer("m-1", "alice", "o-1", name, 10, DIGEST)
    actions: list[FileAction] = []
    bob.received(offer, "KA", 0.0, actions.append)
    bob.typed("accept", "", 1.0, actions.append)
    return actions


def test_a_name_of_250_bytes_is_kept_and_its_partial_name_fits() -> None:
    actions = accepted(FITS)
    (keep,) = [a for a in actions if isinstance(a, KeepTransfer) and not a.ended]
    partial = keep.transfer.path.removeprefix("/dl/")
    assert len(partial.encode()) == 255
    assert partial.startswith(".nnnn") and partial.endswith(".chatapp-1.part")
    assert len(partial_name(FITS, 12345, 255).encode()) == 255
    assert not any("too long" in a.text for a in actions if isinstance(a, Print))
    assert fitted_name(FITS, 255) == FITS


def test_a_name_no_disk_here_holds_is_cut_and_said_once() -> None:
    assert name_problem(WIDE) is None  # not refused: saved under a shorter name
    short = fitted_name(WIDE, 255)
    assert short == "é" * 125 + ".txt" and len(short.encode()) == 254
    said = [a.text for a in accepted(WIDE) if isinstance(a, Print) and "too long" in a.text]
    assert said == [
        f"[Receiving {WIDE} from alice into /dl as {short} (its name is too long there).]"
    ]
    assert len(partial_name(WIDE, 7, 255).encode()) <= 255


def test_a_lone_surrogate_or_a_control_is_refused() -> None:
    assert name_problem("x\ud800.txt") == "a control character in the file name"
    assert name_problem("x\u202e.txt") == "a control character in the file name"


def test_a_taken_name_of_255_bytes_gets_a_numbered_name_that_fits(tmp_path: Path) -> None:
    limit = name_limit(tmp_path / "not" / "made")  # the nearest folder that is
    assert limit == os.pathconf(tmp_path, "PC_NAME_MAX")
    name = "m" * (limit - 4) + ".txt"
    first = free_path(tmp_path, name, limit)
    first.write_text("one")
    second = free_path(tmp_path, name, limit)
    assert second.name.endswith(" (2).txt") and len(second.name.encode()) == limit
    second.write_text("two")  # the file system takes it
    assert free_path(tmp_path, name, limit).name.endswith(" (3).txt")
