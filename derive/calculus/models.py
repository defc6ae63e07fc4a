"""Networks written for the calculus: a ResNet-50-depth network, and small multi-path ones.

torchvision does not run here, so :func:`resnet50` is written out: the bottleneck design of
He et al. (2016), stages of 3, 4, 6 and 3 blocks (a 1x1, a 3x3 and a 1x1 convolution each,
batch norm, in-place ReLU reused three times per block, a projection shortcut where the shape
changes), 53 convolutions and one Linear layer; 25,557,032 parameters at ``width=1``, like
torchvision's. :class:`Inception` joins four branches by concatenation and
:func:`unet_like` goes down and up again with transposed convolutions.

This module imports torch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "Bottleneck", "resnet50", "Inception", "inception_net", "unet_like", "Branches",
    "SqueezeExcite",
]  # fmt: skip


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation: channel weights from the global mean, multiplied back in."""

    def __init__(self, channels: int, reduced: int = 2) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(channels, reduced), nn.Linear(reduced, channels)

    def forward(self, x: Tensor) -> Tensor:
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(x.mean((2, 3))))))
        return x * s.view(x.size(0), -1, 1, 1)


class Branches(nn.Module):
    """Two layers applied to the same input and added: ``a(x) + b(x)``."""

    def __init__(self, a: nn.Module, b: nn.Module) -> None:
        super().__init__()
        self.a, self.b = a, b

    def forward(self, x: Tensor) -> Tensor:
        return self.a(x) + self.b(x)


def _c(channels: int, width: float) -> int:
    return max(1, round(channels * width))


class Bottleneck(nn.Module):
    """1x1 (reduce), 3x3 (stride), 1x1 (expand by 4) convolutions, added to the shortcut."""

    def __init__(self, in_channels: int, mid: int, stride: int = 1) -> None:
        super().__init__()
        out = 4 * mid
        self.conv1 = nn.Conv2d(in_channels, mid, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_channels != out:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out)
            )

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += identity
        return self.relu(out)


def resnet50(width: float = 1.0, in_channels: int = 3, classes: int = 1000) -> nn.Sequential:
    """ResNet-50's layout: a 7x7 stride-2 stem, a max-pool, 16 bottleneck blocks, global
    average pooling and a Linear layer."""
    c = _c(64, width)
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, c, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(c),
        nn.ReLU(inplace=True), nn.MaxPool2d(3, stride=2, padding=1),
    ]  # fmt: skip
    for stage, (blocks, mid) in enumerate(zip((3, 4, 6, 3), (64, 128, 256, 512))):
        mid = _c(mid, width)
        stack = []
        for b in range(blocks):
            stack.append(Bottleneck(c, mid, 2 if b == 0 and stage > 0 else 1))
            c = 4 * mid
        layers.append(nn.Sequential(*stack))
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes)]
    return nn.Sequential(*layers)


class Inception(nn.Module):
    """GoogLeNet's block: four branches (1x1; 1x1 then 3x3; 1x1 then 5x5; 3x3 max-pool then
    1x1) concatenated along the channels."""

    def __init__(self, in_channels: int, c1: int, c2: tuple[int, int], c3: tuple[int, int],
                 c4: int) -> None:  # fmt: skip
        super().__init__()
        self.b1 = nn.Conv2d(in_channels, c1, 1)
        self.b2_1 = nn.Conv2d(in_channels, c2[0], 1)
        self.b2_2 = nn.Conv2d(c2[0], c2[1], 3, padding=1)
        self.b3_1 = nn.Conv2d(in_channels, c3[0], 1)
        self.b3_2 = nn.Conv2d(c3[0], c3[1], 5, padding=2)
        self.b4_1 = nn.MaxPool2d(3, stride=1, padding=1)
        self.b4_2 = nn.Conv2d(in_channels, c4, 1)

    def forward(self, x: Tensor) -> Tensor:
        p1 = F.relu(self.b1(x))
        p2 = F.relu(self.b2_2(F.relu(self.b2_1(x))))
        p3 = F.relu(self.b3_2(F.relu(self.b3_1(x))))
        p4 = F.relu(self.b4_2(self.b4_1(x)))
        return torch.cat((p1, p2, p3, p4), dim=1)


def inception_net(width: float = 1.0) -> nn.Sequential:
    """A stem and two Inception blocks (a small multi-path network)."""
    c = _c(64, width)
    return nn.Sequential(
        nn.Conv2d(1, c, 7, stride=2, padding=3), nn.ReLU(), nn.MaxPool2d(3, stride=2, padding=1),
        Inception(c, _c(64, width), (_c(96, width), _c(128, width)),
                  (_c(16, width), _c(32, width)), _c(32, width)),
        Inception(_c(64, width) + _c(128, width) + _c(32, width) + _c(32, width), _c(128, width),
                  (_c(128, width), _c(192, width)), (_c(32, width), _c(96, width)), _c(64, width)),
    )  # fmt: skip


class _Skip(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.down = nn.Sequential(nn.Conv2d(channels, channels, 3, stride=2, padding=1), nn.ReLU())
        self.up = nn.ConvTranspose2d(channels, channels, 4, stride=2, padding=1)
        self.merge = nn.Conv2d(2 * channels, channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.merge(torch.cat([x, self.up(self.down(x))], 1))


def unet_like(width: float = 1.0) -> nn.Sequential:
    """Down with a strided convolution, up with a transposed one, concatenated with the skip."""
    c = _c(16, width)
    return nn.Sequential(nn.Conv2d(1, c, 3, padding=1), nn.ReLU(), _Skip(c), nn.ReLU(),
                         nn.Conv2d(c, 1, 1))  # fmt: skip
