"""What every layer kind answers: shape, params, buffers, MACs, other ops, memory, RF.

A *layer kind* is one subclass of `Layer`, registered under one or more DSL names with
a `Signature` (its arguments). A `Layer` instance is a resolved layer: arguments
normalised per axis, input and output shapes known. Analyses only ever call the
methods below, so adding a layer kind touches one file of its family.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, ClassVar, NamedTuple, TypeVar

from netdsl.layers.recipe import Recipe

Shape = tuple[int, ...]
Number = int | Fraction

#: Largest number of elements one tensor may have per sample (documented limit).
MAX_TENSOR_ELEMENTS = 2**40
#: Largest size of one tensor axis (PyTorch indexes with 64-bit, kernels often with 32-bit).
MAX_AXIS_SIZE = 2**31 - 1
#: Largest number of trainable parameters of one layer (4 GiB of float32 weights).
MAX_LAYER_PARAMETERS = 2**30


class _Nothing:
    def __repr__(self) -> str:
        return "NOTHING"


#: "No value": a `LayerError` about no particular value.
NOTHING: Any = _Nothing()


class LayerError(Exception):
    """A layer's arguments or inputs are invalid; `arg` names the culprit argument.

    Values stay data: `got` is the offending value (`typed`: name its type too) and
    `options` the names `arg` may have meant. The language words them
    (`netdsl.language.display.layer_message`), so this package needs no printer.
    """

    def __init__(self, message: str, arg: str | None = None, *, got: Any = NOTHING,
                 typed: bool = False, options: tuple[str, ...] = ()) -> None:
        # reprlib: a value can be a huge shared list (never repr'd whole)
        super().__init__(message if got is NOTHING else f"{message}, got {reprlib.repr(got)}")
        self.message = message
        self.arg = arg
        self.got, self.typed, self.options = got, typed, options


# ----------------------------------------------------------------- receptive fields
class Field(NamedTuple):
    """Receptive field of a tensor, per spatial axis of the network input.

    Output index `i` along an axis sees input pixels `i*stride - padding` to
    `i*stride - padding + size - 1`. `is_global` marks tensors that depend on the
    whole input (after global pooling, linear layers, SPP); `size`, `stride` and
    `padding` then keep the field of the local path that led there. (A NamedTuple:
    immutable, hashable and cheap to make; analyses make one per node.)
    """

    size: tuple[Number, ...]
    stride: tuple[Number, ...]
    padding: tuple[Number, ...]
    is_global: bool = False
    #: False once an up-sampling layer (fractional stride) is on the path: the window then
    #: depends on the output position, which size/stride/padding cannot describe, so the
    #: numbers are only indicative and are not printed as a receptive field.
    exact: bool = True

    @staticmethod
    def unit(rank: int) -> Field:
        """The field of a network input: each pixel sees itself."""
        return Field((1,) * rank, (1,) * rank, (0,) * rank)

    def window(self, kernels: Sequence[int], strides: Sequence[int],
               pads: Sequence[int]) -> Field:
        """The field after a sliding window (kernels are effective: dilation applied)."""
        # with fractional strides (after up-sampling) a window covers a whole number of
        # input pixels: round up (an upper bound; exact for integer strides)
        # (one comprehension over the axes, then transposed: a third of the time of three)
        axes = [(r + (k - 1) * s, s * t, p + b * s) for r, s, p, k, t, b
                in zip(self.size, self.stride, self.padding, kernels, strides, pads)]
        size, stride, padding = zip(*axes) if axes else ((), (), ())
        if not self.exact:  # (an exact field's numbers are ints already)
            stride, padding = tuple(map(as_number, stride)), tuple(map(as_number, padding))
        return Field(tuple(map(_whole, size)), stride, padding, self.is_global, self.exact)

    def as_global(self) -> Field:
        """The same local field, marked as seeing the whole input (this one when it is
        already: a field stays one object down a chain of global layers)."""
        return self if self.is_global else Field(self.size, self.stride, self.padding, True,
                                                 self.exact)


def _whole(x: Number) -> int:
    return x if type(x) is int else math.ceil(x)


def as_number(x: Number) -> Number:
    """A whole fraction as an int. Fields print and compare as ints, and a rule must give
    equal numbers one type: the records' memos and the shared fields take 2 and
    Fraction(2) as one key, and would hand one's field to the other."""
    return int(x) if x.denominator == 1 else x


