"""How the language writes values and names in its messages: types, values, "did you mean".

The layer package reports bad arguments as data (`LayerError.got`, `.options`); these
functions turn that data, and the elaborator's own values, into the words of the language.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Sequence
from typing import Any

from netdsl.layers.base import NOTHING, LayerError

_PLAIN_TYPES = {bool: "bool", int: "int", float: "float", str: "str", list: "list",
                tuple: "list", type(None): "none"}


def type_name(value: Any) -> str:
    """The language's name for a value's type (`dsl_type` for the elaborator's own values)."""
    name = _PLAIN_TYPES.get(type(value))
    if name is not None:
        return name
    return getattr(value, "dsl_type", None) or type(value).__name__


def show(value: Any, depth: int = 0) -> str:
    """A value as the language writes it (long lists and strings shortened for messages)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"' if len(value) <= 80 else f'"{value[:60]}..." ({len(value)} characters)'
    if isinstance(value, (list, tuple)):
        if depth >= 8:  # lists of lists can share items: never walk them whole
            return "[...]"
        items: list[str] = []
        length = 0
        for v in value[:20]:
            if length > 200:
                break
            items.append(show(v, depth + 1))
            length += len(items[-1]) + 2
        if len(items) < len(value):
            items.append(f"... ({len(value)} items)")
        return "[" + ", ".join(items) + "]"
    if isinstance(value, int) and value.bit_length() > 1024:  # only from the Python API
        return f"<an integer of {value.bit_length()} bits>"
    return "none" if value is None else str(value)


def literal(value: Any, words: Collection[str] = ()) -> str:
    """A value as a literal of the language that reads back as the same value: `none`,
    `true`, quoted strings (bare for the `words` given, such as `same`), lists, and floats
    always with a point or an exponent (`1.0`, `1e-5`), so they stay floats."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if value in words else f'"{value}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(literal(v, words) for v in value) + "]"
    if isinstance(value, float):
        text = re.sub(r"e([+-])0*(\d)", r"e\1\2", repr(value)).replace("e+", "e")
        return text if any(c in text for c in ".en") else text + ".0"  # n: inf, nan
    return str(value)


def suggest(name: str, candidates: Sequence[str]) -> str:
    """`; did you mean 'x'?` for the closest candidate, or nothing."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def layer_message(exc: LayerError) -> str:
    """A layer's error in words: its message, the value it got, the name it may have meant."""
    text = exc.message
    if exc.got is not NOTHING:
        shown = show(exc.got)
        text += f", got {type_name(exc.got)} {shown}" if exc.typed else f", got {shown}"
    if exc.options and exc.arg is not None:
        text += suggest(exc.arg, exc.options)
    return text


__all__ = ["layer_message", "show", "suggest", "type_name"]
