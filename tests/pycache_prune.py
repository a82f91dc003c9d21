"""Pruning the suite's own bytecode cache (see `tests.conftest._cache_bytecode_outside_the_tree`).

With PYCACHEPREFIX, Python mirrors the absolute path of every source it compiles under the
prefix, so the folder gains a copy of the project for every clone or worktree the suite ever
ran in, and keeps them after the clone is gone. `prune` removes what can no longer be used
(a cached file whose source is gone) and what has not been rewritten for MAX_AGE seconds (it
costs one compilation to make again), and then the folders left empty.

Safety, since it deletes: it works only inside the folder it is given, never follows a
symbolic link (one found in the tree is left alone, whatever it points to), deletes nothing
but regular `*.pyc` files and empty folders, and refuses a folder that is itself a link or
is not its user's alone. Several suites may run at once: a file or folder that another one
removed or filled meanwhile is simply passed over.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

#: A cached file not rewritten for this long is removed (two weeks): it may belong to a
#: source that still exists and has not changed, and then costs one compilation to remake.
MAX_AGE = 14 * 24 * 3600.0
#: At most one pruning a day: walking the tree costs more than the suite should pay on
#: every run.
EVERY = 24 * 3600.0
#: Touched after each pruning; its modification time says when the last one was.
STAMP = ".pruned"


def source_of(cached: Path, prefix: Path) -> Path:
    """The source file that the cached file `cached` (somewhere under `prefix`) was compiled
    from: the cache mirrors the source's folder, and its name is the module's name, the
    interpreter's tag (and an optimisation level), and `.pyc`."""
    folder = Path("/") / cached.parent.relative_to(prefix)
    return folder / (cached.name.split(".", 1)[0] + ".py")


def prune(prefix: Path, now: float | None = None, *, max_age: float = MAX_AGE) -> int:
    """Remove from the bytecode cache at `prefix` every `*.pyc` whose source no longer
    exists or that is older than `max_age` seconds, then every folder left empty (never
    `prefix` itself). Returns how many files were removed; 0, touching nothing, when
    `prefix` is missing, a symbolic link, or not a folder of this user's alone."""
    now = time.time() if now is None else now
    if not ours_alone(prefix):
        return 0
    removed = 0
    for folder, dirs, files in os.walk(prefix, topdown=False, followlinks=False):
        here = Path(folder)
        for name in files:
            if not name.endswith(".pyc"):
                continue
            path = here / name
            try:
                file_info = os.lstat(path)
                if not stat.S_ISREG(file_info.st_mode):
                    continue  # a link (or anything else): not the cache's own
                if now - file_info.st_mtime > max_age or not source_of(path, prefix).exists():
                    os.unlink(path)
                    removed += 1
            except OSError:
                continue  # gone meanwhile, or not ours to remove
        for name in dirs:
            path = here / name
            try:
                if not os.path.islink(path):
                    os.rmdir(path)  # only when empty: a folder in use keeps its files
            except OSError:
                continue
    return removed


def prune_now_and_then(prefix: Path, now: float | None = None) -> int:
    """`prune(prefix)` if the last pruning (its STAMP file) is more than EVERY seconds old,
    then mark this one; else nothing. Returns how many files were removed."""
    now = time.time() if now is None else now
    stamp = prefix / STAMP
    try:
        if now - os.lstat(stamp).st_mtime < EVERY:
            return 0
    except FileNotFoundError:
        pass
    except OSError:
        return 0
    removed = prune(prefix, now)
    try:
        if not os.path.islink(stamp):
            stamp.touch()
            os.utime(stamp, (now, now))
    except OSError:
        pass
    return removed


def ours_alone(folder: Path) -> bool:
    """Whether `folder` is a real folder (not a link) owned by this user and writable by
    nobody else: one whose cached code nobody else can have put there."""
    try:
        info = os.lstat(folder)
    except OSError:
        return False
    return (
        stat.S_ISDIR(info.st_mode)
        and info.st_uid == os.getuid()
        and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )
