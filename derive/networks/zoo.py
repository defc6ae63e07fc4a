r"""Networks as people write them today, small enough to run in tests (our own code).

Each entry of :data:`ZOO` is a :class:`Entry`: a factory returning a fresh module in
evaluation mode (``width`` scales every channel count), the input shape with symbolic sizes
(:func:`derive.grammar.size_symbol` names ``H``, ``W``, ``D``, ``L``) and a sample size torch
accepts. Spatial sizes do not depend on channel counts, so the defaults are slim.

- ``unet2d``, ``unet2d_upsample``, ``unet2d_pad``, ``unet3d``: encoder-decoder with
  ``torch.cat`` skips, ``InstanceNorm``, max-pool down, ``ConvTranspose`` or ``Upsample``
  up (``unet2d_pad`` pads the upsampled map to the skip's size from ``x.shape``, as many
  U-Nets do, and so accepts more sizes);
- ``vit``: patch-embedding convolution, class token ``cat``, position-embedding ``add``,
  Transformer encoder; ``vit_einops``: the same with an einops ``Rearrange`` patchify;
- ``convnext_block`` (depthwise 7x7, channels-last ``LayerNorm`` via ``permute``),
  ``mobilenet_v2`` (inverted residuals: groups, ReLU6, strided), ``aspp`` (DeepLab: dilated
  convolutions, global pooling, ``F.interpolate`` to ``x.shape[-2:]``, ``cat``), ``fpn``
  (lateral 1x1 convolutions, nearest upsampling by 2 and ``add``);
- ``wavenet`` (1-D causal dilated stack: ``F.pad`` on the left, gated activations, residual
  and skip sums), ``lstm_conv`` (an LSTM over strided 1-D convolution features),
  ``transformer`` (``nn.TransformerEncoder`` over a linear embedding);
- ``pad_to_even``: a forward that branches on sizes (``if x.shape[-1] % 2: x = F.pad(...)``),
  which torch.fx cannot trace: derive answers it as a case split.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from derive.grammar import size_symbol

__all__ = ["Entry", "ZOO", "UNet", "ViT", "ConvNeXtBlock", "InvertedResidual", "ASPP", "FPN",
           "WaveNet", "LSTMOverConv", "TransformerNet", "PadToEven", "Bottleneck", "resnet50",
           "mobilenet_v2"]  # fmt: skip

H, W, D, L = (size_symbol(n) for n in ("H", "W", "D", "L"))


def _c(channels: int, width: float) -> int:
    return max(1, round(channels * width))


# -- U-Net ------------------------------------------------------------------------------------


def _block(dim: int, cin: int, cout: int) -> nn.Sequential:
    conv = nn.Conv2d if dim == 2 else nn.Conv3d
    norm = nn.InstanceNorm2d if dim == 2 else nn.InstanceNorm3d
    return nn.Sequential(
        conv(cin, cout, 3, padding=1), norm(cout, affine=True), nn.ReLU(inplace=True),
        conv(cout, cout, 3, padding=1), norm(cout, affine=True), nn.ReLU(inplace=True),
    )  # fmt: skip


class UNet(nn.Module):
    """U-Net with ``levels`` max-pool halvings; ``up`` is ``"transpose"`` (a 2x2 stride-2
    transposed convolution), ``"upsample"`` (``nn.Upsample`` then a 1x1 convolution) or
    ``"pad"`` (transposed convolution, then ``F.pad`` to the skip's size)."""

    def __init__(self, dim: int = 2, levels: int = 4, base: int = 4, in_channels: int = 1,
                 classes: int = 2, up: str = "transpose") -> None:  # fmt: skip
        super().__init__()
        self.dim, self.up_kind = dim, up
        widths = [base * 2**i for i in range(levels + 1)]
        self.stem = _block(dim, in_channels, widths[0])
        self.down = nn.ModuleList(_block(dim, widths[i], widths[i + 1]) for i in range(levels))
        self.pool = (nn.MaxPool2d if dim == 2 else nn.MaxPool3d)(2)
        rising = list(reversed(range(levels)))
        self.ups = nn.ModuleList(self._up(widths[i + 1], widths[i]) for i in rising)
        self.dec = nn.ModuleList(_block(dim, 2 * widths[i], widths[i]) for i in rising)
        self.head = (nn.Conv2d if dim == 2 else nn.Conv3d)(widths[0], classes, 1)

    def _up(self, cin: int, cout: int) -> nn.Module:
        conv_t = nn.ConvTranspose2d if self.dim == 2 else nn.ConvTranspose3d
        if self.up_kind == "upsample":
            mode = "bilinear" if self.dim == 2 else "trilinear"
            conv = nn.Conv2d if self.dim == 2 else nn.Conv3d
            return nn.Sequential(nn.Upsample(scale_factor=2, mode=mode, align_corners=False),
                                 conv(cin, cout, 1))  # fmt: skip
        return conv_t(cin, cout, 2, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        skips = [self.stem(x)]
        for block in self.down:
            skips.append(block(self.pool(skips[-1])))
        x = skips.pop()
        for up, dec in zip(self.ups, self.dec):
            skip = skips.pop()
            x = up(x)
            if self.up_kind == "pad":
                x = _pad_to(x, skip)
            x = dec(torch.cat([skip, x], dim=1))
        return self.head(x)


def _pad_to(x: Tensor, skip: Tensor) -> Tensor:
    """Pad ``x`` to ``skip``'s spatial size, half before and half after (sizes from
    ``.shape``, as in milesial's Pytorch-UNet)."""
    pad: list[int] = []
    for axis in range(x.dim() - 1, 1, -1):
        diff = skip.shape[axis] - x.shape[axis]
        pad += [diff // 2, diff - diff // 2]
    return F.pad(x, pad)


# -- ResNet-50 ---------------------------------------------------------------------------------


class Bottleneck(nn.Module):
    """ResNet-50's block: 1x1 reduce, 3x3 (strided), 1x1 expand by 4, batch norms, and the
    shortcut (a strided 1x1 convolution when the shape changes), added in place."""

    def __init__(self, cin: int, width: int, stride: int = 1) -> None:
        super().__init__()
        cout = 4 * width
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.shortcut = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout else nn.Identity()
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        y += self.shortcut(x)
        return F.relu(y)


def resnet50(width: float = 1.0, classes: int = 1000) -> nn.Module:
    """ResNet-50: a 7x7 stride-2 stem, max pooling, stages of 3, 4, 6 and 3 bottlenecks
    (53 convolutions), global average pooling and a Linear layer."""
    c = _c(64, width)
    layers: list[nn.Module] = [nn.Conv2d(3, c, 7, 2, 3, bias=False), nn.BatchNorm2d(c),
                               nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)]  # fmt: skip
    cin = c
    for i, blocks in enumerate((3, 4, 6, 3)):
        w = _c(64 * 2**i, width)
        stage = [Bottleneck(cin, w, 1 if i == 0 else 2)]
        stage += [Bottleneck(4 * w, w) for _ in range(blocks - 1)]
        layers.append(nn.Sequential(*stage))
        cin = 4 * w
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes)]
    return nn.Sequential(*layers)


