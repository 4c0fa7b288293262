"""Hand-written PyTorch reference models with torchvision-identical layouts.

These models are independent references for netdsl's tests and benchmarks. They need
only ``torch`` (no torchvision): module names, nesting and parameter counts match
torchvision's builders, and parameters keep PyTorch's default initialisation.

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
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

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
    "count_params",
    "densenet121",
    "feature_extractor",
    "googlenet",
    "lenet5",
    "macs",
    "measured_receptive_field",
    "mobilenet_v2",
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
        """Bottleneck forward pass."""
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.se is not None:
            out = self.se(out)
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


class GoogLeNet(FeatureModel):
    """torchvision ``GoogLeNet`` with ``aux_logits=False`` and ``transform_input=False``."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.2) -> None:
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
        self.aux1: nn.Module | None = None
        self.aux2: nn.Module | None = None
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

    def forward(self, x: Tensor) -> Tensor:
        """Classify ``x``."""
        x = torch.flatten(self.avgpool(self.forward_features(x)), 1)
        return self.fc(self.dropout(x))


def googlenet() -> GoogLeNet:
    """GoogLeNet / Inception v1 without auxiliary heads (6,624,904 params)."""
    return GoogLeNet()


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
}

REFERENCE_INPUT_SHAPES: dict[str, tuple[int, int, int]] = {
    name: (1, 32, 32) if name == "lenet5" else (3, 224, 224) for name in REFERENCE_MODELS
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
    rfs = [measured_receptive_field(feature_extractor(model), shape)]
    if rfs[0].clipped and large:
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
