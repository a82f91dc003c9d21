"""bench/house.py's floors of a core: the longest chain of imports among its own modules."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.common import ROOT
from bench.house import floors


def write(tree: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = tree / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.mark.timeout(10)
def test_a_module_is_one_floor_above_the_highest_of_its_own_core_it_imports(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        {
            "app/core/__init__.py": "",
            "app/core/low.py": "import json\nfrom wire.codec import encode\n",
            "app/core/mid.py": "from app.core.low import X\n",
            "app/core/side.py": "from app.core import low\n",
            "app/core/desk/__init__.py": "",
            "app/core/desk/part.py": "from ..mid import Y\nfrom . import tool\n",
            "app/core/desk/tool.py": "import app.core.low\n",
            "app/core/top.py": "from app.core.desk.part import Z\nfrom app.core.side import W\n",
            "app/adapter/run.py": "from app.core.top import T\n",
        },
    )
    assert floors(tmp_path, "app/core") == {
        "app.core": 1,
        "app.core.low": 1,
        "app.core.mid": 2,
        "app.core.side": 2,  # `from app.core import low`: the module low, and the package
        "app.core.desk": 1,
        "app.core.desk.tool": 2,
        "app.core.desk.part": 3,  # relative imports count: ..mid, and .tool
        "app.core.top": 4,
    }


@pytest.mark.timeout(10)
def test_a_cycle_is_cut_where_it_closes(tmp_path: Path) -> None:
    write(tmp_path, {"c/a.py": "from c.b import B\n", "c/b.py": "from c.a import A\n"})
    assert max(floors(tmp_path, "c").values()) == 2


@pytest.mark.timeout(10)
def test_the_peer_core_is_at_most_eight_floors() -> None:
    # its parts need each other through the Protocols of peer/core/shared.py, not as imports
    assert max(floors(ROOT, "peer/core").values()) <= 8