# -- ViT ---------------------------------------------------------------------------------------


class ViT(nn.Module):
    """A small Vision Transformer for ``image``-sized inputs: ``patch`` x ``patch`` patches
    embedded by a strided convolution (or an einops ``Rearrange`` and a ``Linear``), a class
    token concatenated in front, learnt position embeddings added, a Transformer encoder."""

    def __init__(self, image: int = 32, patch: int = 8, dim: int = 16, depth: int = 1,
                 heads: int = 2, classes: int = 10, in_channels: int = 3,
                 einops: bool = False) -> None:  # fmt: skip
        super().__init__()
        count = (image // patch) ** 2
        if einops:
            from einops.layers.torch import Rearrange

            self.embed: nn.Module = nn.Sequential(
                Rearrange("b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=patch, p2=patch),
                nn.Linear(patch * patch * in_channels, dim),
            )
        else:
            self.embed = nn.Conv2d(in_channels, dim, patch, stride=patch)
        self.einops = einops
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.zeros(1, count + 1, dim))
        layer = nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.embed(x)
        if not self.einops:
            x = x.flatten(2).transpose(1, 2)
        cls = self.cls.expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1) + self.pos
        x = self.norm(self.encoder(x))
        return self.head(x[:, 0])


# -- convolutional blocks --------------------------------------------------------------------