# ------------------------------------------------------------- saved for backward
@dataclass(frozen=True, slots=True)
class Saved:
    """One tensor autograd keeps for the backward pass of a layer.

    `what` is "input" (input number `index`), "output", or "extra": a tensor of
    `elements` per sample (or in total, if `per_sample` is false) of `itemsize` bytes
    (None: the activation dtype's size).
    """

    what: str
    index: int = 0
    elements: int = 0
    itemsize: int | None = None
    per_sample: bool = True


class Counts(NamedTuple):
    """What one layer costs: elements of parameters and buffers; MACs, other ops and
    output elements per sample."""

    params: int
    buffers: int
    macs: int
    other_ops: int
    out_elements: int


class SavedPlan(NamedTuple):
    """A layer's saved tensors as numbers (see `Layer.saved_plan`)."""

    inputs: tuple[int, ...]
    output: bool
    sample_elements: int  # per sample, in the activation dtype
    sample_bytes: int  # per sample, fixed item size
    elements: int  # not per sample, activation dtype
    bytes: int  # not per sample, fixed item size


#: `SavedPlan`'s numbers as a plain tuple, in its order (what the analyses read).
PlanNumbers = tuple[tuple[int, ...], bool, int, int, int, int]

#: Every distinct receptive field met, once: the analyses of a search meet the same
#: fields in every candidate (a width does not change them), so the records' memos keep
#: these instead of a new object per record. Bounded; cleared when full.
_FIELD_CACHE: dict[Field, Field] = {}
_FIELD_CACHE_LIMIT = 100_000
#: (a kind's field rule, input fields) -> output field, shared by the records with that
#: rule (`Layer.field_rule`). Bounded like the field cache.
_RULE_FIELD_CACHE: dict[tuple[Any, Any], Field] = {}


KeyT = TypeVar("KeyT")
ValueT = TypeVar("ValueT")


def keep(cache: dict[KeyT, ValueT], key: KeyT, value: ValueT, limit: int) -> ValueT:
    """`value`, kept in `cache` under `key`: how every cache of layer records, their facts
    and their fields is bounded (emptied when it holds `limit` entries, then refilled by
    what is met again)."""
    if len(cache) >= limit:
        cache.clear()
    cache[key] = value
    return value


#: Every distinct window rule and plan's input indices met, once (`shared`). Bounded; cleared when full.
_SHARED_CACHE: dict[Any, Any] = {}
_SHARED_CACHE_LIMIT = 10_000

TupleT = TypeVar("TupleT", bound=tuple)


def shared(value: TupleT) -> TupleT:
    """The one kept tuple equal to `value`.

    Records outlive a search's candidates in the layer cache, and a width variant's new
    records have the window rules (and the plans' input indices) of the last variant's:
    sharing them spares the garbage collector a few long-lived tuples per variant that it
    could not stop tracking (a new tuple of new tuples stays tracked: it looks at the
    outer one first, netdsl/layers/registry.py).
    """
    found = _SHARED_CACHE.get(value)
    if found is None:
        found = keep(_SHARED_CACHE, value, value, _SHARED_CACHE_LIMIT)
    return found  # type: ignore[return-value]


def _whole_numbers(field: Field) -> bool:
    """Whether a field's numbers are all of type int (2 and Fraction(2) are equal)."""
    return not set(map(type, field.size + field.stride + field.padding)) - {int}


def intern_field(field: Field) -> Field:
    """The one kept `Field` equal to `field` (whole numbers only: 2 and Fraction(2) are
    equal, and each is kept as it was computed)."""
    if not _whole_numbers(field):
        return field
    kept = _FIELD_CACHE.get(field)
    if kept is None:
        kept = keep(_FIELD_CACHE, field, field, _FIELD_CACHE_LIMIT)
    return kept


def _remember(memo: dict[Any, Any] | None, key: Any, value: Any) -> dict[Any, Any]:
    """`memo` (made when first needed) with `key` -> `value` added; cleared first when a
    record met in many places has filled it (kept small)."""
    if memo is None:
        memo = {}
    elif len(memo) > 64:
        memo.clear()
    memo[key] = value
    return memo


SAVE_INPUT = Saved("input", 0)
SAVE_OUTPUT = Saved("output")


# ------------------------------------------------------------------------ arguments
Converter = Callable[[Any, int], Any]


