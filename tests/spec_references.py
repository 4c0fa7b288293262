"""Independent PyTorch versions of the specs that benchmarks/reference_models.py lacks.

Each follows its original source (Keras applications, torchvision, Darknet cfg, the
papers), not the spec, so that tests/test_specs.py can check the specs' parameters,
MACs and output shapes against PyTorch. Needs torch only; build on the meta device to
count without allocating.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _bn(channels: int, eps: float = 1e-5) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=eps)


class TFSamePad(nn.Module):
    """TensorFlow "same" padding for a k x k window at stride s (the extra pixel after)."""

    def __init__(self, kernel: int, stride: int) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def forward(self, x: Tensor) -> Tensor:
        pads: list[int] = []
        for n in (x.shape[-1], x.shape[-2]):
            out = -(-n // self.stride)
            total = max((out - 1) * self.stride + self.kernel - n, 0)
            pads += [total // 2, total - total // 2]
        return F.pad(x, pads)


# ---------------------------------------------------------------- Keras Sequential (HOML)
def fashion_mnist_cnn() -> nn.Module:
    """Geron, HOML 2nd ed. ch. 14: the Fashion-MNIST CNN (Keras padding "same")."""
    return nn.Sequential(
        nn.Conv2d(1, 64, 7, padding=3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.Conv2d(128, 128, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(128, 256, 3, padding=1), nn.ReLU(), nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(256 * 3 * 3, 128), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(128, 64), nn.ReLU(), nn.Dropout(0.5), nn.Linear(64, 10), nn.Softmax(1))


def textbook_conv() -> nn.Module:
    """One 5x5 conv, 200 maps, "same" (stride 1: padding 2)."""
    return nn.Conv2d(3, 200, 5, padding=2)


def homl_exercise() -> nn.Module:
    """Three 3x3 stride-2 "same" convs with 100, 200, 400 maps."""
    layers: list[nn.Module] = []
    c = 3
    for o in (100, 200, 400):
        layers += [TFSamePad(3, 2), nn.Conv2d(c, o, 3, 2), nn.ReLU()]
        c = o
    return nn.Sequential(*layers)


# ------------------------------------------------------------------------- Keras Xception
class _SeparableConv(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.pointwise(self.depthwise(x))


class _XceptionBlock(nn.Module):
    def __init__(self, cin: int, widths: list[int], stride: int, relu_first: bool) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = cin
        for i, o in enumerate(widths):
            if i > 0 or relu_first:
                layers.append(nn.ReLU())
            layers += [_SeparableConv(c, o), _bn(o, 1e-3)]
            c = o
        if stride > 1:
            layers += [TFSamePad(3, stride), nn.MaxPool2d(3, stride)]
        self.body = nn.Sequential(*layers)
        self.skip = None if stride == 1 and cin == c else nn.Sequential(
            nn.Conv2d(cin, c, 1, stride, bias=False), _bn(c, 1e-3))

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x) + (x if self.skip is None else self.skip(x))


def xception() -> nn.Module:
    """keras.applications.Xception (include_top, 1000 classes)."""
    layers: list[nn.Module] = [
        nn.Conv2d(3, 32, 3, 2, bias=False), _bn(32, 1e-3), nn.ReLU(),
        nn.Conv2d(32, 64, 3, bias=False), _bn(64, 1e-3), nn.ReLU(),
        _XceptionBlock(64, [128, 128], 2, False), _XceptionBlock(128, [256, 256], 2, True),
        _XceptionBlock(256, [728, 728], 2, True)]
    layers += [_XceptionBlock(728, [728] * 3, 1, True) for _ in range(8)]
    layers += [_XceptionBlock(728, [728, 1024], 2, True),
               _SeparableConv(1024, 1536), _bn(1536, 1e-3), nn.ReLU(),
               _SeparableConv(1536, 2048), _bn(2048, 1e-3), nn.ReLU(),
               nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, 1000), nn.Softmax(1)]
    return nn.Sequential(*layers)


# ------------------------------------------------------------------- Keras MobileNet (v1)
def mobilenet_v1(alpha: float = 1.0) -> nn.Module:
    """keras.applications.MobileNet (depth multiplier 1, include_top)."""
    c = int(32 * alpha)
    layers: list[nn.Module] = [TFSamePad(3, 2), nn.Conv2d(3, c, 3, 2, bias=False),
                               _bn(c, 1e-3), nn.ReLU6()]
    units = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 \
        + [(1024, 2), (1024, 1)]
    for width, s in units:
        o = int(width * alpha)
        if s == 2:  # Keras: ZeroPadding2D(((0, 1), (0, 1))) then "valid"
            layers += [nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(c, c, 3, 2, groups=c, bias=False)]
        else:
            layers += [nn.Conv2d(c, c, 3, 1, padding=1, groups=c, bias=False)]
        layers += [_bn(c, 1e-3), nn.ReLU6(), nn.Conv2d(c, o, 1, bias=False), _bn(o, 1e-3), nn.ReLU6()]
        c = o
    layers += [nn.AdaptiveAvgPool2d(1), nn.Dropout(1e-3), nn.Conv2d(c, 1000, 1), nn.Flatten(),
               nn.Softmax(1)]
    return nn.Sequential(*layers)


# ------------------------------------------------------------------- torchvision FCN
class _Bottleneck(nn.Module):
    def __init__(self, cin: int, planes: int, stride: int, dilation: int, project: bool) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(cin, planes, 1, bias=False), _bn(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, padding=dilation, dilation=dilation,
                               bias=False)
        self.bn2 = _bn(planes)
        self.conv3, self.bn3 = nn.Conv2d(planes, planes * 4, 1, bias=False), _bn(planes * 4)
        self.downsample = nn.Sequential(nn.Conv2d(cin, planes * 4, 1, stride, bias=False),
                                        _bn(planes * 4)) if project else None

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class FCNResNet50(nn.Module):
    """torchvision fcn_resnet50(aux_loss=False, num_classes=21): a ResNet-50 with
    replace_stride_with_dilation=[False, True, True] (its _make_layer rule), FCNHead."""

    def __init__(self, classes: int = 21) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), _bn(64), nn.ReLU(),
                                   nn.MaxPool2d(3, 2, 1)]
        inplanes, dilation = 64, 1
        for planes, blocks, stride, dilate in ((64, 3, 1, False), (128, 4, 2, False),
                                               (256, 6, 2, True), (512, 3, 2, True)):
            previous = dilation
            if dilate:
                dilation, stride = dilation * stride, 1
            layers.append(_Bottleneck(inplanes, planes, stride, previous,
                                      stride != 1 or inplanes != planes * 4))
            inplanes = planes * 4
            layers += [_Bottleneck(inplanes, planes, 1, dilation, False) for _ in range(blocks - 1)]
        self.backbone = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Conv2d(2048, 512, 3, padding=1, bias=False), _bn(512),
                                        nn.ReLU(), nn.Dropout(0.1), nn.Conv2d(512, classes, 1))

    def forward(self, x: Tensor) -> Tensor:
        out = self.classifier(self.backbone(x))
        return F.interpolate(out, size=x.shape[-2:], mode="bilinear", align_corners=False)


# ------------------------------------------------------------------------------ U-Net
class UNet(nn.Module):
    """Ronneberger et al. 2015, Fig. 1: valid convs, 2x2 up-convs, cropped skips."""

    def __init__(self, classes: int = 2) -> None:
        super().__init__()

        def double(i: int, o: int) -> nn.Module:
            return nn.Sequential(nn.Conv2d(i, o, 3), nn.ReLU(), nn.Conv2d(o, o, 3), nn.ReLU())

        widths = (64, 128, 256, 512, 1024)
        self.down = nn.ModuleList(double(i, o) for i, o in zip((1,) + widths, widths))
        self.up = nn.ModuleList(nn.ConvTranspose2d(2 * c, c, 2, 2) for c in widths[-2::-1])
        self.up_convs = nn.ModuleList(double(2 * c, c) for c in widths[-2::-1])
        self.out = nn.Conv2d(64, classes, 1)

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for i, down in enumerate(self.down):
            x = down(x)
            if i < 4:
                skips.append(x)
                x = F.max_pool2d(x, 2)
        for up, conv, skip in zip(self.up, self.up_convs, reversed(skips)):
            x = up(x)
            h, w = x.shape[-2:]
            top, left = (skip.shape[-2] - h) // 2, (skip.shape[-1] - w) // 2
            x = conv(torch.cat([skip[..., top:top + h, left:left + w], x], 1))
        return self.out(x)


# ------------------------------------------------------------------ Darknet tiny YOLOv2
def yolo_tiny() -> nn.Module:
    """yolov2-tiny-voc.cfg: batch-normalised convs have no bias; the 6th max pool is
    size 2 stride 1 (Darknet pads one pixel after)."""
    layers: list[nn.Module] = []
    c = 3
    for i, o in enumerate((16, 32, 64, 128, 256, 512)):
        layers += [nn.Conv2d(c, o, 3, padding=1, bias=False), _bn(o), nn.LeakyReLU(0.1)]
        layers += [nn.MaxPool2d(2, 2)] if i < 5 else [nn.ZeroPad2d((0, 1, 0, 1)), nn.MaxPool2d(2, 1)]
        c = o
    for o in (1024, 1024):
        layers += [nn.Conv2d(c, o, 3, padding=1, bias=False), _bn(o), nn.LeakyReLU(0.1)]
        c = o
    layers.append(nn.Conv2d(1024, 125, 1))
    return nn.Sequential(*layers)


# ------------------------------------------------------------------------------ SPP-net
class SPPNet(nn.Module):
    """The small backbone of specs/spp_net.net with a [1, 2, 4] max pyramid."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 96, 7, 2, 3), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
            nn.Conv2d(96, 256, 5, 2, 2), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
            nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(), nn.Conv2d(384, 384, 3, padding=1),
            nn.ReLU(), nn.Conv2d(384, 256, 3, padding=1), nn.ReLU())
        self.classifier = nn.Sequential(
            nn.Linear(256 * 21, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(),
            nn.Dropout(), nn.Linear(4096, 1000))

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)
        return self.classifier(torch.cat([F.adaptive_max_pool2d(x, n).flatten(1)
                                          for n in (1, 2, 4)], 1))


