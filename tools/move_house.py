"""Move the modules into folders that say what they hold, and rewrite every reference.

Run from the repository's top, in a clean checkout: `python3 tools/move_house.py`.
Idempotent: a row already moved is skipped, and a second run changes nothing.

1. `git mv`s each file of MOVES (old path -> new path) and writes each package's
   `__init__.py` docstring (PACKAGES);
2. rewrites imports and dotted module names in *.py, and paths and dotted names in *.md,
   *.toml, setup.py and .ci/ (code comments and docstrings included);
3. reports what it could not place: a module left in a folder that MOVES empties (a new
   file: add a row), a mention of a folder that split in two, an import it could not redo.

Then it sorts imports and formats the Python it changed (`ruff`, when found).
"""

from __future__ import annotations

import ast
import io
import re
import shutil
import subprocess
import sys
import tokenize
from collections.abc import Iterable, Iterator
from pathlib import Path

#: Folders that hold a core (sans-IO) and the adapter that runs it, one layer each.
_PC, _PA, _RC, _RA = "peer/core", "peer/adapter", "registry/core", "registry/adapter"

_SECURE = "noise one_way cookie sessions replay handshake_load keys buffer_budget"
_TERMINAL = "prompt prompt_keys prompt_resume typed_ahead yes_no"
_DISK = "files open_files operator_key"
_PEER_CORE = (
    "actions answers asking busy_waits change_lines commands direct first_contact give_ups"
    " inbox leaving lifecycle line_budget mail_lines name_colours outbox pacing parts"
    " received refusals registration registry_link registry_watch renames requests"
    " room_membership room_return rooms sealed_mail seen_ids settling shared table"
    " table_news trust typed_commands typed_input typed_lines who_changed"
)
_PEER_ADAPTER = (
    "node run terminal output startup state sending_log mapped_log kept_history"
    " key_checks key_contact flood_gate finding"
)
_PEER_DESK_CORE = (
    "__init__ actions duty duty_desk duty_lines duty_state link person person_form"
    " person_reconnect person_session person_state"
)
_PEER_DESK_ADAPTER = "client held_place operator place_secret registry_trust runner terminal"
_REGISTRY_CORE = (
    "actions aliases authority credentials failures flood forgetting liveness mailbox"
    " mailboxes owners pacing post_office presence pusher pushes quotas registration relay"
    " renames requests room_requests rooms saving services table table_changes table_feed"
)
_REGISTRY_ADAPTER = (
    "commit console console_commands console_stop loading password_checks room_history run"
    " server start_lines storage store"
)
_REGISTRY_DESK_CORE = (
    "__init__ actions admission danger estimate joins limits line notices operators people"
    " persons queue restart sessions state"
)
_REGISTRY_DESK_ADAPTER = (
    "closed console console_topics files frames history key places records service shelf standalone"
)
_CLUSTER = "__init__ connect desk_bucket elsewhere follower keeper lead link run store console"


def _rows(old: str, new: str, names: str) -> list[tuple[str, str]]:
    return [(f"{old}/{name}.py", f"{new}/{name}.py") for name in names.split()]


#: Old path -> new path, every file that moves. A module renamed says so on its own row.
MOVES: list[tuple[str, str]] = [
    ("net/secure.py", "secure/channel.py"),
    ("net/secure_stream.py", "secure/stream.py"),
    *_rows("net", "secure", _SECURE),
    *_rows("net", "terminal", _TERMINAL),
    *_rows("net", "disk", _DISK),
    ("net/options.py", "wire/options.py"),
    ("peer/core.py", f"{_PC}/dispatch.py"),
    *_rows("peer", _PC, _PEER_CORE),
    *_rows("peer", _PA, _PEER_ADAPTER),
    ("peer/files/__init__.py", f"{_PC}/files/__init__.py"),
    ("peer/files/core.py", f"{_PC}/files/transfers.py"),
    *_rows("peer/files", f"{_PC}/files", "actions names transfer typed"),
    *_rows("peer/files", f"{_PA}/files", "partial pull serve service store"),
    *_rows("peer/desk", f"{_PC}/desk", _PEER_DESK_CORE),
    *_rows("peer/desk", f"{_PA}/desk", _PEER_DESK_ADAPTER),
    ("registry/core.py", f"{_RC}/dispatch.py"),
    *_rows("registry", _RC, _REGISTRY_CORE),
    *_rows("registry", _RA, _REGISTRY_ADAPTER),
    *_rows("registry/desk", f"{_RC}/desk", _REGISTRY_DESK_CORE),
    *_rows("registry/desk", f"{_RA}/desk", _REGISTRY_DESK_ADAPTER),
    *_rows("registry/cluster", f"{_RA}/cluster", _CLUSTER),
]

