"""Runtime values of the elaborator: tensors, scopes, environments, operators, builtins."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

from netdsl.language.display import show, type_name
from netdsl.layers.base import Shape

#: Documented limits, checked while elaborating (docs/language.md, "Limits").
MAX_CALL_DEPTH = 100
MAX_REPEAT = 10_000
MAX_NODES = 100_000  # a whole analysis of this many layers stays near 5 s
MAX_LIST = 100_000
#: Integers stay below 2**MAX_INT_BITS in magnitude (a float's range): arithmetic on them
#: stays fast and every one of them can be printed (Python refuses > 4,300 digits).
MAX_INT_BITS = 1024


class Tensor:
    """A value flowing through the network: the node that produced it and its shape."""

    __slots__ = ("node", "shape")
    dsl_type = "tensor"

    def __init__(self, node: str, shape: Shape) -> None:
        self.node = node
        self.shape = shape

    def __repr__(self) -> str:
        return f"tensor {list(self.shape)} from {self.node}"


class Callee:
    """A block or a layer as a value (`unit(act = relu)`): applied where it is used. A
    layer may come with arguments already given (`norm = batchnorm(eps = 0.001)`), which
    the call that applies it completes or overrides."""

    __slots__ = ("name", "kind", "ref", "args", "kwargs", "span")

    def __init__(self, name: str, kind: str, ref: Any, args: tuple = (),
                 kwargs: tuple[tuple[str, Any], ...] = (), span: Any = None) -> None:
        self.name = name  # as written
        self.kind = kind  # "block" or "layer"
        self.ref = ref  # the BlockDef or the LayerSpec
        self.args = args  # positional argument values given already
        self.kwargs = kwargs  # keyword argument values given already, in order
        self.span = span  # where the arguments were given (None: a bare name)

    @property
    def dsl_type(self) -> str:
        """The language's name of the value's type: "block" or "layer"."""
        return self.kind

    def __eq__(self, other: object) -> bool:
        return (type(other) is Callee and other.ref is self.ref and other.args == self.args
                and other.kwargs == self.kwargs)

    def __hash__(self) -> int:
        return id(self.ref)

    def __repr__(self) -> str:
        if not self.args and not self.kwargs:
            return self.name
        from netdsl.language.display import show

        given = [show(a) for a in self.args] + [f"{k} = {show(v)}" for k, v in self.kwargs]
        return f"{self.name}({', '.join(given)})"


def tensor_attribute(t: Tensor, name: str) -> Any:
    """`t.channels`, `t.height`, ...; None when the tensor has no such axis."""
    shape, rank = t.shape, len(t.shape) - 1
    if name == "channels" or (name == "features" and rank == 0):
        return shape[0]
    if name == "shape":
        return list(shape)
    if name == "size":
        return list(shape[1:])
    if name == "rank":
        return rank
    axes = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}.get(rank, ())
    if name in axes:
        return shape[1 + axes.index(name)]
    return None


TENSOR_ATTRIBUTES = ("channels", "height", "width", "depth", "length", "features", "shape", "size",
                     "rank")

_MISSING = object()


class Env:
    """Lexical variables: a dict with a parent chain."""

    __slots__ = ("vars", "parent")

    def __init__(self, parent: Env | None = None, values: dict[str, Any] | None = None) -> None:
        self.vars = values if values is not None else {}
        self.parent = parent

    def lookup(self, name: str) -> Any:
        """The value bound to `name`, or `MISSING`."""
        env: Env | None = self
        while env is not None:
            value = env.vars.get(name, _MISSING)
            if value is not _MISSING:
                return value
            env = env.parent
        return _MISSING

    def names(self) -> set[str]:
        """All names visible from here (for "did you mean")."""
        out: set[str] = set()
        env: Env | None = self
        while env is not None:
            out.update(env.vars)
            env = env.parent
        return out


MISSING = _MISSING

#: Words the language predefines (padding and interpolation modes, and `none`).
CONSTANTS: dict[str, Any] = {
    "same": "same", "valid": "valid", "nearest": "nearest", "linear": "linear",
    "bilinear": "bilinear", "trilinear": "trilinear", "max": "max", "avg": "avg", "none": None,
}


class Scope:
    """Names nodes inside one block call: `prefix.local`, locals made unique by counters."""

    __slots__ = ("prefix", "path", "used", "counters")

    def __init__(self, path: str) -> None:
        self.path = path
        self.prefix = path + "." if path else ""
        self.used: set[str] = set()
        self.counters: dict[str, int] = {}

    def fresh(self, base: str, hint: str | None = None) -> str:
        """A new local name: the hint if free, else base0, base1, ..."""
        if hint:
            if hint in self.used:  # the same assignment again (a loop): x, x1, x2, ...
                n = self.counters.get("=" + hint, 1)
                while f"{hint}{n}" in self.used:
                    n += 1
                self.counters["=" + hint] = n + 1
                hint = f"{hint}{n}"
            self.used.add(hint)
            return self.prefix + hint
        n = self.counters.get(base, 0)
        local = f"{base}{n}"
        while local in self.used:
            n += 1
            local = f"{base}{n}"
        self.counters[base] = n + 1
        self.used.add(local)
        return self.prefix + local


# ------------------------------------------------------------------------ operators
class ValueError_(Exception):
    """An operator or builtin was applied to values it does not take."""


def _num(x: Any) -> bool:
    kind = type(x)
    return kind is int or kind is float or (isinstance(x, (int, float)) and not isinstance(x, bool))


def check_number(value: Any, what: Callable[[], str]) -> Any:
    """`value` if it is a real number within the integer limit; `what()` names it in errors.

    The one guard on computed numbers: a complex power and an integer past 2**MAX_INT_BITS
    end here, before anything prints or iterates over them.
    """
    if isinstance(value, complex):
        raise ValueError_(f"{what()} has no real value")
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise ValueError_(f"{what()} is an integer of {value.bit_length()} bits, past the limit "
                          f"of {MAX_INT_BITS} bits (about 10**308)")
    return value


def _arith(fn: Callable[[Any, Any], Any], symbol: str) -> Callable[[Any, Any], Any]:
    def apply(a: Any, b: Any) -> Any:
        if _num(a) and _num(b):
            try:
                value = fn(a, b)
                kind = type(value)
                if kind is float or (kind is int and value.bit_length() <= MAX_INT_BITS):
                    return value  # what `check_number` passes, without making its message
                return check_number(value, lambda: f"{show(a)} {symbol} {show(b)}")
            except ZeroDivisionError:
                raise ValueError_(f"division by zero in {show(a)} {symbol} {show(b)}") from None
            except OverflowError:
                raise ValueError_(f"{show(a)} {symbol} {show(b)} overflows") from None
        if symbol == "+" and isinstance(a, list) and isinstance(b, list):
            if len(a) + len(b) > MAX_LIST:
                raise ValueError_(f"a list of {len(a) + len(b)} items is past the limit of "
                                  f"{MAX_LIST}")
            return a + b
        if symbol == "*" and isinstance(a, list) and _num(b) and isinstance(b, int):
            if len(a) * b > MAX_LIST:
                raise ValueError_(f"a list of {len(a) * b} items is past the limit of {MAX_LIST}")
            return a * b
        raise ValueError_(f"cannot apply '{symbol}' to {type_name(a)} {show_value(a)} and "
                          f"{type_name(b)} {show_value(b)}")

    return apply


def _pow(a: Any, b: Any) -> Any:
    if _num(a) and _num(b) and not abs(b) <= 64:  # NaN too
        raise ValueError_(f"exponent {show(b)} is past the limit of 64")
    return _arith(operator.pow, "**")(a, b)


def _compare(fn: Callable[[Any, Any], bool], symbol: str) -> Callable[[Any, Any], bool]:
    def apply(a: Any, b: Any) -> bool:
        if symbol in ("==", "!=") and not isinstance(a, Tensor) and not isinstance(b, Tensor):
            if isinstance(a, bool) != isinstance(b, bool):  # true is not 1 here
                return symbol == "!="
            return fn(a, b)
        if (_num(a) and _num(b)) or (isinstance(a, str) and isinstance(b, str)):
            return fn(a, b)
        raise ValueError_(f"cannot compare {type_name(a)} {show_value(a)} {symbol} "
                          f"{type_name(b)} {show_value(b)}")

    return apply


BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": _arith(operator.add, "+"), "-": _arith(operator.sub, "-"),
    "*": _arith(operator.mul, "*"), "/": _arith(operator.truediv, "/"),
    "//": _arith(operator.floordiv, "//"), "%": _arith(operator.mod, "%"), "**": _pow,
    "==": _compare(operator.eq, "=="), "!=": _compare(operator.ne, "!="),
    "<": _compare(operator.lt, "<"), "<=": _compare(operator.le, "<="),
    ">": _compare(operator.gt, ">"), ">=": _compare(operator.ge, ">="),
}


def show_value(value: Any) -> str:
    """A value as the DSL would print it (tensors by shape)."""
    if isinstance(value, Tensor):
        return f"{list(value.shape)}"
    if isinstance(value, list) and any(isinstance(v, Tensor) for v in value):
        return "[" + ", ".join(show_value(v) for v in value) + "]"  # tensors by shape
    return show(value)


def value_type(value: Any) -> str:
    """The DSL type name of a value."""
    return "tensor" if isinstance(value, Tensor) else type_name(value)


# -------------------------------------------------------------------------- builtins
def _numbers(args: tuple, name: str) -> list:
    items = list(args[0]) if len(args) == 1 and isinstance(args[0], list) else list(args)
    if not items or not all(_num(x) for x in items):
        raise ValueError_(f"{name}() takes numbers or a list of numbers")
    return items


def _range(*args: Any) -> list[int]:
    if not 1 <= len(args) <= 3 or not all(isinstance(a, int) and not isinstance(a, bool)
                                          for a in args):
        raise ValueError_("range() takes one to three integers")
    if len(args) == 3 and args[2] == 0:
        raise ValueError_("range() step must not be zero")
    r = range(*args)
    # len() of a range past a C ssize_t raises; count the items without it
    items = max(0, (r.stop - r.start + r.step + (-1 if r.step > 0 else 1)) // r.step)
    if items > MAX_LIST:
        raise ValueError_(f"range() of {items} items is past the limit of {MAX_LIST}")
    return list(r)


def _one_number(fn: Callable[[Any], Any], name: str) -> Callable[..., Any]:
    def apply(*args: Any) -> Any:
        if len(args) != 1 or not _num(args[0]):
            raise ValueError_(f"{name}() takes one number")
        x = args[0]
        if isinstance(x, float) and not math.isfinite(x) and name in _TO_INT:
            raise ValueError_(f"{name}() of {show(x)}: {'NaN' if x != x else 'infinity'} is not "
                              "an integer")
        try:
            return check_number(fn(x), lambda: f"{name}({show(x)})")
        except OverflowError:
            raise ValueError_(f"{name}({show(x)}) overflows: it is past a float's range "
                              "(about 1.8e308)") from None

    return apply


def _finite(value: float, name: str) -> float:
    if math.isinf(value) or math.isnan(value):
        raise ValueError_(f"{name}() gives {value}: not a finite number")
    return value


def _math(fn: Callable[..., float], name: str, arity: tuple[int, ...] = (1,),
          usage: str = "one number") -> Callable[..., Any]:
    """A math function of numbers: domain errors and overflow are located errors, and a
    result is always a finite float (an int stays exact only where the builtin says)."""
    def apply(*args: Any) -> Any:
        if len(args) not in arity or not all(_num(a) for a in args):
            raise ValueError_(f"{name}() takes {usage}")
        try:
            return _finite(fn(*args), name)
        except (ValueError, ZeroDivisionError):
            shown = ", ".join(show(a) for a in args)
            raise ValueError_(f"{name}({shown}) is not defined") from None
        except OverflowError:
            shown = ", ".join(show(a) for a in args)
            raise ValueError_(f"{name}({shown}) overflows") from None

    return apply


def _log(x: Any, base: Any = None) -> float:
    if base is None:
        return math.log(x)
    if base == 1:
        raise ValueError
    return math.log(x, base)


#: Builtins whose result is an integer (and so have none for inf or NaN).
_TO_INT = ("int", "round", "ceil", "floor")


def _len(*args: Any) -> int:
    if len(args) != 1 or not isinstance(args[0], (list, str)):
        raise ValueError_("len() takes one list")
    return len(args[0])


def _pow_function(*args: Any) -> Any:
    if len(args) != 2:
        raise ValueError_("pow() takes two numbers")
    result = _pow(*args)
    return result if not isinstance(result, float) else _finite(result, "pow")


BUILTINS: dict[str, Callable[..., Any]] = {
    "len": _len,
    "min": lambda *a: min(_numbers(a, "min")),
    "max": lambda *a: max(_numbers(a, "max")),
    "sum": lambda *a: check_number(sum(_numbers(a, "sum")), lambda: "sum()"),
    "range": _range,
    "int": _one_number(int, "int"),
    "float": _one_number(float, "float"),
    "round": _one_number(round, "round"),
    "abs": _one_number(abs, "abs"),
    "ceil": _one_number(math.ceil, "ceil"),
    "floor": _one_number(math.floor, "floor"),
    "pow": _pow_function,
    "sqrt": _math(math.sqrt, "sqrt"),
    "exp": _math(math.exp, "exp"),
    "log": _math(_log, "log", (1, 2), "a number and an optional base"),
    "log2": _math(math.log2, "log2"),
    "log10": _math(math.log10, "log10"),
}



# ----------------------------------------------------------------------------- types
#: Declared parameter types and what values they accept.
PARAM_TYPES = {"int": (int,), "float": (int, float), "bool": (bool,), "str": (str,),
               "list": (list,)}


def is_int(value: Any) -> bool:
    """An integer, not a boolean."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_type(value: Any, declared: str) -> bool:
    """Whether a value fits a declared parameter type (booleans are not numbers)."""
    if declared in ("int", "float") and isinstance(value, bool):
        return False
    return isinstance(value, PARAM_TYPES[declared])


def article(word: str) -> str:
    """"a" or "an"."""
    return "an" if word[0] in "aeiou" else "a"