# ------------------------------------------------------------------------ M5 (1-D audio)
class M5(nn.Module):
    """The M5 model of PyTorch's speech-command tutorial (35 classes, 32 channels)."""

    def __init__(self, classes: int = 35, width: int = 32) -> None:
        super().__init__()
        chans = (width, width, 2 * width, 2 * width)
        self.convs = nn.ModuleList([nn.Conv1d(1, width, 80, stride=16)] + [
            nn.Conv1d(i, o, 3) for i, o in zip(chans, chans[1:])])
        self.bns = nn.ModuleList(nn.BatchNorm1d(c) for c in chans)
        self.fc1 = nn.Linear(2 * width, classes)

    def forward(self, x: Tensor) -> Tensor:
        for conv, bn in zip(self.convs, self.bns):
            x = F.max_pool1d(F.relu(bn(conv(x))), 4)
        return self.fc1(F.avg_pool1d(x, x.shape[-1]).flatten(1))


# -------------------------------------------------------------------------------- C3D
def c3d() -> nn.Module:
    """C3D as in the released Sports-1M model (pool5 pads H and W by 1; 487 classes)."""
    def conv(i: int, o: int) -> list[nn.Module]:
        return [nn.Conv3d(i, o, 3, padding=1), nn.ReLU()]

    return nn.Sequential(
        *conv(3, 64), nn.MaxPool3d((1, 2, 2)), *conv(64, 128), nn.MaxPool3d(2),
        *conv(128, 256), *conv(256, 256), nn.MaxPool3d(2),
        *conv(256, 512), *conv(512, 512), nn.MaxPool3d(2),
        *conv(512, 512), *conv(512, 512), nn.MaxPool3d(2, padding=(0, 1, 1)),
        nn.Flatten(), nn.Linear(8192, 4096), nn.ReLU(), nn.Dropout(),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 487))


