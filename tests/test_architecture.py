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


def private_imports(path: Path) -> set[str]:
    """The underscored names a file imports from netdsl modules of another package."""
    own = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:2])
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.ImportFrom) and node.module
                and node.module.startswith("netdsl.") and not node.module.startswith(own)):
            found.update(f"{node.module}.{a.name}" for a in node.names
                         if a.name.startswith("_"))
    return found


@pytest.mark.parametrize("package", ["search", "draw", "report", "lowering", "oracle"])
def test_capabilities_use_the_core_through_public_names(package: str) -> None:
    """The packages built on the core (search, the drawing, ...) use its public names
    only: the search's tracer and the drawing's capture watch an elaboration through
    `Context`'s observer, not by subclassing the elaborator."""
    found = set().union(*(private_imports(p) for p in (PACKAGE / package).glob("*.py")))
    assert found == set(), f"netdsl/{package} imports private names: {sorted(found)}"


def test_every_observer_of_an_elaboration_implements_the_whole_protocol() -> None:
    """The search's tracer and the drawing's capture are the two `CallObserver`s: each
    defines every method of the protocol, with its parameters (a method added to the
    protocol and not to one of them would fail there, at the first call)."""
    import inspect

    from netdsl.draw.capture import CallLabels
    from netdsl.language.context import CallObserver
    from netdsl.search.trace import _Tracer

    wanted = {name: inspect.signature(method) for name, method in vars(CallObserver).items()
              if inspect.isfunction(method) and not name.startswith("_")}
    assert set(wanted) >= {"call_opened", "call_entered", "call_bound", "call_closed",
                           "call_failed", "may_replay"}
    for observer in (_Tracer, CallLabels):
        for name, signature in wanted.items():
            method = getattr(observer, name)
            assert list(inspect.signature(method).parameters) == list(signature.parameters), (
                f"{observer.__name__}.{name}")
