"""Parameter values and input shapes from outside a spec: `--set`, `--params FILE`, `--input`.

Each value remembers where it came from, so a type error names its origin
(`--set classes=ten`, or `overrides.yaml:3:10` with the YAML line quoted).

Every subcommand that takes a spec (`analyze`, `build`, `verify`, and those of other
packages) adds the same options with `add_spec_arguments` and reads them with `select`.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netdsl.errors import Span, UsageError, remember_source
from netdsl.language.elaborate import Override

if TYPE_CHECKING:
    import networkx as nx
    import yaml

    from netdsl.api import Spec


def add_spec_arguments(parser: argparse.ArgumentParser, several: bool = False) -> None:
    """The options that choose a spec's network, its parameter values and input shapes
    (and `--traceback`); `several` takes one or more spec files."""
    if several:
        parser.add_argument("specs", nargs="+", metavar="spec",
                            help="the .net file(s), analysed in one process")
    else:
        parser.add_argument("spec", help="the .net file")
    parser.add_argument("--network", "-n", help="which network of the file (default: its only one)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE",
                        help="set a network parameter, e.g. --set classes=10 (repeatable)")
    parser.add_argument("--params", dest="params_file", metavar="FILE.yaml",
                        help="set network parameters from a YAML mapping (--set wins), "
                             "e.g. examples/overrides.yaml")
    parser.add_argument("--input", dest="inputs", action="append", default=[],
                        metavar="[NAME=]CxHxW",
                        help="override an input shape, e.g. --input image=3x512x512; the name "
                             "may be left out when the network has one input (repeatable)")
    parser.add_argument("--traceback", action="store_true",
                        help="show Python's traceback of an error")


@dataclass
class Selection:
    """A loaded spec with the network, parameter values and input shapes the command
    line chose."""

    spec: Spec
    network: str | None
    params: dict[str, Override]
    inputs: dict[str, tuple[int, ...]]

    def graph(self) -> nx.MultiDiGraph:
        """The chosen network, elaborated."""
        return self.spec.graph(self.network, self.inputs, self.params)


def select(path: str, args: argparse.Namespace) -> Selection:
    """Load `path` and read the options of `add_spec_arguments` (a bare `--input CxHxW`
    names the network's only input)."""
    import netdsl

    spec = netdsl.load(path)
    params: dict[str, Any] = {}
    if getattr(args, "params_file", None):
        params.update(parse_params_file(args.params_file))
    params.update(parse_set(getattr(args, "sets", [])))
    inputs = parse_inputs(getattr(args, "inputs", []))
    network = getattr(args, "network", None)
    if "" in inputs:
        names = list(spec.graph(network, params=params).graph["inputs"])
        if len(names) != 1:
            raise UsageError(f"--input needs a name: the network has inputs {', '.join(names)}")
        inputs[names[0]] = inputs.pop("")
    return Selection(spec, network, params, inputs)


def parse_set(items: list[str]) -> dict[str, Override]:
    """`["classes=10", "widths=[64, 128]"]` -> overrides (values read as YAML scalars/lists)."""
    out: dict[str, Override] = {}
    if not items:
        return out
    import yaml  # here, not at the top: ~20 ms of every start-up, for --set/--params only

    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name.strip()):
            raise UsageError(f"--set {item}: expected NAME=VALUE, for example --set classes=10")
        try:
            value = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError:
            value = text
        out[name.strip()] = Override(_plain(value, f"--set {item}"), f"--set {item}")
    return out


def parse_params_file(path: str) -> dict[str, Override]:
    """A YAML mapping of parameter values; each value keeps its file:line:col."""
    import yaml

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--params {path}: cannot read it: {exc.strerror or exc}") from None
    remember_source(path, text)
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        span = Span(path, mark.line + 1, mark.column + 1, mark.line + 1, mark.column + 2) if mark \
            else None
        raise UsageError(f"--params {path} is not valid YAML: {getattr(exc, 'problem', exc)}",
                         span) from None
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        raise UsageError(f"--params {path} must be a mapping of parameter names to values",
                         _span(path, root))
    out = {}
    for key, node in root.value:
        value = yaml.safe_load(yaml.serialize(node))
        origin = f"{path}:{node.start_mark.line + 1}"
        out[str(key.value)] = Override(_plain(value, origin, _span(path, node)), origin,
                                       _span(path, node))
    return out


def _span(path: str, node: yaml.Node) -> Span:
    start, end = node.start_mark, node.end_mark
    end_col = end.column + 1 if end.line == start.line else start.column + 2
    return Span(path, start.line + 1, start.column + 1, start.line + 1, end_col)


def _plain(value: Any, origin: str = "", span: Span | None = None) -> Any:
    """A YAML value as the language's: numbers, booleans, strings, lists of them."""
    if isinstance(value, list):
        return [_plain(v, origin, span) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise UsageError(f"{origin}: a parameter value is a number, true/false, a string or a list, "
                     f"not a {type(value).__name__}", span)


def parse_inputs(items: list[str]) -> dict[str, tuple[int, ...]]:
    """`["image=3x512x512"]` -> {"image": (3, 512, 512)}; a bare shape names input `""`."""
    out: dict[str, tuple[int, ...]] = {}
    for item in items:
        name, sep, text = item.rpartition("=")
        dims = re.split(r"[x,\s]+", text.strip().strip("[]"))
        if not all(d.isdigit() and int(d) > 0 for d in dims):
            raise UsageError(f"--input {item}: expected NAME=CxHxW with positive sizes, "
                             "for example --input image=3x512x512")
        out[name.strip() if sep else ""] = tuple(int(d) for d in dims)
    return out
