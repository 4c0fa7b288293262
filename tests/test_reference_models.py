"""Checks for the hand-written torchvision-layout reference models in benchmarks/."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

torch = pytest.importorskip("torch")

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "reference_models.py"


def _load_reference_models() -> ModuleType:
    """Import benchmarks/reference_models.py by path (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("netdsl_bench_reference_models", _PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations via sys.modules
    spec.loader.exec_module(module)
    return module


ref = _load_reference_models()

# Measured with torch 2.13 FlopCounterMode (flops // 2), batch 1; identical to the
# counts for torchvision's own models.
MEASURED_MACS = {
    "resnet18": ((3, 224, 224), 1_814_073_344),
    "lenet5": ((1, 32, 32), 416_520),
}


def test_registries_agree() -> None:
    assert set(ref.REFERENCE_MODELS) == set(ref.PUBLISHED_PARAMS)
    assert set(ref.REFERENCE_INPUT_SHAPES) == set(ref.REFERENCE_MODELS)


@pytest.mark.parametrize("name", sorted(ref.PUBLISHED_PARAMS))
def test_param_count_matches_published(name: str) -> None:
    with torch.device("meta"):  # count without allocating or initialising
        model = ref.REFERENCE_MODELS[name]()
    assert ref.count_params(model) == ref.PUBLISHED_PARAMS[name]


# torchvision's model cards ("_ops": GFLOPS, i.e. multiply-adds / 1e9, 3 decimals) at the
# input size of REFERENCE_INPUT_SHAPES; YOLOv3: Darknet prints 65.86 BFLOPs (2 per MAC)
# at 416. EfficientNet-B2's card (1.088) is not at its paper's 260x260: 0.994 there
# (the paper's Table 2: 1.0B).
PUBLISHED_GMACS: dict[str, tuple[float, int]] = {
    **{name: (value, 3) for name, value in {
        "googlenet": 1.498, "inception_v3": 5.713,
        "efficientnet_b0": 0.386, "efficientnet_b1": 0.687, "efficientnet_b3": 1.827,
        "efficientnet_b4": 4.394, "efficientnet_b5": 10.266, "efficientnet_b6": 19.068,
        "efficientnet_b7": 37.746,
        "mobilenet_v3_large": 0.217, "mobilenet_v3_small": 0.057,
        "shufflenet_v2_x0_5": 0.040, "shufflenet_v2_x1_0": 0.145,
        "shufflenet_v2_x1_5": 0.296, "shufflenet_v2_x2_0": 0.583,
        "convnext_tiny": 4.456, "convnext_small": 8.684, "convnext_base": 15.355,
        "convnext_large": 34.361,
        "regnet_y_400mf": 0.402, "regnet_y_800mf": 0.834, "regnet_y_1_6gf": 1.612,
        "regnet_y_3_2gf": 3.176, "regnet_x_400mf": 0.414, "regnet_x_800mf": 0.800,
        "regnet_x_1_6gf": 1.603, "regnet_x_3_2gf": 3.177,
    }.items()},
    "yolov3": (65.86 / 2, 2),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED_GMACS))
def test_macs_match_published(name: str) -> None:
    with torch.device("meta"):
        n = ref.macs(ref.REFERENCE_MODELS[name](), ref.REFERENCE_INPUT_SHAPES[name])
    value, digits = PUBLISHED_GMACS[name]
    assert round(n / 1e9, digits) == round(value, digits)


OUTPUTS = {
    "googlenet_aux": {"logits": (1000,), "aux1": (1000,), "aux2": (1000,)},
    "inception_v3": {"logits": (1000,), "aux": (1000,)},
    "yolov3": {"large": (255, 13, 13), "medium": (255, 26, 26), "small": (255, 52, 52)},
    "resnet50_fpn": {"p2": (256, 56, 56), "p3": (256, 28, 28), "p4": (256, 14, 14),
                     "p5": (256, 7, 7), "pool": (256, 4, 4)},
}


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_named_outputs(name: str) -> None:
    with torch.device("meta"), torch.no_grad():
        model = ref.REFERENCE_MODELS[name]().eval()
        out = ref.outputs(model, torch.empty(1, *ref.REFERENCE_INPUT_SHAPES[name]))
    assert {k: tuple(v.shape[1:]) for k, v in out.items()} == OUTPUTS[name]


def test_frozen_batchnorm_fpn_is_torchvisions_count() -> None:
    """With torchvision's FrozenBatchNorm2d the BN scales and shifts become buffers."""
    with torch.device("meta"):
        model = ref.ResNetFPN(norm=ref.FrozenBatchNorm2d)
    assert ref.count_params(model) == 26_799_296
    assert sum(b.numel() for b in model.buffers()) == 4 * 26_560


def test_frozen_batchnorm_is_eval_batchnorm() -> None:
    torch.manual_seed(0)
    bn = torch.nn.BatchNorm2d(5).eval()
    with torch.no_grad():
        for t in (bn.weight, bn.bias, bn.running_mean):
            t.normal_()
        bn.running_var.uniform_(0.5, 2.0)
    frozen = ref.FrozenBatchNorm2d(5)
    frozen.load_state_dict({k: v for k, v in bn.state_dict().items()
                            if k != "num_batches_tracked"})
    x = torch.randn(2, 5, 3, 4)
    torch.testing.assert_close(frozen(x), bn(x))


def test_stochastic_depth_semantics() -> None:
    x = torch.ones(64, 3, 2, 2)
    assert ref.stochastic_depth(x, 0.5, "row", training=False) is x
    torch.manual_seed(0)
    rows = ref.stochastic_depth(x, 0.25, "row", training=True)
    per_row = rows.flatten(1)
    torch.testing.assert_close(per_row.unique(), torch.tensor([0.0, 1 / 0.75]))
    assert bool((per_row == per_row[:, :1]).all())  # a row is kept or dropped whole
    batch = ref.stochastic_depth(x, 0.25, "batch", training=True)
    assert batch.unique().numel() == 1


def test_channel_shuffle_interleaves_groups() -> None:
    x = torch.arange(6.0).view(1, 6, 1, 1)
    assert ref.channel_shuffle(x, 2).flatten().tolist() == [0, 3, 1, 4, 2, 5]


def test_regnet_width_rule() -> None:
    """Stage (width, depth, group width) as the RegNet paper's appendix lists them."""
    assert ref.regnet_stages(16, 48, 27.89, 2.09, 8) == [
        (48, 1, 8), (104, 3, 8), (208, 6, 8), (440, 6, 8)]
    assert ref.regnet_stages(22, 24, 24.48, 2.54, 16) == [
        (32, 1, 16), (64, 2, 16), (160, 7, 16), (400, 12, 16)]


def test_aux_heads_run_only_in_forward_outputs() -> None:
    model = ref.googlenet_aux().eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ref.outputs(model, x)["logits"], model(x))


