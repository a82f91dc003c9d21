"""How heavy the house is: sizes of the product code and the docs, beside another
revision's, from one run.

    python -m bench.house [--against REV]

Product code is every Python file of wire/, net/, registry/, peer/ and the launcher. A
function's length is its lines from `def` to its last line; complexity and argument
counts are ruff's C901 (over 12) and PLR0913 (over 5 arguments). A core's floors are its
longest chain of imports among its own modules, a module importing none of them on floor 1;
a core's subpackages (the desk's) are part of it.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import subprocess
import sys
import tempfile
from collections.abc import Container, Iterator
from pathlib import Path

from bench.common import ROOT, Table

#: The sans-IO cores whose floors are counted.
CORES = ("registry/core", "peer/core")
PACKAGES = ("wire", "secure", "disk", "terminal", "net", "registry", "peer", "launcher")
LONG_FILE = 500
LONG_FUNCTION = 50


def product_files(tree: Path) -> list[Path]:
    files = [tree / "ChatApp.py"] if (tree / "ChatApp.py").exists() else []
    for package in PACKAGES:
        files.extend(sorted((tree / package).rglob("*.py")))
    return files


def _functions(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield (node.end_lineno or node.lineno) - node.lineno + 1, node.name


def _imports_between(tree: Path, source: str, target: str) -> int:
    """How many import statements in package `source` name package `target`."""
    count = 0
    for path in (tree / source).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                count += sum(a.name.split(".")[0] == target for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                count += node.module.split(".")[0] == target
    return count


def _module_name(tree: Path, path: Path) -> str:
    parts = path.relative_to(tree).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _own_imports(tree: Path, path: Path, own: Container[str]) -> set[str]:
    """The modules of `own` that the module at `path` imports (`from a import b`: `a`, and
    `a.b` when that is a module)."""
    name = _module_name(tree, path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            names.extend([base, *(f"{base}.{alias.name}" for alias in node.names)])
    return {n for n in names if n in own and n != name}


def floors(tree: Path, core: str) -> dict[str, int]:
    """Each module of the package `core` (a folder of `tree`) by its floor: one more than
    the highest of the modules of `core` it imports (a cycle is cut where it closes)."""
    paths = {_module_name(tree, p): p for p in sorted((tree / core).rglob("*.py"))}
    imports = {name: _own_imports(tree, path, paths) for name, path in paths.items()}
    found: dict[str, int] = {}

    def floor(name: str, below: frozenset[str]) -> int:
        if name not in found:
            up = below | {name}
            found[name] = 1 + max((floor(n, up) for n in imports[name] - up), default=0)
        return found[name]

    return {name: floor(name, frozenset()) for name in paths}


def _floors_figure(tree: Path, core: str) -> str:
    by_module = floors(tree, core)
    if not by_module:
        return "n/a"
    top = max(by_module.values())
    highest = sorted(n.rpartition(".")[2] for n, f in by_module.items() if f == top)
    return f"{top} ({', '.join(highest)})"


def _ruff_findings(tree: Path) -> int:
    ruff = [sys.executable, "-m", "ruff"]  # the one this Python has: any tree, any PATH
    files = [str(p.relative_to(tree)) for p in product_files(tree)]
    rules = ["--select", "C901,PLR0913", "--config", "lint.mccabe.max-complexity=12"]
    result = subprocess.run(
        [*ruff, "check", "--no-cache", "--output-format", "concise", *rules, *files],
        cwd=tree,
        capture_output=True,
        text=True,
    )
    return sum(
        ":" in line and ("C901" in line or "PLR0913" in line) for line in result.stdout.splitlines()
    )


def _words(paths: list[Path]) -> int:
    return sum(len(p.read_text(encoding="utf-8").split()) for p in paths if p.exists())


def figures(tree: Path) -> dict[str, str]:
    """The house's figures for the checkout at `tree`."""
    sizes = {p: len(p.read_text(encoding="utf-8").splitlines()) for p in product_files(tree)}
    functions = [(n, f"{p.relative_to(tree)}:{name}") for p in sizes for n, name in _functions(p)]
    largest_file = max(sizes, key=lambda p: sizes[p])
    longest = max(functions)
    return {
        "product lines": f"{sum(sizes.values()):,}",
        "largest file": f"{largest_file.relative_to(tree)} {sizes[largest_file]:,}",
        "largest function": f"{longest[1]} {longest[0]}",
        f"files over {LONG_FILE} lines": str(sum(n > LONG_FILE for n in sizes.values())),
        f"functions over {LONG_FUNCTION} lines": str(sum(n > LONG_FUNCTION for n, _ in functions)),
        "C901 (>12) and PLR0913 findings": str(_ruff_findings(tree)),
        "imports registry -> peer": str(_imports_between(tree, "registry", "peer")),
        "imports peer -> registry": str(_imports_between(tree, "peer", "registry")),
        **{f"floors of {core}": _floors_figure(tree, core) for core in CORES},
        "README words": f"{_words([tree / 'README.md']):,}",
        "docs/ words": f"{_words(sorted((tree / 'docs').glob('*.md'))):,}",
    }


@contextlib.contextmanager
def _checkout(rev: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="chatapp-house-") as tmp:
        folder = Path(tmp) / "tree"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "-q", str(folder), rev], cwd=ROOT, check=True
        )
        try:
            yield folder
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=ROOT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="", help="a git revision to compare with")
    args = parser.parse_args()
    columns = {"this checkout": figures(ROOT)}
    if args.against:
        with _checkout(args.against) as folder:
            columns[args.against] = figures(folder)
    table = Table("The house: product code and docs", ["figure", *columns])
    for name in columns["this checkout"]:
        table.add(name, *(column[name] for column in columns.values()))
    table.print()


if __name__ == "__main__":
    main()
