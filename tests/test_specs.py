"""Every spec in specs/ against its published parameter count, MACs and output shape.

`params` counts as PyTorch does (BatchNorm running statistics are buffers, not
parameters); `macs` are the multiply-accumulates of conv, transposed-conv and linear
layers (torchvision's "GFLOPS" column, FlopCounterMode / 2).

Where a number was published, the table holds it exactly (params) or to the published
rounding (MACs). Where nothing was published, the number was computed by netdsl, then
checked against an independent PyTorch model (parameters by numel, MACs by
torch.utils.flop_counter.FlopCounterMode, the output shape by a forward pass) and
pinned: those models are benchmarks/reference_models.py (torchvision layouts) and
tests/spec_references.py (the others). `test_matches_pytorch_reference` repeats that
check whenever torch is installed.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from netdsl.language.elaborate import elaborate
from netdsl.language.loader import load_file, load_text, stdlib_dir

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


@dataclass(frozen=True)
class Published:
    """A published MAC figure: round(macs / divisor, digits) == value."""

    value: float
    divisor: float
    digits: int
    source: str


def giga(value: float, source: str = "torchvision") -> Published:
    return Published(value, 1e9, 2, source)


@dataclass(frozen=True)
class Expected:
    name: str
    params: int
    macs: int
    published: Published | None
    output: tuple[int, ...]


# Checks of the pinned numbers:
#   [R]  equals benchmarks/reference_models.py (hand-written torchvision layouts)
#   [E]  equals tests/spec_references.py (hand-written from the original sources)
#   [H]  by hand, shown in the spec's header
EXPECTED = [
    # LeNet-5, modern form: published 61,706 params; 416,520 MACs [R][H]
    Expected("lenet5", 61_706, 416_520, None, (10,)),
    # HOML Fashion-MNIST CNN: 1,413,834 params (Keras summary); MACs [E]
    Expected("fashion_mnist_cnn", 1_413_834, 89_466_496, None, (10,)),
    Expected("alexnet", 61_100_840, 714_188_480, giga(0.71), (1000,)),  # [R]
    Expected("vgg16", 138_357_544, 15_470_264_320, giga(15.47), (1000,)),  # [R]
    Expected("vgg19", 143_667_240, 19_632_062_464, giga(19.63), (1000,)),  # [R]
    Expected("googlenet", 6_624_904, 1_498_376_192, giga(1.50), (1000,)),  # [R]
    Expected("resnet18", 11_689_512, 1_814_073_344, giga(1.81), (1000,)),  # [R]
    Expected("resnet34", 21_797_672, 3_663_761_408, giga(3.66), (1000,)),  # [R]
    Expected("resnet50", 25_557_032, 4_089_184_256, giga(4.09), (1000,)),  # [R]
    Expected("resnet101", 44_549_160, 7_801_405_440, giga(7.80), (1000,)),  # [R]
    Expected("resnet152", 60_192_808, 11_513_626_624, giga(11.51), (1000,)),  # [R]
    # SE-ResNet-50 on the v1.5 layout: the paper's 3.87 GFLOPs is for its v1 layout,
    # not comparable; MACs [R]
    Expected("se_resnet50", 28_088_024, 4_091_699_200, None, (1000,)),
    # Keras Xception: 22,855,952 = Keras' 22,910,480 less the BN statistics; MACs [E]
    Expected("xception", 22_855_952, 8_357_403_496, None, (1000,)),
    # Keras MobileNet: 4,231,976 = Keras' 4,253,864 less the BN statistics; the paper's
    # Table 8: 569 million mult-adds; MACs [E]
    Expected("mobilenet_v1", 4_231_976, 568_740_352, Published(569, 1e6, 0, "paper"),
             (1000,)),
    Expected("mobilenet_v2", 3_504_872, 300_774_272, giga(0.30), (1000,)),  # [R]
    Expected("densenet121", 7_978_856, 2_834_161_664, giga(2.83), (1000,)),  # [R]
    # torchvision fcn_resnet50 without aux head (224x224 here; at 520x520 see test_fcn_aux_head): 35,322,218 params and
    # 152.717 GFLOPS published *with* the aux head (see test_fcn_aux_head); MACs [E]
    Expected("fcn_resnet50", 32_957_013, 26_484_498_432, None, (21, 224, 224)),
    # U-Net: 31,030,658 params (the usual count of the paper's net); MACs [E]
    Expected("unet", 31_030_658, 150_428_424_448, None, (2, 388, 388)),
    # Darknet prints 6.97 BFLOPs (2 per MAC) for yolov2-tiny-voc; params [E]
    Expected("yolo_tiny", 15_861_773, 3_485_520_896, Published(6.97, 0.5e9, 2, "Darknet"),
             (125, 13, 13)),
    Expected("spp_net", 46_628_968, 1_308_532_736, None, (1000,)),  # [E]
    # M5 of PyTorch's speech-command tutorial: it prints 26,915 params; MACs [E]
    Expected("conv1d_signal", 26_915, 3_820_736, None, (35,)),
    Expected("c3d", 79_991_015, 38_548_959_232, None, (487,)),  # [E]
    # EfficientNet-B0, MobileNetV3-Large, ConvNeXt-Tiny (torchvision: 0.386, 0.217 and
    # 4.456 GFLOPS); other variants: tests/test_zoo_specs.py [R]
    Expected("efficientnet", 5_288_548, 385_814_752, giga(0.39), (1000,)),
    Expected("mobilenet_v3", 5_483_032, 216_589_760, giga(0.22), (1000,)),
    Expected("convnext", 28_589_128, 4_455_531_264, giga(4.46), (1000,)),
    # Inception v3 with its aux head (torchvision's 27,161,264); MACs with the head, which
    # torchvision's 5.713 GFLOPS (eval mode) leaves out [R]
    Expected("inception_v3", 27_161_264, 5_718_899_296, None, (1000,)),
    # YOLOv3-416: 61,949,149 params (keras-yolo3's trainable count), Darknet prints 65.86
    # BFLOPs (2 per MAC); the first of its three outputs (stride 32) [R]
    Expected("yolov3", 61_949_149, 32_932_037_632, Published(65.86, 0.5e9, 2, "Darknet"),
             (255, 13, 13)),
    # ResNet-50 FPN backbone with plain batch norms: fasterrcnn_resnet50_fpn's 41,755,286
    # less its heads is 26,799,296 with frozen BN, + 53,120 BN scales and shifts; the first
    # output is P2 [R]
    Expected("resnet50_fpn", 26_852_416, 6_929_104_896, None, (256, 56, 56)),
    # ShuffleNetV2 x1.0 (torchvision: 0.145 GFLOPS); other widths: test_zoo_specs.py [R]
    Expected("shufflenet_v2", 2_278_604, 144_907_992, giga(0.14), (1000,)),
    # RegNetX-400MF and RegNetY-400MF (torchvision); other variants:
    # tests/test_zoo_specs.py [E]
    Expected("regnet_x", 5_495_976, 413_812_608, giga(0.41), (1000,)),
    Expected("regnet_y", 4_344_144, 401_842_848, giga(0.40), (1000,)),
    # HOML ch. 14: 15,200 params, 225 million multiplications [H][E]
    Expected("textbook_conv", 15_200, 225_000_000, None, (200, 150, 100)),
    # HOML ch. 14 exercise: 903,400 params [H][E]
    Expected("homl_exercise", 903_400, 1_399_500_000, None, (400, 25, 38)),
]

BY_NAME = {e.name: e for e in EXPECTED}


def build(name: str, **kwargs):
    return elaborate(load_file(SPECS / f"{name}.net"), **kwargs)


def layers(graph):
    return [data["layer"] for _, data in graph.nodes(data=True)]


def totals(graph) -> tuple[int, int, tuple[int, ...]]:
    ls = layers(graph)
    out = graph.nodes[graph.graph["outputs"][0]]["layer"].out_shape
    return sum(x.params() for x in ls), sum(x.macs() for x in ls), tuple(out)


def test_every_spec_is_in_the_table():
    assert sorted(p.stem for p in SPECS.glob("*.net")) == sorted(BY_NAME)


@pytest.mark.parametrize("expected", EXPECTED, ids=lambda e: e.name)
def test_spec(expected: Expected):
    params, macs, output = totals(build(expected.name))
    assert params == expected.params
    assert macs == expected.macs
    assert output == expected.output
    if expected.published is not None:
        p = expected.published
        assert round(macs / p.divisor, p.digits) == p.value, p.source


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_spec_has_a_header_comment(name: str):
    first = (SPECS / f"{name}.net").read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# "), f"{name}.net must start with a comment naming its source"


def _blocks_without_comment(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [m.group(1) for i, line in enumerate(lines)
            if (m := re.match(r"block (\w+)", line)) and not (i and lines[i - 1].startswith("#"))]


@pytest.mark.parametrize("path", sorted(stdlib_dir().glob("*.net")) + sorted(
    (SPECS / "blocks").glob("*.net")), ids=lambda p: p.name)
def test_library_blocks_are_documented(path: Path):
    assert _blocks_without_comment(path) == []


def test_stdlib_modules():
    assert {p.stem for p in stdlib_dir().glob("*.net")} >= {
        "resnet", "inception", "se", "separable", "mobilenet", "densenet"}


def test_stdlib_modules_import_together():
    imports = "\n".join(f"import std.{p.stem}" for p in sorted(stdlib_dir().glob("*.net")))
    text = imports + """
