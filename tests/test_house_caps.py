"""The house's size caps (docs/ARCHITECTURE.md): no product file over 500 lines, no
function over 50, docs/ within 12,000 words and the README within 1,500; and each class
name defined once in the product, so that a name leads to one place."""

from __future__ import annotations

import ast
from collections import defaultdict

import pytest

from bench.house import LONG_FILE, LONG_FUNCTION, ROOT, product_files

pytestmark = pytest.mark.timeout(60)


def test_no_product_file_or_function_is_over_its_cap() -> None:
    over: list[str] = []
    for path in product_files(ROOT):
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(ROOT)
        if len(text.splitlines()) > LONG_FILE:
            over.append(f"{name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > LONG_FUNCTION:
                    over.append(f"{name}:{node.lineno} {node.name}: {length} lines")
    assert over == []


def test_each_class_name_is_defined_once_in_the_product() -> None:
    where: defaultdict[str, list[str]] = defaultdict(list)
    for path in product_files(ROOT):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                where[node.name].append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert {name: places for name, places in where.items() if len(places) > 1} == {}


def test_the_docs_stay_within_their_words() -> None:
    docs = sum(len(p.read_text(encoding="utf-8").split()) for p in (ROOT / "docs").glob("*.md"))
    readme = len((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert docs <= 12_000 and readme <= 1_500, (docs, readme)
