"""The `netdsl` command.

Mistakes in a spec or an argument print `file:line:col: error: ...` with the source
line and exit 1 (2 for command-line usage errors); `--traceback` shows Python's.

Subcommands. Each is registered by one function in `SUBCOMMANDS`, which adds its
parser to the subparsers and sets its handler with `set_defaults(handler=FUNC)`
(`FUNC(args) -> exit code`). A package with its own command (`netdsl.draw`,
`netdsl.search`) exposes such an `add_parser(subparsers)` in its `cli` module and is
named in the list; the options that choose a spec are `netdsl.overrides.add_spec_arguments`.
"""

from __future__ import annotations

import argparse
import errno
import importlib.util
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from typing import Any

from netdsl.api import collector_paused
from netdsl.errors import TORCH_CPU_INSTALL, NetdslError, UsageError
from netdsl.graph import as_networkx, format_ir, plain_graphs
from netdsl.overrides import Selection, add_spec_arguments, select

DESCRIPTION = f"""\
netdsl: a declarative language for convolutional networks, and a compiler that analyses
them statically and lowers them to PyTorch.

  netdsl analyze specs/resnet50.net              shapes, params, MACs, memory, fields
  netdsl build specs/resnet50.net -o model.py    a standalone PyTorch model file
  netdsl verify specs/resnet18.net --input 3x64x64    every number against PyTorch

`netdsl COMMAND --help` shows a command's options. Analysis and the model's source need
no PyTorch; weights, ONNX and verify do. For the CPU wheel (no CUDA downloads):
  {TORCH_CPU_INSTALL}"""

DTYPES = ("float32", "float16", "bfloat16")
#: Errors writing the output (a full disk, a failing device): the user's to fix, not bugs.
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})


def add_analyze_parser(sub: Any) -> None:
    """`netdsl analyze`: the report of one or more specs."""
    p = sub.add_parser("analyze", help="report shapes, params, MACs, memory, receptive fields",
                       description="Report every layer's output shape, params, MACs, memory "
                                   "and receptive field, with totals, without running anything.")
    add_spec_arguments(p, several=True)
    p.add_argument("--batch", "-b", type=int, default=1,
                   help="batch size of the MACs and memory figures (default 1)")
    p.add_argument("--dtype", default="float32", choices=DTYPES,
                   help="element type of activations and parameters, for the byte counts "
                        "(default float32)")
    p.add_argument("--optimizer", default="sgd", choices=["sgd", "momentum", "adam"],
                   help="optimizer whose state the training peak counts (default sgd: none)")
    p.add_argument("--depth", type=int, metavar="N",
                   help="show blocks only N levels deep, each totalling the layers under it "
                        "(table, json, yaml and csv alike)")
    p.add_argument("--format", "-f", default="table", choices=["table", "json", "yaml", "csv"],
                   help="table (default), json, yaml or csv (one row per layer, a total row "
                        "per network)")
    p.add_argument("--width", type=int, metavar="COLUMNS",
                   help="fit the table to COLUMNS (default: the terminal's width; unlimited in a "
                        "file or a pipe); 0: never leave a column out")
    p.add_argument("--ir", action="store_true",
                   help="print the graph IR instead, one line per node (text only)")
    p.set_defaults(handler=analyze_command)


def add_build_parser(sub: Any) -> None:
    """`netdsl build`: Python source (no torch needed), weights and ONNX (torch needed)."""
    p = sub.add_parser("build", help="lower to PyTorch: Python source, weights, ONNX",
                       description="Lower a spec to PyTorch. The source (-o, --print; the "
                                   "default) needs no PyTorch; --weights and --onnx do.")
    add_spec_arguments(p)
    p.add_argument("-o", "--output", metavar="model.py", help="write standalone PyTorch source")
    p.add_argument("--class-name", help="name of the emitted nn.Module class")
    p.add_argument("--print", dest="print_source", action="store_true",
                   help="print the generated source (the default when nothing else is asked)")
    p.add_argument("--weights", metavar="init.pt", help="save the initial state_dict (needs torch)")
    p.add_argument("--onnx", metavar="model.onnx", help="export ONNX, checked (needs torch, onnx)")
    p.add_argument("--init", default="default", choices=["default", "kaiming"],
                   help="initialisation of the weights saved by --weights or --onnx "
                        "(default: PyTorch's)")
    p.add_argument("--zero-init-residual", action="store_true",
                   help="zero the last batch norm of every residual branch (--weights, --onnx)")
    p.set_defaults(handler=build_command)


def add_verify_parser(sub: Any) -> None:
    """`netdsl verify` (in `netdsl.oracle.cli`)."""
    from netdsl.oracle.cli import add_parser

    add_parser(sub)


def add_draw_parser(sub: Any) -> None:
    """`netdsl draw` (in `netdsl.draw.cli`)."""
    from netdsl.draw.cli import add_parser

    add_parser(sub)


