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

#: Parameterised specs: the other variants shown, as the `--set` values that make them
#: (each spec's header comment lists them; the first row of a spec is its defaults).
VARIANTS: dict[str, list[dict[str, object]]] = {
    "efficientnet": [{"variant": f"b{i}"} for i in range(1, 8)],
    "mobilenet_v3": [{"arch": "small"}],
    "shufflenet_v2": [{"width": w} for w in (0.5, 1.5, 2.0)],
    "convnext": [{"variant": v} for v in ("small", "base", "large")],
    "regnet_x": [{"depth": 16, "w_0": 56, "w_a": 35.73, "w_m": 2.28, "group_width": 16},
                 {"depth": 18, "w_0": 80, "w_a": 34.01, "w_m": 2.25, "group_width": 24},
                 {"depth": 25, "w_0": 88, "w_a": 26.31, "w_m": 2.25, "group_width": 48}],
    "regnet_y": [{"depth": 14, "w_0": 56, "w_a": 38.84, "w_m": 2.4, "group_width": 16},
                 {"depth": 27, "w_0": 48, "w_a": 20.71, "w_m": 2.65, "group_width": 24},
                 {"depth": 21, "w_0": 80, "w_a": 42.63, "w_m": 2.66, "group_width": 24}],
    "googlenet": [{"aux_logits": True}],
}
#: Short names of the RegNet variants (their parameters are the width rule's).
LABELS = {("regnet_x", 0): "800MF", ("regnet_x", 1): "1.6GF", ("regnet_x", 2): "3.2GF",
          ("regnet_y", 0): "800MF", ("regnet_y", 1): "1.6GF", ("regnet_y", 2): "3.2GF"}


def last_feature_map(report: Report) -> LayerRow:
    """The last layer whose output still has a spatial extent (before global pooling)."""
    spatial = [row for row in report.layers if len(row.shape) >= 2 and max(row.shape[1:]) > 1]
    return spatial[-1] if spatial else report.layers[0]


def row(path: Path, params: dict[str, object] | None = None, label: str = "") -> str:
    """One gallery line for a spec (with `params` set, labelled by `label`)."""
    report = netdsl.load(path).analyze(params=params or {})
    t = report.totals
    inputs = ", ".join(units.shape(s) for s in report.inputs.values())
    outputs = ", ".join(units.shape(s) for s in report.outputs.values())
    fmap = last_feature_map(report)
    rf = f"{units.axes(fmap.rf.size)} / {units.axes(fmap.rf.stride)}"
    if not fmap.rf.exact:
        rf = "varies (after up-sampling)"
    if fmap.rf.is_global:  # e.g. after an SE gate: the local field, and it sees everything
        rf += " (global)"
    name = f"[`{path.stem}`](specs/{path.name})" + (f" {label}" if label else "")
    return (f"| {name} | {inputs} | {outputs} | {t.params:,} | "
            f"{units.count(t.macs)} | {units.mib(t.inference_peak_bytes)} | {rf} |")


def table() -> str:
    """The whole gallery table, one row per spec, sorted by name."""
    head = ("| spec | input | output | params | MACs | inference peak (MiB, batch 1, fp32) | "
            "RF size / stride (last feature map) |\n|---|---|---|---:|---:|---:|---:|")
    rows = []
    for p in sorted((ROOT / "specs").glob("*.net")):
        rows.append(row(p))
        for i, params in enumerate(VARIANTS.get(p.stem, [])):
            label = LABELS.get((p.stem, i)) or ", ".join(
                f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in params.items())
            rows.append(row(p, params, label))
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