class ConvNeXtBlock(nn.Module):
    """ConvNeXt's block: depthwise 7x7, channels-last LayerNorm (``permute``), an MLP, a
    learnt scale and the residual."""

    def __init__(self, dim: int = 8) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(1e-6 * torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.pwconv2(self.act(self.pwconv1(self.norm(y))))
        return x + (self.gamma * y).permute(0, 3, 1, 2)


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1x1 expansion, 3x3 depthwise (``groups``, ``stride``), 1x1
    projection, ReLU6; the residual when the stride is 1 and the widths agree."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int = 4) -> None:
        super().__init__()
        hidden = cin * expand
        self.residual = stride == 1 and cin == cout
        self.conv = nn.Sequential(
            nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout),
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.residual else self.conv(x)


def mobilenet_v2(width: float = 1.0) -> nn.Module:
    """A MobileNetV2 stem and four inverted residuals (two strided), global pooling, head."""
    c = [_c(n, width) for n in (8, 8, 12, 12, 16)]
    return nn.Sequential(
        nn.Conv2d(3, c[0], 3, 2, 1, bias=False), nn.BatchNorm2d(c[0]), nn.ReLU6(inplace=True),
        InvertedResidual(c[0], c[1], 1), InvertedResidual(c[1], c[2], 2),
        InvertedResidual(c[2], c[3], 1), InvertedResidual(c[3], c[4], 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c[4], 10),
    ).eval()  # fmt: skip


class ASPP(nn.Module):
    """DeepLab's atrous spatial pyramid pooling over a stride-4 backbone: a 1x1 branch, 3x3
    branches dilated by ``rates``, and a global-pooling branch interpolated back to the
    feature map's size (``F.interpolate(size=x.shape[-2:])``), concatenated and projected."""

    def __init__(self, cin: int = 3, dim: int = 8, rates: tuple[int, ...] = (2, 3)) -> None:
        super().__init__()
        self.backbone = nn.Sequential(
            nn.Conv2d(cin, dim, 3, 2, 1), nn.ReLU(), nn.Conv2d(dim, dim, 3, 2, 1), nn.ReLU()
        )
        self.branches = nn.ModuleList([nn.Conv2d(dim, dim, 1)] + [
            nn.Conv2d(dim, dim, 3, padding=r, dilation=r) for r in rates
        ])  # fmt: skip
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(dim, dim, 1), nn.ReLU())
        self.project = nn.Conv2d(dim * (len(rates) + 2), dim, 1)

    def forward(self, x: Tensor) -> Tensor:
        x = self.backbone(x)
        outs = [branch(x) for branch in self.branches]
        pooled = self.pool(x)
        outs.append(F.interpolate(pooled, size=x.shape[-2:], mode="bilinear",
                                  align_corners=False))  # fmt: skip
        return self.project(torch.cat(outs, dim=1))


class FPN(nn.Module):
    """Feature pyramid: three stride-2 stages, lateral 1x1 convolutions, a top-down path of
    nearest upsampling by 2 added to each lateral map; returns the three outputs."""

    def __init__(self, cin: int = 3, dims: tuple[int, ...] = (4, 8, 16), out: int = 8) -> None:
        super().__init__()
        chans = (cin, *dims)
        self.stages = nn.ModuleList(
            nn.Sequential(nn.Conv2d(chans[i], chans[i + 1], 3, 2, 1), nn.ReLU())
            for i in range(len(dims))
        )
        self.lateral = nn.ModuleList(nn.Conv2d(d, out, 1) for d in dims)
        self.smooth = nn.ModuleList(nn.Conv2d(out, out, 3, padding=1) for _ in dims)

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        top = self.lateral[-1](feats[-1])
        outs = [self.smooth[-1](top)]
        for i in range(len(feats) - 2, -1, -1):
            top = self.lateral[i](feats[i]) + F.interpolate(top, scale_factor=2, mode="nearest")
            outs.insert(0, self.smooth[i](top))
        return tuple(outs)


# -- sequences ---------------------------------------------------------------------------------


class WaveNet(nn.Module):
    """WaveNet's stack: causal dilated convolutions (``F.pad`` on the left by
    ``dilation * (kernel - 1)``), gated ``tanh * sigmoid`` units, residual and skip sums."""

    def __init__(self, cin: int = 1, dim: int = 8, dilations: tuple[int, ...] = (1, 2, 4, 8),
                 kernel: int = 2) -> None:  # fmt: skip
        super().__init__()
        self.kernel, self.dilations = kernel, dilations
        self.inp = nn.Conv1d(cin, dim, 1)
        self.filters = nn.ModuleList(nn.Conv1d(dim, dim, kernel, dilation=d) for d in dilations)
        self.gates = nn.ModuleList(nn.Conv1d(dim, dim, kernel, dilation=d) for d in dilations)
        self.res = nn.ModuleList(nn.Conv1d(dim, dim, 1) for _ in dilations)
        self.skip = nn.ModuleList(nn.Conv1d(dim, dim, 1) for _ in dilations)
        self.out = nn.Sequential(nn.ReLU(), nn.Conv1d(dim, dim, 1), nn.ReLU(),
                                 nn.Conv1d(dim, 4, 1))  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        x = self.inp(x)
        total = 0
        for d, f, g, r, s in zip(self.dilations, self.filters, self.gates, self.res, self.skip):
            padded = F.pad(x, (d * (self.kernel - 1), 0))
            z = torch.tanh(f(padded)) * torch.sigmoid(g(padded))
            x = x + r(z)
            total = total + s(z)
        return self.out(total)


