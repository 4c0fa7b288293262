"""Caches never change an answer: random networks analysed from scratch (every cache
cleared, parsed anew) and again from warm caches (the layer records shared across
calls; a loaded spec's memo, where a network calls blocks) give identical reports, and
the hand-written parser builds the tree the Lark grammar builds for each of them.
tests/test_memo.py checks the memo itself on every spec and on random blocks."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import netdsl
from netdsl.graph import node_columns
from netdsl.language.parser import _parse_with_lark, parse
from netdsl.layers import REGISTRY, Field, Layer, base, registry
from tests.test_random_networks import networks

ROOT = Path(__file__).resolve().parents[1]


def _clear() -> None:
    """Empty every cache of netdsl's modules: by the naming rule, each module-level
    container whose name contains CACHE (so a new cache is cleared without a word here)."""
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "netdsl" or name.startswith("netdsl.")):
            continue
        for attr, value in list(vars(module).items()):
            if "CACHE" in attr and hasattr(value, "clear") and not isinstance(value, type):
                value.clear()


def _fresh_report(text: str) -> dict:
    _clear()
    return netdsl.loads(text, "random.net").analyze(network="random").to_dict()


def direct_fields(graph: Any) -> dict[str, Field]:
    """Each node's receptive field computed by its kind's rule, no memo or cache."""
    fields: dict[str, Field] = {}
    names, layers, _, _, inputs = node_columns(graph)
    for node, layer, preds in zip(names, layers, inputs):
        ins = tuple(fields[p] for p in preds)
        if ins and not layer.is_merge and len(ins[0].size) != len(layer.in_shape) - 1:
            fields[node] = ins[0].as_global()  # a reshape (as the analyses do)
        else:
            fields[node] = layer.receptive_field(ins)
    return fields


def exactly(field: Field) -> tuple:
    """A field with the type of each number (2 and Fraction(2) are equal, not alike)."""
    numbers = field.size + field.stride + field.padding
    return (*field, tuple(type(x).__name__ for x in numbers))


def same_fields_as_the_rules(report: Any) -> None:
    direct = direct_fields(report.graph)
    for row in report.layers:
        assert exactly(row.rf) == exactly(direct[row.name]), row.name
        if row.rf.exact:  # what lets records with one rule share fields
            numbers = row.rf.size + row.rf.stride + row.rf.padding
            assert all(type(x) is int for x in numbers), row.name


@settings(max_examples=40, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(networks())
def test_cached_equals_fresh_on_random_networks(text: str) -> None:
    assert parse(text, "random.net") == _parse_with_lark(text, "random.net")
    fresh = _fresh_report(text)
    spec = netdsl.loads(text, "random.net")
    for _ in range(3):  # first sight, then memoised block calls and shared layer records
        assert spec.analyze(network="random").to_dict() == fresh
    assert _fresh_report(text) == fresh


@settings(max_examples=40, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(networks())
def test_shared_fields_are_the_rules_fields_on_random_networks(text: str) -> None:
    """Records with equal field rules share their fields (`Layer.field_rule`): every
    field a report gives, shared or not, is the one its record's rule computes, number
    types included; and every exact field is of whole numbers."""
    spec = netdsl.loads(text, "random.net")
    same_fields_as_the_rules(spec.analyze(network="random"))
    same_fields_as_the_rules(spec.analyze(network="random"))


def test_width_variants_share_the_fields_of_the_first() -> None:
    spec = netdsl.load(ROOT / "specs" / "resnet50.net")
    for width in (40, 41, 42, 16):
        same_fields_as_the_rules(spec.analyze(width=width))
    assert base._RULE_FIELD_CACHE


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_a_field_rule_sits_with_the_field_it_describes(name: str) -> None:
    """A kind that says what its field depends on (`field_rule`) defines it in the class
    that defines `receptive_field`: a subclass with its own field would need its own."""
    kind = REGISTRY[name].kind
    rule_owner = next(c for c in kind.__mro__ if "field_rule" in c.__dict__)
    field_owner = next(c for c in kind.__mro__ if "receptive_field" in c.__dict__)
    assert rule_owner is Layer or rule_owner is field_owner


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_converted_defaults_are_the_converters_answers(name: str) -> None:
    """`bind` takes each default converted once per rank (`LayerSpec.defaults_for`):
    the converter's own answer, immutable, so records may share it."""
    spec = REGISTRY[name]
    for rank in spec.ranks:
        for arg, value in zip(spec.signature.args, spec.defaults_for(rank)):
            if arg.required:
                assert value is ...
                continue
            assert value is not registry.UNCONVERTED  # every default is valid at every rank
            fresh = arg.convert(arg.default, rank)
            assert (type(value), value) == (type(fresh), fresh)
            hash(value)  # immutable: a list would be shared between records


