"""The classic networks of the CNN chapters, written with ``torch.nn`` (no torchvision).

LeNet, AlexNet, VGG-11, NiN and ResNet-18 as "Dive into Deep Learning" builds them for
Fashion-MNIST: one input channel and 10 classes. Every factory takes ``width``, a factor
applied to every channel count and hidden width (``width=1`` is the book's network).
Spatial sizes do not depend on channel counts, so tests and the site run slimmed copies
(``width=1/16`` and so on) through torch to stay fast; the formulas are the same.

Each factory returns a fresh, randomly initialised module in training mode.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "lenet",
    "alexnet",
    "vgg11",
    "nin",
    "Residual",
    "resnet18",
    "resnet",
    "CLASSIC",
    "SAMPLE_SIZE",
]


def _c(channels: int, width: float) -> int:
    """A channel count scaled by ``width`` (at least 1)."""
    return max(1, round(channels * width))


def lenet(width: float = 1.0) -> nn.Sequential:
    """LeNet-5 with sigmoid activations and average pooling; its first Linear wants 16*5*5."""
    c1, c2, f1, f2 = _c(6, width), _c(16, width), _c(120, width), _c(84, width)
    return nn.Sequential(
        nn.Conv2d(1, c1, kernel_size=5, padding=2), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(c1, c2, kernel_size=5), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(c2 * 5 * 5, f1), nn.Sigmoid(),
        nn.Linear(f1, f2), nn.Sigmoid(),
        nn.Linear(f2, 10),
    )  # fmt: skip


def alexnet(width: float = 1.0) -> nn.Sequential:
    """AlexNet for 224x224 grey images: an 11x11 stride-4 convolution, three max-pools and
    a first Linear wanting 256*5*5 inputs."""
    c1, c2, c3, c5, f = (_c(n, width) for n in (96, 256, 384, 256, 4096))
    return nn.Sequential(
        nn.Conv2d(1, c1, kernel_size=11, stride=4, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(c1, c2, kernel_size=5, padding=2), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(c2, c3, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(c3, c3, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(c3, c5, kernel_size=3, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Flatten(),
        nn.Linear(c5 * 5 * 5, f), nn.ReLU(), nn.Dropout(p=0.5),
        nn.Linear(f, f), nn.ReLU(), nn.Dropout(p=0.5),
        nn.Linear(f, 10),
    )  # fmt: skip


def _vgg_block(num_convs: int, in_channels: int, out_channels: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for _ in range(num_convs):
        layers += [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1), nn.ReLU()]
        in_channels = out_channels
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


#: VGG-11: (number of 3x3 convolutions, output channels) per block
VGG11_ARCH = ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))


def vgg11(width: float = 1.0) -> nn.Sequential:
    """VGG-11: five blocks of 3x3 convolutions, each halving the size with a 2x2 max-pool;
    the first Linear wants 512*7*7 inputs."""
    blocks: list[nn.Module] = []
    in_channels = 1
    for num_convs, out_channels in VGG11_ARCH:
        out_channels = _c(out_channels, width)
        blocks.append(_vgg_block(num_convs, in_channels, out_channels))
        in_channels = out_channels
    f = _c(4096, width)
    return nn.Sequential(
        *blocks,
        nn.Flatten(),
        nn.Linear(in_channels * 7 * 7, f), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(f, f), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(f, 10),
    )  # fmt: skip


def _nin_block(in_channels: int, out_channels: int, kernel_size: int, stride: int,
               padding: int) -> nn.Sequential:  # fmt: skip
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
    )  # fmt: skip


def nin(width: float = 1.0) -> nn.Sequential:
    """Network in Network: NiN blocks (a convolution and two 1x1 convolutions), no Linear
    layer; global average pooling makes the 10 class scores."""
    c1, c2, c3 = _c(96, width), _c(256, width), _c(384, width)
    return nn.Sequential(
        _nin_block(1, c1, kernel_size=11, stride=4, padding=0),
        nn.MaxPool2d(3, stride=2),
        _nin_block(c1, c2, kernel_size=5, stride=1, padding=2),
        nn.MaxPool2d(3, stride=2),
        _nin_block(c2, c3, kernel_size=3, stride=1, padding=1),
        nn.MaxPool2d(3, stride=2),
        nn.Dropout(0.5),
        _nin_block(c3, 10, kernel_size=3, stride=1, padding=1),
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),
    )


class Residual(nn.Module):
    """ResNet's residual block: two 3x3 convolutions with batch norm, added to the input
    (through a strided 1x1 convolution when the shape changes), then ReLU."""

    def __init__(self, input_channels: int, num_channels: int, use_1x1conv: bool = False,
                 strides: int = 1) -> None:  # fmt: skip
        super().__init__()
        self.conv1 = nn.Conv2d(input_channels, num_channels, 3, padding=1, stride=strides)
        self.conv2 = nn.Conv2d(num_channels, num_channels, 3, padding=1)
        self.conv3 = (
            nn.Conv2d(input_channels, num_channels, 1, stride=strides) if use_1x1conv else None
        )
        self.bn1 = nn.BatchNorm2d(num_channels)
        self.bn2 = nn.BatchNorm2d(num_channels)

    def forward(self, X: Tensor) -> Tensor:
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3 is not None:
            X = self.conv3(X)
        Y += X
        return F.relu(Y)


def _resnet_stage(input_channels: int, num_channels: int, num_residuals: int,
                  first_block: bool = False) -> nn.Sequential:  # fmt: skip
    blocks: list[nn.Module] = []
    for i in range(num_residuals):
        if i == 0 and not first_block:
            blocks.append(Residual(input_channels, num_channels, use_1x1conv=True, strides=2))
        else:
            blocks.append(Residual(num_channels, num_channels))
    return nn.Sequential(*blocks)


def resnet(blocks: tuple[int, ...] = (2, 2, 2, 2), width: float = 1.0) -> nn.Sequential:
    """A ResNet with ``blocks[i]`` residual blocks in stage ``i`` (64, 128, 256, 512 channels
    times ``width``); every stage after the first halves the size."""
    c0 = _c(64, width)
    stages: list[nn.Module] = [
        nn.Sequential(
            nn.Conv2d(1, c0, kernel_size=7, stride=2, padding=3),
            nn.BatchNorm2d(c0), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        )  # fmt: skip
    ]
    channels = c0
    for i, n in enumerate(blocks):
        out = _c(64 * 2**i, width)
        stages.append(_resnet_stage(channels, out, n, first_block=(i == 0)))
        channels = out
    return nn.Sequential(
        *stages, nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(channels, 10)
    )


def resnet18(width: float = 1.0) -> nn.Sequential:
    """ResNet-18: a 7x7 stride-2 convolution, a max-pool, four stages of two residual blocks
    and global average pooling (17 convolutions and one Linear)."""
    return resnet((2, 2, 2, 2), width)


#: name -> (factory, the book's input size for it)
CLASSIC = {
    "LeNet": lenet,
    "AlexNet": alexnet,
    "VGG-11": vgg11,
    "NiN": nin,
    "ResNet-18": resnet18,
}

#: the input height and width the book feeds each network
SAMPLE_SIZE = {"LeNet": 28, "AlexNet": 224, "VGG-11": 224, "NiN": 224, "ResNet-18": 224}
