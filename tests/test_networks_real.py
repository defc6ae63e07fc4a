"""Networks as people write them, against torch at ~30 sizes each.

Each network is traced once with symbolic sizes; at every size the conditions derive recorded
must hold exactly when torch's forward accepts, its formulas must give torch's shape, and the
accepted set solved from the conditions must agree; a few sizes also go through derive's
concrete run (a ShapeError exactly when torch raises). Inception, DenseNet, SqueezeNet,
ShuffleNetV2, MobileNetV3, EfficientNet, ResNeXt, HRNet, YOLO, Swin, TCN, 3-D stems, forwards
doing arithmetic on ``x.shape``, and ``flatten`` into ``Linear``.
"""

from __future__ import annotations

import random

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from networks_check import (  # noqa: E402
    Lambda,
    candidate_points,
    derive_shapes,
    evaluated,
    one_thread,  # noqa: F401  (the autouse fixture)
    output_at,
    torch_shapes,
)
from torch import nn  # noqa: E402

from derive import ShapeError  # noqa: E402
from derive.grammar import size_symbol  # noqa: E402
from derive.networks.admissible import solve_constraints  # noqa: E402
from derive.networks.quasi import evaluate  # noqa: E402
from derive.networks.trace import trace  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore")

H, W, D, L = (size_symbol(n) for n in "HWDL")


def conv_bn(cin, cout, k=3, s=1, p=None, g=1, act=nn.ReLU):
    p = k // 2 if p is None else p
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, p, groups=g, bias=False),
                         nn.BatchNorm2d(cout), act())  # fmt: skip


class Inception(nn.Module):
    def __init__(self, c=4):
        super().__init__()
        self.b1 = conv_bn(c, 2, 1)
        self.b2 = nn.Sequential(conv_bn(c, 2, 1), conv_bn(2, 3, 3))
        self.b3 = nn.Sequential(conv_bn(c, 2, 1), conv_bn(2, 2, 5, p=2))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), conv_bn(c, 2, 1))
        self.b5 = nn.Sequential(conv_bn(c, 2, (1, 7), p=(0, 3)), conv_bn(2, 2, (7, 1), p=(3, 0)))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x), self.b5(x)], 1)


class InceptionNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(conv_bn(3, 4, 7, 2, 3), nn.MaxPool2d(3, 2, ceil_mode=True))
        self.block = Inception(4)
        self.down = nn.MaxPool2d(3, 2)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2),
                                  nn.Linear(11, 5))  # fmt: skip

    def forward(self, x):
        return self.head(self.down(self.block(self.stem(x))))


class DenseLayer(nn.Module):
    def __init__(self, cin, growth):
        super().__init__()
        self.bn, self.conv1 = nn.BatchNorm2d(cin), nn.Conv2d(cin, 4, 1, bias=False)
        self.conv2 = nn.Conv2d(4, growth, 3, padding=1, bias=False)

    def forward(self, features):
        x = torch.cat(features, 1) if isinstance(features, list) else features
        return self.conv2(F.relu(self.conv1(F.relu(self.bn(x)))))


class DenseNet(nn.Module):
    def __init__(self, growth=2, layers=3):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 4, 7, 2, 3), nn.MaxPool2d(3, 2, 1))
        self.layers = nn.ModuleList(DenseLayer(4 + i * growth, growth) for i in range(layers))
        c = 4 + layers * growth
        self.transition = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, 5, 1),
                                        nn.AvgPool2d(2, 2))  # fmt: skip
        self.fc = nn.Linear(5, 3)

    def forward(self, x):
        features = [self.stem(x)]
        for layer in self.layers:
            features.append(layer(features))
        x = self.transition(torch.cat(features, 1))
        x = F.adaptive_avg_pool2d(F.relu(x), (1, 1))
        return self.fc(torch.flatten(x, 1))


class Fire(nn.Module):
    def __init__(self, cin, s, e):
        super().__init__()
        self.squeeze = nn.Conv2d(cin, s, 1)
        self.e1, self.e3 = nn.Conv2d(s, e, 1), nn.Conv2d(s, e, 3, padding=1)

    def forward(self, x):
        x = F.relu(self.squeeze(x), inplace=True)
        return torch.cat([F.relu(self.e1(x)), F.relu(self.e3(x))], 1)


