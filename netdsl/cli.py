"""The `netdsl` command: `analyze` (a report), `build` (a PyTorch model), `verify` (the
static numbers against PyTorch's measurements).

Mistakes in a spec or an argument print `file:line:col: error: ...` with the source
line and exit 1 (2 for command-line usage errors); `--traceback` shows Python's.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from netdsl.errors import NetdslError, UsageError


def _common(parser: argparse.ArgumentParser, several: bool = False) -> None:
    if several:
        parser.add_argument("specs", nargs="+", metavar="spec",
                            help="the .net file(s), analysed in one process")
    else:
        parser.add_argument("spec", help="the .net file")
    parser.add_argument("--network", "-n", help="which network of the file (default: its only one)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE",
                        help="override a network parameter (repeatable)")
    parser.add_argument("--params", dest="params_file", metavar="FILE.yaml",
                        help="override network parameters from a YAML mapping")
    parser.add_argument("--input", dest="inputs", action="append", default=[],
                        metavar="NAME=CxHxW", help="override an input shape (repeatable)")
    parser.add_argument("--allow-import-path", dest="import_paths", action="append", default=[],
                        metavar="DIR", help="let imports read files under DIR too (repeatable; "
                        "by default only the spec's folder tree and the standard library)")
    parser.add_argument("--traceback", action="store_true", help="show Python tracebacks")


def make_parser() -> argparse.ArgumentParser:
    """The argument parser of the `netdsl` command."""
    parser = argparse.ArgumentParser(prog="netdsl", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True)

    analyze = sub.add_parser("analyze", help="report shapes, params, MACs, memory, receptive fields")
    _common(analyze, several=True)
    analyze.add_argument("--batch", "-b", type=int, default=1, help="batch size (default 1)")
    analyze.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    analyze.add_argument("--optimizer", default="sgd", choices=["sgd", "momentum", "adam"],
                         help="optimizer state counted in the training peak")
    analyze.add_argument("--depth", type=int, metavar="N",
                         help="roll layers up to the first N parts of their block path")
    analyze.add_argument("--format", "-f", default="table", choices=["table", "json", "yaml", "csv"])
    analyze.add_argument("--ir", action="store_true", help="print the graph IR, one line per node")

    verify = sub.add_parser("verify", help="check every static number against PyTorch "
                                          "(needs torch)")
    _common(verify)
    from netdsl.oracle.cli import add_arguments

    add_arguments(verify)

    build = sub.add_parser("build", help="lower to PyTorch: Python source, weights, ONNX")
    _common(build)
    build.add_argument("-o", "--output", metavar="model.py", help="write standalone PyTorch source")
    build.add_argument("--class-name", help="name of the emitted nn.Module class")
    build.add_argument("--print", dest="print_source", action="store_true",
                       help="print the generated source")
    build.add_argument("--weights", metavar="init.pt", help="save the initial state_dict")
    build.add_argument("--onnx", metavar="model.onnx", help="export ONNX (checked)")
    build.add_argument("--init", default="default", choices=["default", "kaiming"],
                       help="weight initialisation (default: PyTorch's)")
    build.add_argument("--zero-init-residual", action="store_true",
                       help="zero the last batch norm of every residual branch")
    return parser


def _version() -> str:
    from netdsl import __version__

    return f"netdsl {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    args = make_parser().parse_args(argv)
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
        if args.traceback:
            raise
        print(f"netdsl: internal error: {type(exc).__name__}: {exc}\n"
              "note: this is a bug in netdsl; rerun with --traceback and report it",
              file=sys.stderr)
        return 3


def run(args: argparse.Namespace) -> int:
    """Execute a parsed command line."""
    if args.command == "verify":
        from netdsl.oracle.cli import verify_command

        return verify_command(args)
    if args.command == "analyze":
        return _analyze_all(args)
    spec, overrides, inputs = _load(args.spec, args)
    return _build(spec, args, overrides, inputs)


def _load(path: str, args: argparse.Namespace) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """The spec, its parameter overrides, and its input shapes (a bare --input named)."""
    import netdsl

    spec = netdsl.load(path, args.import_paths)
    overrides, inputs = _overrides(args)
    if "" in inputs:
        graph = spec.graph(args.network, params=overrides)
        names = list(graph.graph["inputs"])
        if len(names) != 1:
            raise UsageError(f"--input needs a name: the network has inputs {', '.join(names)}")
        inputs[names[0]] = inputs.pop("")
    return spec, overrides, inputs


def _analyze_all(args: argparse.Namespace) -> int:
    """Analyse each spec in turn; a spec with a mistake is reported and the rest go on."""
    if args.batch < 1:
        raise UsageError(f"--batch must be at least 1, got {args.batch}")
    if args.depth is not None and args.depth < 1:
        raise UsageError(f"--depth must be at least 1, got {args.depth}")
    outputs, status = [], 0
    for path in args.specs:
        try:
            spec, overrides, inputs = _load(path, args)
            outputs.append(_analyze(spec, args, overrides, inputs))
        except NetdslError as exc:
            if args.traceback or len(args.specs) == 1:
                raise
            print(exc.render(), file=sys.stderr)
            status = max(status, 2 if isinstance(exc, UsageError) else 1)
    _print_outputs(outputs, args)
    return status


def _print_outputs(outputs: list[Any], args: argparse.Namespace) -> None:
    """Text outputs one after another; JSON and YAML as one document (a list for several)."""
    if args.ir or args.format in ("table", "csv"):
        for i, text in enumerate(outputs):
            if args.format == "csv" and i:
                text = text.split("\n", 1)[1]  # one header for all the rows
            sys.stdout.write(text if args.format == "csv" else text + "\n")
        return
    many = len(args.specs) > 1
    data = [report.to_dict() for report in outputs]
    if args.format == "json":
        import json

        sys.stdout.write(json.dumps(data if many else data[0], indent=2) + "\n")
    else:
        import yaml

        sys.stdout.write(yaml.safe_dump(data if many else data[0], sort_keys=False))


def _overrides(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, tuple[int, ...]]]:
    from netdsl.overrides import parse_inputs, parse_params_file, parse_set

    overrides: dict[str, Any] = {}
    if args.params_file:
        overrides.update(parse_params_file(args.params_file))
    overrides.update(parse_set(args.sets))
    return overrides, parse_inputs(args.inputs)


def _analyze(spec: Any, args: argparse.Namespace, overrides: dict[str, Any],
             inputs: dict[str, tuple[int, ...]]) -> Any:
    """One spec's output: the IR listing, the table text, CSV text, or the Report."""
    graph = spec.graph(args.network, inputs, overrides)
    if args.ir:
        from netdsl.graph import format_ir

        return format_ir(graph)
    from netdsl.analysis.report import analyze_graph

    report = analyze_graph(graph, batch=args.batch, dtype=args.dtype, optimizer=args.optimizer)
    if args.format == "table":
        return _table_text(report, args.depth)
    if args.format == "csv":
        from netdsl.report.formats import to_csv

        return to_csv(report)
    return report


