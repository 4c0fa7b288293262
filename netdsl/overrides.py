"""Parameter values and input shapes from outside a spec: `--set`, `--params FILE`, `--input`.

Each value remembers where it came from, so a type error names its origin
(`--set classes=ten`, or `overrides.yaml:3:10` with the YAML line quoted).

Every subcommand that takes a spec (`analyze`, `build`, `verify`, and those of other
packages) adds the same options with `add_spec_arguments` and reads them with `select`.
"""

from __future__ import annotations

import argparse
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netdsl.errors import Span, UsageError, remember_source
from netdsl.language.elaborate import Override
from netdsl.language.loader import read_source
from netdsl.language.values import MAX_INT_BITS, MAX_LIST

if TYPE_CHECKING:
    import networkx as nx
    import yaml

    from netdsl.api import Spec

#: Lists in a parameter value nest at most this deep (YAML's composer recurses per level).
MAX_VALUE_DEPTH = 32
#: Bytes of a --params file (YAML's pure-Python parser takes about a second per MiB).
MAX_PARAMS_BYTES = 1 << 20
#: Digits of an integer in a value (a float's range, like the language's integer limit).
MAX_DIGITS = 308


@functools.cache
def _loader() -> type:
    """YAML's safe loader with limits: nesting depth, integer digits (checked before the
    conversion, which Python refuses past 4,300 digits and does in quadratic time). Made
    on first use: yaml is imported only for --set and --params."""
    import yaml

    class Loader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            self.depth += 1
            if self.depth > MAX_VALUE_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"values nest more than {MAX_VALUE_DEPTH} deep (the limit)",
                    self.peek_event().start_mark)
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

        def construct_yaml_int(self, node: Any) -> int:
            if sum(c.isalnum() for c in node.value) > MAX_DIGITS:
                raise yaml.constructor.ConstructorError(
                    None, None, f"an integer of more than {MAX_DIGITS} digits is past the limit "
                    "(about 10**308)", node.start_mark)
            return super().construct_yaml_int(node)

    Loader.add_constructor("tag:yaml.org,2002:int", Loader.construct_yaml_int)
    return Loader


def _load_yaml(text: str) -> Any:
    import yaml

    return yaml.load(text, Loader=_loader())  # noqa: S506 - a SafeLoader subclass


def flow_depth_error(text: str) -> tuple[int, int] | None:
    """(line, column) where `[`/`{` brackets first nest past MAX_VALUE_DEPTH, else None.

    Checked before YAML sees the text: its scanner takes time quadratic in the nesting of
    flow collections (a line of 100,000 `[` would take hours), before any limit of ours.
    """
    depth, line, column, quote = 0, 1, 0, ""
    for char in text:
        column += 1
        if char == "\n":
            line, column = line + 1, 0
        elif quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
            if depth > MAX_VALUE_DEPTH:
                return line, column
        elif char in "]}":
            depth = max(depth - 1, 0)
    return None



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
    parser.add_argument("--allow-import-path", dest="import_paths", action="append", default=[],
                        metavar="DIR", help="let imports read files under DIR too (repeatable; "
                        "by default only the spec's folder tree and the standard library)")
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

    spec = netdsl.load(path, getattr(args, "import_paths", ()))
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
        if flow_depth_error(text):
            raise UsageError(f"--set {_clip(item)}: values nest more than {MAX_VALUE_DEPTH} deep "
                             "(the limit)")
        try:
            value = _load_yaml(text) if text.strip() else ""
        except (yaml.composer.ComposerError, yaml.constructor.ConstructorError) as exc:
            raise UsageError(f"--set {_clip(item)}: {exc.problem}") from None
        except yaml.YAMLError:
            value = text
        out[name.strip()] = Override(_plain(value, f"--set {_clip(item)}"), f"--set {_clip(item)}")
    return out


def parse_params_file(path: str) -> dict[str, Override]:
    """A YAML mapping of parameter values; each value keeps its file:line:col."""
    import yaml

    text = read_source(Path(path), f"--params {path}: cannot read it", UsageError,
                       limit=MAX_PARAMS_BYTES)
    remember_source(path, text)
    deep = flow_depth_error(text)
    if deep:
        raise UsageError(f"--params {path}: values nest more than {MAX_VALUE_DEPTH} deep (the "
                         "limit)", Span(path, deep[0], deep[1], deep[0], deep[1] + 1))
    try:
        root = yaml.compose(text, Loader=_loader())  # noqa: S506 - a SafeLoader subclass
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
        try:
            value = _loader()(yaml.serialize(node)).get_single_data()
        except yaml.YAMLError as exc:
            raise UsageError(f"--params {path}: {getattr(exc, 'problem', exc)}",
                             _span(path, node)) from None
        origin = f"{path}:{node.start_mark.line + 1}"
        out[str(key.value)] = Override(_plain(value, origin, _span(path, node)), origin,
                                       _span(path, node))
    return out


def _span(path: str, node: yaml.Node) -> Span:
    start, end = node.start_mark, node.end_mark
    end_col = end.column + 1 if end.line == start.line else start.column + 2
    return Span(path, start.line + 1, start.column + 1, start.line + 1, end_col)


def _clip(text: str, width: int = 60) -> str:
    """A command-line argument as messages quote it (a long one shortened)."""
    return text if len(text) <= width else text[:width] + "..."


def _plain(value: Any, origin: str = "", span: Span | None = None) -> Any:
    """A YAML value as the language's: numbers, booleans, strings, lists of them.

    YAML aliases share one list between many places (a "billion laughs" file is a few
    lines); the items are counted as if copied, and more than MAX_LIST in all is refused.
    """
    budget = [MAX_LIST]
    return _plain_in(value, origin, span, budget, 0)


def _plain_in(value: Any, origin: str, span: Span | None, budget: list[int], depth: int) -> Any:
    if isinstance(value, list):
        budget[0] -= len(value)
        if budget[0] < 0 or depth >= MAX_VALUE_DEPTH:
            raise UsageError(f"{origin}: the value is past the limits (at most {MAX_LIST} list "
                             f"items in all, nested at most {MAX_VALUE_DEPTH} deep)", span)
        return [_plain_in(v, origin, span, budget, depth + 1) for v in value]
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise UsageError(f"{origin}: an integer past the limit of 2**{MAX_INT_BITS}", span)
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
        if not all(d.isdigit() and len(d) <= MAX_DIGITS and int(d) > 0 for d in dims):
            raise UsageError(f"--input {_clip(item)}: expected NAME=CxHxW with positive sizes, "
                             "for example --input image=3x512x512")
        out[name.strip() if sep else ""] = tuple(int(d) for d in dims)
    return out
