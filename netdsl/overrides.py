"""Parameter values and input shapes from outside a spec: `--set`, `--params FILE`, `--input`.

Each value remembers where it came from, so a type error names its origin
(`--set classes=ten`, or `overrides.yaml:3:10` with the YAML line quoted).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from netdsl.errors import Span, UsageError, remember_source
from netdsl.language.elaborate import Override


def parse_set(items: list[str]) -> dict[str, Override]:
    """`["classes=10", "widths=[64, 128]"]` -> overrides (values read as YAML scalars/lists)."""
    out: dict[str, Override] = {}
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
