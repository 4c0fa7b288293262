"""Compare two specs side by side, block by block and in total.

    python examples/compare_specs.py specs/resnet50.net specs/se_resnet50.net
"""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

import netdsl
from netdsl.analysis.report import Report
from netdsl.report import units


def totals_table(a: Report, b: Report) -> Table:
    """Totals of both, with the ratio b / a."""
    table = Table(title="totals")
    for column in ("", a.network, b.network, "ratio"):
        table.add_column(column, justify="right")
    rows = [("params", "params", units.count), ("MACs", "macs", units.count),
            ("other ops", "other_ops", units.count),
            ("inference peak MiB", "inference_peak_bytes", units.mib),
            ("saved for backward MiB", "saved_for_backward_bytes", units.mib)]
    for label, key, fmt in rows:
        x, y = getattr(a.totals, key), getattr(b.totals, key)
        table.add_row(label, fmt(x), fmt(y), f"{y / x:.3f}" if x else "-")
    return table


def blocks_table(a: Report, b: Report, depth: int) -> Table:
    """Params and MACs per top-level block, matched by name."""
    table = Table(title=f"blocks (depth {depth})")
    table.add_column("block", no_wrap=True)
    for column in (f"{a.network} params", f"{b.network} params",
                   f"{a.network} MACs", f"{b.network} MACs"):
        table.add_column(column, justify="right", no_wrap=True)
    left = {r.name: r for r in a.rollup(depth)}
    right = {r.name: r for r in b.rollup(depth)}
    for name in dict.fromkeys([*left, *right]):
        x, y = left.get(name), right.get(name)
        table.add_row(name, *(units.count(r.params) if r else "-" for r in (x, y)),
                      *(units.count(r.macs) if r else "-" for r in (x, y)))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("first", nargs="?", default="specs/resnet50.net")
    parser.add_argument("second", nargs="?", default="specs/se_resnet50.net")
    parser.add_argument("--depth", type=int, default=2)
    args = parser.parse_args()
    a, b = netdsl.load(args.first).analyze(), netdsl.load(args.second).analyze()
    console = Console()
    console.print(totals_table(a, b))
    console.print(blocks_table(a, b, args.depth))


if __name__ == "__main__":
    main()