#: Each package's `__init__.py`: its docstring, written when the file holds only one.
PACKAGES = {
    "net": "Sockets both ends share: the endpoint (UDP and TCP on one port), streams served,\n"
    "the listener, discovery, the wake timer and batching.",
    "secure": "The secure channel: Noise handshakes and ciphers, WireGuard's cookies and\n"
    "replay window, a program's keys; sans-IO but for the keys kept on disk.",
    "terminal": "The terminal: a prompt that stays up, what was typed ahead, yes-or-no questions.",
    "disk": "Files on disk: where ChatApp keeps them, written whole or not at all; the\n"
    "open-file limit; the help desk's operator key file.",
    "peer": "The peer: its sans-IO core (core/) and the adapter that runs it (adapter/).",
    _PC: "The peer's sans-IO core: events in with `now`, actions out; no sockets, clock,\n"
    "files or terminal (tests/test_import_direction.py).",
    _PA: "The peer's adapter: the sockets, files, clock and terminal that run its core.",
    f"{_PA}/files": "Files sent peer to peer, on disk and over TCP: the adapter of\n"
    "peer/core/files/.",
    f"{_PA}/desk": "The help desk's clients, run: their terminal, connection and files; the\n"
    "adapter of peer/core/desk/.",
    "registry": "The registry: its sans-IO core (core/) and the adapter that runs it (adapter/).",
    _RC: "The registry's sans-IO core: the table of names, mailboxes, relays and rooms; no\n"
    "sockets, clock, files or terminal (tests/test_import_direction.py).",
    _RA: "The registry's adapter: its server, stores, console and the service of several\n"
    "registries.",
    f"{_RA}/desk": "The registry's side of the help desk, run: its connections, console and\n"
    "files; the adapter of registry/core/desk/.",
}

#: Modules that stay in a folder MOVES empties: anything else there is reported.
STAYS = {
    "net": "__init__ batch datagram_in discovery drop_log endpoint lan_addresses listener"
    " outgoing registry_key served_stream stream_slots wake",
    "peer": "__init__",
    "registry": "__init__",
}

#: Folders that split: a mention of one cannot be placed by rule.
SPLIT = ("peer/desk", "peer/files", "registry/desk", "peer.desk", "peer.files", "registry.desk")

#: Folders that moved whole.
FOLDERS = {"registry/cluster": f"{_RA}/cluster"}

#: Files whose text is rewritten, besides every *.py.
TEXT_SUFFIXES = (".md", ".toml", ".cfg")
TEXT_FOLDERS = (".ci/",)
SELF = "tools/move_house.py"


def _module(path: str) -> str:
    return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


#: Old module -> new module. A package that split has no row: its modules have theirs.
PATHS = {old: new for old, new in MOVES if not old.endswith("__init__.py")}
OLD = {_module(old): _module(new) for old, new in [*PATHS.items(), *FOLDERS.items()]}
NEW_NAMES = {_module(new) for _, new in MOVES} | {_module(p) for p in PACKAGES}


def _names(names: Iterable[str], follow: str) -> re.Pattern[str]:
    """Any of `names`, longest first (so `peer.core.dispatch` is new, not `peer.core` and
    more), as a whole name: not part of `tests.net.x` or `tests/net/x.py`."""
    either = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![\w.])(?<!\w/)({either}){follow}")


_DOTTED = _names(NEW_NAMES | OLD.keys(), r"(?!\w)")
_SLASHED = _names(PATHS.keys(), r"(?![\w/])")
_FOLDERS = _names(FOLDERS.keys(), r"(?!\w)")


def git(*args: str) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout


def move_files(report: list[str]) -> None:
    """Every row not yet moved, through a holding folder: `peer/core.py` leaves before
    `peer/core/` is made."""
    holding = Path(".move_house")
    pending = []
    for index, (old, new) in enumerate(MOVES):
        there, here = Path(old).exists(), Path(new).exists()
        if there and here:
            report.append(f"both {old} and {new} exist: merge them by hand")
        elif there:
            holding.mkdir(exist_ok=True)
            git("mv", old, str(holding / f"{index}.py"))
            pending.append((index, new))
    for index, new in pending:
        Path(new).parent.mkdir(parents=True, exist_ok=True)
        git("mv", str(holding / f"{index}.py"), new)
    if holding.exists():
        holding.rmdir()


