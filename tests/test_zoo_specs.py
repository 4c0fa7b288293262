"""The parameterised specs of the modern CNN zoo, variant by variant, against PyTorch.

Each row is one variant of a spec (network parameters set as `--set` would): its
parameters, MACs and output shapes are pinned to the numbers of the independent PyTorch
reference in benchmarks/reference_models.py (whose parameter counts and MACs equal the
published ones: tests/test_reference_models.py). With torch installed, the reference is
measured again on the meta device, and for one variant per family the lowered spec and
the reference, given the same weights, compute the same function.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import netdsl

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"


@dataclass(frozen=True)
class Variant:
    """One variant: spec stem, parameters, reference model name, pinned numbers."""

    spec: str
    reference: str
    params: int
    macs: int
    outputs: tuple[tuple[int, ...], ...] = ((1000,),)
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.spec}-{self.reference}"


def _regnet(kind: str, name: str, depth: int, w_0: int, w_a: float, w_m: float, g: int,
            params: int, macs: int) -> Variant:
    return Variant(f"regnet_{kind}", f"regnet_{kind}_{name}", params, macs,
                   overrides={"depth": depth, "w_0": w_0, "w_a": w_a, "w_m": w_m,
                              "group_width": g})


def _named(spec: str, reference: str, key: str, value: Any, params: int,
           macs: int) -> Variant:
    return Variant(spec, reference, params, macs, overrides={key: value})


VARIANTS = [
    _named("efficientnet", "efficientnet_b0", "variant", "b0", 5_288_548, 385_814_752),
    _named("efficientnet", "efficientnet_b1", "variant", "b1", 7_794_184, 686_802_832),
    _named("efficientnet", "efficientnet_b2", "variant", "b2", 9_109_994, 993_561_872),
    _named("efficientnet", "efficientnet_b3", "variant", "b3", 12_233_232, 1_827_141_392),
    _named("efficientnet", "efficientnet_b4", "variant", "b4", 19_341_616, 4_393_771_024),
    _named("efficientnet", "efficientnet_b5", "variant", "b5", 30_389_784, 10_266_384_752),
    _named("efficientnet", "efficientnet_b6", "variant", "b6", 43_040_704, 19_067_593_536),
    _named("efficientnet", "efficientnet_b7", "variant", "b7", 66_347_960, 37_745_884_192),
    _named("mobilenet_v3", "mobilenet_v3_large", "arch", "large", 5_483_032, 216_589_760),
    _named("mobilenet_v3", "mobilenet_v3_small", "arch", "small", 2_542_856, 56_510_400),
    Variant("inception_v3", "inception_v3", 27_161_264, 5_718_899_296, ((1000,),) * 2),
    Variant("googlenet", "googlenet_aux", 13_004_888, 1_506_748_416, ((1000,),) * 3,
            overrides={"aux_logits": True}),
    Variant("yolov3", "yolov3", 61_949_149, 32_932_037_632,
            ((255, 13, 13), (255, 26, 26), (255, 52, 52))),
    Variant("resnet50_fpn", "resnet50_fpn", 26_852_416, 6_929_104_896,
            ((256, 56, 56), (256, 28, 28), (256, 14, 14), (256, 7, 7), (256, 4, 4))),
    _named("shufflenet_v2", "shufflenet_v2_x0_5", "width", 0.5, 1_366_792, 40_476_448),
    _named("shufflenet_v2", "shufflenet_v2_x1_0", "width", 1.0, 2_278_604, 144_907_992),
    _named("shufflenet_v2", "shufflenet_v2_x1_5", "width", 1.5, 3_503_624, 295_759_392),
    _named("shufflenet_v2", "shufflenet_v2_x2_0", "width", 2.0, 7_393_996, 583_253_464),
    _named("convnext", "convnext_tiny", "variant", "tiny", 28_589_128, 4_455_531_264),
    _named("convnext", "convnext_small", "variant", "small", 50_223_688, 8_683_712_256),
    _named("convnext", "convnext_base", "variant", "base", 88_591_464, 15_354_729_472),
    _named("convnext", "convnext_large", "variant", "large", 197_767_336, 34_361_433_600),
    _regnet("x", "400mf", 22, 24, 24.48, 2.54, 16, 5_495_976, 413_812_608),
    _regnet("x", "800mf", 16, 56, 35.73, 2.28, 16, 7_259_656, 799_699_712),
    _regnet("x", "1_6gf", 18, 80, 34.01, 2.25, 24, 9_190_136, 1_602_849_792),
    _regnet("x", "3_2gf", 25, 88, 26.31, 2.25, 48, 15_296_552, 3_176_621_952),
    _regnet("y", "400mf", 16, 48, 27.89, 2.09, 8, 4_344_144, 401_842_848),
    _regnet("y", "800mf", 14, 56, 38.84, 2.4, 16, 6_432_512, 833_856_256),
    _regnet("y", "1_6gf", 27, 48, 20.71, 2.65, 24, 11_202_430, 1_612_076_160),
    _regnet("y", "3_2gf", 21, 80, 42.63, 2.66, 24, 19_436_338, 3_176_482_752),
]

#: One variant per family whose function is compared with copied weights (small input).
SAME_FUNCTION = {
    "efficientnet-efficientnet_b0": (3, 64, 64),
    "efficientnet-efficientnet_b5": (3, 64, 64),  # batch norm eps 0.001
    "mobilenet_v3-mobilenet_v3_large": (3, 64, 64),
    "mobilenet_v3-mobilenet_v3_small": (3, 64, 64),
    "convnext-convnext_tiny": (3, 64, 64),
    "inception_v3-inception_v3": (3, 299, 299),  # the aux head needs a 17x17 grid
    "googlenet-googlenet_aux": (3, 64, 64),
    "yolov3-yolov3": (3, 64, 64),
    "shufflenet_v2-shufflenet_v2_x1_0": (3, 64, 64),
    "shufflenet_v2-shufflenet_v2_x2_0": (3, 64, 64),
    "resnet50_fpn-resnet50_fpn": (3, 65, 65),  # sizes that do not halve exactly
    "regnet_x-regnet_x_400mf": (3, 64, 64),
    "regnet_y-regnet_y_400mf": (3, 64, 64),
}


def graph_of(v: Variant, inputs: dict[str, tuple[int, ...]] | None = None):
    return netdsl.load(SPECS / f"{v.spec}.net").graph(params=v.overrides, inputs=inputs)


@pytest.mark.parametrize("v", VARIANTS, ids=lambda v: v.id)
def test_variant_numbers(v: Variant) -> None:
    graph = graph_of(v)
    layers = [d["layer"] for _, d in graph.nodes(data=True)]
    assert sum(x.params() for x in layers) == v.params
    assert sum(x.macs() for x in layers) == v.macs
    shapes = tuple(tuple(graph.nodes[o]["layer"].out_shape) for o in graph.graph["outputs"])
    assert shapes == v.outputs


def test_every_variant_spec_exists() -> None:
    assert {v.spec for v in VARIANTS} <= {p.stem for p in SPECS.glob("*.net")}
    assert set(SAME_FUNCTION) <= {v.id for v in VARIANTS}


# ------------------------------------------------------------------- PyTorch
def _reference_module():
    pytest.importorskip("torch")
    name = "netdsl_bench_reference_models"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, ROOT / "benchmarks" / "reference_models.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _spec_references():
    name = "netdsl_spec_references"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(
            "spec_references.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _input_shape(graph) -> tuple[int, ...]:
    ((node,),) = [tuple(graph.graph["inputs"].values())]
    return tuple(graph.nodes[node]["layer"].out_shape)


@pytest.mark.parametrize("v", VARIANTS, ids=lambda v: v.id)
def test_variant_matches_reference(v: Variant) -> None:
    ref = _reference_module()
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    shape = _input_shape(graph_of(v))
    with torch.device("meta"):
        model = ref.REFERENCE_MODELS[v.reference]().eval()
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            out = ref.outputs(model, torch.empty(1, *shape))
    assert ref.count_params(model) == v.params
    assert counter.get_total_flops() // 2 == v.macs
    assert tuple(tuple(t.shape[1:]) for t in out.values()) == v.outputs


def _named_outputs(out: Any) -> dict[str, Any]:
    """A module's outputs by name (`output` for a single tensor)."""
    return dict(out) if isinstance(out, dict) else {"output": out}