@dataclass(frozen=True, slots=True)
class Arg:
    """One argument of a layer: name, converter (value, spatial rank) -> value, default."""

    name: str
    convert: Converter
    default: Any = ...
    doc: str = ""

    @property
    def required(self) -> bool:
        """True when the argument has no default."""
        return self.default is ...


@dataclass(frozen=True)
class Signature:
    """The arguments of a registered layer name, in positional order."""

    args: tuple[Arg, ...] = ()
    variadic_inputs: bool = False  # merges: positional arguments are branches

    def names(self) -> list[str]:
        """The argument names, in order."""
        return [a.name for a in self.args]


@dataclass(frozen=True)
class Example:
    """A call of a layer on given input shapes, for the PyTorch conformance tests."""

    inputs: tuple[Shape, ...]
    args: dict[str, Any] = field(default_factory=dict)


# -------------------------------------------------------------------- layer record
#: The plans of saved tensors that are only inputs and outputs (`Layer._plan`): the same
#: few for most records (a convolution's, an activation's), with no sizes in them.
_PLAN_CACHE: dict[tuple[Saved, ...], PlanNumbers] = {}


def plan_of(saved: tuple[Saved, ...]) -> PlanNumbers:
    """The plan numbers (`PlanNumbers`) of what a layer keeps for backward."""
    inputs, output, sizes = [], False, [0, 0, 0, 0]
    for item in saved:
        if item.what == "input":
            inputs.append(item.index)
        elif item.what == "output":
            output = True
        else:
            slot = (0 if item.per_sample else 2) + (item.itemsize is not None)
            sizes[slot] += item.elements * (item.itemsize or 1)
    # the indices shared: a plan of numbers and an old tuple leaves the collector at its
    # first pass (`shared`), and batch norm's plan differs for every width
    return (shared(tuple(inputs)), output, sizes[0], sizes[1], sizes[2], sizes[3])


