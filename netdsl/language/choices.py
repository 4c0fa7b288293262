"""Decision expressions of the language: `choice(...)`, `int_range(...)`, `float_range(...)`.

This module turns a decision call's evaluated arguments into a `Domain` and its default
(netdsl/language/decisions.py), and checks values against it. The evaluator names the
decision from where it is taken and asks the elaboration's `DecisionSource` for its value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from netdsl.language.decisions import Categorical, Decision, Domain, FloatRange, IntRange
from netdsl.language.display import literal
from netdsl.language.values import Tensor, is_int, show_value

#: The decision functions and the keywords each takes (besides `default` and `name`).
DECISION_FUNCTIONS: dict[str, tuple[str, ...]] = {
    "choice": (),
    "int_range": ("step", "log"),
    "float_range": ("log",),
}


class DomainError(Exception):
    """A decision call's arguments do not make a domain; `arg` names the culprit."""

    def __init__(self, message: str, arg: str | int | None = None) -> None:
        super().__init__(message)
        self.message, self.arg = message, arg


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _plain(value: Any) -> bool:
    """A value a decision may take: numbers, words, booleans, none and lists of them."""
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return not isinstance(value, Tensor)


def make_domain(function: str, args: list[Any], keywords: dict[str, Any]) -> Domain:
    """The domain of `function(*args, **keywords)` (without `default` and `name`)."""
    for key in keywords:
        if key not in DECISION_FUNCTIONS[function]:
            raise DomainError(f"{function}() has no argument '{key}'", key)
    if function == "choice":
        if len(args) != 1 or not isinstance(args[0], list):
            raise DomainError("choice() takes one list of options, as in choice([3, 5, 7])")
        options = args[0]
        if not options:
            raise DomainError("choice() needs at least one option", 0)
        if not _plain(options):
            raise DomainError("a choice's options are numbers, words, booleans or lists, "
                              "not tensors", 0)
        return Categorical(tuple(options))
    if len(args) != 2:
        raise DomainError(f"{function}() takes a low and a high end, as in {function}(16, 64)")
    low, high = args
    log = keywords.get("log", False)
    if not isinstance(log, bool):
        raise DomainError(f"log is true or false, got {show_value(log)}", "log")
    if function == "int_range":
        step = keywords.get("step", 1)
        for i, end in enumerate((low, high)):
            if not is_int(end):
                raise DomainError(f"int_range() takes integer ends, got {show_value(end)}", i)
        if not is_int(step) or step < 1:
            raise DomainError(f"int_range() step is a positive integer, got {show_value(step)}",
                              "step")
        if high < low:
            raise DomainError(f"int_range() is empty: {high} is below {low}", 1)
        if log and low < 1:
            raise DomainError(f"a log-scale int_range() starts at 1 or more, got {low}", 0)
        return IntRange(low, high, step, log)
    for i, end in enumerate((low, high)):
        if not _number(end):
            raise DomainError(f"float_range() takes numbers, got {show_value(end)}", i)
    if high < low:
        raise DomainError(f"float_range() is empty: {show_value(high)} is below "
                          f"{show_value(low)}", 1)
    if log and low <= 0:
        raise DomainError(f"a log-scale float_range() starts above 0, got {show_value(low)}", 0)
    return FloatRange(float(low), float(high), log)


def fit(domain: Domain, value: Any) -> Any:
    """`value` as the domain holds it (an integer for a float range becomes a float)."""
    if isinstance(domain, FloatRange) and is_int(value):
        return float(value)
    if isinstance(domain, Categorical) and isinstance(value, str) and not domain.contains(value):
        # a layer or block option given by its spelling (`--set act=mish`, a stored trial)
        # spelled as the search adapters spell options that are not plain values
        spelled = [o for o in domain.options if not isinstance(o, str) and literal(o) == value]
        if len(spelled) == 1:
            return spelled[0]
    return value


def show_domain(domain: Domain) -> str:
    """A domain as the spec writes it."""
    if isinstance(domain, Categorical):
        return f"choice({show_value(list(domain.options))})"
    if isinstance(domain, IntRange):
        extra = (f", step = {domain.step}" if domain.step != 1 else "") + \
            (", log = true" if domain.log else "")
        return f"int_range({domain.low}, {domain.high}{extra})"
    if isinstance(domain, FloatRange):
        extra = ", log = true" if domain.log else ""
        return f"float_range({domain.low}, {domain.high}{extra})"
    return repr(domain)


def same_value(a: Any, b: Any) -> bool:
    """Equality that keeps 1, 1.0 and true apart (as the domains do)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    return bool(a == b)


class Fixed:
    """A decision source from a mapping of decision names to values; others take defaults."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = dict(values)

    def decide(self, decision: Decision) -> Any:
        return self.values.get(decision.name, decision.default)


__all__ = ["DECISION_FUNCTIONS", "DomainError", "Fixed", "fit", "make_domain", "same_value",
           "show_domain"]