class LSTMOverConv(nn.Module):
    """A strided 1-D convolution front end (length roughly divided by 4) read by a
    bidirectional LSTM (batch first), the last step classified."""

    def __init__(self, cin: int = 2, dim: int = 8, hidden: int = 6) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv1d(cin, dim, 5, stride=2), nn.ReLU(),
                                      nn.Conv1d(dim, dim, 3, stride=2), nn.ReLU())  # fmt: skip
        self.lstm = nn.LSTM(dim, hidden, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * hidden, 3)

    def forward(self, x: Tensor) -> Tensor:
        feats = self.features(x).transpose(1, 2)
        out, _ = self.lstm(feats)
        return self.head(out[:, -1])


class TransformerNet(nn.Module):
    """A linear embedding and a two-layer ``nn.TransformerEncoder`` (batch first); the mean
    over the sequence is classified."""

    def __init__(self, cin: int = 4, dim: int = 8, heads: int = 2, depth: int = 2) -> None:
        super().__init__()
        self.embed = nn.Linear(cin, dim)
        layer = nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.head = nn.Linear(dim, 2)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.encoder(self.embed(x)).mean(dim=1))


class PadToEven(nn.Module):
    """Pads odd heights and widths by one (a Python ``if`` on ``x.shape``), halves with a
    strided convolution, doubles back with nearest upsampling, crops to the input's size
    and adds the input: every size is accepted, through four cases."""

    def __init__(self, dim: int = 2) -> None:
        super().__init__()
        self.down = nn.Conv2d(dim, dim, 3, stride=2, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        y = x
        if w % 2:
            y = F.pad(y, (0, 1))
        if h % 2:
            y = F.pad(y, (0, 0, 0, 1))
        y = F.interpolate(self.down(y), scale_factor=2, mode="nearest")
        return x + y[..., :h, :w]


# -- the table -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One network of the zoo: how to build it, its input with symbolic sizes, a size torch
    accepts, and what it shows."""

    factory: Callable[[], nn.Module]
    input_shape: tuple
    sample: dict
    title: str


def _eval(factory: Callable[[], nn.Module]) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        torch.manual_seed(0)
        return factory().eval()

    build.__name__ = getattr(factory, "__name__", "build")
    return build


#: name -> :class:`Entry`
ZOO: dict[str, Entry] = {
    "unet2d": Entry(_eval(lambda: UNet(2, 4)), (1, 1, H, W), {H: 64, W: 48},
                    "2-D U-Net, 4 levels, transposed convolutions"),
    "unet2d_upsample": Entry(_eval(lambda: UNet(2, 3, up="upsample")), (1, 1, H, W),
                             {H: 40, W: 48}, "2-D U-Net, 3 levels, bilinear Upsample"),
    "unet2d_pad": Entry(_eval(lambda: UNet(2, 3, up="pad")), (1, 1, H, W), {H: 40, W: 37},
                        "2-D U-Net, 3 levels, decoder padded to the skip's size"),
    "unet3d": Entry(_eval(lambda: UNet(3, 2, base=2)), (1, 1, D, H, W),
                    {D: 8, H: 12, W: 16}, "3-D U-Net, 2 levels, InstanceNorm3d"),
    "vit": Entry(_eval(ViT), (1, 3, H, W), {H: 32, W: 32},
                 "ViT: patch-embedding convolution, class token, position embeddings"),
    "vit_einops": Entry(_eval(lambda: ViT(einops=True)), (1, 3, H, W), {H: 32, W: 32},
                        "ViT with an einops Rearrange patch embedding"),
    "convnext_block": Entry(_eval(ConvNeXtBlock), (1, 8, H, W), {H: 14, W: 9},
                            "ConvNeXt block: depthwise 7x7, channels-last LayerNorm"),
    "mobilenet_v2": Entry(_eval(mobilenet_v2), (1, 3, H, W), {H: 32, W: 24},
                          "MobileNetV2 inverted residuals"),
    "aspp": Entry(_eval(ASPP), (1, 3, H, W), {H: 33, W: 40},
                  "DeepLab ASPP: dilated convolutions, global pooling, interpolate, cat"),
    "fpn": Entry(_eval(FPN), (1, 3, H, W), {H: 32, W: 40},
                 "FPN: lateral 1x1 convolutions, upsample by 2 and add"),
    "wavenet": Entry(_eval(WaveNet), (1, 1, L), {L: 100},
                     "WaveNet: causal dilated 1-D convolutions"),
    "lstm_conv": Entry(_eval(LSTMOverConv), (1, 2, L), {L: 50},
                       "LSTM over strided 1-D convolution features"),
    "transformer": Entry(_eval(TransformerNet), (1, L, 4), {L: 12},
                         "Transformer encoder over a linear embedding"),
    "pad_to_even": Entry(_eval(PadToEven), (1, 2, H, W), {H: 9, W: 10},
                         "a forward branching on x.shape: odd sizes padded"),
}  # fmt: skip
