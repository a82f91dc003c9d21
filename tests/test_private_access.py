"""No test reaches a private attribute of an object not its own: a test that reads or
replaces `obj._x` guards an implementation, not a behaviour, and breaks on every refactor.
A part is reached through its public contract (a constructor argument, a public property,
the callback its adapter calls), or through the behaviour the attribute stood for."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).parent

#: Names whose underscore is public all the same: the API of `typing.NamedTuple` and
#: `collections.namedtuple` (the underscore only keeps them apart from the fields);
#: `os._exit`, a process's exit without the interpreter's clean-up; and what `python -m`
#: runs, `runpy._run_module_as_main` (tests/fork_server.py runs a module as it does).
ALLOWED = frozenset(
    {"_replace", "_fields", "_asdict", "_field_defaults", "_make", "_exit", "_run_module_as_main"}
)
#: (file, attribute) reaches still left, each to go with the change of its test.
LEFT = frozenset({("tests/peer/test_node_batches.py", "_settle")})


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
    in its code or in a script it holds as a string (the line is the string's)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        script = _script(node)
        if script is not None:
            found += [(node.lineno, attr) for _, attr in private_reaches(ast.unparse(script))]
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_"):
            continue
        dunder = node.attr.startswith("__") and node.attr.endswith("__")
        if not dunder and node.attr not in ALLOWED and not _own(node.value):
            found.append((node.lineno, node.attr))
    return found


@pytest.mark.timeout(30)
def test_no_test_reaches_a_private_attribute_of_another_object() -> None:
    reaches = [
        f"{path.relative_to(TESTS.parent)}:{line}: .{attr}"
        for path in sorted(TESTS.rglob("*.py"))
        for line, attr in private_reaches(path.read_text(encoding="utf-8"))
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
    assert private_reaches(source) == [(1, "_renewed"), (2, "_rows"), (5, "_start")]
