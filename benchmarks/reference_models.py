"""Hand-written PyTorch reference models with torchvision-identical layouts.

These models are independent references for netdsl's tests and benchmarks. They need
only ``torch`` (no torchvision): module names, nesting and parameter counts match
torchvision's builders, and parameters keep PyTorch's default initialisation.

Models with several heads (auxiliary classifiers, detection scales, feature pyramids)
expose ``forward_outputs(x) -> dict[str, Tensor]``; :func:`outputs` calls it (or
``forward`` for one output). ``forward`` of an auxiliary-head model is its eval-mode
classifier.

Also provided:

* :func:`macs` -- multiply-accumulate count via ``torch.utils.flop_counter``.
* :func:`measured_receptive_field` -- empirical receptive field from input-gradient
  support.

Run ``python benchmarks/reference_models.py`` to print parameters, MACs and receptive
fields for every model.
"""

from __future__ import annotations

import argparse
import copy
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

__all__ = [
    "PUBLISHED_PARAMS",
    "REFERENCE_INPUT_SHAPES",
    "REFERENCE_MODELS",
    "ReceptiveField",
    "alexnet",
    "channel_shuffle",
    "convnext",
    "count_params",
    "densenet121",
    "efficientnet",
    "feature_extractor",
    "googlenet",
    "googlenet_aux",
    "inception_v3",
    "lenet5",
    "macs",
    "measured_receptive_field",
    "mobilenet_v2",
    "mobilenet_v3_large",
    "mobilenet_v3_small",
    "outputs",
    "regnet",
    "regnet_stages",
    "resnet50_fpn",
    "shufflenet_v2",
    "stochastic_depth",
    "yolov3",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "se_resnet50",
    "vgg16",
    "vgg19",
]


# --------------------------------------------------------------------------- helpers


def _conv3x3(in_ch: int, out_ch: int, stride: int = 1) -> nn.Conv2d:
    """3x3 convolution with padding 1 and no bias (torchvision ``conv3x3``)."""
    return nn.Conv2d(in_ch, out_ch, kernel_size=3, stride=stride, padding=1, bias=False)


def _conv1x1(in_ch: int, out_ch: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution without bias (torchvision ``conv1x1``)."""
    return nn.Conv2d(in_ch, out_ch, kernel_size=1, stride=stride, bias=False)


class FeatureModel(nn.Module):
    """Base class: models expose ``forward_features`` (the map before global pooling)."""

    def forward_features(self, x: Tensor) -> Tensor:
        """Return the last spatial feature map."""
        raise NotImplementedError


class FeatureExtractor(nn.Module):
    """Wraps a :class:`FeatureModel` so that ``forward`` returns its feature map."""

    def __init__(self, model: FeatureModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> Tensor:
        """Return ``model.forward_features(x)``."""
        return self.model.forward_features(x)


def feature_extractor(model: nn.Module) -> nn.Module:
    """Return a module computing ``model``'s last feature map before global pooling."""
    if not isinstance(model, FeatureModel):
        raise TypeError(f"{type(model).__name__} does not expose forward_features")
    return FeatureExtractor(model)


# --------------------------------------------------------------------------- ResNet


class SqueezeExcitation(nn.Module):
    """SE unit: global avg pool, FC C->C/r (bias), ReLU, FC C/r->C (bias), sigmoid, scale."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        squeezed = channels // reduction
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(channels, squeezed)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(squeezed, channels)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: Tensor) -> Tensor:
        """Rescale each channel of ``x`` by its learned gate."""
        scale = torch.flatten(self.avgpool(x), 1)
        scale = self.sigmoid(self.fc2(self.relu(self.fc1(scale))))
        return x * scale[:, :, None, None]


class BasicBlock(nn.Module):
    """torchvision ``BasicBlock``: two 3x3 convs; optional SE before the residual add."""

    expansion: int = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        se: bool = False,
    ) -> None:
        super().__init__()
        self.conv1 = _conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride
        self.se = SqueezeExcitation(planes) if se else None

    def forward(self, x: Tensor) -> Tensor:
        """Residual block forward pass."""
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.se is not None:
            out = self.se(out)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """torchvision ``Bottleneck`` (v1.5: stride on the 3x3 conv); optional SE unit."""

    expansion: int = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        se: bool = False,
    ) -> None:
        super().__init__()
        width = planes
        self.conv1 = _conv1x1(inplanes, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = _conv3x3(width, width, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = _conv1x1(width, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride
        self.se = SqueezeExcitation(planes * self.expansion) if se else None

    def forward(self, x: Tensor) -> Tensor:
        """Bottleneck forward pass (the residual branch runs before the shortcut, as in
        std.resnet's `add(branch, shortcut)`: the same function as torchvision's order)."""
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.se is not None:
            out = self.se(out)
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


Block = type[BasicBlock] | type[Bottleneck]


class ResNet(FeatureModel):
    """torchvision ``ResNet`` layout: conv1/bn1/relu/maxpool/layer1..4/avgpool/fc."""

    def __init__(
        self, block: Block, layers: Sequence[int], num_classes: int = 1000, se: bool = False
    ) -> None:
        super().__init__()
        self.inplanes = 64
        self._se = se
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

    def _make_layer(self, block: Block, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        """Build one stage; the first block downsamples with a 1x1 conv + BN if needed."""
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                _conv1x1(self.inplanes, planes * block.expansion, stride),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample, se=self._se)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, se=self._se) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward_features(self, x: Tensor) -> Tensor:
        """Stem and the four stages (output of ``layer4``)."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x: Tensor) -> Tensor:
        """Classify ``x``."""
        return self.fc(torch.flatten(self.avgpool(self.forward_features(x)), 1))


def resnet18() -> ResNet:
    """ResNet-18 (11,689,512 params)."""
    return ResNet(BasicBlock, [2, 2, 2, 2])


def resnet34() -> ResNet:
    """ResNet-34 (21,797,672 params)."""
    return ResNet(BasicBlock, [3, 4, 6, 3])


def resnet50() -> ResNet:
    """ResNet-50 v1.5 (25,557,032 params)."""
    return ResNet(Bottleneck, [3, 4, 6, 3])


def resnet101() -> ResNet:
    """ResNet-101 v1.5 (44,549,160 params)."""
    return ResNet(Bottleneck, [3, 4, 23, 3])


def resnet152() -> ResNet:
    """ResNet-152 v1.5 (60,192,808 params)."""
    return ResNet(Bottleneck, [3, 8, 36, 3])


def se_resnet50() -> ResNet:
    """ResNet-50 with an SE unit (r=16) after ``bn3`` of every bottleneck (28,088,024)."""
    return ResNet(Bottleneck, [3, 4, 6, 3], se=True)


# --------------------------------------------------------------------------- AlexNet / VGG


class AlexNet(FeatureModel):
    """torchvision ``AlexNet`` (the single-GPU "one weird trick" variant)."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward_features(self, x: Tensor) -> Tensor:
        """Convolutional trunk."""
        return self.features(x)

    def forward(self, x: Tensor) -> Tensor:
        """Classify ``x``."""
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def alexnet() -> AlexNet:
    """AlexNet (61,100,840 params)."""
    return AlexNet()


_VGG_CFGS: dict[str, list[int | str]] = {
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
          512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"],
}  # fmt: skip


def _vgg_features(cfg: Sequence[int | str]) -> nn.Sequential:
    """VGG trunk: 3x3 conv (pad 1, bias) + ReLU per number, 2x2 max pool per ``"M"``."""
    layers: list[nn.Module] = []
    in_ch = 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            assert isinstance(v, int)
            layers += [nn.Conv2d(in_ch, v, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            in_ch = v
    return nn.Sequential(*layers)


class VGG(FeatureModel):
    """torchvision ``VGG`` (no batch norm): features/avgpool(7x7)/classifier."""

    def __init__(self, features: nn.Sequential, num_classes: int = 1000) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(True),
            nn.Dropout(p=0.5),
            nn.Linear(4096, 4096),
            nn.ReLU(True),
            nn.Dropout(p=0.5),
            nn.Linear(4096, num_classes),
        )

    def forward_features(self, x: Tensor) -> Tensor:
        """Convolutional trunk (before the adaptive average pool)."""
        return self.features(x)

    def forward(self, x: Tensor) -> Tensor:
        """Classify ``x``."""
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def vgg16() -> VGG:
    """VGG-16, configuration D (138,357,544 params)."""
    return VGG(_vgg_features(_VGG_CFGS["D"]))


def vgg19() -> VGG:
    """VGG-19, configuration E (143,667,240 params)."""
    return VGG(_vgg_features(_VGG_CFGS["E"]))


# --------------------------------------------------------------------------- GoogLeNet


class BasicConv2d(nn.Module):
    """torchvision GoogLeNet ``BasicConv2d``: conv (no bias) + BN(eps=1e-3) + ReLU."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, **kwargs: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel_size, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_ch, eps=0.001)

    def forward(self, x: Tensor) -> Tensor:
        """conv -> bn -> relu."""
        return F.relu(self.bn(self.conv(x)), inplace=True)


class Inception(nn.Module):
    """torchvision Inception block; the "5x5" branch really uses a 3x3 kernel."""

    def __init__(
        self,
        in_ch: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch5x5red: int,
        ch5x5: int,
        pool_proj: int,
    ) -> None:
        super().__init__()
        self.branch1 = BasicConv2d(in_ch, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            BasicConv2d(in_ch, ch3x3red, kernel_size=1),
            BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(
            BasicConv2d(in_ch, ch5x5red, kernel_size=1),
            BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            BasicConv2d(in_ch, pool_proj, kernel_size=1),
        )

    def forward(self, x: Tensor) -> Tensor:
        """Concatenate the four branches along channels."""
        branches = (self.branch1, self.branch2, self.branch3, self.branch4)
        return torch.cat([b(x) for b in branches], 1)


class GoogLeNetAux(nn.Module):
    """torchvision GoogLeNet ``InceptionAux``: 4x4 adaptive average pool, 1x1 conv to 128,
    FC 2048->1024 + ReLU, dropout 0.7, FC 1024->classes."""

    def __init__(self, in_ch: int, num_classes: int = 1000, dropout: float = 0.7) -> None:
        super().__init__()
        self.conv = BasicConv2d(in_ch, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x: Tensor) -> Tensor:
        """Auxiliary logits."""
        x = torch.flatten(self.conv(F.adaptive_avg_pool2d(x, (4, 4))), 1)
        return self.fc2(self.dropout(F.relu(self.fc1(x), inplace=True)))


class GoogLeNet(FeatureModel):
    """torchvision ``GoogLeNet`` with ``transform_input=False``; ``aux_logits`` adds the two
    auxiliary heads (after ``inception4a`` and ``inception4d``)."""

    def __init__(
        self, num_classes: int = 1000, dropout: float = 0.2, aux_logits: bool = False
    ) -> None:
        super().__init__()
        self.conv1 = BasicConv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)
        self.aux1 = GoogLeNetAux(512, num_classes) if aux_logits else None
        self.aux2 = GoogLeNetAux(528, num_classes) if aux_logits else None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes)

    def forward_features(self, x: Tensor) -> Tensor:
        """Everything up to ``inception5b``."""
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        for block in (self.inception4a, self.inception4b, self.inception4c, self.inception4d):
            x = block(x)
        x = self.maxpool4(self.inception4e(x))
        return self.inception5b(self.inception5a(x))

    def forward_outputs(self, x: Tensor) -> dict[str, Tensor]:
        """Every head by name: ``logits``, and ``aux1``/``aux2`` when the model has them."""
        outputs: dict[str, Tensor] = {}
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        if self.aux1 is not None:
            outputs["aux1"] = self.aux1(x)
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        if self.aux2 is not None:
            outputs["aux2"] = self.aux2(x)
        x = self.inception5b(self.inception5a(self.maxpool4(self.inception4e(x))))
        logits = self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))
        return {"logits": logits, **outputs}

    def forward(self, x: Tensor) -> Tensor:
        """Classify ``x`` (the auxiliary heads run only in ``forward_outputs``)."""
        x = torch.flatten(self.avgpool(self.forward_features(x)), 1)
        return self.fc(self.dropout(x))


