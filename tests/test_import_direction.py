"""Imports go one way: wire <- net <- {registry, peer} <- {launcher, ChatApp.py}
(docs/ARCHITECTURE.md). launcher/ holds ChatApp.py's own modules: the top layer too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: For each package, the packages of ours it must never import.
FORBIDDEN = {
    "wire": {"net", "peer", "registry", "launcher", "ChatApp"},
    "net": {"peer", "registry", "launcher", "ChatApp"},
    "peer": {"registry", "launcher", "ChatApp"},
    "registry": {"peer", "launcher", "ChatApp"},
    "launcher": {"ChatApp"},
}


def _imported_tops(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    tops: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            tops.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            tops.add(node.module.split(".")[0])
    return tops


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_nothing_above_it(package: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(_imported_tops(path) & FORBIDDEN[package])
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert {path: tops for path, tops in wrong.items() if tops} == {}


def test_the_check_sees_an_import_from_above(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import os\nfrom registry.desk.key import key_matches\nimport peer.files\n")
    assert _imported_tops(module) == {"os", "registry", "peer"}