@pytest.mark.parametrize("name", sorted(MEASURED_MACS))
def test_macs(name: str) -> None:
    shape, expected = MEASURED_MACS[name]
    assert ref.macs(ref.REFERENCE_MODELS[name](), shape) == expected


def test_resnet18_shapes() -> None:
    model = ref.resnet18().eval()
    x = torch.zeros(1, 3, 224, 224)
    with torch.no_grad():
        assert ref.feature_extractor(model)(x).shape == (1, 512, 7, 7)
        assert model(x).shape == (1, 1000)


def test_resnet50_layout_names() -> None:
    keys = set(ref.resnet50().state_dict())
    assert "layer1.0.downsample.0.weight" in keys
    assert "layer4.2.bn3.running_var" in keys
    assert tuple(ref.resnet50().layer2[0].conv2.stride) == (2, 2)  # v1.5: stride on 3x3


def test_se_resnet50_has_se_after_bn3() -> None:
    block = ref.se_resnet50().layer4[0]
    assert block.se.fc1.in_features == 2048 and block.se.fc1.out_features == 128


def test_lenet5_receptive_field() -> None:
    rf = ref.measured_receptive_field(ref.feature_extractor(ref.lenet5()), (1, 32, 32))
    assert (rf.height, rf.width, rf.clipped) == (16, 16, False)


def test_receptive_field_of_conv_stack() -> None:
    stack = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(4, 4, 3, padding=1),
        torch.nn.ReLU6(),
    )
    rf = ref.measured_receptive_field(stack, (1, 32, 32))
    # 3x3 conv: 3; 2x2 pool: +1 (stride 2 from here on); 3x3 conv: +2*2
    assert (rf.height, rf.width, rf.clipped) == (8, 8, False)