class Layer:
    """A resolved layer. Subclasses implement the rules of one layer family."""

    # The per-record memos below hold plain tuples of numbers (and interned fields), and
    # a second pattern's dict only when one is met: a search makes thousands of records,
    # each kept by the layer cache, and the garbage collector rescans every tracked
    # object they hold (a NamedTuple or a dict stays tracked; a tuple of numbers does not).
    __slots__ = ("op", "in_shapes", "out_shape", "_counts", "_field_in", "_field_out",
                 "_fields", "_plan_in", "_plan_out", "_plans")

    #: Whether the output shares its input's storage (a view): no new memory.
    is_view: ClassVar[bool] = False
    #: Whether the output is its input at inference (eval mode), though not in training.
    is_view_in_eval: ClassVar[bool] = False
    #: Whether the layer combines branches (alignment of receptive fields is checked).
    is_merge: ClassVar[bool] = False

    def __init__(self, op: str, args: dict[str, Any], in_shapes: tuple[Shape, ...]) -> None:
        self.op = op
        self.in_shapes = in_shapes
        self.configure(args)
        # every kind's output is checked here, where it is made, against the size limits
        self.out_shape = check_shape(self.infer_shape())
        params = self.params()
        if params > MAX_LAYER_PARAMETERS:
            raise LayerError(f"{params:,} parameters in one layer is past the limit of "
                             f"2**30 = {MAX_LAYER_PARAMETERS:,}")
        # counted once, here: every record an analysis meets is counted
        self._counts = (params, self.buffers(), self.macs(), self.other_ops(),
                        numel(self.out_shape))
        # the first input fields met (one Field, or the tuple of a merge's) and its output
        self._field_in: Any = None
        self._field_out: Field | None = None
        self._fields: dict[Any, Field] | None = None  # the later ones, when met
        self._plan_in: tuple[bool, ...] | None = None  # the first gradient pattern met
        self._plan_out: PlanNumbers | None = None
        self._plans: dict[tuple[bool, ...], PlanNumbers] | None = None  # the later ones

    def field_of(self, fields: tuple[Field, ...]) -> Field:
        """`receptive_field(fields)`, remembered per input fields (records are shared and
        immutable, and re-analysed networks meet the same fields again)."""
        key = fields[0] if len(fields) == 1 else fields
        if self._field_out is not None and (key is self._field_in or key == self._field_in):
            return self._field_out
        out = None if self._fields is None else self._fields.get(key)
        if out is None:
            out = self._new_field(key, fields)
            if self._field_out is None:  # a new record's first: most are met nowhere else
                self._field_in, self._field_out = key, out
            else:  # a record met in many places (a chain's): its fields are not kept long
                self._fields = _remember(self._fields, key, out)
        return out

    def _new_field(self, key: Any, fields: tuple[Field, ...]) -> Field:
        """A field this record has not met: the one a record with an equal rule gave for
        the same input fields, or computed."""
        rule = None if self._fields is not None and len(self._fields) >= 8 else self.field_rule()
        if rule is None or not all(f.exact for f in fields):
            # only exact fields are shared: their numbers are all ints (a test holds every
            # kind to it), and 2 and Fraction(2) would be equal keys of unlike answers; nor
            # those of a record met in many places (a chain's: its fields are its own)
            out = self.receptive_field(fields)
            return intern_field(out) if self._field_out is None else out
        shared = (rule, key)
        found = _RULE_FIELD_CACHE.get(shared)
        if found is None:
            found = keep(_RULE_FIELD_CACHE, shared, self.receptive_field(fields),
                         _FIELD_CACHE_LIMIT)
        return found

    def field_rule(self) -> Any:
        """All that `receptive_field` reads of this record besides the input fields, as a
        hashable value, where a kind says so (a window's effective kernel, stride and
        padding); records with equal rules share their fields (`field_of`). A width
        variant's new records meet the fields of the old ones: the width changes no
        window. None (the default): not shared."""
        return None

    def saved_plan(self, requires_grad: tuple[bool, ...]) -> SavedPlan:
        """`saved_for(requires_grad)` reduced to numbers: the inputs and output kept, and
        the extra tensors' elements (activation dtype) and bytes (fixed item size), per
        sample and not."""
        return SavedPlan(*self.plan_numbers(requires_grad))

    def plan_numbers(self, requires_grad: tuple[bool, ...]) -> PlanNumbers:
        """`saved_plan` as a plain tuple, once per pattern (the analyses' hot path)."""
        if requires_grad == self._plan_in:
            return self._plan_out  # type: ignore[return-value]
        plan = None if self._plans is None else self._plans.get(requires_grad)
        if plan is None:
            plan = self._plan(requires_grad)
            if self._plan_in is None:
                self._plan_in, self._plan_out = requires_grad, plan
            else:
                self._plans = _remember(self._plans, requires_grad, plan)
        return plan

    def _plan(self, requires_grad: tuple[bool, ...]) -> PlanNumbers:
        saved = self.saved_for(requires_grad)
        for item in saved:
            if item.what == "extra":  # sizes, which differ from record to record
                return plan_of(saved)
        plan = _PLAN_CACHE.get(saved)
        if plan is None:
            plan = keep(_PLAN_CACHE, saved, plan_of(saved), 1024)
        return plan

    def saved_for(self, requires_grad: tuple[bool, ...]) -> tuple[Saved, ...]:
        """What autograd keeps given which inputs require gradients: nothing at all when
        neither an input nor a parameter does (e.g. a pool applied to the image)."""
        if not self.count_numbers()[0] and not any(requires_grad):
            return ()
        return self.saved()

    def counts(self) -> Counts:
        """Params, buffers, MACs, other ops and output elements."""
        return Counts(*self.count_numbers())

    def count_numbers(self) -> tuple[int, int, int, int, int]:
        """`counts()` as a plain tuple (counted when the record was made)."""
        return self._counts

    # ---- to implement
    def configure(self, args: dict[str, Any]) -> None:
        """Store the (converted) arguments, validating them against the inputs."""

    def infer_shape(self) -> Shape:
        """The output shape (batch excluded; checked against the size limits where the
        record is made, `__init__`)."""
        return self.in_shapes[0]

    # ---- counting rules (defaults: nothing)
    def params(self) -> int:
        """Trainable parameter elements, as `sum(p.numel())` of the lowered module."""
        return 0

    def buffers(self) -> int:
        """Buffer elements (running statistics and the like), never counted as params."""
        return 0

    def macs(self) -> int:
        """Multiply-accumulates of weights with activations, per sample."""
        return 0

    def other_ops(self) -> int:
        """Every other arithmetic operation per sample, by this kind's documented rule."""
        return 0

    def saved(self) -> tuple[Saved, ...]:
        """The tensors autograd keeps for backward when the layer trains."""
        return ()

    def receptive_field(self, fields: Sequence[Field]) -> Field:
        """The output's receptive field from the inputs' (default: pointwise)."""
        return fields[0]

    def describe(self) -> str:
        """Arguments in short, for the IR listing."""
        return ""

    # ---- lowering (data only: netdsl.lowering makes the module)
    def torch_recipe(self) -> Recipe:
        """The PyTorch module computing this layer, as torch-free data (class, arguments)."""
        raise NotImplementedError(f"{self.op} has no PyTorch lowering yet")

    # ---- helpers
    @property
    def in_shape(self) -> Shape:
        """The first (for most layers: the only) input shape."""
        return self.in_shapes[0]

    @property
    def spatial_rank(self) -> int:
        """Number of spatial axes of the first input ([C, H, W] -> 2)."""
        return len(self.in_shapes[0]) - 1


