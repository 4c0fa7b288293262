"""`netdsl verify FILE`: every static number of a spec against PyTorch, as a table.

The command is registered in `netdsl.cli` with `add_parser` (the options that select
the network, parameters and input shapes, from `netdsl.overrides`, plus `--batch`,
`--no-fields` and `--progress`); `verify_command` runs it and returns the exit code: 0
when every check passes, 1 when one fails (a spec error is reported by
`netdsl.cli.main`, like `analyze`'s). Progress goes to stderr, and only to a terminal
unless `--progress` asks for it, so a pipe of the table is never garbled.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register `netdsl verify` with the `netdsl` command's subparsers."""
    from netdsl.overrides import add_spec_arguments

    parser = sub.add_parser("verify", help="check every static number against PyTorch "
                                           "(needs torch)",
                            description="Build the model and measure every static number on "
                                        "it with PyTorch: params, buffers, shapes, MACs, "
                                        "saved bytes, the inference peak, receptive fields.")
    add_spec_arguments(parser)
    add_arguments(parser)
    parser.set_defaults(handler=verify_command)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `netdsl verify` beyond the common ones (spec, --network, --set,
    --params, --input)."""
    parser.add_argument("--batch", "-b", type=int, default=2,
                        help="batch for shapes, saved bytes and the peak (default 2)")
    parser.add_argument("--no-fields", dest="fields", action="store_false",
                        help="skip the receptive-field checks (float64 backward passes)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="show each measurement as it starts, on stderr (default: only "
                             "when stderr is a terminal)")


def verify_command(args: argparse.Namespace) -> int:
    """Elaborate the spec, run `netdsl.oracle.verify`, print the table; 0 if all pass."""
    from netdsl.errors import TORCH_CPU_INSTALL, UsageError
    from netdsl.overrides import select

    try:
        import torch  # noqa: F401
    except ImportError:
        raise UsageError(f"netdsl verify needs PyTorch; for the CPU wheel: "
                         f"{TORCH_CPU_INSTALL}") from None
    if getattr(args, "batch", 2) < 1:
        raise UsageError(f"--batch must be at least 1, got {args.batch}")
    graph = select(args.spec, args).graph()

    from netdsl.oracle import verify

    show = getattr(args, "progress", None)
    progress = Progress(sys.stderr, show if show is not None else sys.stderr.isatty())
    try:
        checks = verify(graph, batch=getattr(args, "batch", 2),
                        fields=getattr(args, "fields", True), progress=progress)
    finally:
        progress.done()
    print_checks(checks, f"{graph.graph['network']} ({args.spec})")
    return 0 if all(c.ok for c in checks) else 1


class Progress:
    """What `verify` is measuring, on `stream`: one line rewritten in place on a
    terminal, one line per step elsewhere (with `--progress`), nothing when off."""

    def __init__(self, stream: Any, enabled: bool) -> None:
        self.stream, self.enabled = stream, enabled
        self.tty = enabled and stream.isatty()
        self.start = time.monotonic()
        self.width = 0

    def __call__(self, step: str) -> None:
        if not self.enabled:
            return
        text = f"netdsl verify: {step} ({time.monotonic() - self.start:.0f} s)"
        if self.tty:
            self.stream.write("\r" + text.ljust(self.width))
            self.width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def done(self) -> None:
        """Clear the terminal line (nothing to do for a stream of lines)."""
        if self.tty and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()


def print_checks(checks: list[Any], title: str) -> None:
    """A rich table: check, static, measured, tolerance, ok (and the detail of failures)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column, justify in (("check", "left"), ("static", "right"), ("measured", "right"),
                            ("tolerance", "right"), ("", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for c in checks:
        mark = "[green]ok[/green]" if c.ok else "[bold red]FAIL[/bold red]"
        table.add_row(c.name, _show(c.static), _show(c.measured),
                      _tolerance(c.tolerance), mark)
        if c.detail and not c.ok:
            table.add_row(f"  [dim]{c.detail}[/dim]", "", "", "", "")
    failed = sum(not c.ok for c in checks)
    console = Console()
    if not console.is_terminal:  # a file or a pipe: no wrapping of the names
        console = Console(width=200)
    console.print(table)
    console.print(f"{len(checks) - failed} of {len(checks)} checks pass"
                  + (f", [bold red]{failed} fail[/bold red]" if failed else ""))


def _tolerance(value: Any) -> str:
    if isinstance(value, str):
        return value
    return "exact" if value == 0 else f"+{_show(value)}"


def _show(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)