def squeezenet():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2), nn.ReLU(inplace=True),
        nn.MaxPool2d(3, 2, ceil_mode=True), Fire(8, 2, 4), Fire(8, 2, 4),
        nn.MaxPool2d(3, 2, ceil_mode=True), Fire(8, 3, 4),
        nn.Dropout(0.5), nn.Conv2d(8, 5, 1), nn.ReLU(), nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),
    )  # fmt: skip


def channel_shuffle(x, groups):
    b, c, h, w = x.size()
    x = x.view(b, groups, c // groups, h, w)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(b, -1, h, w)


class ShuffleUnit(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.stride = stride
        branch = cout // 2
        if stride > 1:
            self.branch1 = nn.Sequential(
                nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False),
                nn.BatchNorm2d(cin),
                nn.Conv2d(cin, branch, 1, bias=False),
                nn.BatchNorm2d(branch),
                nn.ReLU(),
            )
        else:
            self.branch1 = nn.Sequential()
        cin2 = cin if stride > 1 else branch
        self.branch2 = nn.Sequential(
            nn.Conv2d(cin2, branch, 1, bias=False),
            nn.BatchNorm2d(branch),
            nn.ReLU(),
            nn.Conv2d(branch, branch, 3, stride, 1, groups=branch, bias=False),
            nn.BatchNorm2d(branch),
            nn.Conv2d(branch, branch, 1, bias=False),
            nn.ReLU(),
        )

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


def shufflenet():
    return nn.Sequential(conv_bn(3, 4, 3, 2), nn.MaxPool2d(3, 2, 1), ShuffleUnit(4, 8, 2),
                         ShuffleUnit(8, 8, 1), ShuffleUnit(8, 8, 1))  # fmt: skip


class SqueezeExcitation(nn.Module):
    def __init__(self, c, s):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1, self.fc2 = nn.Conv2d(c, s, 1), nn.Conv2d(s, c, 1)

    def forward(self, x):
        scale = self.fc2(F.relu(self.fc1(self.avgpool(x))))
        return x * F.hardsigmoid(scale)


class MobileV3Block(nn.Module):
    def __init__(self, cin, exp, cout, k, stride, se=True):
        super().__init__()
        self.use_res = stride == 1 and cin == cout
        layers = [
            conv_bn(cin, exp, 1, act=nn.Hardswish),
            conv_bn(exp, exp, k, stride, g=exp, act=nn.Hardswish),
        ]
        if se:
            layers.append(SqueezeExcitation(exp, 4))
        layers.append(nn.Sequential(nn.Conv2d(exp, cout, 1, bias=False), nn.BatchNorm2d(cout)))
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        y = self.block(x)
        return y + x if self.use_res else y


def mobilenetv3():
    return nn.Sequential(conv_bn(3, 4, 3, 2, act=nn.Hardswish), MobileV3Block(4, 8, 4, 3, 1),
                         MobileV3Block(4, 12, 6, 5, 2), MobileV3Block(6, 12, 6, 5, 1),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(1), nn.Linear(6, 4))  # fmt: skip


def stochastic_depth(x, p, training):
    if not training or p == 0.0:
        return x
    keep = torch.empty([x.shape[0]] + [1] * (x.ndim - 1)).bernoulli_(1 - p)
    return x * keep / (1 - p)


class MBConv(nn.Module):
    def __init__(self, cin, cout, expand, k, stride):
        super().__init__()
        exp = cin * expand
        self.res = stride == 1 and cin == cout
        self.expand = conv_bn(cin, exp, 1, act=nn.SiLU) if expand != 1 else nn.Identity()
        self.dw = conv_bn(exp, exp, k, stride, g=exp, act=nn.SiLU)
        self.se = SqueezeExcitation(exp, 2)
        self.project = nn.Sequential(nn.Conv2d(exp, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.project(self.se(self.dw(self.expand(x))))
        if self.res:
            y = stochastic_depth(y, 0.2, self.training) + x
        return y


def efficientnet():
    return nn.Sequential(conv_bn(3, 4, 3, 2, act=nn.SiLU), MBConv(4, 4, 1, 3, 1),
                         MBConv(4, 6, 4, 5, 2), MBConv(6, 6, 4, 3, 1))  # fmt: skip


class ResNeXtBlock(nn.Module):
    def __init__(self, cin, width, cout, stride, groups=4):
        super().__init__()
        self.conv1 = conv_bn(cin, width, 1)
        self.conv2 = conv_bn(width, width, 3, stride, g=groups)
        self.conv3 = nn.Sequential(nn.Conv2d(width, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                      nn.BatchNorm2d(cout))  # fmt: skip

    def forward(self, x):
        identity = x if self.down is None else self.down(x)
        return F.relu(self.conv3(self.conv2(self.conv1(x))) + identity)


def resnext():
    return nn.Sequential(conv_bn(3, 8, 7, 2, 3), nn.MaxPool2d(3, 2, 1),
                         ResNeXtBlock(8, 8, 8, 1), ResNeXtBlock(8, 8, 12, 2))  # fmt: skip


class HRFusion(nn.Module):
    def __init__(self, c=4):
        super().__init__()
        self.down = conv_bn(c, 2 * c, 3, 2)
        self.b_high = conv_bn(c, c, 3)
        self.b_low = conv_bn(2 * c, 2 * c, 3)
        self.up = nn.Conv2d(2 * c, c, 1)
        self.down2 = nn.Conv2d(c, 2 * c, 3, 2, 1)

    def forward(self, x):
        low = self.down(x)
        high, low = self.b_high(x), self.b_low(low)
        y_high = high + F.interpolate(self.up(low), scale_factor=2, mode="nearest")
        y_low = low + self.down2(high)
        return y_high, y_low


class YoloNeck(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = conv_bn(3, 4, 3, 2)
        self.c2 = conv_bn(4, 8, 3, 2)
        self.c3 = conv_bn(8, 8, 3, 2)
        self.lat = conv_bn(8, 4, 1)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.out = conv_bn(12, 6, 3)

    def forward(self, x):
        p3 = self.c2(self.c1(x))
        p4 = self.c3(p3)
        return self.out(torch.cat([self.up(self.lat(p4)), p3], 1))


def window_partition(x, ws):
    b, h, w, c = x.shape
    x = x.view(b, h // ws, ws, w // ws, ws, c)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, ws, ws, c)


def window_reverse(windows, ws, h, w):
    b = int(windows.shape[0] / (h * w / ws / ws))
    x = windows.view(b, h // ws, w // ws, ws, ws, -1)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(b, h, w, -1)


class SwinBlock(nn.Module):
    def __init__(self, c=4, ws=4, shift=2):
        super().__init__()
        self.ws, self.shift = ws, shift
        self.patch = nn.Conv2d(3, c, 2, 2)
        self.norm = nn.LayerNorm(c)
        self.proj = nn.Linear(c, c)

    def forward(self, x):
        x = self.patch(x).permute(0, 2, 3, 1)
        _, h, w, c = x.shape
        shifted = torch.roll(self.norm(x), shifts=(-self.shift, -self.shift), dims=(1, 2))
        windows = window_partition(shifted, self.ws).view(-1, self.ws * self.ws, c)
        windows = self.proj(windows).view(-1, self.ws, self.ws, c)
        y = window_reverse(windows, self.ws, h, w)
        y = torch.roll(y, shifts=(self.shift, self.shift), dims=(1, 2))
        return x + y


class Chomp1d(nn.Module):
    def __init__(self, chomp):
        super().__init__()
        self.chomp = chomp

    def forward(self, x):
        return x[:, :, : -self.chomp].contiguous()


class TCN(nn.Module):
    def __init__(self, c=3, levels=3, k=3):
        super().__init__()
        self.blocks = nn.ModuleList()
        self.pads = []
        for i in range(levels):
            d = 2**i
            self.blocks.append(nn.Sequential(nn.Conv1d(c, c, k, padding=(k - 1) * d, dilation=d),
                                             Chomp1d((k - 1) * d), nn.ReLU()))  # fmt: skip
        self.causal = nn.Conv1d(c, 2, k, dilation=4)
        self.k = k

    def forward(self, x):
        for block in self.blocks:
            x = block(x) + x
        return self.causal(F.pad(x, ((self.k - 1) * 4, 0)))


def stem3d():
    return nn.Sequential(nn.Conv3d(2, 4, (3, 7, 7), (1, 2, 2), (1, 3, 3)), nn.BatchNorm3d(4),
                         nn.ReLU(), nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)),
                         nn.Conv3d(4, 4, 3, 2), nn.MaxPool3d(2, ceil_mode=True))  # fmt: skip


class ShapeArith(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, 2, 1)

    def forward(self, x):
        h, w = x.shape[-2:]
        y = self.conv(x)
        a = F.adaptive_avg_pool2d(y, (h // 4, w // 4))
        return F.interpolate(a, size=(h * 2 + 1, w), mode="bilinear", align_corners=False)


class FlattenLinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 3, 5),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(3, 4, 3),
            nn.MaxPool2d(2, ceil_mode=True),
        )
        self.fc = nn.Linear(4 * 5 * 5, 10)

    def forward(self, x):
        return self.fc(self.features(x).flatten(1))


class SwinTV(nn.Module):
    def __init__(self, ws=4, shift=2):
        super().__init__()
        self.ws, self.shift = ws, shift
        self.patch = nn.Conv2d(3, 4, 2, 2)
        self.proj = nn.Linear(4, 4)

    def forward(self, x):
        x = self.patch(x).permute(0, 2, 3, 1)
        B, h, w, C = x.shape
        pad_r = (self.ws - w % self.ws) % self.ws
        pad_b = (self.ws - h % self.ws) % self.ws
        x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
        _, ph, pw, _ = x.shape
        x = torch.roll(x, shifts=(-self.shift, -self.shift), dims=(1, 2))
        n = (ph // self.ws) * (pw // self.ws)
        x = (
            x.view(B, ph // self.ws, self.ws, pw // self.ws, self.ws, C)
            .permute(0, 1, 3, 2, 4, 5)
            .reshape(B * n, self.ws * self.ws, C)
        )
        x = self.proj(x)
        x = (
            x.view(B, ph // self.ws, pw // self.ws, self.ws, self.ws, C)
            .permute(0, 1, 3, 2, 4, 5)
            .reshape(B, ph, pw, C)
        )
        x = torch.roll(x, shifts=(self.shift, self.shift), dims=(1, 2))
        return x[:, :h, :w, :].contiguous()


class SwinSlash(nn.Module):
    def __init__(self, ws=4):
        super().__init__()
        self.ws = ws
        self.patch = nn.Conv2d(3, 4, 2, 2)

    def forward(self, x):
        x = self.patch(x).permute(0, 2, 3, 1)
        b, h, w, c = x.shape
        ws = self.ws
        win = (
            x.view(b, h // ws, ws, w // ws, ws, c)
            .permute(0, 1, 3, 2, 4, 5)
            .contiguous()
            .view(-1, ws, ws, c)
        )
        B = win.shape[0] // (h * w // ws // ws)
        return (
            win.view(B, h // ws, w // ws, ws, ws, -1)
            .permute(0, 1, 3, 2, 4, 5)
            .contiguous()
            .view(B, h, w, -1)
        )


class Focus(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(12, 4, 3, 1, 1)

    def forward(self, x):
        return self.conv(
            torch.cat(
                [x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2], x[..., 1::2, 1::2]], 1
            )
        )


class UNetUp(nn.Module):
    def __init__(self):
        super().__init__()
        self.down = nn.Conv2d(2, 4, 3, 2, 1)
        self.up = nn.ConvTranspose2d(4, 2, 3, 2, 1)

    def forward(self, x):
        y = self.up(self.down(x), output_size=x.size())
        return torch.cat([x, y], 1)


class UNetInterp(nn.Module):
    def __init__(self):
        super().__init__()
        self.down = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(2, 4, 3, 1, 1))

    def forward(self, x):
        y = F.interpolate(self.down(x), size=x.shape[-2:], mode="bilinear", align_corners=True)
        return torch.cat([x, y[:, :2]], 1)


class UNetPad(nn.Module):  # milesial
    def __init__(self):
        super().__init__()
        self.down = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(2, 4, 3, 1, 1))
        self.up = nn.ConvTranspose2d(4, 2, 2, 2)

    def forward(self, x2):
        x1 = self.up(self.down(x2))
        dy = x2.size()[2] - x1.size()[2]
        dx = x2.size()[3] - x1.size()[3]
        x1 = F.pad(x1, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        return torch.cat([x2, x1], dim=1)


class SegNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.MaxPool2d(2, 2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2, 2)
        self.c = nn.Conv2d(2, 2, 3, padding=1)

    def forward(self, x):
        size = x.size()
        y, idx = self.pool(x)
        y = self.c(y)
        return self.unpool(y, idx, output_size=size)


class NonLocal(nn.Module):
    def __init__(self):
        super().__init__()
        self.q = nn.Conv2d(4, 2, 1)
        self.k = nn.Conv2d(4, 2, 1)
        self.v = nn.Conv2d(4, 2, 1)
        self.o = nn.Conv2d(2, 4, 1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        b, c, h, w = x.shape
        q = self.q(x).view(b, 2, -1).permute(0, 2, 1)
        k = self.pool(self.k(x)).view(b, 2, -1)
        v = self.pool(self.v(x)).view(b, 2, -1).permute(0, 2, 1)
        a = torch.softmax(torch.bmm(q, k), -1)
        y = torch.matmul(a, v).permute(0, 2, 1).reshape(b, 2, h, w)
        return x + self.o(y)


def fold_back(x):
    h, w = x.shape[-2:]
    return F.fold(F.unfold(x, 2, stride=2), (h // 2 * 2, w // 2 * 2), 2, stride=2)


LAYERS = {
    "maxpool_ceil_pad": lambda: nn.Sequential(
        nn.MaxPool2d(3, 2, 1, ceil_mode=True), nn.MaxPool2d(2, 2, 1, ceil_mode=True)
    ),
    "avgpool_ceil": lambda: nn.Sequential(
        nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
        nn.AvgPool2d(2, ceil_mode=True),
    ),
    "maxpool_dilated": lambda: nn.MaxPool2d(3, 2, 1, dilation=2, ceil_mode=True),
    "pixel_shuffle": lambda: nn.Sequential(
        nn.PixelUnshuffle(2), nn.Conv2d(12, 8, 3, padding=1), nn.PixelShuffle(2)
    ),
    "adaptive_none": lambda: nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d((None, 3)), nn.AdaptiveMaxPool2d((5, None))
    ),
    "unfold": lambda: nn.Unfold(3, padding=1, stride=2),
    "fold": lambda: Lambda(fold_back),
}


#: name -> (factory, symbolic input shape, largest size tried)
NETWORKS = {
    "inception": (InceptionNet, (1, 3, H, W), 60),
    "densenet": (DenseNet, (1, 3, H, W), 60),
    "squeezenet": (squeezenet, (1, 3, H, W), 70),
    "shufflenet": (shufflenet, (1, 3, H, W), 70),
    "mobilenetv3": (mobilenetv3, (2, 3, H, W), 50),
    "efficientnet": (efficientnet, (1, 3, H, W), 50),
    "resnext": (resnext, (1, 3, H, W), 60),
    "hrnet_fusion": (HRFusion, (1, 4, H, W), 40),
    "yolo_neck": (YoloNeck, (1, 3, H, W), 60),
    "tcn": (TCN, (2, 3, L), 60),
    "stem3d": (stem3d, (1, 2, D, H, W), 30),
    "shape_arith": (ShapeArith, (1, 3, H, W), 40),
    "flatten_linear": (FlattenLinear, (1, 1, H, W), 120),
    "swin_padded": (SwinTV, (1, 3, H, W), 50),
    "swin_floor_division": (SwinSlash, (1, 3, H, W), 50),
    "yolov5_focus": (Focus, (1, 3, H, W), 30),
    "unet_output_size": (UNetUp, (1, 2, H, W), 40),
    "unet_interpolate_to_skip": (UNetInterp, (1, 2, H, W), 40),
    "unet_pad_to_skip": (UNetPad, (1, 2, H, W), 40),
    "segnet_unpool": (SegNet, (1, 2, H, W), 40),
    "non_local": (NonLocal, (1, 4, H, W), 20),
    **{name: (f, (1, 3, H, W), 40) for name, f in LAYERS.items()},
}


def points(adm, symbols, top, count=30, seed=""):
    """Sizes around the edges of derive's accepted set, random ones, and small ones (most
    rejected somewhere, odd and even)."""
    box = adm.boxes[0] if adm.boxes else None
    sample = {s: box.sizes[s].min() if box else 1 for s in symbols}
    out = candidate_points(adm, symbols, sample, top, count - 6, seed)
    rng = random.Random(seed)
    for _ in range(60):
        p = {s: rng.randint(1, 9) for s in symbols}
        if p not in out:
            out.append(p)
        if len(out) == count:
            break
    return out


def compare(factory, shape, top, count=30, concrete_every=5):
    """Disagreements of derive with torch at ``count`` sizes (empty when they agree)."""
    torch.manual_seed(0)
    net = factory().eval()
    t = trace(net, shape)
    adm = solve_constraints(t.constraints, t.symbols)
    wrong = []
    for i, point in enumerate(points(adm, t.symbols, top, count, seed=str(shape))):
        sizes = tuple(int(point.get(d, d)) if not isinstance(d, int) else d for d in shape)
        expected = torch_shapes(net, sizes)
        accepted = all(evaluate(c.condition, point) for c in t.constraints)
        got = evaluated(output_at(t, point), point) if accepted else None
        if got != expected:
            wrong.append(("symbolic", sizes, got, expected))
        if adm.exact and (point in adm) != (expected is not None):
            wrong.append(("admissible", sizes, point in adm, expected))
        if i % concrete_every == 0:
            got, _ = derive_shapes(net, sizes)
            if got != expected:
                wrong.append(("concrete", sizes, got, expected))
    return wrong


@pytest.mark.parametrize("name", list(NETWORKS))
def test_real_network_agrees_with_torch(name):
    factory, shape, top = NETWORKS[name]
    wrong = compare(factory, shape, top)
    assert not wrong, wrong[:4]


class Scaled(nn.Module):
    def __init__(self, scale):
        super().__init__()
        self.scale = scale

    def forward(self, x):
        return F.interpolate(x, scale_factor=self.scale, mode="nearest")


@pytest.mark.parametrize("scale", [0.5, 1.5, 0.75, 2.5])
def test_interpolate_by_a_small_dyadic_scale_is_exact_for_every_size(scale):
    assert not compare(lambda: Scaled(scale), (1, 2, L), 200)


@pytest.mark.parametrize("scale", [0.7, 0.29, 1.7, 0.1])
def test_interpolate_by_a_rounding_scale_is_refused_with_symbols_exact_with_numbers(scale):
    # torch: floor(double(n) * s); 10 * 0.7 is 7.0 in double, floor(10 * Fraction(0.7)) is 6
    net = Scaled(scale)
    with pytest.raises(ShapeError, match="not a dyadic fraction"):
        trace(net, (1, 2, L))
    for n in (1, 3, 10, 17, 100, 101):
        assert derive_shapes(net, (1, 2, n))[0] == torch_shapes(net, (1, 2, n))


def test_swin_window_reverse_int_of_a_quotient_is_refused_not_guessed():
    from derive.networks.symbolic import Unsupported

    with pytest.raises(Unsupported, match="__int__"):
        trace(SwinBlock(), (1, 3, H, W))
    net = SwinBlock()
    for n in (8, 16, 24, 12, 7):
        assert derive_shapes(net, (1, 3, n, 16))[0] == torch_shapes(net, (1, 3, n, 16))


#: arguments computed from the sizes, negative at small sizes: torch rejects there (before,
#: derive checked a negative length, count or output size only when it was negative at every
#: size, and gave negative output sizes)
SIZED_ARGUMENTS = {
    "narrow": lambda x: x.narrow(2, 2, x.shape[2] - 3),
    "split_with_sizes": lambda x: torch.split(x, [x.shape[2] - 4, 4], dim=2)[0],
    "repeat_interleave": lambda x: x.repeat_interleave(x.shape[2] - 3, dim=3),
    "repeat": lambda x: x.repeat(1, 1, 1, x.shape[2] - 3),
    "adaptive_output_size": lambda x: F.adaptive_avg_pool2d(x, (x.shape[2] - 3, 2)),
    # a split size 0 at H = 3 (torch rejects it there) and a piece count ceil(W / (H - 3))
    # that splits into cases: the rejection holds whatever the later cases say
    # a size formula in view/reshape/expand is a size where >= 0, torch's -1 ("infer",
    # "keep") where it is -1, and rejected below that: three cases
    "view_formula_and_minus_one": lambda x: x.view(1, 2, x.shape[2] - 5, -1),
    "reshape_formula_may_be_minus_one": lambda x: x.reshape(1, 2, x.shape[2] - 5, 1),
    "reshape_formula_alone": lambda x: x.reshape(x.shape[2] - 5, -1),
    "expand_formula": lambda x: x[:, :, :1, :1].expand(1, 2, x.shape[2] - 5, 3),
    "expand_leading_formula": lambda x: x.expand(x.shape[2] - 4, 2, -1, -1),
    "split_size": lambda x: torch.cat(
        [p.sum(dim=3, keepdim=True) for p in torch.split(x, x.shape[2] - 3, dim=3)], dim=3
    ),
}


@pytest.mark.parametrize("name", list(SIZED_ARGUMENTS))
def test_arguments_computed_from_sizes_are_checked_at_every_size(name):
    assert not compare(lambda: Lambda(SIZED_ARGUMENTS[name]), (1, 2, H, W), 14)