#: A sliding window's field rule: "window", its effective kernel, stride, begin padding.
WindowRule = tuple[str, tuple[int, ...], tuple[int, ...], tuple[int, ...]]


class SlidingWindow(Layer):
    """A layer that slides a window over its input (convolutions, pooling): its field is
    the input's through the window of its `effective_kernel`, `stride` and the begin
    padding of its `pads`, which a subclass sets when configured."""

    __slots__ = ("_rule",)
    effective_kernel: tuple[int, ...]
    stride: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]

    def __init__(self, op: str, args: dict[str, Any], in_shapes: tuple[Shape, ...]) -> None:
        self._rule: WindowRule | None = None
        super().__init__(op, args, in_shapes)

    def field_rule(self) -> WindowRule:
        """The window's effective kernel, stride and begin padding (made once)."""
        rule = self._rule
        if rule is None:
            rule = self._rule = shared(("window", self.effective_kernel, self.stride,
                                        tuple(p[0] for p in self.pads)))
        return rule

    def receptive_field(self, fields: Sequence[Field]) -> Field:
        _, kernel, stride, pads = self.field_rule()
        return fields[0].window(kernel, stride, pads)


#: The field rules of the kinds whose field is their input's, as it is or made global
#: (every output sees the whole input): `plain_rule_field` gives the field of either.
IDENTITY_FIELD = ("identity",)
GLOBAL_FIELD = ("global",)


def plain_rule_field(rule: tuple[str], field: Field) -> Field:
    """The field of a kind whose rule is `IDENTITY_FIELD` or `GLOBAL_FIELD`, for the
    input field `field` (such a kind's `receptive_field` is this of its rule)."""
    if rule == GLOBAL_FIELD:
        return field.as_global()
    if rule == IDENTITY_FIELD:
        return field
    raise ValueError(f"not a plain field rule: {rule!r}")


def numel(shape: Shape) -> int:
    """Number of elements of a shape (1 for a scalar)."""
    return math.prod(shape)


# ----------------------------------------------------------------------- converters
def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def integer(value: Any, rank: int) -> int:
    """Converter: an integer, at most MAX_TENSOR_ELEMENTS in magnitude (every integer
    argument of a layer is a size, a count or an axis: none needs more, and the shape
    arithmetic stays on small numbers)."""
    if not _is_int(value):
        raise LayerError("expected an integer", got=value, typed=True)
    if abs(value) > MAX_TENSOR_ELEMENTS:
        raise LayerError("must be at most 2**40 in magnitude (the limit for a layer's "
                         "integer argument)", got=value)
    return value


def window_size(value: Any, rank: int) -> int:
    """Converter: a positive window length along one axis, at most MAX_AXIS_SIZE."""
    value = positive(value, rank)
    if value > MAX_AXIS_SIZE:
        raise LayerError(f"must be at most {MAX_AXIS_SIZE} (the axis limit)", got=value)
    return value


def positive(value: Any, rank: int) -> int:
    """Converter: an integer >= 1."""
    if type(value) is int and 1 <= value <= MAX_TENSOR_ELEMENTS:  # the common case
        return value
    value = integer(value, rank)
    if value < 1:
        raise LayerError(f"must be a positive integer, got {value}")
    return value


def non_negative(value: Any, rank: int) -> int:
    """Converter: an integer >= 0."""
    value = integer(value, rank)
    if value < 0:
        raise LayerError(f"must not be negative, got {value}")
    return value


#: (element converter, integer, rank) -> its `per_axis` tuple, made once: records share
#: it (a search makes thousands of records, each a few tuples for the garbage collector
#: to scan) and most kernels and strides are one of a few integers. Bounded.
_AXES_CACHE: dict[tuple[Converter, int, int], tuple] = {}


