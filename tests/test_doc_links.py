"""Every link to the docs in the product's code resolves: `docs/X.md` (or README.md) names
a file that exists, and a section it names, as `docs/X.md, "Section"` or `docs/X.md#anchor`,
is one of that file's headings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Where the product's code is.
PRODUCT = (
    "wire",
    "secure",
    "disk",
    "terminal",
    "net",
    "peer",
    "registry",
    "launcher",
    "bench",
    "ChatApp.py",
)

#: A doc's path, then maybe an anchor, or a quoted section name after a comma, a colon or
#: an opening parenthesis.
LINK = re.compile(r'((?:docs/)?[A-Z]+\.md)(?:#([\w-]+)|[,:]?\s*\(?"([^"\n]{1,80})")?')
#: A line break inside a comment or a docstring, with the comment marks that follow it.
BREAK = re.compile(r"\n\s*(?:#:?\s?)?")


def _links() -> list[tuple[str, str, str, str]]:
    """(file, doc, anchor, section) of every link in the product's code."""
    found = []
    for top in PRODUCT:
        for path in sorted((ROOT / top).rglob("*.py")) if top.isidentifier() else [ROOT / top]:
            flat = BREAK.sub(" ", path.read_text(encoding="utf-8"))
            for doc, anchor, section in LINK.findall(flat):
                found.append((str(path.relative_to(ROOT)), doc, anchor, section))
    return found


def _headings(doc: Path) -> list[str]:
    return [line.lstrip("#").strip() for line in doc.read_text().splitlines() if line[:1] == "#"]


def _anchor(heading: str) -> str:
    """A heading's anchor as GitHub makes it."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


LINKS = _links()


def test_the_code_links_to_the_docs() -> None:
    assert len(LINKS) > 50  # the pattern still finds them


@pytest.mark.parametrize(("where", "doc", "anchor", "section"), LINKS)
def test_a_link_names_a_doc_and_a_heading_that_exist(
    where: str, doc: str, anchor: str, section: str
) -> None:
    path = ROOT / doc
    assert path.is_file(), f"{where}: {doc} does not exist"
    headings = _headings(path)
    if section:
        assert section in headings, f'{where}: {doc} has no heading "{section}"'
    if anchor:
        assert anchor in {_anchor(h) for h in headings}, f"{where}: {doc} has no #{anchor}"