def test_a_default_its_converter_refuses_is_refused_per_call() -> None:
    probe = registry.LayerSpec("probe", Layer, base.Signature((base.Arg("k", base.positive, 0),)))
    assert probe.defaults_for(2) == (registry.UNCONVERTED,)
    assert registry.bind(probe, [3], {}, 2) == {"k": 3}
    with pytest.raises(base.LayerError, match="probe\\(\\): argument 'k' must be a positive"):
        registry.bind(probe, [], {}, 2)


BAD_VALUES = [-1, 0, 1.5, True, "x", [1, 2, 3, 4, 5], None]


def _bound_or_error(bind: Any, spec: Any, positional: list, keywords: dict, rank: int) -> Any:
    try:
        return bind(spec, positional, keywords, rank)
    except base.LayerError as exc:
        return ("error", str(exc), exc.arg)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_bind_is_binding_in_signature_order(name: str) -> None:
    """`bind` starts from the converted defaults and converts what is given; it binds
    every call as `bind_in_order` does (argument by argument in signature order), and
    refuses every bad one with the error that order reports first."""
    spec = REGISTRY[name]
    args = spec.signature.args
    calls: list[tuple[list, dict, int]] = []
    for example in spec.examples:
        rank = len(example.inputs[0]) - 1
        calls.append(([], dict(example.args), rank))
        calls.append(([], {}, rank))  # the required arguments missing
        for arg in args:
            for bad in BAD_VALUES:  # each argument given a value it may refuse
                calls.append(([], {**example.args, arg.name: bad}, rank))
        required = [a.name for a in args if a.required]
        if required and all(r in example.args for r in required):
            positional = [example.args[a.name] for a in args[:len(required)]
                          if a.name in example.args]
            rest = {k: v for k, v in example.args.items() if k not in
                    {a.name for a in args[:len(positional)]}}
            calls.append((positional, rest, rank))
    for positional, keywords, rank in calls:
        fast = _bound_or_error(registry.bind, spec, positional, keywords, rank)
        ordered = _bound_or_error(registry.bind_in_order, spec, positional, keywords, rank)
        assert fast == ordered, (positional, keywords)


def test_layer_cache_keys_keep_apart_what_compares_equal() -> None:
    """`1`, `1.0`, `true` and `[1]` (equal or alike to Python) make different keys, and
    the flat run of values cannot be read two ways."""
    keys = {registry.argument_key("conv", [v], {}) for v in (1, 1.0, True, [1], [[1]], "1")}
    assert len(keys) == 6
    assert (registry.argument_key("conv", [[1, 2], 3], {})
            != registry.argument_key("conv", [[1, 2, 3]], {}))
    assert registry.argument_key("conv", [], {"a": 1}) != registry.argument_key("conv", ["a", 1], {})
    assert (registry.cache_key(registry.argument_key("add", [], {}), ((4, 2), (2,)))
            != registry.cache_key(registry.argument_key("add", [], {}), ((4,), (2, 2))))


def test_argument_offsets_point_at_each_value() -> None:
    """Writing a value at `argument_offsets`' place in a key gives the key of the
    arguments with that value (what a replay does, netdsl/language/replay.py)."""
    positional, keywords = [[3, 3], 1.5, 7, "x"], {"b": [1, [2]], "a": 5, "c": True}
    key = list(registry.argument_key("conv", positional, keywords))
    starts, keyword_starts = registry.argument_offsets(positional, keywords)
    key[starts[2]], key[keyword_starts["a"]] = 8, 6
    changed = registry.argument_key("conv", [[3, 3], 1.5, 8, "x"], {**keywords, "a": 6})
    assert tuple(key) == changed


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_a_partial_bind_is_bind(name: str) -> None:
    """A replay's binder (`registry.PartialBind`), made from an example's call with one
    argument changing, binds every value of that argument as `bind` does, refusals
    included, and at every rank."""
    spec = REGISTRY[name]
    for example in spec.examples:
        rank = len(example.inputs[0]) - 1
        keywords = dict(example.args)
        for arg in spec.signature.args:
            binder = registry.PartialBind.of(spec, [], keywords, [], [arg.name])
            assert binder is not None
            for value in [keywords.get(arg.name, arg.default), *BAD_VALUES]:
                changed = {**keywords, arg.name: value}
                for at in {rank, 0, 2}:
                    assert (_bound_or_error(_partial(binder), spec, [], changed, at)
                            == _bound_or_error(registry.bind, spec, [], changed, at))


def _partial(binder: registry.PartialBind) -> Any:
    """`binder.bind` as `bind` is called."""
    return lambda spec, positional, keywords, rank: binder.bind(positional, keywords, rank)
