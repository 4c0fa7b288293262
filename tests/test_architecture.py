"""The package layering that docs/architecture.md describes, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "netdsl"


def netdsl_imports(path: Path) -> set[str]:
    """The netdsl modules a file imports (anywhere in it, lazily too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("netdsl"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("netdsl"))
    return found


@pytest.mark.parametrize("path", sorted((PACKAGE / "layers").glob("*.py")),
                         ids=lambda p: p.name)
def test_layers_is_a_leaf_package(path: Path) -> None:
    outside = {m for m in netdsl_imports(path) if not m.startswith("netdsl.layers")}
    assert outside == set(), f"{path.name} imports {sorted(outside)}"


def test_analysis_never_imports_the_lowering_or_torch() -> None:
    for path in (PACKAGE / "analysis").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "import torch" not in text and "from torch" not in text, path.name
        assert not {m for m in netdsl_imports(path) if m.startswith("netdsl.lowering")}, path.name