def write_packages(report: list[str]) -> None:
    """Each package of PACKAGES gets an `__init__.py` holding its docstring; so does every
    folder a move made."""
    folders = {str(Path(new).parent) for _, new in MOVES}
    for folder in sorted(folders | PACKAGES.keys()):
        init = Path(folder) / "__init__.py"
        text = init.read_text(encoding="utf-8") if init.exists() else '"""(what it holds)"""\n'
        if folder not in PACKAGES and not init.exists():
            report.append(f"{init}: made with no docstring: add it to PACKAGES")
        if folder in PACKAGES and _only_docstring(text):
            text = f'"""{PACKAGES[folder]}"""\n'
        if not init.exists() or text != init.read_text(encoding="utf-8"):
            init.parent.mkdir(parents=True, exist_ok=True)
            init.write_text(text, encoding="utf-8")
            git("add", str(init))


def _only_docstring(text: str) -> bool:
    body = ast.parse(text).body
    return not body or (len(body) == 1 and isinstance(body[0], ast.Expr))


def remove_empty_folders() -> None:
    for folder in {str(Path(old).parent) for old, _ in MOVES}:
        path = Path(folder)
        if path.is_dir() and all(p.name == "__pycache__" for p in path.iterdir()):
            shutil.rmtree(path)


def _is_new_module(name: str) -> bool:
    return name in NEW_NAMES or Path(name.replace(".", "/") + ".py").exists()


def _from_import(node: ast.ImportFrom) -> list[tuple[str, str, str | None]]:
    """(module, name, alias) of each name `node` imports, with old modules renamed."""
    module = node.module or ""
    out: list[tuple[str, str, str | None]] = []
    for alias in node.names:
        full = f"{module}.{alias.name}"
        if full in OLD:  # `from net import secure`: a module by its package
            target = OLD[full]
            parent, _, base = target.rpartition(".")
            as_name = alias.asname or (alias.name if base != alias.name else None)
            out.append((parent, base, as_name))
        elif module in OLD and not _is_new_module(full):
            out.append((OLD[module], alias.name, alias.asname))
        else:
            out.append((module, alias.name, alias.asname))
    return out


def _import_text(node: ast.stmt) -> str | None:
    """The statement `node` with old modules renamed, or None when it needs no change."""
    if isinstance(node, ast.Import):
        if not any(a.name in OLD for a in node.names):
            return None
        names = [
            OLD.get(a.name, a.name) + (f" as {a.asname}" if a.asname else "") for a in node.names
        ]
        return f"import {', '.join(names)}"
    assert isinstance(node, ast.ImportFrom)
    if node.level or not node.module:
        return None
    rows = _from_import(node)
    if rows == [(node.module, a.name, a.asname) for a in node.names]:
        return None
    lines: dict[str, list[str]] = {}
    for module, name, as_name in rows:
        lines.setdefault(module, []).append(name + (f" as {as_name}" if as_name else ""))
    return "\n".join(f"from {m} import {', '.join(names)}" for m, names in lines.items())


def _redo_import(node: ast.stmt, old: list[str], path: Path, report: list[str]) -> list[str]:
    """The lines of import `node` (now `old`) with old modules renamed; a comment on a
    one-line import is kept on the first line."""
    new = _import_text(node)
    if new is None:
        return [_comment_renamed(line) for line in old]
    text = "".join(old)
    if "#" in text and len(old) > 1:
        report.append(f"{path}:{node.lineno}: an import with a comment, redone without it")
    indent = text[: len(text) - len(text.lstrip())]
    comment = "  #" + _rename(text.split("#", 1)[1].rstrip("\n")) if "#" in text else ""
    lines = [indent + line for line in new.splitlines()]
    lines[0] += comment
    return [line + "\n" for line in lines]


def _comment_renamed(line: str) -> str:
    code, hash_, comment = line.partition("#")
    return code + hash_ + _rename(comment)


def _rename_outside_code(text: str, imported: set[str], path: Path, report: list[str]) -> str:
    """`text` with old names renamed in its strings and comments; in its code only the
    modules it imports whole (`import net.endpoint`): there `peer.node` may be an
    attribute of a variable `peer`."""
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    spans: list[tuple[int, int]] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type in (tokenize.STRING, tokenize.COMMENT):
                (row, col), (end_row, end_col) = token.start, token.end
                spans.append((starts[row - 1] + col, starts[end_row - 1] + end_col))
    except (tokenize.TokenError, SyntaxError):
        report.append(f"{path}: does not tokenize; its code was left as it was")
    code = _names(imported, r"(?!\w)") if imported else None
    out, done = [], 0
    for start, end in spans:
        gap = text[done:start]
        out += [code.sub(lambda m: OLD[m.group(1)], gap) if code else gap]
        out.append(_rename(text[start:end]))
        done = end
    gap = text[done:]
    out.append(code.sub(lambda m: OLD[m.group(1)], gap) if code else gap)
    return "".join(out)


