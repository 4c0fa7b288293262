"""`netdsl verify FILE`: every static number of a spec against PyTorch, as a table.

The command is wired in `netdsl.cli` with `add_arguments` (the analyze options that
select the network, parameters and input shapes, plus `--batch` and `--no-fields`);
`verify_command` runs it and returns the exit code: 0 when every check passes, 1 when
one fails (a spec error is reported by `netdsl.cli.main`, like `analyze`'s).
"""

from __future__ import annotations

import argparse
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `netdsl verify` beyond the common ones (spec, --network, --set,
    --params, --input)."""
    parser.add_argument("--batch", "-b", type=int, default=2,
                        help="batch for shapes, saved bytes and the peak (default 2)")
    parser.add_argument("--no-fields", dest="fields", action="store_false",
                        help="skip the receptive-field checks (float64 backward passes)")


def verify_command(args: argparse.Namespace) -> int:
    """Elaborate the spec, run `netdsl.oracle.verify`, print the table; 0 if all pass."""
    import netdsl
    from netdsl.errors import UsageError
    from netdsl.overrides import parse_inputs, parse_params_file, parse_set

    try:
        import torch  # noqa: F401
    except ImportError:
        raise UsageError("netdsl verify needs PyTorch: pip install torch") from None
    if getattr(args, "batch", 2) < 1:
        raise UsageError(f"--batch must be at least 1, got {args.batch}")
    overrides: dict[str, Any] = {}
    if getattr(args, "params_file", None):
        overrides.update(parse_params_file(args.params_file))
    overrides.update(parse_set(getattr(args, "sets", [])))
    inputs = parse_inputs(getattr(args, "inputs", []))
    spec = netdsl.load(args.spec, getattr(args, "import_paths", ()))
    network = getattr(args, "network", None)
    if "" in inputs:
        names = list(spec.graph(network, params=overrides).graph["inputs"])
        if len(names) != 1:
            raise UsageError(f"--input needs a name: the network has inputs {', '.join(names)}")
        inputs[names[0]] = inputs.pop("")
    graph = spec.graph(network, inputs, overrides)

    from netdsl.oracle import verify

    checks = verify(graph, batch=getattr(args, "batch", 2), fields=getattr(args, "fields", True))
    print_checks(checks, f"{graph.graph['network']} ({args.spec})")
    return 0 if all(c.ok for c in checks) else 1


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
