"""Where the help-desk clients keep their files: --data-dir holds all of them, for `-d` and
`-o` alike, as it does for the other modes (real processes on loopback); a desk client's own
key is kept in its desk/ folder, apart from a registry's key in the same folder."""

from __future__ import annotations

from pathlib import Path

from desk_procs import DeskWorld

from wire.desk.render import YOUR_TURN


def files_under(folder: Path) -> list[str]:
    """The files under `folder`, relative to it (none when it does not exist)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_data_dir_holds_every_file_of_both_desk_clients(world: DeskWorld, tmp_path: Path) -> None:
    given = tmp_path / "given"
    at = ("127.0.0.1", str(world.port))
    # the world's environment names CHATAPP_DATA_DIR: --data-dir must win over it; the
    # operator's is the registry's folder, where the operator key is (docs/GUIDE.md)
    shared = world.data_dir
    operator = world.chatapp("-o", "ann", *at, "--data-dir", str(shared), trusting=True)
    ann = world.start(operator, "ann")
    ann.send(".serve all")
    ann.expect(r"On duty as ann")
    alice = world.start(world.chatapp("-d", *at, "--data-dir", str(given / "alice")), "Alice")
    alice.send("Alice", "+44 7700 900123", "1")
    alice.expect(f"{YOUR_TURN} ann")
    alice.send(".quit")
    assert alice.wait() == 0
    ann.send(".quit")
    assert ann.wait() == 0

    assert files_under(tmp_path / "state") == []  # $CHATAPP_DATA_DIR: nothing written
    assert {"known-keys.json", "desk/identity.key"} <= set(files_under(given / "alice"))
    assert {"known-keys.json", "desk/identity.key"} <= set(files_under(shared))
    registry_key = (shared / "identity.key").read_text()
    assert (shared / "desk" / "identity.key").read_text() != registry_key
