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
    model = ref.REFERENCE_MODELS[name]()
    assert ref.count_params(model) == ref.PUBLISHED_PARAMS[name]


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