@pytest.fixture
def one_thread():
    """One intra-op thread: these small forward passes are 10-60x slower with two threads
    on a loaded two-core machine (the threads spin waiting for each other)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("vid", sorted(SAME_FUNCTION))
def test_same_function_with_copied_weights(vid: str) -> None:
    ref = _reference_module()
    helpers = _spec_references()
    import torch

    from netdsl.lowering.module import build

    v = next(v for v in VARIANTS if v.id == vid)
    shape = SAME_FUNCTION[vid]
    torch.manual_seed(0)
    reference = ref.REFERENCE_MODELS[v.reference]().eval()
    graph = graph_of(v, inputs={name: shape for name in graph_of(v).graph["inputs"]})
    ours = build(graph).eval()
    ours.training_heads = True  # auxiliary heads too, as the reference's forward_outputs
    helpers.perturb_affine(reference)
    x = torch.randn(2, *shape)
    assert helpers.copy_weights(reference, ours, x) > 0
    with torch.no_grad():
        expected = ref.outputs(reference, x)
        got = _named_outputs(ours(x))
    if list(expected) == ["output"]:
        assert len(got) == 1
        got = {"output": next(iter(got.values()))}
    assert set(got) == set(expected)
    for name, a in expected.items():
        torch.testing.assert_close(got[name], a, rtol=1e-4, atol=1e-4 * float(a.abs().max()))


@pytest.mark.usefixtures("one_thread")
def test_oracle_on_googlenet_with_its_auxiliary_heads() -> None:
    """The spec's default leaves the heads out; with them, every static number (the
    training-only heads' cost apart) is what the lowered module measures."""
    pytest.importorskip("torch")
    from netdsl.oracle import verify

    v = next(v for v in VARIANTS if v.id == "googlenet-googlenet_aux")
    graph = graph_of(v, inputs={"image": (3, 64, 64)})
    assert sum(1 for _, d in graph.nodes(data=True) if d.get("train_only")) > 0
    failed = [c for c in verify(graph, batch=2) if not c.ok]
    assert not failed, "\n".join(f"{c.name}: {c.static} vs {c.measured}" for c in failed)
