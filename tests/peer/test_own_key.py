"""Each peer name has its own key, even two names of one data folder; the key of a folder
from before keys were per name goes to the first name that starts, and to it alone."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

from peer.adapter.start import own_key
from peer.adapter.state import PeerStateFile
from secure.keys import KEY_FILE, load_or_make_key
from secure.noise import public_bytes


def _public(root: Path, name: str) -> bytes:
    return public_bytes(own_key(PeerStateFile(root, name)))


def test_two_names_of_one_folder_have_keys_of_their_own_kept_across_starts(
    tmp_path: Path,
) -> None:
    alice, bob = _public(tmp_path, "alice"), _public(tmp_path, "bob")
    assert alice != bob
    assert _public(tmp_path, "alice") == alice and _public(tmp_path, "ALICE") == alice
    key_file = PeerStateFile(tmp_path, "alice").key_path
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_the_shared_key_of_before_goes_to_the_first_name_only(tmp_path: Path) -> None:
    shared, _ = load_or_make_key(tmp_path)  # a folder of a version with one key for all
    assert _public(tmp_path, "alice") == public_bytes(shared)  # its contacts know this key
    assert _public(tmp_path, "bob") != public_bytes(shared)
    assert _public(tmp_path, "alice") == public_bytes(shared)
    assert (tmp_path / KEY_FILE).exists()  # kept for a help-desk client of the folder


def test_names_starting_at_once_never_both_take_the_shared_key(tmp_path: Path) -> None:
    shared = public_bytes(load_or_make_key(tmp_path)[0])
    got: dict[str, bytes] = {}
    threads = [
        threading.Thread(target=lambda n=name: got.__setitem__(n, _public(tmp_path, n)))
        for name in ("a", "b", "c", "d")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert list(got.values()).count(shared) == 1
    assert len(set(got.values())) == 4


def test_a_rename_takes_the_key_to_the_new_name(tmp_path: Path) -> None:
    alice = _public(tmp_path, "alice")
    PeerStateFile(tmp_path, "alice").moved_to("alicia", "tok")
    assert _public(tmp_path, "alicia") == alice