def _benchmarks():
    """benchmarks/reference_models.py (torchvision layouts), imported by path once."""
    import importlib.util
    import sys
    from pathlib import Path

    name = "netdsl_bench_reference_models"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "benchmarks" / "reference_models.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


_BENCH = _benchmarks()

#: spec name -> (builder, input shape without the batch)
EXTRA_REFERENCES = {
    # the default variant of each parameterised spec (tests/test_zoo_specs.py: all)
    "efficientnet": (lambda: _BENCH.efficientnet("b0"), (3, 224, 224)),
    "inception_v3": (lambda: _BENCH.InceptionV3(), (3, 299, 299)),
    "mobilenet_v3": (lambda: _BENCH.mobilenet_v3_large(), (3, 224, 224)),
    "convnext": (lambda: _BENCH.convnext("tiny"), (3, 224, 224)),
    "regnet_x": (lambda: _BENCH.regnet("x_400mf"), (3, 224, 224)),
    "yolov3": (lambda: _BENCH.yolov3(), (3, 416, 416)),
    "shufflenet_v2": (lambda: _BENCH.shufflenet_v2("x1_0"), (3, 224, 224)),
    "resnet50_fpn": (lambda: _BENCH.resnet50_fpn(), (3, 224, 224)),
    "regnet_y": (lambda: _BENCH.regnet("y_400mf"), (3, 224, 224)),
    "fashion_mnist_cnn": (fashion_mnist_cnn, (1, 28, 28)),
    "textbook_conv": (textbook_conv, (3, 150, 100)),
    "homl_exercise": (homl_exercise, (3, 200, 300)),
    "xception": (xception, (3, 299, 299)),
    "mobilenet_v1": (mobilenet_v1, (3, 224, 224)),
    "fcn_resnet50": (FCNResNet50, (3, 224, 224)),
    "unet": (UNet, (1, 572, 572)),
    "yolo_tiny": (yolo_tiny, (3, 416, 416)),
    "spp_net": (SPPNet, (3, 224, 224)),
    "conv1d_signal": (M5, (1, 16000)),
    "c3d": (c3d, (3, 16, 112, 112)),
}


