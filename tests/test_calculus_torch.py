"""The design calculus against torch: receptive fields by gradients and bumps, cost against
FlopCounterMode and sum(p.numel()), memory against autograd's saved tensors.

Random configurations (1-D and 2-D chains of convolutions, poolings and transposed
convolutions, some with two added branches), the classic networks (slim copies: spatial
sizes and receptive fields do not depend on channel counts), a ResNet-50-depth network, an
Inception-style concatenation and a U-Net-style skip. Every comparison must agree, and the
checker itself must catch a wrong rule.
"""

from __future__ import annotations

import random

import pytest
import sympy as sp

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import derive  # noqa: E402
from derive.calculus import analyse, layers  # noqa: E402
from derive.calculus.check import (  # noqa: E402
    check_cost,
    check_memory,
    check_receptive_field,
    one_thread,
    random_network,
    torch_flops,
    torch_saved_bytes,
)
from derive.calculus.models import (  # noqa: E402
    SqueezeExcite,
    inception_net,
    resnet50,
    unet_like,
)
from derive.errors import ShapeError  # noqa: E402
from derive.grammar import size_symbol  # noqa: E402
from derive.networks import classic  # noqa: E402
from derive.receptive import conv_window  # noqa: E402

H, W, N = size_symbol("H"), size_symbol("W"), size_symbol("N")
h, w = size_symbol("h"), size_symbol("w")

#: the number of random configurations checked (each against torch, every output position)
RANDOM_CONFIGURATIONS = 60


def _torch_rejects(net: nn.Module, shape: tuple[int, ...]) -> bool:
    try:
        with torch.no_grad(), one_thread():
            net(torch.zeros(shape))
    except RuntimeError:
        return True
    return False


def test_random_configurations_agree_with_torch() -> None:
    rng = random.Random(13)
    checked = positions = interior = 0
    for _ in range(RANDOM_CONFIGURATIONS):
        spatial = rng.choice((1, 2))
        net, _ = random_network(rng, spatial)
        shape = (1, 1, H) if spatial == 1 else (1, 1, H, W)
        values = {H: rng.randint(5, 24), W: rng.randint(5, 12)}
        concrete = tuple(int(sp.sympify(d).xreplace(values)) for d in shape)
        try:
            report = check_receptive_field(net, shape, values)
        except ShapeError:
            assert _torch_rejects(net, concrete), f"derive refused what torch runs: {net}"
            continue
        assert report.disagreements == [], (net, values, report.disagreements[:3])
        checked += 1
        positions += report.positions
        interior += report.interior
    assert checked >= RANDOM_CONFIGURATIONS * 3 // 4
    assert interior >= positions // 5  # the interior formula is exercised, not only the border


def test_random_configurations_cost_and_memory_agree_with_torch() -> None:
    rng = random.Random(5)
    checked = 0
    for _ in range(RANDOM_CONFIGURATIONS // 2):
        spatial = rng.choice((1, 2))
        net, _ = random_network(rng, spatial)
        shape = (N, 1, H) if spatial == 1 else (N, 1, H, W)
        values = {N: 2, H: rng.randint(5, 24), W: rng.randint(5, 12)}
        concrete = tuple(int(sp.sympify(d).xreplace(values)) for d in shape)
        try:
            analyse(net, concrete)  # at these sizes: torch must accept exactly when derive does
        except ShapeError:
            assert _torch_rejects(net, concrete), f"derive refused what torch runs: {net}"
            continue
        assert check_cost(net, shape, values) + check_memory(net, shape, values) == [], net
        checked += 1
    assert checked >= RANDOM_CONFIGURATIONS // 3


def test_the_checker_catches_a_wrong_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """A convolution window one entry too long must be found (the check can fail)."""

    def longer(k, s=1, p=0, d=1):
        return conv_window(k + 1, s, p, d)

    net = nn.Sequential(nn.Conv2d(1, 1, 3, stride=2), nn.Conv2d(1, 1, 2))
    assert check_receptive_field(net, (1, 1, H, W), {H: 12, W: 9}).disagreements == []
    monkeypatch.setattr(layers, "conv_window", longer)
    assert check_receptive_field(net, (1, 1, H, W), {H: 12, W: 9}).disagreements


def test_gradients_through_max_pooling_see_one_entry_per_window() -> None:
    """Why max pooling is read by bumps: its gradient reaches only the argmax."""
    net = nn.Sequential(nn.Conv2d(1, 1, 2), nn.MaxPool2d(2))
    assert check_receptive_field(net, (1, 1, H, W), {H: 9, W: 9}, method="gradient").disagreements
    assert check_receptive_field(net, (1, 1, H, W), {H: 9, W: 9}, method="bump").disagreements == []


def _features(name: str) -> nn.Module:
    """The spatial part of a classic network (before flattening), slimmed."""
    net = classic.CLASSIC[name](1 / 16)
    cut = next((i for i, m in enumerate(net) if isinstance(m, nn.Flatten)), len(net))
    return net[:cut]


NETWORKS = {
    "LeNet": (lambda: classic.lenet(1 / 16), (1, 1, H, W), {H: 28, W: 30}),
    "AlexNet": (lambda: _features("AlexNet"), (1, 1, H, W), {H: 67, W: 70}),
    "VGG-11": (lambda: _features("VGG-11"), (1, 1, H, W), {H: 64, W: 66}),
    "NiN": (lambda: classic.nin(1 / 16)[:4], (1, 1, H, W), {H: 40, W: 43}),
    "ResNet-18": (lambda: classic.resnet18(1 / 16), (1, 1, H, W), {H: 32, W: 37}),
    "Residual": (lambda: classic.Residual(1, 2, use_1x1conv=True, strides=2), (1, 1, H, W),
                 {H: 11, W: 12}),
    "ResNet-50": (lambda: resnet50(1 / 16, in_channels=1)[:6], (1, 1, H, W), {H: 33, W: 30}),
    "Inception": (lambda: inception_net(1 / 16), (1, 1, H, W), {H: 21, W: 19}),
    "U-Net": (lambda: unet_like(1 / 4), (1, 1, 2 * h, 2 * w), {h: 6, w: 7}),
    "Squeeze-excite": (lambda: nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), SqueezeExcite(3),
                                             nn.Conv2d(3, 1, 3)), (1, 1, H, W), {H: 9, W: 8}),
}  # fmt: skip