def googlenet() -> GoogLeNet:
    """GoogLeNet / Inception v1 without auxiliary heads (6,624,904 params)."""
    return GoogLeNet()


def googlenet_aux() -> GoogLeNet:
    """GoogLeNet with its two auxiliary heads (13,004,888 params)."""
    return GoogLeNet(aux_logits=True)


# --------------------------------------------------------------------------- MobileNetV2


class ConvBNActivation(nn.Sequential):
    """torchvision ``Conv2dNormActivation``: conv (no bias) + BN + ReLU6."""

    def __init__(
        self, in_ch: int, out_ch: int, kernel_size: int = 3, stride: int = 1, groups: int = 1
    ) -> None:
        padding = (kernel_size - 1) // 2
        super().__init__(
            nn.Conv2d(in_ch, out_ch, kernel_size, stride, padding, groups=groups, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand, 3x3 depthwise, linear 1x1 projection."""

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        self.stride = stride
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvBNActivation(inp, hidden, kernel_size=1))
        layers += [
            ConvBNActivation(hidden, hidden, stride=stride, groups=hidden),
            nn.Conv2d(hidden, oup, 1, 1, 0, bias=False),
            nn.BatchNorm2d(oup),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup

    def forward(self, x: Tensor) -> Tensor:
        """Block forward pass, with a residual when shapes allow."""
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


_MBV2_SETTINGS: list[tuple[int, int, int, int]] = [
    # expansion t, output channels c, repeats n, first stride s
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]


class MobileNetV2(FeatureModel):
    """torchvision ``MobileNetV2`` (width multiplier 1.0)."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        in_ch, last_ch = 32, 1280
        features: list[nn.Module] = [ConvBNActivation(3, in_ch, stride=2)]
        for t, c, n, s in _MBV2_SETTINGS:
            for i in range(n):
                features.append(InvertedResidual(in_ch, c, s if i == 0 else 1, t))
                in_ch = c
        features.append(ConvBNActivation(in_ch, last_ch, kernel_size=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(last_ch, num_classes))

    def forward_features(self, x: Tensor) -> Tensor:
        """Convolutional trunk (1280 channels)."""
        return self.features(x)

    def forward(self, x: Tensor) -> Tensor:
        """Classify ``x``."""
        x = F.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


def mobilenet_v2() -> MobileNetV2:
    """MobileNetV2 (3,504,872 params)."""
    return MobileNetV2()


# --------------------------------------------------------------------------- DenseNet


class _DenseLayer(nn.Module):
    """BN-ReLU-Conv1x1(bn_size*k) then BN-ReLU-Conv3x3(k) on the concatenated inputs."""

    def __init__(self, in_ch: int, growth_rate: int, bn_size: int) -> None:
        super().__init__()
        inner = bn_size * growth_rate
        self.norm1 = nn.BatchNorm2d(in_ch)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_ch, inner, kernel_size=1, stride=1, bias=False)
        self.norm2 = nn.BatchNorm2d(inner)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(inner, growth_rate, kernel_size=3, stride=1, padding=1, bias=False)

    def forward(self, inputs: list[Tensor]) -> Tensor:
        """Return ``growth_rate`` new feature channels."""
        x = self.conv1(self.relu1(self.norm1(torch.cat(inputs, 1))))
        return self.conv2(self.relu2(self.norm2(x)))


class _DenseBlock(nn.ModuleDict):
    """``num_layers`` dense layers named ``denselayer1..N``; output is the concatenation."""

    def __init__(self, num_layers: int, in_ch: int, bn_size: int, growth_rate: int) -> None:
        super().__init__()
        for i in range(num_layers):
            layer = _DenseLayer(in_ch + i * growth_rate, growth_rate, bn_size)
            self.add_module(f"denselayer{i + 1}", layer)

    def forward(self, x: Tensor) -> Tensor:
        """Run every layer on all previous feature maps."""
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class _Transition(nn.Sequential):
    """BN-ReLU-Conv1x1 (halving channels) then 2x2 average pool."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(in_ch)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(in_ch, out_ch, kernel_size=1, stride=1, bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)


class DenseNet(FeatureModel):
    """torchvision ``DenseNet`` (memory-efficient checkpointing not reproduced)."""

    def __init__(
        self,
        growth_rate: int = 32,
        block_config: Sequence[int] = (6, 12, 24, 16),
        num_init_features: int = 64,
        bn_size: int = 4,
        num_classes: int = 1000,
    ) -> None:
        super().__init__()
        self.features = nn.Sequential(
            OrderedDict(
                conv0=nn.Conv2d(3, num_init_features, 7, stride=2, padding=3, bias=False),
                norm0=nn.BatchNorm2d(num_init_features),
                relu0=nn.ReLU(inplace=True),
                pool0=nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
            )
        )
        ch = num_init_features
        for i, num_layers in enumerate(block_config):
            self.features.add_module(
                f"denseblock{i + 1}", _DenseBlock(num_layers, ch, bn_size, growth_rate)
            )
            ch += num_layers * growth_rate
            if i != len(block_config) - 1:
                self.features.add_module(f"transition{i + 1}", _Transition(ch, ch // 2))
                ch //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(ch))
        self.classifier = nn.Linear(ch, num_classes)

    def forward_features(self, x: Tensor) -> Tensor:
        """Dense trunk followed by the final ReLU."""
        return F.relu(self.features(x), inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        """Classify ``x``."""
        x = F.adaptive_avg_pool2d(self.forward_features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


def densenet121() -> DenseNet:
    """DenseNet-121 (7,978,856 params)."""
    return DenseNet(32, (6, 12, 24, 16), 64)


# --------------------------------------------------------------------------- LeNet-5


class LeNet5(FeatureModel):
    """LeNet-5 style net for 1x32x32 inputs (ReLU and max pooling)."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, kernel_size=5),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120),
            nn.ReLU(inplace=True),
            nn.Linear(120, 84),
            nn.ReLU(inplace=True),
            nn.Linear(84, num_classes),
        )

    def forward_features(self, x: Tensor) -> Tensor:
        """Convolutional trunk (16x5x5)."""
        return self.features(x)

    def forward(self, x: Tensor) -> Tensor:
        """Classify ``x``."""
        return self.classifier(self.features(x))


def lenet5() -> LeNet5:
    """LeNet-5 (61,706 params)."""
    return LeNet5()


# --------------------------------------------------------------------------- shared


def _make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """torchvision ``_make_divisible``: round to a multiple of ``divisor``, losing < 10%."""
    min_value = divisor if min_value is None else min_value
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


NormFactory = Callable[[int], nn.Module]
ActFactory = Callable[[], nn.Module]


class ConvNormAct(nn.Sequential):
    """torchvision ``Conv2dNormActivation``: conv (bias only without a norm), norm, act."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel_size: int = 3,
        stride: int = 1,
        groups: int = 1,
        norm: NormFactory | None = nn.BatchNorm2d,
        act: ActFactory | None = nn.ReLU,
        dilation: int = 1,
        padding: int | None = None,
        bias: bool | None = None,
    ) -> None:
        padding = (kernel_size - 1) // 2 * dilation if padding is None else padding
        bias = norm is None if bias is None else bias
        layers: list[nn.Module] = [nn.Conv2d(in_ch, out_ch, kernel_size, stride, padding,
                                             dilation=dilation, groups=groups, bias=bias)]
        if norm is not None:
            layers.append(norm(out_ch))
        if act is not None:
            layers.append(act())
        super().__init__(*layers)


class SqueezeExcitation2d(nn.Module):
    """torchvision ``ops.SqueezeExcitation``: avg pool, 1x1 conv fc1, act, 1x1 conv fc2,
    gate (sigmoid or hard sigmoid), scale."""

    def __init__(
        self,
        channels: int,
        squeeze: int,
        act: ActFactory = nn.ReLU,
        gate: ActFactory = nn.Sigmoid,
    ) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.activation = act()
        self.scale_activation = gate()

    def forward(self, x: Tensor) -> Tensor:
        """Rescale each channel of ``x`` by its gate."""
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return scale * x


def stochastic_depth(x: Tensor, p: float, mode: str, training: bool) -> Tensor:
    """torchvision ``ops.stochastic_depth``: identity in eval; in training each row
    (``row``) or the whole batch (``batch``) is zeroed with probability ``p``, the rest
    scaled by ``1 / (1 - p)``."""
    if not training or p == 0.0:
        return x
    survival = 1.0 - p
    size = [x.shape[0]] + [1] * (x.ndim - 1) if mode == "row" else [1] * x.ndim
    noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(survival)
    return x * noise.div_(survival)


class StochasticDepth(nn.Module):
    """torchvision ``ops.StochasticDepth``."""

    def __init__(self, p: float, mode: str) -> None:
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x: Tensor) -> Tensor:
        """Randomly drop rows (or the batch) in training."""
        return stochastic_depth(x, self.p, self.mode, self.training)


class ClassifierModel(FeatureModel):
    """``features`` (a trunk), global average pool, ``classifier``."""

    features: nn.Module
    classifier: nn.Module

    def forward_features(self, x: Tensor) -> Tensor:
        """Convolutional trunk."""
        return self.features(x)

    def forward(self, x: Tensor) -> Tensor:
        """Classify ``x``."""
        x = F.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


# --------------------------------------------------------------------------- EfficientNet

#: expansion, kernel, stride, input channels, output channels, layers (B0; torchvision)
_EFFICIENTNET_STAGES = [
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
]

#: variant -> (width multiplier, depth multiplier, dropout, input resolution)
EFFICIENTNET_VARIANTS: dict[str, tuple[float, float, float, int]] = {
    "b0": (1.0, 1.0, 0.2, 224),
    "b1": (1.0, 1.1, 0.2, 240),
    "b2": (1.1, 1.2, 0.3, 260),
    "b3": (1.2, 1.4, 0.3, 300),
    "b4": (1.4, 1.8, 0.4, 380),
    "b5": (1.6, 2.2, 0.4, 456),
    "b6": (1.8, 2.6, 0.5, 528),
    "b7": (2.0, 3.1, 0.5, 600),
}


class MBConv(nn.Module):
    """EfficientNet's MBConv: 1x1 expand (SiLU), depthwise (SiLU), SE (SiLU, squeeze to
    a quarter of the *input* channels), linear 1x1 projection, stochastic depth + residual."""

    def __init__(
        self, cin: int, cout: int, expand: int, kernel: int, stride: int, sd_prob: float,
        norm: NormFactory,
    ) -> None:
        super().__init__()
        self.use_res_connect = stride == 1 and cin == cout
        hidden = _make_divisible(cin * expand, 8)
        layers: list[nn.Module] = []
        if hidden != cin:
            layers.append(ConvNormAct(cin, hidden, 1, norm=norm, act=nn.SiLU))
        layers += [
            ConvNormAct(hidden, hidden, kernel, stride, groups=hidden, norm=norm, act=nn.SiLU),
            SqueezeExcitation2d(hidden, max(1, cin // 4), act=nn.SiLU),
            ConvNormAct(hidden, cout, 1, norm=norm, act=None),
        ]
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(sd_prob, "row")

    def forward(self, x: Tensor) -> Tensor:
        """Block forward pass."""
        out = self.block(x)
        return self.stochastic_depth(out) + x if self.use_res_connect else out


class EfficientNet(ClassifierModel):
    """torchvision ``EfficientNet`` (v1): compound scaling of the B0 stages."""

    def __init__(
        self, width: float, depth: float, dropout: float, norm: NormFactory = nn.BatchNorm2d,
        num_classes: int = 1000, stochastic_depth_prob: float = 0.2,
    ) -> None:
        super().__init__()
        stages = [(t, k, s, _make_divisible(i * width, 8), _make_divisible(o * width, 8),
                   int(math.ceil(n * depth))) for t, k, s, i, o, n in _EFFICIENTNET_STAGES]
        layers: list[nn.Module] = [ConvNormAct(3, stages[0][3], 3, 2, norm=norm, act=nn.SiLU)]
        total, block_id = sum(n for *_, n in stages), 0
        for t, k, s, cin, cout, n in stages:
            stage: list[nn.Module] = []
            for i in range(n):
                sd_prob = stochastic_depth_prob * float(block_id) / total
                stage.append(MBConv(cin if i == 0 else cout, cout, t, k, s if i == 0 else 1,
                                    sd_prob, norm))
                block_id += 1
            layers.append(nn.Sequential(*stage))
        last_in = stages[-1][4]
        layers.append(ConvNormAct(last_in, 4 * last_in, 1, norm=norm, act=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(dropout, inplace=True),
                                        nn.Linear(4 * last_in, num_classes))


def efficientnet(variant: str = "b0") -> EfficientNet:
    """EfficientNet-B0..B7 as torchvision builds them (B5-B7: BN eps 1e-3, momentum 0.01)."""
    width, depth, dropout, _ = EFFICIENTNET_VARIANTS[variant]
    norm: NormFactory = nn.BatchNorm2d
    if variant in ("b5", "b6", "b7"):
        norm = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
    return EfficientNet(width, depth, dropout, norm)


# --------------------------------------------------------------------------- MobileNetV3

#: input, kernel, expanded, output, SE, activation (RE/HS), stride (torchvision)
_MBV3_LARGE = [
    (16, 3, 16, 16, False, "RE", 1),
    (16, 3, 64, 24, False, "RE", 2),
    (24, 3, 72, 24, False, "RE", 1),
    (24, 5, 72, 40, True, "RE", 2),
    (40, 5, 120, 40, True, "RE", 1),
    (40, 5, 120, 40, True, "RE", 1),
    (40, 3, 240, 80, False, "HS", 2),
    (80, 3, 200, 80, False, "HS", 1),
    (80, 3, 184, 80, False, "HS", 1),
    (80, 3, 184, 80, False, "HS", 1),
    (80, 3, 480, 112, True, "HS", 1),
    (112, 3, 672, 112, True, "HS", 1),
    (112, 5, 672, 160, True, "HS", 2),
    (160, 5, 960, 160, True, "HS", 1),
    (160, 5, 960, 160, True, "HS", 1),
]
_MBV3_SMALL = [
    (16, 3, 16, 16, True, "RE", 2),
    (16, 3, 72, 24, False, "RE", 2),
    (24, 3, 88, 24, False, "RE", 1),
    (24, 5, 96, 40, True, "HS", 2),
    (40, 5, 240, 40, True, "HS", 1),
    (40, 5, 240, 40, True, "HS", 1),
    (40, 5, 120, 48, True, "HS", 1),
    (48, 5, 144, 48, True, "HS", 1),
    (48, 5, 288, 96, True, "HS", 2),
    (96, 5, 576, 96, True, "HS", 1),
    (96, 5, 576, 96, True, "HS", 1),
]


class MobileNetV3Block(nn.Module):
    """MobileNetV3 ``InvertedResidual``: expand, depthwise, SE (hard-sigmoid gate,
    squeeze to ``_make_divisible(expanded // 4)``), linear projection, residual."""

    def __init__(
        self, cin: int, kernel: int, hidden: int, cout: int, se: bool, act: ActFactory,
        stride: int, norm: NormFactory,
    ) -> None:
        super().__init__()
        self.use_res_connect = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if hidden != cin:
            layers.append(ConvNormAct(cin, hidden, 1, norm=norm, act=act))
        layers.append(ConvNormAct(hidden, hidden, kernel, stride, groups=hidden, norm=norm,
                                  act=act))
        if se:
            layers.append(SqueezeExcitation2d(hidden, _make_divisible(hidden // 4, 8),
                                              gate=nn.Hardsigmoid))
        layers.append(ConvNormAct(hidden, cout, 1, norm=norm, act=None))
        self.block = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """Block forward pass."""
        out = self.block(x)
        return out + x if self.use_res_connect else out


class MobileNetV3(ClassifierModel):
    """torchvision ``MobileNetV3`` (width 1.0; BN eps 1e-3, momentum 0.01)."""

    def __init__(self, arch: str = "large", num_classes: int = 1000,
                 dropout: float = 0.2) -> None:
        super().__init__()
        setting, last_channel = (_MBV3_LARGE, 1280) if arch == "large" else (_MBV3_SMALL, 1024)
        norm = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
        layers: list[nn.Module] = [ConvNormAct(3, setting[0][0], 3, 2, norm=norm,
                                               act=nn.Hardswish)]
        for cin, k, hidden, cout, se, act, s in setting:
            layers.append(MobileNetV3Block(cin, k, hidden, cout, se,
                                           nn.ReLU if act == "RE" else nn.Hardswish, s, norm))
        last_in = setting[-1][3]
        layers.append(ConvNormAct(last_in, 6 * last_in, 1, norm=norm, act=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Linear(6 * last_in, last_channel), nn.Hardswish(), nn.Dropout(dropout),
            nn.Linear(last_channel, num_classes))


def mobilenet_v3_large() -> MobileNetV3:
    """MobileNetV3-Large (5,483,032 params)."""
    return MobileNetV3("large")


def mobilenet_v3_small() -> MobileNetV3:
    """MobileNetV3-Small (2,542,856 params)."""
    return MobileNetV3("small")


# --------------------------------------------------------------------------- ShuffleNetV2

#: variant -> stage output channels (conv1, stage2, stage3, stage4, conv5)
SHUFFLENET_V2_CHANNELS: dict[str, tuple[int, int, int, int, int]] = {
    "x0_5": (24, 48, 96, 192, 1024),
    "x1_0": (24, 116, 232, 464, 1024),
    "x1_5": (24, 176, 352, 704, 1024),
    "x2_0": (24, 244, 488, 976, 2048),
}


def channel_shuffle(x: Tensor, groups: int) -> Tensor:
    """Interleave the channels of ``groups`` groups (torchvision ``channel_shuffle``)."""
    b, c, h, w = x.shape
    x = x.view(b, groups, c // groups, h, w).transpose(1, 2).contiguous()
    return x.view(b, -1, h, w)


class ShuffleUnit(nn.Module):
    """ShuffleNetV2 ``InvertedResidual``: stride 1 splits the channels in two and
    transforms one half; stride 2 transforms two copies; concatenate, shuffle."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        half = cout // 2
        if stride > 1:
            self.branch1 = nn.Sequential(
                nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), nn.BatchNorm2d(cin),
                nn.Conv2d(cin, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(inplace=True))
        else:
            self.branch1 = nn.Sequential()
        self.branch2 = nn.Sequential(
            nn.Conv2d(cin if stride > 1 else half, half, 1, bias=False), nn.BatchNorm2d(half),
            nn.ReLU(inplace=True),
            nn.Conv2d(half, half, 3, stride, 1, groups=half, bias=False), nn.BatchNorm2d(half),
            nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(inplace=True))

    def forward(self, x: Tensor) -> Tensor:
        """Unit forward pass."""
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(FeatureModel):
    """torchvision ``ShuffleNetV2``: conv1, max pool, stages 2-4 (4, 8, 4 units), conv5."""

    def __init__(self, variant: str = "x1_0", num_classes: int = 1000) -> None:
        super().__init__()
        c0, *stage_channels, last = SHUFFLENET_V2_CHANNELS[variant]
        self.conv1 = nn.Sequential(nn.Conv2d(3, c0, 3, 2, 1, bias=False), nn.BatchNorm2d(c0),
                                   nn.ReLU(inplace=True))
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        cin = c0
        stages = []
        for repeats, cout in zip((4, 8, 4), stage_channels):
            stages.append(nn.Sequential(ShuffleUnit(cin, cout, 2),
                                        *(ShuffleUnit(cout, cout, 1) for _ in range(repeats - 1))))
            cin = cout
        self.stage2, self.stage3, self.stage4 = stages
        self.conv5 = nn.Sequential(nn.Conv2d(cin, last, 1, bias=False), nn.BatchNorm2d(last),
                                   nn.ReLU(inplace=True))
        self.fc = nn.Linear(last, num_classes)

    def forward_features(self, x: Tensor) -> Tensor:
        """Everything before the global mean."""
        x = self.maxpool(self.conv1(x))
        return self.conv5(self.stage4(self.stage3(self.stage2(x))))

    def forward(self, x: Tensor) -> Tensor:
        """Classify ``x``."""
        return self.fc(self.forward_features(x).mean([2, 3]))


def shufflenet_v2(variant: str = "x1_0") -> ShuffleNetV2:
    """ShuffleNetV2 x0.5, x1.0, x1.5 or x2.0."""
    return ShuffleNetV2(variant)


# --------------------------------------------------------------------------- ConvNeXt

#: variant -> (stage widths, stage depths, stochastic depth probability)
CONVNEXT_VARIANTS: dict[str, tuple[tuple[int, ...], tuple[int, ...], float]] = {
    "tiny": ((96, 192, 384, 768), (3, 3, 9, 3), 0.1),
    "small": ((96, 192, 384, 768), (3, 3, 27, 3), 0.4),
    "base": ((128, 256, 512, 1024), (3, 3, 27, 3), 0.5),
    "large": ((192, 384, 768, 1536), (3, 3, 27, 3), 0.5),
}


class LayerNorm2d(nn.LayerNorm):
    """torchvision ``LayerNorm2d``: layer norm over the channels at every position."""

    def forward(self, x: Tensor) -> Tensor:
        """Normalise the channels of an NCHW tensor."""
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class CNBlock(nn.Module):
    """ConvNeXt block: 7x7 depthwise, LayerNorm, 4x MLP (GELU) on channels-last, layer
    scale, stochastic depth, residual."""

    def __init__(self, dim: int, layer_scale: float, sd_prob: float) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True),
            Permute([0, 2, 3, 1]), nn.LayerNorm(dim, eps=1e-6), nn.Linear(dim, 4 * dim),
            nn.GELU(), nn.Linear(4 * dim, dim), Permute([0, 3, 1, 2]))
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)
        self.stochastic_depth = StochasticDepth(sd_prob, "row")

    def forward(self, x: Tensor) -> Tensor:
        """Block forward pass."""
        return self.stochastic_depth(self.layer_scale * self.block(x)) + x


class Permute(nn.Module):
    """torchvision ``ops.Permute``."""

    def __init__(self, dims: list[int]) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: Tensor) -> Tensor:
        """Permute the dimensions."""
        return torch.permute(x, self.dims)


class ConvNeXt(ClassifierModel):
    """torchvision ``ConvNeXt``: 4x4/4 patchify stem, four stages with LayerNorm2d +
    2x2/2 downsampling between them, LayerNorm2d + linear classifier."""

    def __init__(self, variant: str = "tiny", num_classes: int = 1000,
                 layer_scale: float = 1e-6) -> None:
        super().__init__()
        widths, depths, sd = CONVNEXT_VARIANTS[variant]
        norm = partial(LayerNorm2d, eps=1e-6)
        layers: list[nn.Module] = [ConvNormAct(3, widths[0], 4, 4, norm=norm, act=None,
                                               padding=0, bias=True)]
        total, block_id = sum(depths), 0
        for i, (width, depth) in enumerate(zip(widths, depths)):
            stage = []
            for _ in range(depth):
                stage.append(CNBlock(width, layer_scale, sd * block_id / (total - 1.0)))
                block_id += 1
            layers.append(nn.Sequential(*stage))
            if i + 1 < len(widths):
                layers.append(nn.Sequential(norm(width),
                                            nn.Conv2d(width, widths[i + 1], 2, stride=2)))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(norm(widths[-1]), nn.Flatten(1),
                                        nn.Linear(widths[-1], num_classes))

    def forward(self, x: Tensor) -> Tensor:
        """Classify ``x`` (the classifier norms the pooled [C, 1, 1] map)."""
        return self.classifier(F.adaptive_avg_pool2d(self.features(x), 1))


def convnext(variant: str = "tiny") -> ConvNeXt:
    """ConvNeXt tiny, small, base or large."""
    return ConvNeXt(variant)


# --------------------------------------------------------------------------- RegNet

#: name -> (depth, w_0, w_a, w_m, group width, SE ratio or None) (torchvision builders)
REGNET_VARIANTS: dict[str, tuple[int, int, float, float, int, float | None]] = {
    "y_400mf": (16, 48, 27.89, 2.09, 8, 0.25),
    "y_800mf": (14, 56, 38.84, 2.4, 16, 0.25),
    "y_1_6gf": (27, 48, 20.71, 2.65, 24, 0.25),
    "y_3_2gf": (21, 80, 42.63, 2.66, 24, 0.25),
    "x_400mf": (22, 24, 24.48, 2.54, 16, None),
    "x_800mf": (16, 56, 35.73, 2.28, 16, None),
    "x_1_6gf": (18, 80, 34.01, 2.25, 24, None),
    "x_3_2gf": (25, 88, 26.31, 2.25, 48, None),
}


def regnet_stages(
    depth: int, w_0: int, w_a: float, w_m: float, group_width: int, quant: int = 8
) -> list[tuple[int, int, int]]:
    """The paper's width rule (Radosavovic et al. 2020, eq. 2-4) as torchvision computes
    it (in float32): per-block widths ``w_0 + w_a * j`` quantised in log base ``w_m``, then
    grouped into stages. Returns (width, depth, group width) per stage."""
    widths_cont = torch.arange(depth, device="cpu") * w_a + w_0  # data even under meta
    capacity = torch.round(torch.log(widths_cont / w_0) / math.log(w_m))
    widths = (torch.round(torch.divide(w_0 * torch.pow(w_m, capacity), quant)) * quant)
    block_widths = widths.int().tolist()
    stages: list[list[int]] = []
    for w in block_widths:
        if stages and stages[-1][0] == w:
            stages[-1][1] += 1
        else:
            stages.append([w, 1])
    result = []
    for w, d in stages:  # bottleneck multiplier 1: the group width must divide the width
        g = min(group_width, w)
        result.append((_make_divisible(w, g), d, g))
    return result


class RegNetBlock(nn.Module):
    """torchvision ``ResBottleneckBlock``: 1x1, grouped 3x3 (stride), SE (ratio of the
    block's *input* width), 1x1 linear; projection shortcut when the shape changes; ReLU."""

    def __init__(self, cin: int, cout: int, stride: int, group_width: int,
                 se_ratio: float | None) -> None:
        super().__init__()
        self.proj = ConvNormAct(cin, cout, 1, stride, act=None) \
            if cin != cout or stride != 1 else None
        layers: list[nn.Module] = [
            ConvNormAct(cin, cout, 1), ConvNormAct(cout, cout, 3, stride, cout // group_width)]
        if se_ratio:
            layers.append(SqueezeExcitation2d(cout, int(round(se_ratio * cin))))
        layers.append(ConvNormAct(cout, cout, 1, act=None))
        self.f = nn.Sequential(*layers)
        self.activation = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        """Block forward pass."""
        shortcut = x if self.proj is None else self.proj(x)
        return self.activation(shortcut + self.f(x))


class RegNet(FeatureModel):
    """torchvision ``RegNet``: stem (3x3/2 to 32), stages of ``RegNetBlock``, avg pool, fc."""

    def __init__(self, variant: str = "y_400mf", num_classes: int = 1000) -> None:
        super().__init__()
        depth, w_0, w_a, w_m, group_width, se_ratio = REGNET_VARIANTS[variant]
        self.stem = ConvNormAct(3, 32, 3, 2)
        cin, stages = 32, []
        for width, blocks, g in regnet_stages(depth, w_0, w_a, w_m, group_width):
            stages.append(nn.Sequential(*(
                RegNetBlock(cin if i == 0 else width, width, 2 if i == 0 else 1, g, se_ratio)
                for i in range(blocks))))
            cin = width
        self.trunk_output = nn.Sequential(*stages)
        self.fc = nn.Linear(cin, num_classes)

    def forward_features(self, x: Tensor) -> Tensor:
        """Stem and stages."""
        return self.trunk_output(self.stem(x))

    def forward(self, x: Tensor) -> Tensor:
        """Classify ``x``."""
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.forward_features(x), 1), 1))


def regnet(variant: str = "y_400mf") -> RegNet:
    """RegNetX / RegNetY by torchvision's builder name (without ``regnet_``)."""
    return RegNet(variant)


# --------------------------------------------------------------------------- Inception v3


class InceptionV3Conv(nn.Module):
    """Inception v3 ``BasicConv2d``: conv (no bias), BN (eps 1e-3), ReLU."""

    def __init__(self, cin: int, cout: int, kernel_size: int | tuple[int, int],
                 stride: int = 1, padding: int | tuple[int, int] = 0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x: Tensor) -> Tensor:
        """conv -> bn -> relu."""
        return F.relu(self.bn(self.conv(x)), inplace=True)


_C = InceptionV3Conv


class InceptionA(nn.Module):
    """35x35 block: 1x1 | 1x1-5x5 | 1x1-3x3-3x3 | avg pool-1x1."""

    def __init__(self, cin: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = _C(cin, 64, 1)
        self.branch5x5 = nn.Sequential(_C(cin, 48, 1), _C(48, 64, 5, padding=2))
        self.branch3x3dbl = nn.Sequential(_C(cin, 64, 1), _C(64, 96, 3, padding=1),
                                          _C(96, 96, 3, padding=1))
        self.branch_pool = _C(cin, pool_features, 1)

    def forward(self, x: Tensor) -> Tensor:
        """Concatenate the branches."""
        pool = F.avg_pool2d(x, 3, stride=1, padding=1)
        return torch.cat([self.branch1x1(x), self.branch5x5(x), self.branch3x3dbl(x),
                          self.branch_pool(pool)], 1)


class InceptionB(nn.Module):
    """35 -> 17 reduction: 3x3/2 | 1x1-3x3-3x3/2 | max pool/2."""

    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3 = _C(cin, 384, 3, stride=2)
        self.branch3x3dbl = nn.Sequential(_C(cin, 64, 1), _C(64, 96, 3, padding=1),
                                          _C(96, 96, 3, stride=2))

    def forward(self, x: Tensor) -> Tensor:
        """Concatenate the branches."""
        return torch.cat([self.branch3x3(x), self.branch3x3dbl(x), F.max_pool2d(x, 3, 2)], 1)


class InceptionC(nn.Module):
    """17x17 block with factorised 7x7 convolutions (1x7 and 7x1)."""

    def __init__(self, cin: int, c7: int) -> None:
        super().__init__()
        self.branch1x1 = _C(cin, 192, 1)
        self.branch7x7 = nn.Sequential(_C(cin, c7, 1), _C(c7, c7, (1, 7), padding=(0, 3)),
                                       _C(c7, 192, (7, 1), padding=(3, 0)))
        self.branch7x7dbl = nn.Sequential(
            _C(cin, c7, 1), _C(c7, c7, (7, 1), padding=(3, 0)), _C(c7, c7, (1, 7), padding=(0, 3)),
            _C(c7, c7, (7, 1), padding=(3, 0)), _C(c7, 192, (1, 7), padding=(0, 3)))
        self.branch_pool = _C(cin, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        """Concatenate the branches."""
        pool = F.avg_pool2d(x, 3, stride=1, padding=1)
        return torch.cat([self.branch1x1(x), self.branch7x7(x), self.branch7x7dbl(x),
                          self.branch_pool(pool)], 1)


class InceptionD(nn.Module):
    """17 -> 8 reduction: 1x1-3x3/2 | 1x1-1x7-7x1-3x3/2 | max pool/2."""

    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3 = nn.Sequential(_C(cin, 192, 1), _C(192, 320, 3, stride=2))
        self.branch7x7x3 = nn.Sequential(
            _C(cin, 192, 1), _C(192, 192, (1, 7), padding=(0, 3)),
            _C(192, 192, (7, 1), padding=(3, 0)), _C(192, 192, 3, stride=2))

    def forward(self, x: Tensor) -> Tensor:
        """Concatenate the branches."""
        return torch.cat([self.branch3x3(x), self.branch7x7x3(x), F.max_pool2d(x, 3, 2)], 1)


class InceptionE(nn.Module):
    """8x8 block with expanded filter banks (1x3 and 3x1 side by side)."""

    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch1x1 = _C(cin, 320, 1)
        self.branch3x3_1 = _C(cin, 384, 1)
        self.branch3x3_2a = _C(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = _C(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = nn.Sequential(_C(cin, 448, 1), _C(448, 384, 3, padding=1))
        self.branch3x3dbl_3a = _C(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = _C(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = _C(cin, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        """Concatenate the branches."""
        one = self.branch1x1(x)
        a = self.branch3x3_1(x)
        a = torch.cat([self.branch3x3_2a(a), self.branch3x3_2b(a)], 1)
        b = self.branch3x3dbl_1(x)
        b = torch.cat([self.branch3x3dbl_3a(b), self.branch3x3dbl_3b(b)], 1)
        pool = self.branch_pool(F.avg_pool2d(x, 3, stride=1, padding=1))
        return torch.cat([one, a, b, pool], 1)


class InceptionV3Aux(nn.Module):
    """Auxiliary head on the 17x17x768 map: avg pool 5/3, 1x1 to 128, 5x5 to 768, fc."""

    def __init__(self, cin: int, num_classes: int) -> None:
        super().__init__()
        self.conv0 = _C(cin, 128, 1)
        self.conv1 = _C(128, 768, 5)
        self.fc = nn.Linear(768, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        """Auxiliary logits."""
        x = self.conv1(self.conv0(F.avg_pool2d(x, kernel_size=5, stride=3)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class InceptionV3(FeatureModel):
    """torchvision ``Inception3`` (``transform_input=False``; 299x299 input)."""

    def __init__(self, num_classes: int = 1000, aux_logits: bool = True,
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            _C(3, 32, 3, stride=2), _C(32, 32, 3), _C(32, 64, 3, padding=1), nn.MaxPool2d(3, 2),
            _C(64, 80, 1), _C(80, 192, 3), nn.MaxPool2d(3, 2))
        self.mixed_5_6 = nn.Sequential(
            InceptionA(192, 32), InceptionA(256, 64), InceptionA(288, 64), InceptionB(288),
            InceptionC(768, 128), InceptionC(768, 160), InceptionC(768, 160),
            InceptionC(768, 192))
        self.AuxLogits = InceptionV3Aux(768, num_classes) if aux_logits else None
        self.mixed_7 = nn.Sequential(InceptionD(768), InceptionE(1280), InceptionE(2048))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(2048, num_classes)

    def forward_features(self, x: Tensor) -> Tensor:
        """Everything up to ``Mixed_7c`` (2048 channels)."""
        return self.mixed_7(self.mixed_5_6(self.stem(x)))

    def forward_outputs(self, x: Tensor) -> dict[str, Tensor]:
        """``logits`` and, with the auxiliary head, ``aux``."""
        x = self.mixed_5_6(self.stem(x))
        aux = {} if self.AuxLogits is None else {"aux": self.AuxLogits(x)}
        x = F.adaptive_avg_pool2d(self.mixed_7(x), 1)
        return {"logits": self.fc(self.dropout(torch.flatten(x, 1))), **aux}

    def forward(self, x: Tensor) -> Tensor:
        """Classify ``x`` (the auxiliary head runs only in ``forward_outputs``)."""
        x = F.adaptive_avg_pool2d(self.forward_features(x), 1)
        return self.fc(self.dropout(torch.flatten(x, 1)))


def inception_v3() -> InceptionV3:
    """Inception v3 with its auxiliary head (27,161,264 params)."""
    return InceptionV3()


# --------------------------------------------------------------------------- YOLOv3


class DarknetConv(nn.Sequential):
    """Darknet ``[convolutional] batch_normalize=1``: conv (no bias), BN, leaky ReLU 0.1;
    "same" padding (size // 2)."""

    def __init__(self, cin: int, cout: int, kernel_size: int, stride: int = 1) -> None:
        super().__init__(nn.Conv2d(cin, cout, kernel_size, stride, kernel_size // 2, bias=False),
                         nn.BatchNorm2d(cout), nn.LeakyReLU(0.1))


class DarknetResidual(nn.Module):
    """Darknet-53 residual: 1x1 to half the channels, 3x3 back, ``[shortcut]`` add."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(DarknetConv(channels, channels // 2, 1),
                                  DarknetConv(channels // 2, channels, 3))

    def forward(self, x: Tensor) -> Tensor:
        """x + body(x)."""
        return x + self.body(x)


def darknet53_stage(cin: int, cout: int, blocks: int) -> nn.Sequential:
    """A 3x3/2 downsampling conv then ``blocks`` residuals."""
    return nn.Sequential(DarknetConv(cin, cout, 3, 2), *(DarknetResidual(cout)
                                                          for _ in range(blocks)))


class YOLOv3(nn.Module):
    """yolov3.cfg (Redmon & Farhadi 2018): Darknet-53 and three detection scales
    (strides 32, 16, 8), each ``3 * (classes + 5)`` channels; the coarser scale's
    5-conv branch is reduced by 1x1, upsampled 2x and concatenated with the backbone."""

    def __init__(self, num_classes: int = 80) -> None:
        super().__init__()
        out = 3 * (num_classes + 5)
        self.stem = DarknetConv(3, 32, 3)
        self.stage1 = darknet53_stage(32, 64, 1)
        self.stage2 = darknet53_stage(64, 128, 2)
        self.stage3 = darknet53_stage(128, 256, 8)   # route 36
        self.stage4 = darknet53_stage(256, 512, 8)   # route 61
        self.stage5 = darknet53_stage(512, 1024, 4)

        def five(cin: int, c: int) -> nn.Sequential:
            return nn.Sequential(DarknetConv(cin, c, 1), DarknetConv(c, 2 * c, 3),
                                 DarknetConv(2 * c, c, 1), DarknetConv(c, 2 * c, 3),
                                 DarknetConv(2 * c, c, 1))

        def head(c: int) -> nn.Sequential:
            return nn.Sequential(DarknetConv(c, 2 * c, 3), nn.Conv2d(2 * c, out, 1))

        self.neck1, self.head1 = five(1024, 512), head(512)
        self.reduce2, self.neck2, self.head2 = DarknetConv(512, 256, 1), five(768, 256), head(256)
        self.reduce3, self.neck3, self.head3 = DarknetConv(256, 128, 1), five(384, 128), head(128)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """The three detection maps, coarsest first (``large``, ``medium``, ``small``
        objects: strides 32, 16, 8)."""
        c3 = self.stage3(self.stage2(self.stage1(self.stem(x))))
        c4 = self.stage4(c3)
        n1 = self.neck1(self.stage5(c4))
        large = self.head1(n1)  # yolov3.cfg's order: each [yolo] layer before the next route
        n2 = self.neck2(torch.cat([F.interpolate(self.reduce2(n1), scale_factor=2.0), c4], 1))
        medium = self.head2(n2)
        n3 = self.neck3(torch.cat([F.interpolate(self.reduce3(n2), scale_factor=2.0), c3], 1))
        return {"large": large, "medium": medium, "small": self.head3(n3)}

    forward_outputs = forward


def yolov3() -> YOLOv3:
    """YOLOv3-416, 80 classes (61,949,149 params)."""
    return YOLOv3()


# --------------------------------------------------------------------------- ResNet-50 FPN


class FrozenBatchNorm2d(nn.Module):
    """torchvision ``ops.FrozenBatchNorm2d``: batch norm with fixed statistics and affine
    parameters, all four held as buffers (eps 1e-5)."""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        for name, fill in (("weight", 1.0), ("bias", 0.0), ("running_mean", 0.0),
                           ("running_var", 1.0)):
            self.register_buffer(name, torch.full((channels,), fill))

    def forward(self, x: Tensor) -> Tensor:
        """Apply the fixed affine transform."""
        scale = self.weight * (self.running_var + self.eps).rsqrt()
        bias = self.bias - self.running_mean * scale
        return x * scale[None, :, None, None] + bias[None, :, None, None]


class ResNetFPN(nn.Module):
    """torchvision ``resnet_fpn_backbone("resnet50", returned_layers=[1, 2, 3, 4])``:
    ResNet-50's four stages (C2-C5) into a FeaturePyramidNetwork with 256 channels (1x1
    lateral convs, nearest top-down upsampling to the lateral's size, 3x3 output convs,
    all with bias) and ``LastLevelMaxPool`` (a 1x1 max pool at stride 2 on P5).

    ``norm`` defaults to plain batch norm; torchvision's detection models use
    :class:`FrozenBatchNorm2d` (the same function, its four vectors as buffers).
    """

    def __init__(self, norm: NormFactory = nn.BatchNorm2d, channels: int = 256) -> None:
        super().__init__()
        body = ResNet(Bottleneck, [3, 4, 6, 3])
        if norm is not nn.BatchNorm2d:
            _replace_batchnorm(body, norm)
        self.body = nn.ModuleDict({name: getattr(body, name) for name in (
            "conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4")})
        widths = (256, 512, 1024, 2048)
        self.inner_blocks = nn.ModuleList(nn.Conv2d(w, channels, 1) for w in widths)
        self.layer_blocks = nn.ModuleList(nn.Conv2d(channels, channels, 3, padding=1)
                                          for _ in widths)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """P2-P5 (strides 4-32) and ``pool`` (stride 64); torchvision names them "0" to
        "3" and "pool". (The top-down sums are all made before the 3x3 output convs: the
        same function as torchvision's interleaved loop.)"""
        b = self.body
        x = b["maxpool"](b["relu"](b["bn1"](b["conv1"](x))))
        features = []
        for name in ("layer1", "layer2", "layer3", "layer4"):
            x = b[name](x)
            features.append(x)
        merged = [self.inner_blocks[-1](features[-1])]
        for i in range(len(features) - 2, -1, -1):
            lateral = self.inner_blocks[i](features[i])
            top_down = F.interpolate(merged[0], size=lateral.shape[-2:], mode="nearest")
            merged.insert(0, lateral + top_down)
        results = [block(m) for block, m in zip(self.layer_blocks, merged)]
        results.append(F.max_pool2d(results[-1], 1, 2, 0))
        return dict(zip(("p2", "p3", "p4", "p5", "pool"), results))

    forward_outputs = forward


def _replace_batchnorm(module: nn.Module, norm: NormFactory) -> None:
    """Swap every ``BatchNorm2d`` below ``module`` for ``norm(channels)``."""
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            setattr(module, name, norm(child.num_features))
        else:
            _replace_batchnorm(child, norm)


def resnet50_fpn() -> ResNetFPN:
    """ResNet-50 FPN backbone with plain batch norms (26,852,416 params)."""
    return ResNetFPN()


def outputs(model: nn.Module, x: Tensor) -> dict[str, Tensor]:
    """Every named output of ``model`` on ``x`` (``{"output": ...}`` for one output)."""
    forward_outputs = getattr(model, "forward_outputs", None)
    if forward_outputs is not None:
        return forward_outputs(x)
    return {"output": model(x)}


# --------------------------------------------------------------------------- registries

REFERENCE_MODELS: dict[str, Callable[[], nn.Module]] = {
    "lenet5": lenet5,
    "alexnet": alexnet,
    "vgg16": vgg16,
    "vgg19": vgg19,
    "googlenet": googlenet,
    "resnet18": resnet18,
    "resnet34": resnet34,
    "resnet50": resnet50,
    "resnet101": resnet101,
    "resnet152": resnet152,
    "se_resnet50": se_resnet50,
    "mobilenet_v2": mobilenet_v2,
    "densenet121": densenet121,
    "googlenet_aux": googlenet_aux,
    **{f"efficientnet_{v}": partial(efficientnet, v) for v in EFFICIENTNET_VARIANTS},
    "mobilenet_v3_large": mobilenet_v3_large,
    "mobilenet_v3_small": mobilenet_v3_small,
    **{f"shufflenet_v2_{v}": partial(shufflenet_v2, v) for v in SHUFFLENET_V2_CHANNELS},
    **{f"convnext_{v}": partial(convnext, v) for v in CONVNEXT_VARIANTS},
    **{f"regnet_{v}": partial(regnet, v) for v in REGNET_VARIANTS},
    "inception_v3": inception_v3,
    "yolov3": yolov3,
    "resnet50_fpn": resnet50_fpn,
}

PUBLISHED_PARAMS: dict[str, int] = {
    "lenet5": 61_706,
    "alexnet": 61_100_840,
    "vgg16": 138_357_544,
    "vgg19": 143_667_240,
    "googlenet": 6_624_904,
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnet152": 60_192_808,
    "se_resnet50": 28_088_024,
    "mobilenet_v2": 3_504_872,
    "densenet121": 7_978_856,
    # torchvision's model cards (num_params)
    "googlenet_aux": 13_004_888,
    "efficientnet_b0": 5_288_548,
    "efficientnet_b1": 7_794_184,
    "efficientnet_b2": 9_109_994,
    "efficientnet_b3": 12_233_232,
    "efficientnet_b4": 19_341_616,
    "efficientnet_b5": 30_389_784,
    "efficientnet_b6": 43_040_704,
    "efficientnet_b7": 66_347_960,
    "mobilenet_v3_large": 5_483_032,
    "mobilenet_v3_small": 2_542_856,
    "shufflenet_v2_x0_5": 1_366_792,
    "shufflenet_v2_x1_0": 2_278_604,
    "shufflenet_v2_x1_5": 3_503_624,
    "shufflenet_v2_x2_0": 7_393_996,
    "convnext_tiny": 28_589_128,
    "convnext_small": 50_223_688,
    "convnext_base": 88_591_464,
    "convnext_large": 197_767_336,
    "regnet_y_400mf": 4_344_144,
    "regnet_y_800mf": 6_432_512,
    "regnet_y_1_6gf": 11_202_430,
    "regnet_y_3_2gf": 19_436_338,
    "regnet_x_400mf": 5_495_976,
    "regnet_x_800mf": 7_259_656,
    "regnet_x_1_6gf": 9_190_136,
    "regnet_x_3_2gf": 15_296_552,
    "inception_v3": 27_161_264,
    # keras-yolo3's summary of yolov3.cfg: 61,949,149 trainable (its 52,608 non-trainable
    # are the BN statistics)
    "yolov3": 61_949_149,
    # fasterrcnn_resnet50_fpn's 41,755,286 less its RPN (593,935) and box heads
    # (14,362,055) is the backbone with frozen BN: 26,799,296; plain BN makes its 26,560
    # scales and 26,560 shifts parameters again
    "resnet50_fpn": 26_799_296 + 2 * 26_560,
}

_INPUT_SIZES: dict[str, int] = {
    "lenet5": 32, "inception_v3": 299, "yolov3": 416,
    **{f"efficientnet_{v}": r[3] for v, r in EFFICIENTNET_VARIANTS.items()},
}
REFERENCE_INPUT_SHAPES: dict[str, tuple[int, int, int]] = {
    name: (1 if name == "lenet5" else 3,) + (_INPUT_SIZES.get(name, 224),) * 2
    for name in REFERENCE_MODELS
}


# --------------------------------------------------------------------------- measurement


def count_params(model: nn.Module) -> int:
    """Total number of parameters (trainable or not)."""
    return sum(p.numel() for p in model.parameters())


def macs(model: nn.Module, input_shape: Sequence[int]) -> int:
    """Multiply-accumulates of one batch-1 forward pass (``FlopCounterMode`` flops // 2).

    Only ops that ``torch.utils.flop_counter`` knows (convolutions, matmuls, ...) are
    counted; batch norm, activations, pooling and elementwise ops count as zero.
    """
    was_training = model.training
    model.eval()
    x = torch.zeros(1, *input_shape)
    counter = FlopCounterMode(display=False)
    try:
        with torch.no_grad(), counter:
            model(x)
    finally:
        model.train(was_training)
    return counter.get_total_flops() // 2


@dataclass(frozen=True)
class ReceptiveField:
    """Extent of the input-gradient support of one feature-map element."""

    height: int
    width: int
    input_height: int
    input_width: int
    clipped: bool  # support touches the input border, so the true RF may be larger


def _dense_gradient_twin(module: nn.Module) -> nn.Module | None:
    """Stand-in with a dense gradient for ``module``, or ``None`` to keep it.

    Max pooling routes the gradient to one element per window, and ReLU6 (a
    ``Hardtanh``) zeroes it once activations saturate at 6, which positive weights and
    residual sums quickly reach. Average pooling of the same window and plain ReLU have
    the same spatial support without those gaps.
    """
    if isinstance(module, nn.MaxPool2d):
        return nn.AvgPool2d(
            module.kernel_size, module.stride, module.padding, ceil_mode=module.ceil_mode
        )
    if isinstance(module, nn.Hardtanh):
        return nn.ReLU()
    return None


def _swap_sparse_gradient_modules(module: nn.Module) -> None:
    """Recursively replace max pools and ReLU6 by their dense-gradient twins."""
    for name, child in module.named_children():
        twin = _dense_gradient_twin(child)
        if twin is not None:
            setattr(module, name, twin)
        else:
            _swap_sparse_gradient_modules(child)


def _make_positive(module: nn.Module) -> None:
    """Set conv/linear weights to ``1 / fan_in`` (positive, scale-preserving), biases to 0.

    Batch norms become identities up to ``1/sqrt(1 + eps)``. With all-positive weights
    and a positive input every activation is positive, so no ReLU blocks the gradient.
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            nn.init.constant_(m.weight, 1.0 / m.weight[0].numel())
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
            m.running_mean.zero_()
            m.running_var.fill_(1.0)


def _positive_probe(model_features: nn.Module) -> nn.Module:
    """Copy ``model_features`` into an eval-mode float64 probe with positive weights."""
    probe = copy.deepcopy(model_features)
    _swap_sparse_gradient_modules(probe)
    with torch.no_grad():
        _make_positive(probe)
    probe.eval().double()
    probe.requires_grad_(False)
    return probe


def _extent(mask: Tensor) -> int:
    """Length of the span from the first to the last ``True`` of a 1-D mask."""
    idx = torch.nonzero(mask).flatten()
    return int(idx[-1] - idx[0] + 1) if idx.numel() else 0


def measured_receptive_field(
    model_features: nn.Module, input_shape: Sequence[int]
) -> ReceptiveField:
    """Receptive field of the centre position of ``model_features``' output map.

    The model is copied with positive constant weights (BN in eval mode as identity),
    max pools swapped for average pools and ReLU6 for ReLU; the gradient of the sum over
    channels at the centre output position w.r.t. an all-ones float64 input is taken and
    the extent of its nonzero support is reported. (Summing over channels matters for
    multi-branch blocks: a 1x1-branch channel of an Inception block sees less.) Global
    operations such as squeeze-excitation make the support the whole input. Zero padding clips the support at the image border; use an
    input larger than the receptive field to see it whole.
    """
    probe = _positive_probe(model_features)
    x = torch.ones(1, *input_shape, dtype=torch.float64, requires_grad=True)
    out = probe(x)
    out[0, :, out.shape[2] // 2, out.shape[3] // 2].sum().backward()
    assert x.grad is not None
    support = x.grad[0].abs().sum(0) > 0
    rows, cols = support.any(1), support.any(0)
    height, width = _extent(rows), _extent(cols)
    clipped = bool(rows[0] or rows[-1] or cols[0] or cols[-1])
    return ReceptiveField(height, width, int(input_shape[1]), int(input_shape[2]), clipped)


# --------------------------------------------------------------------------- report


def _rf_text(rf: ReceptiveField) -> str:
    """``rf@<input>=<extent>`` with a ``(clipped)`` marker when it touches the border."""
    return f"rf@{rf.input_height}={rf.height}{'(clipped)' if rf.clipped else ''}"


def _report_model(name: str, large: int) -> None:
    """Print build time, params, MACs and receptive field(s) of one reference model.

    When the receptive field is clipped at the reference input size and ``large`` is
    nonzero, it is measured again on a ``large`` x ``large`` input.
    """
    start = time.perf_counter()
    model = REFERENCE_MODELS[name]()
    built = time.perf_counter() - start
    shape = REFERENCE_INPUT_SHAPES[name]
    params, n_macs = count_params(model), macs(model, shape)
    rfs = []
    if isinstance(model, FeatureModel):
        rfs.append(measured_receptive_field(feature_extractor(model), shape))
    if rfs and rfs[0].clipped and large:
        rfs.append(measured_receptive_field(feature_extractor(model), (shape[0], large, large)))
    ok = "ok" if params == PUBLISHED_PARAMS[name] else f"MISMATCH {PUBLISHED_PARAMS[name]}"
    print(
        f"{name:13s} params={params:>11,d} ({ok}) macs={n_macs:>14,d} build={built:.2f}s "
        + " ".join(_rf_text(rf) for rf in rfs),
        flush=True,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Print the measurements for every (or each named) reference model."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=list(REFERENCE_MODELS))
    parser.add_argument(
        "--large", type=int, default=1024, help="input size for clipped RFs (0: skip)"
    )
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    for name in args.models:
        _report_model(name, args.large)


if __name__ == "__main__":
    main()
