"""The compiled build's list of modules (setup.py's COMPILED) names only files that exist:
a module removed or renamed would otherwise break `.ci/run-compiled` alone."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(10)
def test_every_compiled_module_exists() -> None:
    tree = ast.parse((ROOT / "setup.py").read_text())
    listed = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "COMPILED" for t in node.targets)
    )
    assert listed, "setup.py lists no compiled module"
    assert [m for m in listed if not (ROOT / m).is_file()] == []