@pytest.mark.parametrize("name", list(NETWORKS))
def test_networks_receptive_fields_agree_with_torch(name: str) -> None:
    factory, shape, values = NETWORKS[name]
    report = check_receptive_field(factory(), shape, values, limit=30)
    assert report.disagreements == []
    assert report.positions >= 1


@pytest.mark.parametrize("name", list(classic.CLASSIC))
def test_classic_cost_and_memory_agree_with_torch(name: str) -> None:
    net, size = classic.CLASSIC[name](1 / 16), classic.SAMPLE_SIZE[name]
    values = {H: size, W: size, N: 2}
    assert check_cost(net, (N, 1, H, W), values) == []
    assert check_memory(net, (N, 1, H, W), values) == []


def test_resnet50_cost_and_memory_agree_with_torch() -> None:
    net = resnet50(1 / 16)
    assert derive.cost(resnet50(), (1, 3, H, W)).params == 25_557_032  # torchvision's count
    for values in ({H: 64, W: 64, N: 1}, {H: 61, W: 47, N: 2}):
        assert check_cost(net, (N, 3, H, W), values) == []
        assert check_memory(net, (N, 3, H, W), values) == []


def test_multi_path_cost_and_memory_agree_with_torch() -> None:
    se = nn.Sequential(nn.Conv2d(2, 4, 3), SqueezeExcite(4), nn.ReLU())
    for net, shape, values in ((inception_net(1 / 8), (N, 1, H, W), {N: 2, H: 23, W: 19}),
                               (unet_like(1 / 2), (N, 1, 2 * h, 2 * w), {N: 2, h: 5, w: 8}),
                               (se, (N, 2, H, W), {N: 2, H: 9, W: 7})):
        assert check_cost(net, shape, values) == []
        assert check_memory(net, shape, values) == []


def _after_conv(layer: nn.Module, channels: int = 4) -> nn.Module:
    return nn.Sequential(nn.Conv2d(2, channels, 3), layer)


LAYERS = {
    "BatchNorm2d": nn.BatchNorm2d(4), "BatchNorm2d eval": nn.BatchNorm2d(4).eval(),
    "GroupNorm": nn.GroupNorm(2, 4), "LayerNorm": nn.LayerNorm([5, 6]),
    "MaxPool2d": nn.MaxPool2d(2, ceil_mode=True), "AvgPool2d": nn.AvgPool2d(3, 1, 1),
    "AdaptiveAvgPool2d(1)": nn.AdaptiveAvgPool2d(1),
    "AdaptiveAvgPool2d(2)": nn.AdaptiveAvgPool2d(2),
    "AdaptiveMaxPool2d": nn.AdaptiveMaxPool2d((2, 3)), "ReLU": nn.ReLU(),
    "ReLU inplace": nn.ReLU(inplace=True), "Sigmoid": nn.Sigmoid(), "Tanh": nn.Tanh(),
    "GELU": nn.GELU(), "SiLU": nn.SiLU(), "LeakyReLU": nn.LeakyReLU(), "ReLU6": nn.ReLU6(),
    "Hardswish": nn.Hardswish(), "ELU": nn.ELU(), "Softmax": nn.Softmax(dim=1),
    "Dropout": nn.Dropout(0.3), "Dropout2d": nn.Dropout2d(0.3), "Dropout eval": nn.Dropout().eval(),
    "ConvTranspose2d": nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1),
    "Conv2d groups": nn.Conv2d(4, 6, 3, groups=2, padding=1),
    "Flatten+Linear": nn.Sequential(nn.Flatten(), nn.Linear(4 * 5 * 6, 3)),
}  # fmt: skip


