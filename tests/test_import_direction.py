"""Imports go one way, down the layers of docs/ARCHITECTURE.md:
wire <- disk <- secure <- net <- {registry, peer} <- {launcher, ChatApp.py}, terminal beside
net; launcher/ holds ChatApp.py's own modules: the top layer too.

A core (every module under a `core/` folder) and `wire` are sans-IO: they import no
socket, clock, file or event loop, neither directly nor through a package that does, and
no core imports the adapter that runs it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: For each package, the packages of ours it must never import.
FORBIDDEN = {
    "wire": {"disk", "secure", "terminal", "net", "peer", "registry", "launcher", "ChatApp"},
    "disk": {"secure", "terminal", "net", "peer", "registry", "launcher", "ChatApp"},
    "secure": {"terminal", "net", "peer", "registry", "launcher", "ChatApp"},
    "terminal": {"disk", "secure", "net", "peer", "registry", "launcher", "ChatApp"},
    "net": {"terminal", "peer", "registry", "launcher", "ChatApp"},
    "peer": {"registry", "launcher", "ChatApp"},
    "registry": {"peer", "launcher", "ChatApp"},
    "launcher": {"ChatApp"},
}

#: The standard library's I/O: what a sans-IO module never imports.
IO = {"socket", "asyncio", "time", "os", "pathlib"}

#: The sans-IO folders, and what each may not import besides IO: the packages that do
#: I/O, and its own adapter.
SANS_IO = {
    "wire": set(),
    "peer/core": {"disk", "net", "terminal", "peer.adapter", "secure.keys"},
    "registry/core": {"disk", "net", "terminal", "registry.adapter", "secure.keys"},
}


def _imported(path: Path) -> set[str]:
    """The modules `path` imports, by their full names (`from a import b` gives `a`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def _tops(path: Path) -> set[str]:
    return {name.split(".")[0] for name in _imported(path)}


def _io_imports(path: Path, forbidden: set[str]) -> list[str]:
    """What of IO and `forbidden` (packages or modules, by prefix) `path` imports."""
    return sorted(
        name
        for name in _imported(path)
        if name.split(".")[0] in IO or any(name == f or name.startswith(f + ".") for f in forbidden)
    )


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_nothing_above_it(package: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(_tops(path) & FORBIDDEN[package])
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert {path: tops for path, tops in wrong.items() if tops} == {}


@pytest.mark.parametrize("folder", sorted(SANS_IO))
def test_a_core_and_wire_import_no_io(folder: str) -> None:
    paths = sorted((ROOT / folder).rglob("*.py"))
    assert paths
    wrong = {str(path.relative_to(ROOT)): _io_imports(path, SANS_IO[folder]) for path in paths}
    assert {path: names for path, names in wrong.items() if names} == {}


def test_the_check_sees_an_import_from_above(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import os\nfrom registry.core.desk import limits\nimport peer.adapter\n")
    assert _tops(module) == {"os", "registry", "peer"}


def test_the_check_sees_io_in_a_core(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import math\nimport time\nfrom pathlib import Path\nfrom os.path import join\n"
        "from socket import AF_INET\nimport asyncio.tasks\nfrom disk.files import x\n"
        "from peer.adapter.node import PeerNode\nfrom peer.core.table import Table\n"
        "from secure.noise import y\nfrom netx import z\n"
    )
    assert _io_imports(module, SANS_IO["peer/core"]) == [
        "asyncio.tasks",
        "disk.files",
        "os.path",
        "pathlib",
        "peer.adapter.node",
        "socket",
        "time",
    ]