def per_axis(element: Converter) -> Converter:
    """Converter: one value for every spatial axis, or a list with one per axis."""

    def convert(value: Any, rank: int) -> tuple:
        if type(value) is int:
            key = (element, value, rank)
            found = _AXES_CACHE.get(key)
            if found is None:
                found = keep(_AXES_CACHE, key, (element(value, rank),) * rank, 1024)
            return found
        if isinstance(value, (list, tuple)):
            if len(value) != rank:
                raise LayerError(f"expected {rank} value(s), one per spatial axis, got {len(value)}")
            return tuple(element(v, rank) for v in value)
        return (element(value, rank),) * rank

    return convert


def optional(inner: Converter) -> Converter:
    """Converter: `none`/absent (None) or the inner converter's value."""

    def convert(value: Any, rank: int) -> Any:
        return None if value is None else inner(value, rank)

    return convert


def boolean(value: Any, rank: int) -> bool:
    """Converter: true or false."""
    if not isinstance(value, bool):
        raise LayerError("expected true or false", got=value, typed=True)
    return value


def real(value: Any, rank: int) -> float:
    """Converter: a finite number (integers are accepted)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LayerError("expected a number", got=value, typed=True)
    if not math.isfinite(value):  # inf or NaN: the layer would compute NaN everywhere
        raise LayerError("must be a finite number", got=value)
    return float(value)


def probability(value: Any, rank: int) -> float:
    """Converter: a number in [0, 1)."""
    value = real(value, rank)
    if not 0 <= value < 1:
        raise LayerError(f"must be in [0, 1), got {value}")
    return value


def choice(*options: str) -> Converter:
    """Converter: one of the given words."""

    def convert(value: Any, rank: int) -> str:
        if value not in options:
            listed = ", ".join(f'"{o}"' for o in options)
            raise LayerError(f"expected one of {listed}", got=value)
        return value

    return convert


def int_list(value: Any, rank: int) -> tuple[int, ...]:
    """Converter: a non-empty list of positive integers."""
    if not isinstance(value, (list, tuple)) or not value:
        raise LayerError("expected a list of positive integers", got=value)
    return tuple(positive(v, rank) for v in value)


#: (integer padding, rank) -> its pairs (`padding`), shared as `per_axis`'s tuples.
_PADDING_CACHE: dict[tuple[int, int], tuple[tuple[int, int], ...]] = {}


def padding(value: Any, rank: int) -> str | tuple[tuple[int, int], ...]:
    """Converter: "same", "valid", an integer, one per axis, or [begin, end] pairs per axis."""
    if type(value) is int and 0 <= value <= MAX_TENSOR_ELEMENTS:
        found = _PADDING_CACHE.get((value, rank))
        if found is None:
            found = keep(_PADDING_CACHE, (value, rank), ((value, value),) * rank, 1024)
        return found
    if value in ("same", "valid"):
        return "valid" if value == "valid" else "same"
    if isinstance(value, str):
        raise LayerError('expected "same", "valid" or integers', got=value)
    if isinstance(value, (list, tuple)):
        if len(value) != rank:
            raise LayerError(f"expected {rank} value(s), one per spatial axis, got {len(value)}")
        return tuple(_pad_pair(v, rank) for v in value)
    p = non_negative(value, rank)
    return ((p, p),) * rank


def _pad_pair(value: Any, rank: int) -> tuple[int, int]:
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise LayerError("a per-axis padding pair is [begin, end]", got=value)
        return non_negative(value[0], rank), non_negative(value[1], rank)
    p = non_negative(value, rank)
    return p, p


# ----------------------------------------------------------------- shape arithmetic
def check_shape(shape: Shape) -> Shape:
    """Reject empty outputs and tensors past the documented size limits."""
    if not shape:
        return shape
    if min(shape) < 1:
        raise LayerError(f"the output shape {list(shape)} would be empty")
    if max(shape) > MAX_AXIS_SIZE:
        raise LayerError(f"the output shape {list(shape)} has an axis larger than {MAX_AXIS_SIZE}")
    if numel(shape) > MAX_TENSOR_ELEMENTS:
        raise LayerError(
            f"the output shape {list(shape)} has more than 2**40 elements per sample (the limit)")
    return shape