@pytest.mark.parametrize("name", list(LAYERS))
def test_what_each_layer_keeps_for_backward_is_what_autograd_keeps(name: str) -> None:
    net = _after_conv(LAYERS[name])
    for dtype in ("float32", "float64"):
        ours = derive.memory(net, (2, 2, 7, 8), dtype).saved_bytes
        assert ours == torch_saved_bytes(net, (2, 2, 7, 8), getattr(torch, dtype)), name


def test_backward_flops_are_torchs_for_ungrouped_layers() -> None:
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 5, 3, stride=2),
                        nn.Flatten(), nn.Linear(5 * 3 * 3, 7))  # fmt: skip
    c = derive.cost(net, (2, 3, 10, 10))
    assert c.total.flops == torch_flops(net, (2, 3, 10, 10))
    assert c.total.flops + c.total.backward_flops == torch_flops(net, (2, 3, 10, 10), backward=True)
    # the first layer's input needs no gradient: its backward is the weight gradient only
    first, second = c.layers[0].cost, c.layers[2].cost
    assert (first.backward_macs, second.backward_macs) == (first.macs, 2 * second.macs)


def test_torch_counts_a_grouped_weight_gradient_as_if_ungrouped() -> None:
    """The one place derive's count (exact) and FlopCounterMode's differ: documented."""
    g = 4
    net = nn.Sequential(nn.Conv2d(4, 8, 3), nn.Conv2d(8, 8, 3, groups=g))
    c = derive.cost(net, (1, 4, 9, 9))
    grouped = c.layers[1].cost
    torch_total = torch_flops(net, (1, 4, 9, 9), backward=True)
    # FlopCounterMode counts the grouped layer's weight gradient g times over
    assert torch_total == c.total.flops + c.total.backward_flops + (g - 1) * grouped.flops


def test_symbolic_formulas_hold_at_every_size_checked() -> None:
    """One derivation in H and W, many sizes: the formulas are not re-derived per size."""
    net = classic.Residual(2, 4, use_1x1conv=True, strides=2)
    sym = analyse(net, (N, 2, H, W))
    flops, saved = sym.cost().flops, sym.memory().saved_bytes
    for hh, ww in ((5, 5), (8, 13), (17, 6)):
        point = {N: 2, H: hh, W: ww}
        assert int(flops.xreplace(point)) == torch_flops(net, (2, 2, hh, ww))
        assert int(saved.xreplace(point)) == torch_saved_bytes(net, (2, 2, hh, ww), torch.float32)


def test_layers_that_print_alike_are_not_confused() -> None:
    """AvgPool1d's repr hides ceil_mode: the shape memo must not mistake one for the other."""
    floor, ceil = nn.AvgPool1d(3, 2), nn.AvgPool1d(3, 2, ceil_mode=True)
    assert repr(floor) == repr(ceil)
    for net in (nn.Sequential(floor, ceil), nn.Sequential(ceil, floor)):
        a = analyse(net, (1, 1, 8))
        with torch.no_grad():
            shapes = [tuple(net[: k + 1](torch.zeros(1, 1, 8)).shape) for k in range(2)]
        assert [tuple(int(d) for d in n.shape) for n in a.nodes] == shapes


def test_layers_differing_only_in_their_bias_are_not_confused() -> None:
    net = nn.Sequential(nn.Conv2d(2, 3, 3), nn.Conv2d(3, 3, 1), nn.Conv2d(3, 3, 1, bias=False))
    c = derive.cost(net, (1, 2, 6, 6))
    assert [r.cost.params for r in c.layers] == [sum(p.numel() for p in m.parameters())
                                                  for m in net]  # fmt: skip


def test_refusals_name_the_layer() -> None:
    with pytest.raises(ShapeError, match="padding_mode='reflect'"):
        derive.receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3, padding_mode="reflect",
                                                       padding=1)), (1, 1, H, W))  # fmt: skip
    with pytest.raises(ShapeError, match=r"0 \(PReLU\): derive has no receptive-field"):
        derive.cost(nn.Sequential(nn.PReLU()), (1, 4, H, W))
    with pytest.raises(ShapeError, match="stride=2 and dilation=2"):
        derive.receptive_field(nn.ConvTranspose2d(1, 1, 3, stride=2, dilation=2), (1, 1, H, W))
