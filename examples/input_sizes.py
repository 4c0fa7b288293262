"""Analyse one spec at several input sizes: how MACs, memory and the output grow.

    python examples/input_sizes.py specs/resnet50.net 224 320 448 640
"""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

import netdsl
from netdsl.report import units


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("spec", nargs="?", default="specs/resnet50.net")
    parser.add_argument("sizes", nargs="*", type=int, default=[224, 320, 448, 640])
    parser.add_argument("--batch", type=int, default=1)
    args = parser.parse_args()

    spec = netdsl.load(args.spec)  # parsed once, analysed once per size
    name, shape = next(iter(spec.analyze().inputs.items()))
    table = Table(title=f"{args.spec} at batch {args.batch} (float32)")
    for column in ("input", "output", "MACs", "inference peak MiB", "training peak MiB"):
        table.add_column(column, justify="right")
    for size in args.sizes:
        dims = (shape[0],) + (size,) * (len(shape) - 1)
        report = spec.analyze(inputs={name: dims}, batch=args.batch)
        t = report.totals
        table.add_row(units.shape(dims), ", ".join(units.shape(s) for s in report.outputs.values()),
                      units.count(t.macs), units.mib(t.inference_peak_bytes),
                      units.mib(t.training_peak_bytes))
    Console().print(table)


if __name__ == "__main__":
    main()
