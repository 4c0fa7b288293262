"""Regenerate the README's gallery table from specs/ (`python scripts/gallery.py`).

`--check` exits 1 when the README's table differs from what the specs give now.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import netdsl  # noqa: E402
from netdsl.analysis.report import LayerRow, Report  # noqa: E402
from netdsl.report import units  # noqa: E402

START, END = "<!-- gallery:start -->", "<!-- gallery:end -->"


def last_feature_map(report: Report) -> LayerRow:
    """The last layer whose output still has a spatial extent (before global pooling)."""
    spatial = [row for row in report.layers if len(row.shape) >= 2 and max(row.shape[1:]) > 1]
    return spatial[-1] if spatial else report.layers[0]


def row(path: Path) -> str:
    """One gallery line for a spec."""
    report = netdsl.load(path).analyze()
    t = report.totals
    inputs = ", ".join(units.shape(s) for s in report.inputs.values())
    outputs = ", ".join(units.shape(s) for s in report.outputs.values())
    fmap = last_feature_map(report)
    rf = f"{units.axes(fmap.rf.size)} / {units.axes(fmap.rf.stride)}"
    if not fmap.rf.exact:
        rf = "varies (after up-sampling)"
    if fmap.rf.is_global:  # e.g. after an SE gate: the local field, and it sees everything
        rf += " (global)"
    return (f"| [`{path.stem}`](specs/{path.name}) | {inputs} | {outputs} | {t.params:,} | "
            f"{units.count(t.macs)} | {units.mib(t.inference_peak_bytes)} | {rf} |")


def table() -> str:
    """The whole gallery table, one row per spec, sorted by name."""
    head = ("| spec | input | output | params | MACs | inference peak (MiB, batch 1, fp32) | "
            "RF size / stride (last feature map) |\n|---|---|---|---:|---:|---:|---:|")
    rows = [row(p) for p in sorted((ROOT / "specs").glob("*.net"))]
    return "\n".join([head, *rows])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the README is stale")
    args = parser.parse_args()
    readme = ROOT / "README.md"
    text = readme.read_text()
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    updated = pattern.sub(lambda _: f"{START}\n{table()}\n{END}", text)
    if args.check:
        if updated != text:
            print("README.md gallery is out of date: run python scripts/gallery.py")
            return 1
        return 0
    readme.write_text(updated)
    return 0


if __name__ == "__main__":
    sys.exit(main())
