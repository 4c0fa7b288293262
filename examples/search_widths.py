"""Architecture search from Python: sweep ResNet-50's width and depth under a MAC budget.

The spec is parsed once; each variant only binds parameters and re-analyses, which is
what makes thousands of candidates per run cheap (no model is built).

    python examples/search_widths.py --budget 2.5e9
"""

from __future__ import annotations

import argparse
import itertools
import time

import netdsl
from netdsl.report import units

WIDTHS = [32, 40, 48, 56, 64, 72, 80]
LAYOUTS = [[2, 2, 2, 2], [2, 3, 4, 2], [3, 4, 6, 3], [3, 4, 8, 3], [3, 6, 10, 3]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spec", default="specs/resnet50.net")
    parser.add_argument("--budget", type=float, default=2.5e9, help="MACs allowed at batch 1")
    parser.add_argument("--memory", type=float, default=4.0,
                        help="training peak allowed at batch 32, in GiB")
    args = parser.parse_args()

    spec = netdsl.load(args.spec)
    start, results = time.perf_counter(), []
    for width, layers in itertools.product(WIDTHS, LAYOUTS):
        report = spec.analyze(width=width, layers=layers, batch=32)
        t = report.totals
        macs = t.macs // 32  # per image
        fits = macs <= args.budget and t.training_peak_bytes <= args.memory * 2**30
        results.append((fits, t.params, width, layers, macs, t.training_peak_bytes))
    elapsed = time.perf_counter() - start
    print(f"analysed {len(results)} variants in {elapsed:.2f} s "
          f"({len(results) / elapsed:.0f} per second)")
    best = sorted((r for r in results if r[0]), key=lambda r: -r[1])[:5]
    print(f"largest models under {units.count(args.budget)} MACs and {args.memory} GiB "
          "training peak at batch 32:")
    for _, params, width, layers, macs, peak in best:
        print(f"  width={width:<3} layers={layers!s:<15} params={units.count(params):>9} "
              f"MACs={units.count(macs):>9} training peak={peak / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