def add_search_parser(sub: Any) -> None:
    """`netdsl search` (in `netdsl.search.cli`)."""
    from netdsl.overrides import add_spec_arguments
    from netdsl.search.cli import add_parser

    add_parser(sub, add_spec_arguments)


#: The subcommands, in the order `netdsl --help` lists them.
SUBCOMMANDS: list[Callable[[Any], None]] = [add_analyze_parser, add_build_parser,
                                            add_verify_parser, add_draw_parser,
                                            add_search_parser]


def make_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of the `netdsl` command; with `command` (a subcommand's name),
    only that subcommand is registered: registering `search` and `draw` imports their
    packages, a tenth of the start-up of every `netdsl analyze`."""
    parser = argparse.ArgumentParser(prog="netdsl", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = [r for r in SUBCOMMANDS if r.__name__ == f"add_{command}_parser"]
    for register in chosen or SUBCOMMANDS:
        register(sub)
    return parser


def _version() -> str:
    from netdsl import __version__

    return f"netdsl {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = make_parser(argv[0] if argv else None).parse_args(argv)
    try:
        return run(args)
    except NetdslError as exc:
        if args.traceback:
            raise
        print(exc.render(), file=sys.stderr)
        return 2 if isinstance(exc, UsageError) else 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # an internal bug: say so plainly, never a traceback by default
        if getattr(args, "traceback", False):
            raise
        if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:
            _write_failed(exc)
            return 1
        print(f"netdsl: internal error: {type(exc).__name__}: {exc}\n"
              "note: this is a bug in netdsl; rerun with --traceback and report it",
              file=sys.stderr)
        return 3


def _write_failed(exc: OSError) -> None:
    print(f"netdsl: error: could not write the output: {exc.strerror}", file=sys.stderr)


#: What a command leaves for the process's end when `entry` runs it (see `entry`).
_LEFT_FOR_EXIT: list[Any] | None = None


def entry() -> None:
    """The console script and `python -m netdsl`: `main`, then the end of the process.

    After `analyze`, the process ends without Python's teardown (`os._exit`, once the
    output is flushed), as mypy's does: freeing a 50,000-layer chain's syntax, graph and
    report one object at a time, and a last collection over all of them, took a fifth of
    the command's time, for nothing. Other commands end normally, so that their exit
    handlers (the drawing's browser) run.
    """
    global _LEFT_FOR_EXIT
    _LEFT_FOR_EXIT = []
    code = main()
    if _LEFT_FOR_EXIT:
        try:
            sys.stdout.flush()
        except BrokenPipeError:  # the reader stopped early (`| head`): not an error
            pass
        except OSError as exc:  # a full disk, found when the last of the output is written
            _write_failed(exc)
            code = code or 1
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def run(args: argparse.Namespace) -> int:
    """Execute a parsed command line."""
    return args.handler(args)


# ------------------------------------------------------------------------- analyze
def analyze_command(args: argparse.Namespace) -> int:
    """Analyse each spec in turn; a spec with a mistake is reported and the rest go on."""
    _check_analyze_options(args)
    outputs, status = [], 0
    # The collector paused for the whole command (parsing and the table too, not only the
    # elaboration and analysis, as `Spec.analyze` does): the command makes few reference
    # cycles and ends soon after, and collections rescanning every syntax node, layer and
    # row took a quarter of a 50,000-layer chain's time (for 8% more peak memory). When the
    # process ends with the command (`entry`), the collector stays paused and what the
    # command made is kept for the end: restoring it would collect everything once more.
    ends_process = _LEFT_FOR_EXIT is not None
    with collector_paused(restore=not ends_process):
        for path in args.specs:
            try:
                with plain_graphs():  # nothing here hands a graph on: networkx is not needed
                    outputs.append(_analyze(select(path, args), args))
            except NetdslError as exc:
                if args.traceback or len(args.specs) == 1:
                    raise
                print(exc.render(), file=sys.stderr)
                status = max(status, 2 if isinstance(exc, UsageError) else 1)
        _print_outputs(outputs, args)
    return status


def _check_analyze_options(args: argparse.Namespace) -> None:
    """Refuse the combinations that would be silently ignored."""
    if args.batch < 1:
        raise UsageError(f"--batch must be at least 1, got {args.batch}")
    if args.depth is not None and args.depth < 1:
        raise UsageError(f"--depth must be at least 1, got {args.depth}")
    if args.width is not None and args.width < 0:
        raise UsageError(f"--width must be 0 (no limit) or a number of columns, got {args.width}")
    if args.ir:
        given = [f"--format {args.format}"] if args.format != "table" else []
        given += ["--depth"] if args.depth is not None else []
        if given:
            raise UsageError(f"--ir prints the graph as text, one line per node; it takes no "
                             f"{' or '.join(given)} (the JSON report lists every node's op, "
                             "inputs and shape: --format json without --ir)")


def _analyze(selection: Selection, args: argparse.Namespace) -> Any:
    """One spec's output: the IR listing, the table text, or the Report."""
    graph = selection.graph()
    if _LEFT_FOR_EXIT is not None:  # freed by the process's end, not one object at a time
        _LEFT_FOR_EXIT.append((selection, graph))
    if args.ir:
        return format_ir(as_networkx(graph))
    if graph.graph.get("named_outputs"):  # the heads' analysis reads networkx's graph
        graph = as_networkx(graph)
    from netdsl.analysis.report import analyze_graph

    report = analyze_graph(graph, batch=args.batch, dtype=args.dtype, optimizer=args.optimizer)
    if _LEFT_FOR_EXIT is not None:
        _LEFT_FOR_EXIT.append(report)
    return _table_text(report, args) if args.format == "table" else report


def _print_outputs(outputs: list[Any], args: argparse.Namespace) -> None:
    """Text outputs one after another; CSV with one header; JSON and YAML as one
    document (a list for several specs)."""
    if args.ir or args.format == "table":
        for text in outputs:
            sys.stdout.write(text + "\n")
        return
    from netdsl.report import formats

    if args.format == "csv":
        sys.stdout.write(formats.to_csv(outputs, args.depth))
        return
    data = [report.to_dict(args.depth) for report in outputs]
    document = data if len(args.specs) > 1 else data[0]
    if args.format == "json":
        import json

        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        import yaml

        sys.stdout.write(yaml.safe_dump(document, sort_keys=False))


def table_width(requested: int | None) -> int | None:
    """The width to fit the table to: `--width` (0: none), else the terminal's ($COLUMNS
    when set); None (every column) for a file or a pipe, whatever $COLUMNS says (test
    runners and libraries export it)."""
    if requested is not None:
        return requested or None
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


def _table_text(report: Any, args: argparse.Namespace) -> str:
    """The human report: styled on a terminal; plain for a file or a pipe (without
    loading rich at all: a whole `netdsl analyze` is meant to take < 0.5 s)."""
    from netdsl.report.table import plain_report, styled_text

    width = table_width(args.width)
    if sys.stdout.isatty():
        return styled_text(report, args.depth, width or 10_000)
    return plain_report(report, args.depth, width)


# --------------------------------------------------------------------------- build
def build_command(args: argparse.Namespace) -> int:
    """Write or print the source (no torch needed); save weights, export ONNX (torch)."""
    from netdsl.lowering.targets import check_build_arguments

    check_build_arguments(args.output, args.weights, args.onnx, args.class_name)
    graph = select(args.spec, args).graph()
    needs_model = bool(args.weights or args.onnx)
    if not needs_model and (args.init != "default" or args.zero_init_residual):
        option = "--zero-init-residual" if args.zero_init_residual else f"--init {args.init}"
        raise UsageError(f"{option} sets the weights that --weights saves or --onnx exports; "
                         "the generated source always starts from PyTorch's default "
                         "initialisation (give --weights FILE.pt or --onnx FILE.onnx)")
    from netdsl.lowering.codegen import generate_source

    try:
        source = generate_source(graph, args.class_name)
    except ValueError as exc:  # a class name that is not a free identifier
        raise UsageError(f"--class-name: {exc}") from None
    params = sum(layer.counts().params for _, layer in graph.nodes(data="layer"))
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(source)
        print(f"wrote {args.output} ({params:,} parameters)")
    if args.print_source or not (args.output or needs_model):
        print(source)
    if needs_model:
        _save_model(graph, args)
    return 0


def _save_model(graph: Any, args: argparse.Namespace) -> None:
    """The lowered module's initial weights (--weights) and its ONNX export (--onnx)."""
    try:
        import torch
    except ImportError:
        raise UsageError(f"--weights and --onnx need PyTorch; for the CPU wheel: "
                         f"{TORCH_CPU_INSTALL}") from None
    if args.onnx and importlib.util.find_spec("onnx") is None:
        raise UsageError("--onnx needs the onnx package: pip install onnx onnxscript")
    from netdsl.lowering.module import build, residual_batchnorms

    if args.zero_init_residual and not residual_batchnorms(graph):
        raise UsageError("--zero-init-residual: the network has no residual branch that ends "
                         "in a batch norm feeding an add, so there is nothing to zero")
    model = build(graph, init=args.init, zero_init_residual=args.zero_init_residual)
    if args.weights:
        torch.save(model.state_dict(), args.weights)
        print(f"wrote {args.weights}")
    if args.onnx:
        from netdsl.lowering.onnx_export import export_onnx

        export_onnx(model, graph, args.onnx)
        print(f"wrote {args.onnx} (checked with onnx.checker)")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
