"""No test reaches a private attribute of an object not its own, nor imports a private name
of another module: a test that reads or replaces `obj._x`, or takes `_x` from a module,
guards an implementation, not a behaviour, and breaks on every refactor. A helper tests
share is public in the tests' helpers (tests/e2e/capture.py, for packets).
A part is reached through its public contract (a constructor argument, a public property,
the callback its adapter calls), or through the behaviour the attribute stood for."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

TESTS = Path(__file__).parent

#: Names whose underscore is public all the same: the API of `typing.NamedTuple` and
#: `collections.namedtuple` (the underscore only keeps them apart from the fields);
#: `os._exit`, a process's exit without the interpreter's clean-up; what `python -m`
#: runs, `runpy._run_module_as_main`, and what the interpreter runs as a program ends,
#: `threading._shutdown` and `atexit._run_exitfuncs` (tests/fork_server.py does as it does).
ALLOWED = frozenset(
    {
        *("_replace", "_fields", "_asdict", "_field_defaults", "_make"),
        *("_exit", "_run_module_as_main", "_shutdown", "_run_exitfuncs"),
    }
)
#: (file, attribute) reaches still left, each to go with the change of its test.
LEFT = frozenset(
    {
        ("tests/peer/test_node_batches.py", "_settle"),
        ("tests/net/test_endpoint.py", "_DATA_HEADER"),
        ("tests/net/test_gate_sessions.py", "_DATA_HEADER"),
    }
)


#: An object's own private attribute as ruff writes it, and what any other reach or import
#: of a private name shows in a file's text: a file without the latter once the former are
#: taken out holds no reach, and is not parsed (the walk of every file took 1 s of CPU).
OWN_REACH = re.compile(r"\b(?:self|cls|super\(\))\._")
MAYBE_REACH = re.compile(r"\._|\bimport\s+(?:\([^)]*|[^\n]*)[\s,(]_")


def may_reach(source: str) -> bool:
    """Whether `source` may hold a reach (`private_reaches` finds none where it does not)."""
    return MAYBE_REACH.search(OWN_REACH.sub("", source)) is not None


def _own(node: ast.expr) -> bool:
    """Whether `node` is an object's own: `self`, `cls`, or `super()`."""
    if isinstance(node, ast.Name):
        return node.id in ("self", "cls")
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super"
    )


def _script(node: ast.AST) -> ast.Module | None:
    """The program in string `node` when it is one that imports (a script a test runs)."""
    if not isinstance(node, ast.Constant) or "import" not in str(node.value):
        return None
    try:
        tree = ast.parse(str(node.value))
    except (SyntaxError, ValueError):  # (not a program, or a lone surrogate)
        return None
    return tree if any(isinstance(n, ast.Import | ast.ImportFrom) for n in tree.body) else None


def private_reaches(source: str) -> list[tuple[int, str]]:
    """(line, attribute) of each private attribute `source` reaches on another's object,
    or private name it imports from another module, in its code or in a script it holds as
    a string (the line is the string's)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        script = _script(node)
        if script is not None:
            found += [(node.lineno, attr) for _, attr in private_reaches(ast.unparse(script))]
        if isinstance(node, ast.ImportFrom):
            found += [(node.lineno, a.name) for a in node.names if _private(a.name)]
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_"):
            continue
        if _private(node.attr) and not _own(node.value):
            found.append((node.lineno, node.attr))
    return found


def _private(name: str) -> bool:
    """Whether `name` is private: an underscore first, and neither a dunder nor ALLOWED."""
    dunder = name.startswith("__") and name.endswith("__")
    return name.startswith("_") and not dunder and name not in ALLOWED


@pytest.mark.timeout(30)
def test_no_test_reaches_a_private_attribute_of_another_object() -> None:
    sources = {path: path.read_text(encoding="utf-8") for path in sorted(TESTS.rglob("*.py"))}
    reaches = [
        f"{path.relative_to(TESTS.parent)}:{line}: .{attr}"
        for path, source in sources.items()
        if may_reach(source)
        for line, attr in private_reaches(source)
        if (str(path.relative_to(TESTS.parent)), attr) not in LEFT
    ]
    assert reaches == []


@pytest.mark.timeout(5)
def test_the_walk_finds_a_reach_and_passes_an_objects_own() -> None:
    source = (
        "keeper._renewed -= 1\n"
        "table._rows = {}\n"
        "self._x = super()._y(cls._z)\n"
        "row._replace(port=1).__class__\n"
        "SCRIPT = 'import ChatApp\\nChatApp._start = print'\n"
        "TEXT = 'see ChatApp._start'\n"
    )
    # (joined here: a string holding a whole import is walked as a script of this file)
    source += " ".join(["from .capture import", "parse_packet, _checksum\n"])
    source += " ".join(["from __future__ import", "annotations\n"])
    assert sorted(private_reaches(source)) == [
        (1, "_renewed"),
        (2, "_rows"),
        (5, "_start"),
        (7, "_checksum"),
    ]
    lines = source.splitlines()
    assert all(may_reach(lines[line - 1]) for line, _ in private_reaches(source))
    own = "self._x = super()._y(cls._z)\nfrom a import (\n    b,\n)\n"
    assert not may_reach(own)
    assert may_reach(own.replace("    b", "    b,\n    _c")) and may_reach("f().__x")
