"""Regenerate the layer tables of the docs from the registry (`python scripts/layer_docs.py`).

docs/language.md's layer reference and docs/conventions.md's counting rules are written
from `netdsl.layers.REGISTRY`: each layer's signature, input ranks, `doc` and `Rules`.
A layer is documented where it is defined; these tables are never edited by hand.
`--check` exits 1 when a table differs from what the registry gives now.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from netdsl.language.display import literal  # noqa: E402
from netdsl.language.values import CONSTANTS  # noqa: E402
from netdsl.layers import REGISTRY, LayerSpec  # noqa: E402
from netdsl.layers.base import Arg  # noqa: E402

COUNTS = ("shape", "params", "buffers", "macs", "other_ops")
MEMORY = ("allocates", "saved", "field")


def default(value: object) -> str:
    """A default value as the language writes it (`none`, `true`, `same`, `1e-5`)."""
    return literal(value, CONSTANTS)


def argument(arg: Arg) -> str:
    return arg.name if arg.required else f"{arg.name} = {default(arg.default)}"


def arguments(spec: LayerSpec) -> str:
    args = ", ".join(argument(a) for a in spec.signature.args)
    listed = f"`{args}`" if args else ""
    if spec.signature.variadic_inputs:
        return "branches" + (f", {listed}" if listed else "")
    return listed


def input_kind(spec: LayerSpec) -> str:
    ranks = set(spec.ranks)
    if ranks == {0}:
        return "`[F]`"
    return "any" if 0 in ranks else "spatial"


def reference() -> str:
    """docs/language.md: every layer, its arguments, input and what it computes."""
    lines = ["| layer | arguments | input | what it computes |", "|---|---|---|---|"]
    for name, spec in REGISTRY.items():
        cells = [f"`{name}`", arguments(spec), input_kind(spec), spec.doc]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def grouped(columns: tuple[str, ...], head: str) -> str:
    """A table of rules, layers with the same cells sharing a row (at the first's place)."""
    rows: dict[tuple[str, ...], list[str]] = {}
    for name, spec in REGISTRY.items():
        rows.setdefault(tuple(getattr(spec.rules, c) for c in columns), []).append(name)
    lines = [head, "|" + "---|" * (len(columns) + 1)]
    for cells, names in rows.items():
        lines.append("| " + " | ".join([", ".join(f"`{n}`" for n in names), *cells]) + " |")
    return "\n".join(lines)


def counts() -> str:
    return grouped(COUNTS, "| layer | output shape | params | buffers | MACs | other ops |")


def memory() -> str:
    return grouped(MEMORY, "| layer | allocates | saved for backward | receptive field |")


#: (file, table name, generator): each table sits between `<!-- NAME:start -->` and
#: `<!-- NAME:end -->` in its file.
TABLES: tuple[tuple[str, str, Callable[[], str]], ...] = (
    ("docs/language.md", "layers", reference),
    ("docs/conventions.md", "layer-counts", counts),
    ("docs/conventions.md", "layer-memory", memory),
)


def regenerate(text: str, name: str, table: str) -> str:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise SystemExit(f"no {start} ... {end} in the file")
    return pattern.sub(lambda _: f"{start}\n{table}\n{end}", text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if a table is stale")
    args = parser.parse_args()
    stale = []
    for path in dict.fromkeys(f for f, _, _ in TABLES):
        file = ROOT / path
        text = file.read_text(encoding="utf-8")
        updated = text
        for _, name, make in (t for t in TABLES if t[0] == path):
            updated = regenerate(updated, name, make())
        if updated != text:
            stale.append(path)
            if not args.check:
                file.write_text(updated, encoding="utf-8")
    if args.check and stale:
        print(f"stale layer tables in {', '.join(stale)}: run python scripts/layer_docs.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