network all_units() {
    input image: [3, 256, 256]
    image
        -> resnet_stem -> resnet_stages(bottleneck, [1, 1, 1, 1], se_ratio = 16)
        -> inception(8, 8, 8, 8, 8, 8) -> xception_unit([32, 64], stride = 2)
        -> inverted_residual(64) -> depthwise_separable(32, 2)
        -> dense_block(2, growth = 8) -> transition
}
"""
    params, macs, output = totals(elaborate(load_text(text)))
    assert output == (24, 1, 1)
    assert params > 0 and macs > 0


def test_network_parameters_override():
    assert totals(build("resnet50", overrides={"classes": 10}))[2] == (10,)
    assert totals(build("yolo_tiny", overrides={"classes": 80}))[2] == (425, 13, 13)
    # MobileNet alpha 0.5 (Keras' int(filters * alpha) widths): equals
    # tests/spec_references.py's mobilenet_v1(alpha=0.5)
    assert totals(build("mobilenet_v1", overrides={"alpha": 0.5}))[0] == 1_331_592


@pytest.mark.parametrize("size", [(3, 224, 224), (3, 180, 300), (3, 97, 131), (3, 512, 384)])
def test_spp_net_output_is_independent_of_the_input_size(size):
    params, _, output = totals(build("spp_net", input_shapes={"image": size}))
    assert (params, output) == (BY_NAME["spp_net"].params, (1000,))


def test_fcn_upsamples_to_the_input_size():
    assert totals(build("fcn_resnet50", input_shapes={"image": (3, 480, 640)}))[2] == (21, 480, 640)


def test_fcn_aux_head():
    """torchvision publishes fcn_resnet50 with its aux head FCNHead(1024, 21) on layer3
    (1024x65x65 at 520x520): 35,322,218 params and 152.717 GFLOPS."""
    aux_params = 1024 * 256 * 9 + 2 * 256 + 256 * 21 + 21
    aux_macs = 65 * 65 * (1024 * 256 * 9 + 256 * 21)
    params, macs, output = totals(build("fcn_resnet50", input_shapes={"image": (3, 520, 520)}))
    assert (macs, output) == (142_725_772_800, (21, 520, 520))
    assert params + aux_params == 35_322_218
    assert round((macs + aux_macs) / 1e9, 3) == 152.717


@pytest.mark.parametrize("name, keras", [("xception", 22_910_480), ("mobilenet_v1", 4_253_864)])
def test_keras_counts_batchnorm_statistics(name: str, keras: int):
    ls = layers(build(name))
    statistics = sum(2 * x.channels for x in ls if x.op == "batchnorm")
    assert BY_NAME[name].params + statistics == keras


# ------------------------------------------------------------------- PyTorch oracle
def _load(path: Path, module: str):
    spec = importlib.util.spec_from_file_location(module, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[module] = mod
    spec.loader.exec_module(mod)
    return mod


def _references():
    try:
        import torch  # noqa: F401
    except ImportError:
        return {}
    refs = {}
    bench = ROOT / "benchmarks" / "reference_models.py"
    if bench.exists():
        r = _load(bench, "netdsl_bench_reference_models")
        refs.update({n: (f, tuple(r.REFERENCE_INPUT_SHAPES[n])) for n, f in r.REFERENCE_MODELS.items()})
    extra = _load(Path(__file__).with_name("spec_references.py"), "netdsl_spec_references")
    refs.update(extra.EXTRA_REFERENCES)
    return refs


REFERENCES = _references()


@pytest.mark.skipif(not REFERENCES, reason="needs torch")
@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_matches_pytorch_reference(name: str):
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    if name not in REFERENCES:
        pytest.skip(f"no PyTorch reference for {name}")
    builder, shape = REFERENCES[name]
    with torch.device("meta"):  # count without allocating
        model = builder().eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:  # every head, auxiliary ones too (forward_outputs)
        out = getattr(model, "forward_outputs", model)(torch.empty(1, *shape, device="meta"))
    expected = BY_NAME[name]
    assert sum(p.numel() for p in model.parameters()) == expected.params
    assert counter.get_total_flops() // 2 == expected.macs
    outs = list(out.values()) if isinstance(out, dict) else [out]
    graph = build(name)
    assert sorted(tuple(t.shape[1:]) for t in outs) == sorted(
        tuple(graph.nodes[o]["layer"].out_shape) for o in graph.graph["outputs"])