# ------------------------------------------------------------- copying weights across
def _run_order(model: nn.Module, *xs: Tensor) -> list[nn.Module]:
    """The modules that own parameters or buffers, in the order they first finish running."""
    order: list[nn.Module] = []
    seen: set[int] = set()

    def hook(module: nn.Module, _args: object, _out: object) -> None:
        owns = any(True for _ in module.parameters(recurse=False)) or \
            any(True for _ in module.buffers(recurse=False))
        if owns and id(module) not in seen:
            seen.add(id(module))
            order.append(module)

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    try:
        with torch.no_grad():
            forward_outputs = getattr(model, "forward_outputs", None)
            (forward_outputs or model)(*xs)
    finally:
        for handle in handles:
            handle.remove()
    return order


def _tensors(modules: list[nn.Module]) -> list[tuple[str, Tensor]]:
    return [(name, t) for m in modules
            for name, t in [*m.named_parameters(recurse=False), *m.named_buffers(recurse=False)]
            if t.dtype.is_floating_point]


def copy_weights(source: nn.Module, target: nn.Module, *xs: Tensor) -> int:
    """Copy `source`'s parameters and buffers into `target`, pairing the modules in the
    order they run on `xs` (so module names and nesting may differ; a tensor may change
    shape when its elements do not, e.g. a 1x1 conv's weight into a linear layer's).
    Returns the number of tensors copied."""
    ours, theirs = _tensors(_run_order(source, *xs)), _tensors(_run_order(target, *xs))
    assert len(ours) == len(theirs), (
        f"{len(ours)} tensors against {len(theirs)}:\n"
        + "\n".join(f"{a[0]} {tuple(a[1].shape)}  |  {b[0]} {tuple(b[1].shape)}"
                    for a, b in zip(ours, theirs)))
    with torch.no_grad():
        for (a_name, a), (b_name, b) in zip(ours, theirs):
            assert a.numel() == b.numel(), f"{a_name} {tuple(a.shape)} -> {b_name} {tuple(b.shape)}"
            b.copy_(a.reshape(b.shape))
    return len(ours)


def perturb_affine(model: nn.Module, seed: int = 0) -> None:
    """Give norms, biases, layer scales and running statistics non-trivial values (the
    defaults make many layers identities, which a wrong copy would not show)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in [*model.named_parameters(), *model.named_buffers()]:
            if not t.dtype.is_floating_point:
                continue
            leaf = name.rsplit(".", 1)[-1]
            if leaf in ("running_var", "layer_scale") or (leaf == "weight" and t.ndim == 1):
                t.copy_(torch.rand(t.shape, generator=generator) + 0.5)
            elif leaf in ("running_mean", "bias"):
                t.copy_(torch.randn(t.shape, generator=generator) * 0.1)