def _table_text(report: Any, depth: int | None) -> str:
    """The human report: styled and fitted on a terminal; whole and plain for a file or a
    pipe (without loading rich at all: a whole `netdsl analyze` is meant to take < 0.5 s)."""
    if not sys.stdout.isatty():
        from netdsl.report.table import plain_report

        return plain_report(report, depth)
    from rich.console import Console

    from netdsl.report.table import render_report

    terminal = Console()
    console = Console(width=terminal.width, record=True, force_terminal=True, file=_Discard())
    console.print(render_report(report, depth, terminal.width), soft_wrap=True)
    return console.export_text(styles=True).rstrip("\n")


class _Discard:
    """A file that keeps nothing (the console records what it prints)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def _build(spec: Any, args: argparse.Namespace, overrides: dict[str, Any],
           inputs: dict[str, tuple[int, ...]]) -> int:
    from netdsl.lowering.targets import check_build_arguments, source_for

    check_build_arguments(args.output, args.weights, args.onnx, args.class_name)
    graph = spec.graph(args.network, inputs, overrides)
    try:
        import torch
    except ImportError:
        raise UsageError("netdsl build needs PyTorch: pip install torch") from None
    from netdsl.lowering.module import build

    model = build(graph, init=args.init, zero_init_residual=args.zero_init_residual)
    source = source_for(graph, args.class_name)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(source)
        print(f"wrote {args.output} ({sum(p.numel() for p in model.parameters()):,} parameters)")
    if args.print_source:
        print(source)
    if args.weights:
        torch.save(model.state_dict(), args.weights)
        print(f"wrote {args.weights}")
    if args.onnx:
        from netdsl.lowering.onnx_export import export_onnx

        export_onnx(model, graph, args.onnx)
        print(f"wrote {args.onnx} (checked with onnx.checker)")
    if not (args.output or args.print_source or args.weights or args.onnx):
        print(source)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
