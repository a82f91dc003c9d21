"""The pruning of the suite's bytecode cache: what goes, what stays, and what it never touches."""

from __future__ import annotations

import os
from pathlib import Path

from tests.pycache_prune import EVERY, MAX_AGE, STAMP, prune, prune_now_and_then, source_of

NOW = 2_000_000_000.0


def cached(prefix: Path, source: Path, age: float = 0.0) -> Path:
    """The cached file Python writes under `prefix` for `source`, written `age` seconds
    before NOW."""
    path = prefix / source.parent.relative_to("/") / f"{source.stem}.cpython-311.pyc"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"bytecode")
    os.utime(path, (NOW - age, NOW - age))
    return path


def cache_of(tmp_path: Path) -> tuple[Path, Path]:
    """An empty cache folder, mode 0700, and a clone with one module."""
    prefix = tmp_path / "pycache"
    prefix.mkdir(mode=0o700)
    clone = tmp_path / "clone" / "pkg"
    clone.mkdir(parents=True)
    (clone / "mod.py").write_text("x = 1\n")
    return prefix, clone


def test_the_source_of_a_cached_file_is_where_the_cache_mirrors_it(tmp_path: Path) -> None:
    prefix = tmp_path / "c"
    assert source_of(prefix / "work" / "pkg" / "mod.cpython-311.pyc", prefix) == Path(
        "/work/pkg/mod.py"
    )
    assert source_of(prefix / "w" / "mod.cpython-311.opt-1.pyc", prefix) == Path("/w/mod.py")


def test_copies_for_a_clone_that_is_gone_are_removed_with_their_folders(tmp_path: Path) -> None:
    prefix, clone = cache_of(tmp_path)
    kept = cached(prefix, clone / "mod.py")
    gone = tmp_path / "old-clone" / "pkg" / "mod.py"
    stale = cached(prefix, gone)
    assert prune(prefix, NOW) == 1
    assert kept.exists() and not stale.exists()
    assert not (prefix / gone.parent.relative_to("/")).exists()
    assert not (prefix / (tmp_path / "old-clone").relative_to("/")).exists()
    assert prefix.is_dir()  # never the folder itself, even when it is left empty
    (clone / "mod.py").unlink()  # a module removed from a clone that is still there
    assert prune(prefix, NOW) == 1 and not kept.exists()
    assert list(prefix.iterdir()) == []


def test_a_copy_not_rewritten_for_long_goes_even_if_its_source_is_there(tmp_path: Path) -> None:
    prefix, clone = cache_of(tmp_path)
    (clone / "new.py").write_text("")
    old = cached(prefix, clone / "mod.py", age=MAX_AGE + 60)
    recent = cached(prefix, clone / "new.py", age=MAX_AGE - 60)
    assert prune(prefix, NOW) == 1
    assert not old.exists() and recent.exists()


def test_links_and_other_files_are_never_followed_nor_removed(tmp_path: Path) -> None:
    prefix, _ = cache_of(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    precious = outside / "gone.cpython-311.pyc"  # as if cached for a missing source
    precious.write_bytes(b"not the cache's")
    os.utime(precious, (0, 0))
    (prefix / "to-outside").symlink_to(outside)  # a link to a folder: not entered
    (prefix / "x.cpython-311.pyc").symlink_to(precious)  # a link to a file: left alone
    notes = prefix / "nowhere" / "notes.txt"  # not bytecode: left alone
    notes.parent.mkdir()
    notes.write_text("mine")
    assert prune(prefix, NOW) == 0
    assert precious.read_bytes() == b"not the cache's"
    assert (prefix / "to-outside").is_symlink() and (prefix / "x.cpython-311.pyc").is_symlink()
    assert notes.read_text() == "mine"


def test_a_folder_that_is_a_link_or_open_to_others_is_not_pruned(tmp_path: Path) -> None:
    prefix, _ = cache_of(tmp_path)
    stale = cached(prefix, tmp_path / "gone" / "mod.py")
    link = tmp_path / "link"
    link.symlink_to(prefix)
    assert prune(link, NOW) == 0 and stale.exists()
    prefix.chmod(0o777)
    assert prune(prefix, NOW) == 0 and stale.exists()
    assert prune(tmp_path / "missing", NOW) == 0


def test_pruning_happens_at_most_once_a_day(tmp_path: Path) -> None:
    prefix, _ = cache_of(tmp_path)
    cached(prefix, tmp_path / "gone" / "a.py")
    assert prune_now_and_then(prefix, NOW) == 1
    assert (prefix / STAMP).stat().st_mtime == NOW
    cached(prefix, tmp_path / "gone" / "b.py")
    assert prune_now_and_then(prefix, NOW + EVERY - 1) == 0  # too soon: left for now
    assert prune_now_and_then(prefix, NOW + EVERY + 1) == 1
