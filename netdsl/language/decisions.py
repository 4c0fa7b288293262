"""Search decisions: values in a spec that an architecture search chooses.

A spec writes a decision as an expression, `choice([3, 5, 7])`, `int_range(16, 64, step = 8)`
or `float_range(0.1, 1.0, log = true)`, wherever a value may stand. Elaboration asks the
context's `DecisionSource` for the value (the search, an Optuna trial, a frozen candidate);
without one, every decision takes its default, so a search space is also a plain network.

A decision is named by where it is made: the block path of the call it is made in, then the
variable or parameter that takes it (`stages.stage2.unit1.kernel`); at the network level,
just the name (`width`). A decision that elaboration never reaches (inside an `if` not taken,
a unit a `repeat` does not make) does not exist for that candidate: that is how conditional
decisions arise, without a separate condition language.

This module is a leaf: the elaborator and `netdsl.search` both import it; it imports only
the error types.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

from netdsl.errors import Span


class Domain:
    """The values a decision may take."""

    def contains(self, value: Any) -> bool:
        """Whether `value` is one of the domain's values."""
        raise NotImplementedError

    def values(self) -> list[Any] | None:
        """Every value, in order; None for a continuous domain."""
        raise NotImplementedError

    def size(self) -> int | None:
        """How many values; None for a continuous domain."""
        values = self.values()
        return None if values is None else len(values)

    def first(self) -> Any:
        """The default when the spec gives none: the first option or the low end."""
        raise NotImplementedError


def _same_value(a: Any, b: Any) -> bool:
    """Equality that keeps 1, 1.0 and true apart (the language keeps their types apart)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    return bool(a == b)


@dataclass(frozen=True)
class Categorical(Domain):
    """`choice([a, b, c])`: any values (numbers, words, lists, booleans)."""

    options: tuple[Any, ...]

    def contains(self, value: Any) -> bool:
        return any(_same_value(value, option) for option in self.options)

    def values(self) -> list[Any]:
        return list(self.options)

    def first(self) -> Any:
        return self.options[0]

    def index(self, value: Any) -> int:
        """The position of `value` among the options (ValueError when absent)."""
        for i, option in enumerate(self.options):
            if _same_value(value, option):
                return i
        raise ValueError(value)


@dataclass(frozen=True)
class IntRange(Domain):
    """`int_range(low, high, step = 1, log = false)`: low to high inclusive, by step."""

    low: int
    high: int
    step: int = 1
    log: bool = False

    def contains(self, value: Any) -> bool:
        return (type(value) is int and self.low <= value <= self.high
                and (value - self.low) % self.step == 0)

    def values(self) -> list[int]:
        return list(range(self.low, self.high + 1, self.step))

    def size(self) -> int:
        return (self.high - self.low) // self.step + 1

    def first(self) -> int:
        return self.low


@dataclass(frozen=True)
class FloatRange(Domain):
    """`float_range(low, high, log = false)`: any float from low to high inclusive."""

    low: float
    high: float
    log: bool = False

    def contains(self, value: Any) -> bool:
        return type(value) is float and math.isfinite(value) and self.low <= value <= self.high

    def values(self) -> None:
        return None

    def first(self) -> float:
        return self.low


@dataclass(frozen=True)
class Decision:
    """One decision a candidate reached: its full name, domain, default and source span."""

    name: str
    domain: Domain
    default: Any
    span: Span


class DecisionSource(Protocol):
    """What elaboration asks for the value of each decision it reaches."""

    def decide(self, decision: Decision) -> Any:
        """The value for `decision`; it must be in `decision.domain`."""
        ...


class Defaults:
    """The decision source of a plain analysis: every decision takes its default."""

    def decide(self, decision: Decision) -> Any:
        return decision.default


__all__ = ["Categorical", "Decision", "DecisionSource", "Defaults", "Domain", "FloatRange",
           "IntRange"]
