"""`netdsl draw SPEC -o net.html|net.svg|net.dot`: the network as a picture.

A spec with a mistake is drawn as far as it elaborates, the failing call marked and the
message beside it; the file is written, the error printed, and the exit code is 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from netdsl.errors import UsageError


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register `netdsl draw` with the `netdsl` command's subparsers."""
    from netdsl.draw.model import METRICS

    parser = sub.add_parser("draw", help="draw the network: HTML (interactive), SVG or DOT",
                            description="Draw the network as a layered graph: blocks as nested "
                                        "boxes labelled with their call, each layer with its "
                                        "op, arguments and output shape, every number of the "
                                        "report on hover.")
    _spec_arguments(parser)
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="net.html (interactive, self-contained), net.svg or net.dot "
                             "(default: the spec's name with .html)")
    parser.add_argument("--depth", type=int, metavar="N",
                        help="blocks nested N deep (1: the outermost) start collapsed")
    parser.add_argument("--color", choices=list(METRICS),
                        help="shade the nodes by this number (log scale), with a legend")
    parser.add_argument("--direction", default="TB", choices=["TB", "LR"],
                        help="top to bottom (default) or left to right")
    parser.add_argument("--fold-runs", action="store_true",
                        help="runs of identical block calls start folded to one box (x N)")
    parser.add_argument("--batch", "-b", type=int, default=1,
                        help="batch size of the MACs and memory figures (default 1)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    parser.set_defaults(handler=draw_command)
    return parser


def draw_command(args: argparse.Namespace) -> int:
    """Write the picture; 1 when the spec has a mistake (the picture shows it)."""
    from netdsl.draw import FORMATS, draw_spec

    output = Path(args.output) if args.output else Path(Path(args.spec).stem + ".html")
    if output.suffix.lstrip(".").lower() not in FORMATS:
        raise UsageError(f"cannot draw to '{output}': the file must end in "
                         f"{', '.join('.' + f for f in FORMATS)}")
    if args.batch < 1:
        raise UsageError(f"--batch must be at least 1, got {args.batch}")
    spec, overrides, inputs = _select(args)
    drawing = draw_spec(spec, args.network, inputs=inputs, params=overrides, depth=args.depth,
                        color=args.color, direction=args.direction, fold_runs=args.fold_runs,
                        batch=args.batch, dtype=args.dtype)
    drawing.save(output)
    if drawing.error is not None:
        print(drawing.error.render(), file=sys.stderr)
        print(f"wrote {output} (drawn up to the error)", file=sys.stderr)
        return 1
    print(f"wrote {output} ({len(drawing.model['nodes'])} layers)")
    return 0


# The options that choose a spec, its parameters and inputs are the `netdsl` command's own
# (shared with analyze, build, verify and search), in netdsl.overrides.
def _spec_arguments(parser: argparse.ArgumentParser) -> None:
    from netdsl.overrides import add_spec_arguments

    add_spec_arguments(parser)


def _select(args: argparse.Namespace) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """The spec, its parameter overrides and its input shapes, as the options give them."""
    from netdsl.overrides import select

    chosen = select(args.spec, args)
    return chosen.spec, chosen.params, chosen.inputs