def rewrite_python(path: Path, report: list[str]) -> bool:
    """Imports redone from the tree, then dotted names and paths in the rest of the text."""
    text = path.read_text(encoding="utf-8")
    try:
        tree = ast.parse(text)
    except SyntaxError:
        report.append(f"{path}: does not parse; its text only was rewritten")
        return _rewrite_text(path, text)
    lines = text.splitlines(keepends=True)
    redone: dict[int, tuple[int, list[str]]] = {}  # first line -> (last line, its lines)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
            redone[first] = (last, _redo_import(node, lines[first : last + 1], path, report))
    out: list[str] = []
    index = 0
    while index < len(lines):
        last, new_lines = redone.get(index, (index, [lines[index]]))
        out += new_lines
        index = last + 1
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    body = _rename_outside_code("".join(out), imported & OLD.keys(), path, report)
    if body != text:
        path.write_text(body, encoding="utf-8")
        return True
    return False


def _rename(text: str) -> str:
    text = _DOTTED.sub(lambda m: OLD.get(m.group(1), m.group(1)), text)
    text = _SLASHED.sub(lambda m: PATHS[m.group(1)], text)
    return _FOLDERS.sub(lambda m: FOLDERS[m.group(1)], text)


def _rewrite_text(path: Path, text: str) -> bool:
    new = _rename(text)
    if new != text:
        path.write_text(new, encoding="utf-8")
        return True
    return False


def add_packages_to_pyproject() -> None:
    """The new top-level packages in setuptools' `include` and mypy's `files`."""
    path = Path("pyproject.toml")
    text = path.read_text(encoding="utf-8")
    tops = sorted({p.split("/")[0] for p in PACKAGES})
    for key, star in (("include", "*"), ("files", "")):
        match = re.search(rf"^{key} = \[(.*)\]$", text, re.M)
        if not match:
            continue
        names = [n.strip().strip('"') for n in match.group(1).split(",")]
        names += [t + star for t in tops if t + star not in names]
        listed = ", ".join(f'"{n}"' for n in names)
        text = text[: match.start()] + f"{key} = [{listed}]" + text[match.end() :]
    path.write_text(text, encoding="utf-8")


def tracked() -> Iterator[Path]:
    for name in git("ls-files").splitlines():
        if name == SELF or not Path(name).is_file():
            continue
        if name.endswith((".py", *TEXT_SUFFIXES)) or name.startswith(TEXT_FOLDERS):
            yield Path(name)


def unplaced(report: list[str]) -> None:
    """Modules left in a folder the moves empty, and mentions of a folder that split."""
    emptied = {str(Path(old).parent) for old, _ in MOVES}
    for folder in sorted(emptied):
        for path in sorted(Path(folder).glob("*.py")):
            if path.stem not in STAYS.get(folder, "").split():
                report.append(f"{path}: not in MOVES (add a row)")
    pattern = re.compile(r"(?<![\w.])(?<!\w/)(" + "|".join(map(re.escape, SPLIT)) + r")\b")
    for path in tracked():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                report.append(f"{path}:{number}: names a folder that split: {line.strip()}")


def main() -> int:
    if git("status", "--porcelain", "--untracked-files=no").strip():
        print("move_house: commit or stash your changes first", file=sys.stderr)
        return 2
    report: list[str] = []
    move_files(report)
    write_packages(report)
    remove_empty_folders()
    changed = [
        str(p)
        for p in tracked()
        if (rewrite_python(p, report) if p.suffix == ".py" else _rewrite_text(p, p.read_text()))
    ]
    add_packages_to_pyproject()
    ruff = shutil.which("ruff") or (".venv/bin/ruff" if Path(".venv/bin/ruff").exists() else None)
    python = [p for p in changed if p.endswith(".py")]
    if ruff and python:
        subprocess.run([ruff, "check", "-q", "--select", "I", "--fix", *python], check=False)
        subprocess.run([ruff, "format", "-q", *python], check=False)
        long = [ruff, "check", "-q", "--select", "E501", "--output-format", "concise", *python]
        lines = subprocess.run(long, capture_output=True, text=True, check=False).stdout
        report += [f"{line}: a path grew, wrap it by hand" for line in lines.splitlines()]
    unplaced(report)
    print(f"move_house: {len(changed)} files rewritten")
    print("\n".join(report) or "move_house: everything placed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
