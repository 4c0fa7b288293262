"""The layer registry: DSL name -> layer kind, signature and conformance examples.

The grammar knows no layer names; the elaborator looks a call's name up here, and
`create` binds its arguments uniformly for every layer (unknown keyword, missing
value, wrong type, "did you mean") before the kind's own validation runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from netdsl.layers.base import Arg, Example, Layer, LayerError, Shape, Signature, keep


@dataclass(frozen=True)
class Rules:
    """A layer's counting rules in words (markdown), as docs/conventions.md lists them.

    Each is what the kind's methods compute; `scripts/layer_docs.py` writes the tables of
    docs/conventions.md from them, and a test fails when those tables are stale. The
    defaults are the common case, so a simple layer states only what is particular to it.
    """

    shape: str = "input shape"
    params: str = "0"
    buffers: str = "0"
    macs: str = "0"
    other_ops: str = "0"
    allocates: str = "`N_out`"
    saved: str = "nothing"
    field: str = "pointwise"


@dataclass(frozen=True)
class LayerSpec:
    """A registered layer name: its kind, arguments, preset values, examples and docs.

    `doc` is what the layer computes, in one line (the language reference's table);
    `rules` its counting rules (the conventions' tables).
    """

    name: str
    kind: type[Layer]
    signature: Signature
    fixed: dict[str, Any] = field(default_factory=dict)
    examples: tuple[Example, ...] = ()
    ranks: tuple[int, ...] = (0, 1, 2, 3)
    doc: str = ""
    rules: Rules = field(default_factory=Rules)
    #: each argument's position by name (`bind`'s keyword checks)
    positions: dict[str, int] = field(init=False, repr=False, compare=False)
    #: spatial rank -> each argument's default converted for it (`defaults_for`)
    converted_defaults: dict[int, tuple[Any, ...]] = field(init=False, repr=False, compare=False)
    #: spatial rank -> the preset values and converted defaults, by name (`bind`)
    bound_defaults: dict[int, dict[str, Any]] = field(init=False, repr=False, compare=False)
    #: how many values a bound call has (preset and arguments)
    bound_size: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        positions = {a.name: i for i, a in enumerate(self.signature.args)}
        object.__setattr__(self, "positions", positions)
        object.__setattr__(self, "converted_defaults", {})
        object.__setattr__(self, "bound_defaults", {})
        object.__setattr__(self, "bound_size", len(self.fixed.keys() | positions.keys()))

    def defaults_bound(self, rank: int) -> dict[str, Any]:
        """The preset values and the defaults converted for a rank (those a converter
        refuses left out), by name: what `bind` starts from."""
        bound = self.bound_defaults.get(rank)
        if bound is None:
            bound = dict(self.fixed)
            for arg, value in zip(self.signature.args, self.defaults_for(rank)):
                if value is not ... and value is not UNCONVERTED:
                    bound[arg.name] = value
            self.bound_defaults[rank] = bound
        return bound

    def defaults_for(self, rank: int) -> tuple[Any, ...]:
        """Each argument's default converted for a spatial rank (converters are pure and
        their values immutable): `...` for a required argument, `UNCONVERTED` for a
        default its converter refuses at this rank (converted, and refused, per call)."""
        converted = self.converted_defaults.get(rank)
        if converted is None:
            converted = self.converted_defaults[rank] = tuple(
                _converted_default(arg, rank) for arg in self.signature.args)
        return converted


#: `LayerSpec.defaults_for`'s mark of a default to convert per call.
UNCONVERTED = object()


def _converted_default(arg: Arg, rank: int) -> Any:
    if arg.required:
        return ...
    try:
        return arg.convert(arg.default, rank)
    except LayerError:
        return UNCONVERTED


REGISTRY: dict[str, LayerSpec] = {}


def register(name: str, kind: type[Layer], args: Sequence[Arg] = (), *, doc: str,
             rules: Rules, variadic: bool = False, fixed: dict[str, Any] | None = None,
             examples: Sequence[Example] = (), ranks: Sequence[int] = (0, 1, 2, 3)) -> None:
    """Register a DSL layer name, with what it computes (`doc`), its counting rules in
    words (`rules`) and conformance examples (every name must have some)."""
    if name in REGISTRY:
        raise ValueError(f"layer {name!r} registered twice")
    if not doc or not examples:
        raise ValueError(f"layer {name!r} needs a doc and conformance examples")
    REGISTRY[name] = LayerSpec(name, kind, Signature(tuple(args), variadic), fixed or {},
                               tuple(examples), tuple(ranks), doc, rules)


def bind(spec: LayerSpec, positional: Sequence[Any], keywords: dict[str, Any],
         rank: int) -> dict[str, Any]:
    """Match call arguments to the signature and convert them; errors name the argument."""
    args, given = spec.signature.args, len(positional)
    if given > len(args):
        raise LayerError(f"{spec.name}() takes at most {len(args)} positional argument(s), "
                         f"got {given}", arg=f"#{len(args)}")
    for key in keywords:
        at = spec.positions.get(key)
        if at is None:
            raise LayerError(f"{spec.name}() has no argument '{key}'", arg=key,
                             options=tuple(spec.signature.names()))
        if at < given:
            raise LayerError(f"{spec.name}() got argument '{key}' twice", arg=key)
    # the defaults as converted once, the given values converted here (this runs for every
    # new layer record); a value refused, a required argument missing or a default to
    # convert per call: bound in signature order, for the error that order reports
    bound = spec.defaults_bound(rank).copy()
    try:
        for arg, value in zip(args, positional):
            bound[arg.name] = arg.convert(value, rank)
        for key, value in keywords.items():
            bound[key] = args[spec.positions[key]].convert(value, rank)
    except LayerError:
        return bind_in_order(spec, positional, keywords, rank)
    if len(bound) != spec.bound_size:
        return bind_in_order(spec, positional, keywords, rank)
    return bound


def bind_in_order(spec: LayerSpec, positional: Sequence[Any], keywords: dict[str, Any],
                  rank: int) -> dict[str, Any]:
    """`bind` argument by argument in signature order: the first argument refused or
    missing is the one reported."""
    bound = dict(spec.fixed) if spec.fixed else {}
    defaults = spec.defaults_for(rank)
    for i, arg in enumerate(spec.signature.args):
        name = arg.name
        if i < len(positional):
            value = positional[i]
        elif name in keywords:
            value = keywords[name]
        else:
            value = defaults[i]
            if value is ...:
                raise LayerError(f"{spec.name}() is missing its argument '{name}'")
            if value is not UNCONVERTED:
                bound[name] = value
                continue
            value = arg.default
        try:
            bound[name] = arg.convert(value, rank)
        except LayerError as exc:
            raise _argument_error(spec, arg, exc) from None
    return bound


def _argument_error(spec: LayerSpec, arg: Arg, exc: LayerError) -> LayerError:
    """A converter's error, worded for the layer and the argument."""
    return LayerError(f"{spec.name}(): argument '{arg.name}' {exc.message}", arg=arg.name,
                      got=exc.got, typed=exc.typed)


#: Resolved layers are immutable, so identical calls (same name, arguments and input
#: shapes) share one record: a ResNet repeats most of its layers, and architecture
#: search re-analyses mostly identical variants. Bounded; cleared when full.
_LAYER_CACHE: dict[tuple, Layer] = {}
_LAYER_CACHE_LIMIT = 100_000


def create(spec: LayerSpec, positional: Sequence[Any], keywords: dict[str, Any],
           in_shapes: tuple[Shape, ...]) -> Layer:
    """The resolved layer for a call (shared with identical earlier calls)."""
    try:
        arguments = argument_key(spec.name, positional, keywords)
    except TypeError:  # an unhashable argument value: build without sharing
        return _create(spec, positional, keywords, in_shapes)
    return create_keyed(spec, arguments, positional, keywords, in_shapes)


def argument_key(name: str, positional: Sequence[Any], keywords: dict[str, Any]) -> tuple:
    """The part of a layer cache key that the layer's name and arguments make, the input
    shapes to follow (`cache_key`; TypeError: an unhashable value).

    One flat tuple: the name, the positional values, a marker, the keywords as one run
    (name, value, name, value, ...), a marker. Values are written flat too (`_freeze_into`);
    names are strings and the markers bytes, which no value is written as, so the run is
    unambiguous.
    """
    key: list[Any] = [name]
    _freeze_into(key, positional)
    key.append(_KEYWORDS)
    for keyword in sorted(keywords):
        key.append(keyword)
        value = keywords[keyword]
        kind = type(value)
        if kind is int or kind is str:  # most values: written as they are
            key.append(value)
        else:
            _freeze_into(key, (value,))
    key.append(_SHAPE)
    return tuple(key)


def argument_offsets(positional: Sequence[Any], keywords: dict[str, Any]
                     ) -> tuple[list[int], dict[str, int]]:
    """Where each positional and each keyword value starts in `argument_key`'s tuple (a
    replay writes the values it traces into a copy of the key, netdsl/language/replay.py)."""
    at, starts = 1, []
    for value in positional:
        starts.append(at)
        at += _flat_length(value)
    at += 1  # the keywords' marker
    keyword_starts = {}
    for keyword in sorted(keywords):
        keyword_starts[keyword] = at + 1  # after the keyword's name
        at += 1 + _flat_length(keywords[keyword])
    return starts, keyword_starts


#: Markers in a layer cache key: after the positional values, before each input shape,
#: around a list's items, before a float, and the two booleans. Bytes, which no value is,
#: and single items the garbage collector never tracks (`cache_key`).
_KEYWORDS, _SHAPE, _LIST, _END, _FLOAT, _TRUE, _FALSE = (
    b"k", b"s", b"[", b"]", b"f", b"true", b"false")


def _freeze_into(key: list[Any], values: Any) -> None:
    """Append `values` to `key`, keeping `1`, `1.0` and `true` apart (they compare equal)."""
    for v in values:
        kind = type(v)
        if kind is int or kind is str or v is None:
            key.append(v)
        elif kind is bool:
            key.append(_TRUE if v else _FALSE)
        elif kind is list or kind is tuple:
            key.append(_LIST)
            _freeze_into(key, v)
            key.append(_END)
        elif kind is float:
            key.append(_FLOAT)
            key.append(v)
        else:
            hash(v)  # an unhashable value is refused here, where the caller expects it
            key.append((kind, v))


def _flat_length(value: Any) -> int:
    """How many items `_freeze_into` writes for one value."""
    kind = type(value)
    if kind is list or kind is tuple:
        return 2 + sum(map(_flat_length, value))
    return 2 if kind is float else 1


def cache_key(arguments: tuple, in_shapes: tuple[Shape, ...]) -> tuple:
    """The layer cache key of a call: `argument_key`'s, then the input shapes.

    Flat because the cache outlives a search's candidates: the garbage collector stops
    tracking a tuple of numbers and words at its first collection, but keeps tracking a
    new tuple of new tuples (it looks at the outer one first), and every key it tracks is
    scanned again by each full collection (a width variant of ResNet-50 adds 26 keys).
    """
    if len(in_shapes) == 1:
        return arguments + in_shapes[0]
    key = list(arguments + in_shapes[0])
    for shape in in_shapes[1:]:
        key.append(_SHAPE)
        key.extend(shape)
    return tuple(key)


def create_keyed(spec: LayerSpec, arguments: tuple, positional: Sequence[Any],
                 keywords: dict[str, Any], in_shapes: tuple[Shape, ...]) -> Layer:
    """`create` with the arguments' key known (`argument_key`)."""
    key = cache_key(arguments, in_shapes)
    return _LAYER_CACHE.get(key) or create_at(key, spec, positional, keywords, in_shapes)


def create_at(key: tuple, spec: LayerSpec, positional: Sequence[Any], keywords: dict[str, Any],
              in_shapes: tuple[Shape, ...], binder: PartialBind | None = None) -> Layer:
    """Make the record of a call not in the cache and keep it under `key` (`cache_key`'s;
    a replay looks the key up itself, `cached_at`, and makes the arguments only when it
    is not there)."""
    return keep(_LAYER_CACHE, key, _create(spec, positional, keywords, in_shapes, binder),
                _LAYER_CACHE_LIMIT)


def cached_at(key: tuple) -> Layer | None:
    """The record kept under a whole cache key (`cache_key`'s), if any."""
    return _LAYER_CACHE.get(key)


def _create(spec: LayerSpec, positional: Sequence[Any], keywords: dict[str, Any],
            in_shapes: tuple[Shape, ...], binder: PartialBind | None = None) -> Layer:
    """Check the input rank, bind the arguments and build the resolved layer."""
    rank = len(in_shapes[0]) - 1
    if rank not in spec.ranks:
        wanted = " or ".join(_rank_name(r) for r in spec.ranks)
        raise LayerError(f"{spec.name}() expects a {wanted} input, got shape {list(in_shapes[0])}")
    bound = (bind(spec, positional, keywords, rank) if binder is None
             else binder.bind(positional, keywords, rank))
    return spec.kind(spec.name, bound, in_shapes)


class PartialBind:
    """`bind` for the calls of one place that differ from a first call only in some
    argument values (a replay's traced ones, netdsl/language/replay.py): the other values
    are bound once per rank, and each call converts its changing values only. A changing
    value refused, or the first call's values refused at a rank, and the call is bound
    whole (`bind`), for the error it reports. The result is `bind`'s, item for item.
    """

    __slots__ = ("spec", "positional", "keywords", "changing_positional", "changing_keywords",
                 "_by_rank")

    def __init__(self, spec: LayerSpec, positional: Sequence[Any], keywords: dict[str, Any],
                 changing_positional: list[tuple[Arg, int]],
                 changing_keywords: list[tuple[Arg, str]]) -> None:
        self.spec, self.positional, self.keywords = spec, positional, keywords
        # (argument, its position or its keyword) of each changing value
        self.changing_positional, self.changing_keywords = changing_positional, changing_keywords
        self._by_rank: dict[int, dict[str, Any] | None] = {}

    @classmethod
    def of(cls, spec: LayerSpec, positional: Sequence[Any], keywords: dict[str, Any],
           changing_positions: Sequence[int], changing_keywords: Sequence[str]
           ) -> PartialBind | None:
        """The binder of calls like `positional` and `keywords`, the values at the given
        positions and keywords changing; None when one of them is not an argument."""
        args = spec.signature.args
        if any(i >= len(args) for i in changing_positions):
            return None
        by_keyword: list[tuple[Arg, str]] = []
        for keyword in changing_keywords:
            at = spec.positions.get(keyword)
            if at is None or at < len(positional):
                return None
            by_keyword.append((args[at], keyword))
        return cls(spec, positional, dict(keywords), [(args[i], i) for i in changing_positions],
                   by_keyword)

    def bind(self, positional: Sequence[Any], keywords: dict[str, Any], rank: int
             ) -> dict[str, Any]:
        """`bind(spec, positional, keywords, rank)`."""
        if rank in self._by_rank:
            first = self._by_rank[rank]
        else:
            try:
                first = bind(self.spec, self.positional, self.keywords, rank)
            except LayerError:
                first = None
            self._by_rank[rank] = first
        if first is None:
            return bind(self.spec, positional, keywords, rank)
        bound = first.copy()
        try:
            for arg, at in self.changing_positional:
                bound[arg.name] = arg.convert(positional[at], rank)
            for arg, keyword in self.changing_keywords:
                bound[arg.name] = arg.convert(keywords[keyword], rank)
        except LayerError:
            return bind(self.spec, positional, keywords, rank)
        return bound


def _rank_name(rank: int) -> str:
    return {0: "flat [F]", 1: "1-D [C, L]", 2: "2-D [C, H, W]", 3: "3-D [C, D, H, W]"}[rank]
