"""Guarded replays: a network's elaboration recorded once as a program over its numeric
parameters, and run again for new values without interpreting the spec.

Architecture search calls `analyze(width=w)` for thousands of values of a few numbers;
each is a whole new network to the block memo (netdsl/language/memo.py), since every
stage's arguments change. But the network's structure (which blocks are called, which
layers made, under which names, fed by which nodes) mostly does not change with them:
only the layers' numbers do. So the second elaboration of a network with the same
other parameters is *recorded*: its numeric parameters are bound to `Traced` values,
which the recording elaborator follows through arithmetic, builtins and tensor
attributes, writing each step down:

- a *compute* step: a slot's value from others (`width * 2 ** i`, `in.channels // 4`);
- a *guard*: wherever the elaboration's path depended on a traced value (an `if`'s
  condition, a loop's count, a list index, a declared type, an input shape), the value
  it had; a replay whose value differs is abandoned;
- a *layer* step: the layer made from the arguments' slots and its inputs' shapes, and
  the nodes named for it, exactly as recorded.

A replay runs the steps for new values: the layers are made anew (`create`, which checks
every argument as a call does), and the nodes added under the recorded names. Anything
the recording cannot follow ends it: a `Traced` value refuses every Python operation
(`TraceEscape`), so a use the recorder does not know can never pass for a constant. A
network that reaches a search decision, warns, declares `output`s or `require`s, or
fails, is not recorded. Before a recording is kept, it is replayed with the values it
was recorded with, and the graph must equal the ordinary elaboration's; and any replay
that fails a guard, or a layer check, gives way to the ordinary elaboration, which gives
the same graph or the same located error as without replays.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

from netdsl.errors import NetdslError, Span
from netdsl.graph import PlainGraph, node_columns, node_table, plain_graphs
from netdsl.heads import DEFAULT_NAME, Head, set_outputs
from netdsl.language import syntax as ast
from netdsl.language.choices import same_value
from netdsl.language.context import Context
from netdsl.language.decisions import Decision
from netdsl.language.elaborate import _Elaborator
from netdsl.language.memo import freeze
from netdsl.language.resolve import BUILTIN
from netdsl.language.values import (
    BINARY,
    BUILTINS,
    Env,
    Tensor,
    ValueError_,
    is_int,
    tensor_attribute,
)
from netdsl.layers import LayerSpec, create
from netdsl.layers.base import Shape
from netdsl.layers.io import Input
from netdsl.layers.registry import (
    PartialBind,
    argument_key,
    argument_offsets,
    cache_key,
    cached_at,
    create_at,
)

#: Recordings kept per network and fixed parameters (a guard that fails, `width` = 16
#: making the first stage's shortcut the identity, say, may be met by another one).
MAX_RECORDINGS = 4
#: Networks-with-fixed-parameters remembered per loaded spec; the least recent go first.
MAX_KEYS = 256
#: Steps kept in all the recordings of a loaded spec (about 1 KiB each; ResNet-50's
#: recording has 458); the least recently used networks' recordings go first, and a
#: network whose recording alone is longer is not recorded.
MAX_STEPS = 20_000

Regs = list[Any]
Shapes = dict[str, Shape]
Append = Callable[[Any], None]  # adds a node's layer record (the nodes are in order)
Step = Callable[[Regs, Shapes, list[Any], Append], None]
#: A layer step's argument key for the registers (None: unhashable), and its arguments.
KeyOf = Callable[[Regs], "tuple | None"]
ArgumentsOf = Callable[[Regs], tuple[list[Any], dict[str, Any]]]
#: What made a layer step: its kind, arguments, input nodes and parts (see `layer`).
LayerCall = tuple[LayerSpec, list[Any], dict[str, Any], tuple[str, ...], int | None]


class TraceEscape(BaseException):
    """A traced value used where the recording cannot follow it (not an `Exception`:
    no handler of the evaluator's may take it for an ordinary failure)."""


class Miss(Exception):
    """A replay's guard or layer check failed: the ordinary elaboration takes over."""


class Traced:
    """A value computed from the network's numeric parameters while recording: its value
    now and the slot the replay computes it into. Every Python operation on it escapes
    the recording; the recording elaborator handles it explicitly."""

    __slots__ = ("value", "slot")

    def __init__(self, value: Any, slot: int) -> None:
        self.value, self.slot = value, slot

    def _escape(self, *args: Any) -> Any:
        raise TraceEscape

    __bool__ = __index__ = __int__ = __float__ = __hash__ = __eq__ = __ne__ = _escape
    __lt__ = __le__ = __gt__ = __ge__ = __add__ = __radd__ = __sub__ = __rsub__ = _escape
    __mul__ = __rmul__ = __truediv__ = __floordiv__ = __mod__ = __pow__ = __neg__ = _escape
    __iter__ = __len__ = __getitem__ = __contains__ = __format__ = __str__ = _escape

    def __repr__(self) -> str:
        return f"<traced {self.value!r}>"


def concrete(value: Any) -> Any:
    """The value without its tracing (lists item by item)."""
    if type(value) is Traced:
        return value.value
    if type(value) is list:
        return [concrete(v) for v in value]
    return value


def has_traced(value: Any) -> bool:
    if type(value) is Traced:
        return True
    return type(value) is list and any(has_traced(v) for v in value)


def getter(value: Any) -> Callable[[Regs], Any]:
    """How a replay reads an operand: a slot, a list of operands, or a constant."""
    if type(value) is Traced:
        slot = value.slot
        return lambda regs: regs[slot]
    if type(value) is list and has_traced(value):
        parts = [getter(v) for v in value]
        return lambda regs: [part(regs) for part in parts]
    return lambda regs: value


class Recording:
    """A network's elaboration as steps over its numeric parameters (see the module
    docstring); `run` replays it for new values into a context, or raises `Miss`."""

    def __init__(self, params: tuple[str, ...]) -> None:
        self.params = params  # the traced parameters: slots 0 .. len - 1
        self.slots = len(params)
        self.steps: list[Step] = []
        self.layers = 0  # layer steps (each writes its record into `made`)
        self.inputs: dict[str, str] = {}
        self.result: str | None = None
        self.edges: list[tuple[str, str, int]] = []  # every node's, as the context has them
        # the nodes' names, spans, block paths and inputs, in order (`graph.Columns`; a
        # replay gives their records)
        self.names: list[str] = []
        self.spans: list[Span] = []
        self.blocks: list[str] = []
        self.node_inputs: list[tuple[str, ...]] = []
        # the last layer made, its step not written yet: the node named for it comes
        # next (most layers make one), and one step then makes both
        self.pending: LayerCall | None = None
        # every node reaches the output (a split's unused part would be dropped): found
        # by the first replay's full finish; the same nodes every replay, so later ones
        # skip the walk
        self.reaches = False

    def add(self, step: Step) -> None:
        """Append a step (after the pending layer's)."""
        self.flush()
        self.steps.append(step)

    def flush(self, node: tuple[str, str, Span, str, tuple[str, ...]] | None = None) -> None:
        """Write the pending layer's step (making `node` too, if given)."""
        if self.pending is not None:
            spec, positional, keywords, preds, parts = self.pending
            self.pending = None
            self.steps.append(_layer_step(spec, positional, keywords, preds, parts, node))

    def close(self, inputs: dict[str, str], result: str) -> None:
        """The recording is complete: the network's inputs and its output node."""
        self.flush()
        self.inputs, self.result = inputs, result

    # ------------------------------------------------------------ while recording
    def traced(self, value: Any, compute: Callable[..., Any], operands: Sequence[Any]) -> Traced:
        """A new traced value, computed on replay as `compute(*operands)`."""
        slot = self.slots
        self.slots += 1
        reads = [getter(v) for v in operands]
        if len(operands) == 2 and type(operands[0]) is Traced and not has_traced(operands[1]):
            a, constant = operands[0].slot, operands[1]  # the commonest: `channels * 4`

            def step(regs: Regs, shapes: Shapes, made: list[Any], append: Append) -> None:
                regs[slot] = compute(regs[a], constant)
        elif len(reads) == 2:
            first, second = reads

            def step(regs: Regs, shapes: Shapes, made: list[Any], append: Append) -> None:
                regs[slot] = compute(first(regs), second(regs))
        else:
            def step(regs: Regs, shapes: Shapes, made: list[Any], append: Append) -> None:
                regs[slot] = compute(*[read(regs) for read in reads])
        self.add(step)
        return Traced(value, slot)

    def attribute(self, tensor: Tensor, name: str, value: Any, item: int | None) -> Traced:
        """`tensor.name` (its `item`-th entry for a list-valued attribute) as traced."""
        node, slot = tensor.node, self.slots
        self.slots += 1

        def step(regs: Regs, shapes: Shapes, made: list[Any], append: Append) -> None:
            got = tensor_attribute(Tensor(node, shapes[node]), name)
            regs[slot] = got if item is None else got[item]
        self.add(step)
        return Traced(value, slot)

    def guard(self, value: Any) -> Any:
        """The elaboration's path depends on `value`: a replay must meet the same."""
        if not has_traced(value):
            return value
        read, expected = getter(value), concrete(value)

        def step(regs: Regs, shapes: Shapes, made: list[Any], append: Append) -> None:
            if not same_value(read(regs), expected):
                raise Miss
        self.add(step)
        return expected

    def guard_type(self, value: Traced) -> None:
        """A replay's value must be of the recorded value's type."""
        slot, kind = value.slot, type(value.value)

        def step(regs: Regs, shapes: Shapes, made: list[Any], append: Append) -> None:
            if type(regs[slot]) is not kind:
                raise Miss
        self.add(step)

    def guard_same_shape(self, a: str, b: str, expected: bool) -> None:
        """Whether two nodes' shapes are equal (an `if` on a tensor depends on it)."""
        def step(regs: Regs, shapes: Shapes, made: list[Any], append: Append) -> None:
            if (shapes[a] == shapes[b]) is not expected:
                raise Miss
        self.add(step)

    def layer(self, spec: LayerSpec, positional: list[Any], keywords: dict[str, Any],
              preds: tuple[str, ...], parts: int | None) -> int:
        """A layer made on the nodes `preds`; its index in `made` on replay."""
        self.flush()
        index = self.layers
        self.layers += 1
        self.pending = (spec, positional, keywords, preds, parts)
        return index

    def node(self, index: int | None, part: int | None, fixed: Any, op: str, name: str,
             span: Span, block: str, preds: tuple[str, ...]) -> None:
        """A node named `name`: the `index`-th layer made (its `part`-th part), or the
        `fixed` layer (a network input)."""
        if part is None and index == self.layers - 1 and self.pending is not None:
            self.flush((op, name, span, block, preds))  # the layer just made: one step
        else:
            self.add(_node_step(index, part, fixed, op, name, span, block, preds))
        self.edges.extend((p, name, position) for position, p in enumerate(preds))
        self.names.append(name)
        self.spans.append(span)
        self.blocks.append(block)
        self.node_inputs.append(preds)

    # -------------------------------------------------------------------- replay
    def run(self, ctx: Context, values: list[Any]) -> tuple[Tensor, list[Any]]:
        """The result tensor of the recorded nodes for the parameter `values`, and the
        nodes' layer records (in the order of `names`); the edges and inputs are added to
        `ctx`. Raises `Miss` when the values take another path."""
        regs: Regs = values + [None] * (self.slots - len(values))
        shapes: Shapes = {}
        made: list[Any] = []  # the layers made (a list of parts for a layer that splits)
        layers: list[Any] = []
        append = layers.append
        try:
            for step in self.steps:
                step(regs, shapes, made, append)
        except Miss:
            raise
        except Exception:  # a value the layers refuse, a division by zero: the ordinary
            raise Miss from None  # elaboration gives the located error
        ctx.edges.extend(self.edges)
        ctx.graph.graph["inputs"].update(self.inputs)
        assert self.result is not None
        return Tensor(self.result, shapes[self.result]), layers

    def add_nodes(self, ctx: Context, layers: list[Any]) -> None:
        """The nodes of a run, with its `layers`, added to `ctx` as elaboration adds them
        (its rows; no block call of a replay is memoised, so no memo reads them)."""
        rows = ctx.rows
        for row in zip(self.names, layers, self.spans, self.blocks, self.node_inputs):
            rows.extend(row)


def _layer_step(spec: LayerSpec, positional: list[Any], keywords: dict[str, Any],
                preds: tuple[str, ...], parts: int | None,
                node: tuple[str, str, Span, str, tuple[str, ...]] | None) -> Step:
    """The replay step making one layer (kept in `made`), and the node made of it if
    `node` says which (its op, name, span, block path and inputs)."""
    key_of, arguments, binder = (_direct_arguments(spec, positional, keywords)
                                 or _arguments(spec.name, positional, keywords))
    single = preds[0] if len(preds) == 1 else None
    splits = hasattr(spec.kind, "parts")  # a layer that gives several tensors
    if node is not None and node[0] == spec.name and not splits:
        # most steps: one layer, one node (a record's op is its layer name)
        return _node_layer_step(spec, key_of, arguments, binder, preds, node)

    def step(regs: Regs, shapes: Shapes, made: list[Any], append: Append) -> None:
        key = key_of(regs)
        in_shapes = (shapes[single],) if single is not None else tuple(shapes[p] for p in preds)
        if key is None:
            layer = create(spec, *arguments(regs), in_shapes)
        else:  # the arguments themselves are made only for a record not made before
            whole = cache_key(key, in_shapes)
            layer = cached_at(whole) or create_at(whole, spec, *arguments(regs), in_shapes, binder)
        if splits:
            made_parts = layer.parts() if hasattr(layer, "parts") else None
            if (None if made_parts is None else len(made_parts)) != parts:
                raise Miss
            made.append(layer if made_parts is None else made_parts)
        else:
            made.append(layer)
    if node is None:
        return step
    return _checked_node_step(step, *node)


def _node_layer_step(spec: LayerSpec, key_of: KeyOf, arguments: ArgumentsOf,
                     binder: PartialBind | None,
                     preds: tuple[str, ...], node: tuple[str, str, Span, str, tuple[str, ...]]
                     ) -> Step:
    """`_layer_step` for a layer of one tensor and its node, in one closure (most steps;
    a replay runs a few hundred)."""
    _, name, span, block, node_preds = node
    single = preds[0] if len(preds) == 1 else None

    def step(regs: Regs, shapes: Shapes, made: list[Any], append: Append) -> None:
        key = key_of(regs)
        in_shapes = (shapes[single],) if single is not None else tuple(shapes[p] for p in preds)
        if key is None:
            layer = create(spec, *arguments(regs), in_shapes)
        else:
            whole = cache_key(key, in_shapes)
            layer = cached_at(whole) or create_at(whole, spec, *arguments(regs), in_shapes, binder)
        made.append(layer)
        shapes[name] = layer.out_shape
        append(layer)
    return step


def _checked_node_step(step: Step, op: str, name: str, span: Span, block: str,
                       preds: tuple[str, ...]) -> Step:
    """`step`, then the node made of the layer it made, checked to be of `op`."""
    def step_and_node(regs: Regs, shapes: Shapes, made: list[Any], append: Append) -> None:
        step(regs, shapes, made, append)
        layer = made[-1]
        if layer.op != op:  # the node's name was made from it
            raise Miss
        shapes[name] = layer.out_shape
        append(layer)
    return step_and_node


def _arguments(name: str, positional: list[Any], keywords: dict[str, Any]
               ) -> tuple[KeyOf, ArgumentsOf, None]:
    """The cache key (`registry.argument_key`) and the arguments of a layer step, in
    general."""
    if has_traced(positional) or has_traced(list(keywords.values())):
        read_positional = getter(positional)
        read_keywords = [(k, getter(v)) for k, v in keywords.items()]

        def arguments(regs: Regs) -> tuple[list[Any], dict[str, Any]]:
            return read_positional(regs), {k: read(regs) for k, read in read_keywords}

        def key_of(regs: Regs) -> tuple | None:
            try:
                return argument_key(name, *arguments(regs))
            except TypeError:
                return None
        return key_of, arguments, None
    try:  # the same arguments on every replay: their key too
        fixed_key: tuple | None = argument_key(name, positional, keywords)
    except TypeError:
        fixed_key = None
    fixed = (positional, keywords)
    return (lambda regs: fixed_key), (lambda regs: fixed), None


#: The value types that `registry.argument_key` writes as themselves, in one item.
_ONE_ITEM = frozenset({int, str})


def _direct_arguments(spec: LayerSpec, positional: list[Any], keywords: dict[str, Any]
                      ) -> tuple[KeyOf, ArgumentsOf, PartialBind | None] | None:
    """The cache key (`registry.argument_key`) and the arguments of a layer step whose
    traced arguments are all whole arguments (`conv(channels * 4, 1)`, not `kernel =
    [k, 1]`): the constants' part of the key is made once, a replay fills in the rest;
    None when another shape of arguments asks for the general way (or nothing is
    traced). The binder, when a record is made, converts the traced values only."""
    name = spec.name
    values = [*positional, *keywords.values()]
    if not any(type(v) is Traced for v in values) or any(
            type(v) is not Traced and has_traced(v) for v in values):
        return None
    plain_positional, plain_keywords = concrete(positional), {k: concrete(v) for k, v in keywords.items()}
    if any(type(v) is Traced and type(c) not in _ONE_ITEM for v, c in
           zip(values, [*plain_positional, *plain_keywords.values()])):
        return None  # a traced list or float: it takes several items of the key
    try:
        fixed = list(argument_key(name, plain_positional, plain_keywords))
    except TypeError:
        return None
    starts, keyword_starts = argument_offsets(plain_positional, plain_keywords)
    positional_slots = [(i, v.slot) for i, v in enumerate(positional) if type(v) is Traced]
    keyword_slots = [(keyword, v.slot) for keyword, v in keywords.items() if type(v) is Traced]
    traced_at = [*((starts[i], slot) for i, slot in positional_slots),
                 *((keyword_starts[keyword], slot) for keyword, slot in keyword_slots)]

    def key_of(regs: Regs) -> tuple:
        key = fixed.copy()
        for at, slot in traced_at:
            value = regs[slot]
            kind = type(value)
            if kind is not int and kind is not str:  # written as several items, or tagged
                return argument_key(name, *arguments(regs))
            key[at] = value
        return tuple(key)

    def arguments(regs: Regs) -> tuple[list[Any], dict[str, Any]]:
        args = plain_positional.copy()
        for i, slot in positional_slots:
            args[i] = regs[slot]
        kwargs = dict(plain_keywords)
        for keyword, slot in keyword_slots:
            kwargs[keyword] = regs[slot]
        return args, kwargs
    binder = PartialBind.of(spec, plain_positional, plain_keywords,
                            [i for i, _ in positional_slots], [k for k, _ in keyword_slots])
    return key_of, arguments, binder


def _node_step(index: int | None, part: int | None, fixed: Any, op: str, name: str,
               span: Span, block: str, preds: tuple[str, ...]) -> Step:
    """The replay step adding one node."""
    if index is None:
        def step(regs: Regs, shapes: Shapes, made: list[Any], append: Append) -> None:
            shapes[name] = fixed.out_shape
            append(fixed)
        return step
    at = index

    def made_step(regs: Regs, shapes: Shapes, made: list[Any], append: Append) -> None:
        layer = made[at] if part is None else made[at][part]
        if layer.op != op:  # the node's name was made from it
            raise Miss
        shapes[name] = layer.out_shape
        append(layer)
    return made_step


class _Recorder(_Elaborator):
    """The ordinary elaborator, following `Traced` values and writing a `Recording`."""

    def __init__(self, ctx: Context, params: tuple[str, ...]) -> None:
        super().__init__(ctx)
        self.rec = Recording(params)
        self.made: tuple[int, Any] | None = None  # the last layer step and its record
        self.part = 0  # the parts of it added so far

    # ------------------------------------------------------------- parameters
    def bind_network_params(self, net: ast.BlockDef, env: Env, overrides: dict[str, Any]) -> None:
        super().bind_network_params(net, env, overrides)
        for slot, name in enumerate(self.rec.params):
            env.vars[name] = Traced(env.vars[name], slot)

    def check_type(self, param: ast.Param, value: Any, span: Span) -> Any:
        return super().check_type(param, self.rec.guard(value), span)

    # ------------------------------------------------------------ expressions
    def _binary(self, e: ast.Binary, env: Env, cur: Tensor | None) -> Any:
        if e.op in ("and", "or"):  # through `truth`: guarded
            return super()._binary(e, env, cur)
        left, right = self.eval(e.left, env, None), self.eval(e.right, env, None)
        if not (has_traced(left) or has_traced(right)):
            return self._plain_binary(e, left, right)
        value = self._plain_binary(e, concrete(left), concrete(right))
        return self.rec.traced(value, BINARY[e.op], (left, right))

    def _plain_binary(self, e: ast.Binary, left: Any, right: Any) -> Any:
        try:
            return BINARY[e.op](left, right)
        except ValueError_:
            raise TraceEscape from None  # the ordinary elaboration says what is wrong

    def _unary(self, e: ast.Unary, env: Env, cur: Tensor | None) -> Any:
        if e.op == "not":  # through `truth`: guarded
            return super()._unary(e, env, cur)
        value = self.eval(e.operand, env, None)
        plain = concrete(value)
        if isinstance(plain, bool) or not isinstance(plain, (int, float)):
            raise TraceEscape  # the ordinary elaboration says what is wrong
        if type(value) is not Traced:
            return -plain
        self.rec.guard_type(value)  # what negation allows depends on the type alone
        return self.rec.traced(-plain, operator.neg, (value,))

    def truth(self, value: Any, span: Span) -> bool:
        return super().truth(self.rec.guard(value), span)

    def take(self, e: ast.Index, target: Any, env: Env) -> Any:
        index = self.rec.guard(self.eval(e.index, env, None))
        target = self.rec.guard(target) if type(target) is Traced else target
        if not isinstance(target, list) or not is_int(index) or not -len(target) <= index < len(target):
            raise TraceEscape  # the ordinary elaboration says what is wrong
        return target[index]

    def _attr(self, e: ast.Attr, env: Env, cur: Tensor | None) -> Any:
        tensor = self.eval(e.target, env, None)
        value = tensor_attribute(tensor, e.name) if type(tensor) is Tensor else None
        if value is None:
            raise TraceEscape  # the ordinary elaboration says what is wrong
        if type(value) is list:
            return [self.rec.attribute(tensor, e.name, v, i) for i, v in enumerate(value)]
        return self.rec.attribute(tensor, e.name, value, None)

    def _call(self, e: ast.Call, env: Env, cur: Tensor | None,
              hint: str | tuple[str, ...] | None = None) -> Any:
        if self.targets[id(e)].kind is not BUILTIN:
            return super()._call(e, env, cur, hint)
        args = [self.eval(a, env, None) for a in e.args]
        function = BUILTINS[e.name]
        try:
            if e.kwargs:
                raise ValueError_
            value = function(*concrete(args))
        except ValueError_:
            raise TraceEscape from None  # the ordinary elaboration says what is wrong
        if not has_traced(args):
            return value
        return self.rec.traced(value, function, args)

    def structural_value(self, e: ast.Node, env: Env, whole: bool = False) -> Any:
        value = self.eval(e, env, None)
        return self.rec.guard(value) if whole or type(value) is Traced else value

    def _if(self, e: ast.If, env: Env, cur: Tensor | None) -> Any:
        outer = env.lookup("in") if cur is not None else None
        if type(outer) is Tensor and cur is not None:  # which scope `in` gets depends on it
            self.rec.guard_same_shape(outer.node, cur.node, outer.shape == cur.shape)
        return super()._if(e, env, cur)

    def ask(self, decision: Decision) -> Any:
        raise TraceEscape  # a search decision: not recorded

    # ----------------------------------------------------------------- layers
    def make_layer(self, spec: LayerSpec, positional: list[Any], keywords: dict[str, Any],
                   shapes: tuple[Shape, ...], inputs: Sequence[Tensor]) -> Any:
        layer = create(spec, concrete(positional), {k: concrete(v) for k, v in keywords.items()},
                       shapes)
        parts = layer.parts() if hasattr(layer, "parts") else None
        index = self.rec.layer(spec, positional, keywords, tuple(t.node for t in inputs),
                               None if parts is None else len(parts))
        self.made, self.part = (index, layer), 0
        return layer

    def add_node(self, layer: Any, inputs: Sequence[Tensor], span: Span, hint: str | None,
                 root: bool = False) -> Tensor:
        tensor = super().add_node(layer, inputs, span, hint, root)
        preds = tuple(t.node for t in inputs)
        block = self.ctx.scope.path
        if root and type(layer) is Input:
            self.rec.node(None, None, layer, layer.op, tensor.node, span, block, preds)
        elif self.made is not None and layer is self.made[1]:
            self.rec.node(self.made[0], None, None, layer.op, tensor.node, span, block, preds)
        elif self.made is not None:  # the next part of a layer that gives several
            self.rec.node(self.made[0], self.part, None, layer.op, tensor.node, span, block, preds)
            self.part += 1
        else:
            raise TraceEscape
        return tensor


#: The recorder's own evaluators of the kinds it overrides (found by name: the base's
#: table holds plain functions, see netdsl/language/evaluate.py).
_Recorder.dispatch = {kind: getattr(_Recorder, function.__name__)
                      for kind, function in _Elaborator.dispatch.items()}


# ---------------------------------------------------------------------------- the entry
class _Entry:
    """What is known of one network with given fixed parameters: how often it was
    elaborated, its recordings, and how they fared."""

    __slots__ = ("seen", "recordings", "refused", "hits", "misses")

    def __init__(self) -> None:
        self.seen = 0
        self.recordings: list[Recording] = []
        self.refused = False  # its elaboration cannot be recorded, or replays rarely hit
        self.hits = self.misses = 0

    @property
    def steps(self) -> int:
        return sum(len(r.steps) for r in self.recordings)


class Replays:
    """A loaded spec's entries (`Program.replays`), the least recently used first, and
    the steps their recordings hold."""

    __slots__ = ("entries", "steps", "first")

    def __init__(self, first: str | None = None) -> None:
        self.entries: dict[tuple, _Entry] = {}
        self.steps = 0
        # the network the load's first elaboration was of (made before this, which the
        # first entry of that network counts as seen once: most often it was the same)
        self.first = first

    def entry(self, key: tuple) -> _Entry:
        """The entry of `key`, marked as just used."""
        entry = self.entries.pop(key, None)
        if entry is None:
            entry = _Entry()
            if self.first is not None and key[0] == self.first:
                entry.seen, self.first = 1, None
            while len(self.entries) >= MAX_KEYS:
                self.evict()
        self.entries[key] = entry
        return entry

    def keep(self, entry: _Entry, recording: Recording) -> None:
        """Add a recording to `entry` (the most recent), within MAX_STEPS."""
        if len(recording.steps) > MAX_STEPS:
            entry.refused = True
            return
        while self.steps + len(recording.steps) > MAX_STEPS:
            self.evict()
        entry.recordings.append(recording)
        self.steps += len(recording.steps)

    def evict(self) -> None:
        """Drop the least recently used entry."""
        key = next(iter(self.entries))
        self.steps -= self.entries.pop(key).steps


def elaborate_replayed(ctx: Context, overrides: dict[str, Any]) -> Any:
    """`elaborate_context(ctx, overrides)`, by a replay where one stands in (see the
    module docstring): the same graph, or the same error."""
    elaborator = _Elaborator(ctx)
    net = ctx.network
    env = Env(ctx.globals)
    elaborator.bind_network_params(net, env, overrides)
    found = _key(ctx, env)
    if found is None:
        return elaborator.network_rest(net, env, overrides)
    key, params = found
    program = ctx.program
    if not isinstance(program.replays, Replays):  # the network of the first elaboration
        program.replays = Replays(program.replays if isinstance(program.replays, str) else None)
    replays: Replays = program.replays
    entry = replays.entry(key)
    values = [env.vars[name] for name in params]
    if not entry.refused:
        for recording in entry.recordings:
            graph = replay(recording, ctx, values)
            if graph is not None:
                entry.hits += 1
                return graph
            entry.misses += 1
        if entry.misses > 16 and entry.misses > 4 * entry.hits:
            entry.refused = True  # its guards fail four times as often as not: stop trying
    graph = elaborator.network_rest(net, env, overrides)
    entry.seen += 1
    if (entry.seen >= 2 and not entry.refused and len(entry.recordings) < MAX_RECORDINGS
            and entry.hits >= entry.misses):
        # recorded the second time: a network analysed once (a report) never pays for it;
        # another path recorded only while replays hit as often as they miss (a loop over
        # input sizes or depths would record every value and replay none)
        made = record(ctx, overrides, params, values, graph)
        if made is None:
            entry.refused = True
        else:
            replays.keep(entry, made)
    return graph


def _key(ctx: Context, env: Env) -> tuple[tuple, tuple[str, ...]] | None:
    """The entry's key (the network, its fixed parameters' values, the traced ones'
    types, the given input shapes) and the traced parameters; None when it has none."""
    if ctx.reached or ctx.observer is not None:
        return None
    params, fixed = [], []
    for param in ctx.network.params:
        value = env.vars[param.name]
        if type(value) is int or type(value) is float:
            params.append(param.name)
            fixed.append((param.name, type(value).__name__))
        else:
            fixed.append((param.name, value))
    if not params:
        return None
    try:
        key = (ctx.network.name, freeze(fixed), freeze(sorted(ctx.input_shapes.items())))
    except TypeError:  # a value the key cannot hold
        return None
    return key, tuple(params)


def replay(recording: Recording, ctx: Context, values: list[Any]) -> Any:
    """The graph `recording` gives for `values` in the fresh context `ctx`; None (and
    `ctx` as it was) when the values take another path."""
    try:
        result, layers = recording.run(ctx, values)
        if recording.reaches:  # every node reaches the output (see `Recording`)
            set_outputs(ctx.graph, [Head(DEFAULT_NAME, result.node)], named=False)
            graph = ctx.graph
            if isinstance(graph, PlainGraph):  # the nodes as columns, no table made
                graph.set_columns((recording.names, layers, recording.spans, recording.blocks,
                                   recording.node_inputs))
                graph.edges.extend(ctx.edges)
                return graph
            recording.add_nodes(ctx, layers)
            return ctx.filled_graph()
        recording.add_nodes(ctx, layers)
        count = ctx.node_count
        graph = _Elaborator(ctx).finish(ctx.network, result, None)
        recording.reaches = len(graph.nodes) == count
        return graph
    except (Miss, NetdslError):
        ctx.rows.clear()
        ctx.edges.clear()
        ctx.graph.graph["inputs"].clear()
        return None


def record(ctx: Context, overrides: dict[str, Any], params: tuple[str, ...],
           values: list[Any], expected: Any) -> Recording | None:
    """A recording of the network `ctx` elaborated to `expected` with `overrides`,
    checked by replaying it; None when it cannot be recorded."""
    fresh = Context(ctx.program, ctx.network, ctx.input_shapes, None, memoize=False)
    recorder = _Recorder(fresh, params)
    try:
        with plain_graphs():
            graph = recorder.network(overrides)
    except (TraceEscape, Exception):  # what it cannot follow, or an error: not recorded
        return None
    attributes = graph.graph
    if (fresh.warnings or fresh.reached or attributes.get("requires")
            or attributes.get("named_outputs") or len(attributes["outputs"]) != 1):
        return None
    recording = recorder.rec
    recording.close(dict(attributes["inputs"]), attributes["outputs"][0])
    check = replay(recording, Context(ctx.program, ctx.network, ctx.input_shapes), values)
    return recording if check is not None and same_graph(check, expected) else None


def same_graph(a: Any, b: Any) -> bool:
    """Whether two elaborated graphs (plain or networkx) are the same: attributes, nodes
    with their data in order, and keyed edges."""
    if a.graph != b.graph:
        return False
    rows_a, rows_b = _node_rows(a), _node_rows(b)
    if rows_a is None or rows_b is None or len(rows_a) != len(rows_b):
        return False
    for (name, layer, span, block, preds), (name_b, layer_b, span_b, block_b, preds_b) in zip(
            rows_a, rows_b):
        if (name != name_b or span != span_b or block != block_b or preds != preds_b
                or not _same_layer(layer, layer_b)):
            return False
    return _edges(a) == _edges(b)


_NODE_KEYS = {"layer", "span", "block", "inputs"}


def _node_rows(graph: Any) -> list[tuple[Any, ...]] | None:
    """A graph's nodes as (name, layer, span, block, inputs) rows (`node_columns`); None
    when a node's data has other keys."""
    table = node_table(graph)
    if table is not None and any(data.keys() != _NODE_KEYS for data in table.values()):
        return None
    return list(zip(*node_columns(graph)))


def _edges(graph: Any) -> list[tuple[str, str, int]]:
    return list(graph.edges) if isinstance(graph, PlainGraph) else list(graph.edges(keys=True))


def _same_layer(a: Any, b: Any) -> bool:
    """The same record, or an equal one (a network input's is made per elaboration)."""
    return a is b or (type(a) is type(b) and a.op == b.op and a.in_shapes == b.in_shapes
                      and a.out_shape == b.out_shape and a.count_numbers() == b.count_numbers())
