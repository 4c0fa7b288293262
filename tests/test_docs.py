"""The docs stay true: every layer and stdlib module is documented, every example runs.

- docs/language.md's layer reference and docs/conventions.md's counting rules each have a
  row for every name in `netdsl.layers.REGISTRY` (the name in backticks in the first cell),
  and are what `scripts/layer_docs.py` generates from the registry now;
- docs/language.md names every standard library module (`std.NAME`) and block;
- every ```netdsl example in docs/language.md parses, and every one that defines a
  network elaborates (each of its networks, with default parameters);
- the documented limits are the ones in the code.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import netdsl
from netdsl.language import parser, values
from netdsl.language.loader import stdlib_dir
from netdsl.layers import REGISTRY, base

DOCS = Path(__file__).resolve().parents[1] / "docs"
LANGUAGE = DOCS / "language.md"
CONVENTIONS = DOCS / "conventions.md"


def section(path: Path, heading: str) -> str:
    """The text under the `## heading` line, up to the next `## ` heading."""
    text = path.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"{path.name} has no '## {heading}' section"
    return match.group(1)


def table_names(text: str) -> set[str]:
    """Backticked names in the first cell of each markdown table row."""
    names: set[str] = set()
    for line in text.splitlines():
        if line.startswith("|"):
            first = line.split("|")[1]
            names.update(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", first))
    return names


def examples(path: Path) -> list[str]:
    """The bodies of the ```netdsl fenced blocks of a markdown file."""
    return re.findall(r"^```netdsl\n(.*?)^```", path.read_text(encoding="utf-8"), re.M | re.S)


def test_layer_reference_lists_every_layer():
    documented = table_names(section(LANGUAGE, "Layer reference"))
    assert sorted(set(REGISTRY) - documented) == []


def test_layer_tables_are_generated_from_the_registry():
    result = subprocess.run([sys.executable, "scripts/layer_docs.py", "--check"],
                            cwd=DOCS.parent, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_counting_rules_list_every_layer():
    text = section(CONVENTIONS, "Counting rules per layer kind")
    tables = re.findall(r"(?:^\|.*\n)+", text, re.M)  # runs of table lines
    assert len(tables) >= 2
    for table in tables:  # every table of the section (counts; memory and fields) is complete
        assert sorted(set(REGISTRY) - table_names(table)) == []


def test_every_stdlib_module_and_block_is_documented():
    text = section(LANGUAGE, "The standard library")
    for module in sorted(stdlib_dir().glob("*.net")):
        assert f"`std.{module.stem}`" in text, f"std.{module.stem} is not documented"
        blocks = re.findall(r"^block (\w+)", module.read_text(encoding="utf-8"), re.M)
        missing = sorted(set(blocks) - table_names(text))
        assert missing == [], f"std.{module.stem}: blocks {missing} are not documented"


EXAMPLES = examples(LANGUAGE) + examples(DOCS.parent / "README.md")


def test_language_reference_has_examples():
    assert sum("network" in e for e in EXAMPLES) >= 10


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_example_parses_and_elaborates(index: int, tmp_path: Path):
    text = EXAMPLES[index]
    parser.parse(text, f"example{index}.net")
    if not re.search(r"^network ", text, re.M):
        return
    spec = netdsl.loads(text, str(tmp_path / f"example{index}.net"))
    assert spec.networks
    for name in spec.networks:
        graph = spec.graph(name)
        assert graph.graph["outputs"], name


def test_documented_limits_match_the_code():
    text = section(LANGUAGE, "Limits")
    for name in ("MAX_CALL_DEPTH", "MAX_REPEAT", "MAX_NODES", "MAX_LIST"):
        row = next(line for line in text.splitlines() if f"`{name}`" in line)
        assert f"| {getattr(values, name):,} |" in row, f"{name} is documented wrongly"
    row = next(line for line in text.splitlines() if "`MAX_NESTING`" in line)
    assert f"| {parser.MAX_NESTING} |" in row
    assert base.MAX_TENSOR_ELEMENTS == 2**40 and "| 2**40 |" in text
    assert base.MAX_AXIS_SIZE == 2**31 - 1 and f"{base.MAX_AXIS_SIZE:,}" in text
