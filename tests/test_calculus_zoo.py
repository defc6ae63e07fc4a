"""The design calculus on networks as people write them (derive.networks.zoo), against torch.

Receptive fields by gradients or bumps (derive.calculus.check), FLOPs against
FlopCounterMode, parameters against sum(p.numel()), saved bytes against autograd's saved
tensors, at the zoo's sample size and at other accepted sizes (a forward that branches on
sizes at a size of each case). What derive refuses is asserted too, with its reason: a
refusal is never silent and never a wrong number.
"""

from __future__ import annotations

import re

import pytest
import sympy as sp

torch = pytest.importorskip("torch")
from torch import Tensor, nn  # noqa: E402

import derive  # noqa: E402
from derive.calculus import analyse  # noqa: E402
from derive.calculus.check import (  # noqa: E402
    check_cost,
    check_memory,
    check_receptive_field,
    fixed_statistics,
    one_thread,
)
from derive.calculus.graph import Refused  # noqa: E402
from derive.grammar import size_symbol  # noqa: E402
from derive.networks import zoo  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore")

H, W, L, D, N = (size_symbol(n) for n in ("H", "W", "L", "D", "N"))

#: other accepted sizes per network (besides the zoo's sample); each is run through torch
#: first, so a size torch rejects fails the test instead of passing quietly
SIZES = {
    "unet2d": [{H: 32, W: 16}],
    "unet2d_upsample": [{H: 24, W: 16}],
    "unet2d_pad": [{H: 29, W: 22}],
    "unet3d": [{D: 4, H: 8, W: 12}],
    "vit": [{H: 35, W: 39}],
    "vit_einops": [],
    "convnext_block": [{H: 5, W: 6}],
    "mobilenet_v2": [{H: 17, W: 29}],
    "aspp": [{H: 21, W: 18}],
    "fpn": [{H: 2, W: 23}],  # H = 2: the top of the pyramid is broadcast
    "wavenet": [{L: 37}],
    "pad_to_even": [{H: 8, W: 7}, {H: 7, W: 7}, {H: 8, W: 8}],
}

#: receptive fields checked against torch (the others: see REFUSED and test_three_d)
FIELDS = ["unet2d", "unet2d_upsample", "unet2d_pad", "vit", "vit_einops", "convnext_block",
          "mobilenet_v2", "aspp", "fpn", "wavenet", "pad_to_even"]  # fmt: skip
#: cost and memory checked against torch
COSTS = ["unet2d", "unet2d_upsample", "unet2d_pad", "unet3d", "convnext_block", "mobilenet_v2",
         "aspp", "fpn", "wavenet", "pad_to_even"]  # fmt: skip
#: what derive refuses, and why (the refusal names the row)
REFUSED = {
    ("vit", "cost"): "encoder (TransformerEncoder): derive has no cost rule",
    ("vit", "memory"): "encoder (TransformerEncoder): derive does not know what this row keeps",
    ("lstm_conv", "fields"): "lstm (LSTM): derive has no receptive-field, cost and memory rule",
    ("transformer", "cost"): "encoder (TransformerEncoder): derive has no cost rule",
}


def _points(name: str) -> list[dict]:
    return [dict(zoo.ZOO[name].sample), *SIZES[name]]


def _accepted(net: nn.Module, shape: tuple) -> bool:
    try:
        with torch.no_grad(), one_thread():
            net(torch.zeros(shape))
    except RuntimeError:
        return False
    return True


def _concrete(shape: tuple, point: dict) -> tuple[int, ...]:
    return tuple(int(sp.sympify(d).xreplace(point)) for d in shape)


#: networks with instance norms, whose fields are checked with fixed statistics
#: (:func:`derive.calculus.check.fixed_statistics`)
INSTANCE_NORMS = {"unet2d", "unet2d_upsample", "unet2d_pad", "unet3d"}


@pytest.mark.parametrize("name", FIELDS)
def test_zoo_receptive_fields_agree_with_torch(name: str) -> None:
    entry = zoo.ZOO[name]
    net = entry.factory()
    if name in INSTANCE_NORMS:
        net = fixed_statistics(net)
    outputs = len(analyse(net, entry.input_shape).receptive_field().outputs[0][1])
    for point in _points(name):
        assert _accepted(net, _concrete(entry.input_shape, point)), (name, point)
        for k in range(outputs):
            report = check_receptive_field(net, entry.input_shape, point, limit=12, output=k)
            assert report.disagreements == [], (name, point, k, report.disagreements[:3])
            assert report.positions >= 1


@pytest.mark.parametrize("name", COSTS)
def test_zoo_cost_and_memory_agree_with_torch(name: str) -> None:
    entry = zoo.ZOO[name]
    net = entry.factory()
    shape = (N, *entry.input_shape[1:])
    for point in _points(name):
        values = {**point, N: 2}
        assert _accepted(net, _concrete(shape, values)), (name, point)
        assert check_cost(net, shape, values) == [], (name, point)
        assert check_memory(net, shape, values) == [], (name, point)


@pytest.mark.parametrize("name, part", list(REFUSED))
def test_what_derive_refuses_is_named(name: str, part: str) -> None:
    entry = zoo.ZOO[name]
    run = {"fields": derive.receptive_field, "cost": derive.cost, "memory": derive.memory}[part]
    with pytest.raises(Refused, match=re.escape(REFUSED[name, part])):
        run(entry.factory(), entry.input_shape)


def test_three_d_fields_are_formulas_without_a_torch_check() -> None:
    """The 3-D U-Net's fields are derived; torch's dependency sets are read in 1-D and 2-D."""
    entry = zoo.ZOO["unet3d"]
    rf = derive.receptive_field(entry.factory(), entry.input_shape)
    assert len(rf.output.fields) == 3
    with pytest.raises(Refused, match="1 or 2 spatial axes"):
        check_receptive_field(entry.factory(), entry.input_shape, entry.sample)


NORMS = {
    "InstanceNorm2d": nn.InstanceNorm2d(2, affine=True),
    "GroupNorm": nn.GroupNorm(1, 2),
    "LayerNorm over the map": nn.LayerNorm([7, 6]),
}


@pytest.mark.parametrize("name", list(NORMS))
def test_norms_that_read_the_whole_map(name: str) -> None:
    """An instance norm (no running statistics) reads the whole map: checked where
    positivity holds (no ReLU after it), by gradients."""
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), NORMS[name], nn.Conv2d(2, 1, 3))
    shape = (1, 1, 7, 6) if name.startswith("LayerNorm") else (1, 1, H, W)
    report = check_receptive_field(net, shape, {H: 7, W: 6})
    assert report.disagreements == [] and report.method == "gradient"
    if name != "LayerNorm over the map":
        assert derive.receptive_field(net, shape).output.size == (H + 2, W + 2)


def test_a_forward_that_branches_has_rows_and_totals_per_case() -> None:
    entry = zoo.ZOO["pad_to_even"]
    net = entry.factory()
    a = analyse(net, entry.input_shape)
    assert len(a.graphs) == 4
    cost = a.cost()
    assert {row.case for row in cost.layers} == {0, 1, 2, 3}
    assert isinstance(cost.macs, sp.Piecewise)
    rows = [n for n in a.nodes if n.case == 0]
    assert [n.path for n in rows] == [layer.path for layer in a.trace.cases[0].layers]
    with pytest.raises(Refused, match="several cases"):
        a.receptive_field().output  # noqa: B018


class _Reused(nn.Module):
    """One convolution applied twice, one pooling applied twice (issue 10's examples)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.pool = nn.Conv2d(2, 2, 3, padding=1), nn.MaxPool2d(2)

    def forward(self, x: Tensor) -> Tensor:
        return self.pool(self.conv(self.pool(self.conv(x))))


class _MaybeSkip(nn.Module):
    """A block that adds its skip only when it is a tensor (an isinstance test in forward)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 3, padding=2, dilation=2)

    def forward(self, x: Tensor, skip: Tensor | None = None) -> Tensor:
        y = self.conv(x)
        return y + skip if isinstance(skip, torch.Tensor) else y


class _SkipNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem, self.block = nn.Conv2d(1, 2, 3), _MaybeSkip()

    def forward(self, x: Tensor) -> Tensor:
        y = self.stem(x)
        return self.block(y, y)


def test_reused_modules_are_composed_once_per_application() -> None:
    net = _Reused()
    a = analyse(net, (N, 2, H, W))
    assert [n.path for n in a.nodes] == ["conv", "pool", "conv#2", "pool#2"]
    rf = a.receptive_field().output
    assert rf.size == (10, 10) and rf.jump == (4, 4)
    c = a.cost()
    assert c.params == sum(p.numel() for p in net.parameters())
    assert c.macs == c.layers[0].cost.macs + c.layers[2].cost.macs
    values = {N: 2, H: 12, W: 9}
    assert check_receptive_field(net, (1, 2, H, W), values).disagreements == []
    assert check_cost(net, (N, 2, H, W), values) == check_memory(net, (N, 2, H, W), values) == []


def test_a_skip_behind_an_isinstance_test_is_composed() -> None:
    """torch.fx would see a Proxy, not a tensor, and drop the skip; the tracer keeps it."""
    net = _SkipNet()
    a = analyse(net, (1, 1, H, W))
    add = a.nodes[-1]
    assert add.kind == "add" and len(add.operands) == 2
    values = {H: 11, W: 9}
    assert check_receptive_field(net, (1, 1, H, W), values).disagreements == []
    assert check_memory(net, (N, 1, H, W), {**values, N: 2}) == []


class _StaleView(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        y = x.view(x.shape[0], -1)
        x.relu_()  # y now reads the changed values too
        return y * 2


class _WrittenInto(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)

    def forward(self, x: Tensor) -> Tensor:
        y = self.conv(x)
        y[:, 0] = 0
        return y + 1


def test_data_flow_derive_cannot_follow_is_refused() -> None:
    """An in-place write through another view, or into a slice: refused, never composed."""
    with pytest.raises(Refused, match="changed in place after it was made"):
        derive.cost(nn.Sequential(nn.Conv2d(1, 1, 3), _StaleView()), (1, 1, H, W))
    with pytest.raises(Refused, match="writes into it in place"):
        derive.receptive_field(_WrittenInto(), (1, 1, H, W))


def test_package_functions_are_not_shadowed_by_submodules() -> None:
    """derive.calculus.memory, cost, receptive_field stay functions once analyses ran."""
    import importlib

    net = nn.Sequential(nn.Conv2d(1, 1, 3))
    derive.memory(net, (1, 1, H, W))
    derive.receptive_field(net, (1, 1, H, W))
    calculus = importlib.import_module("derive.calculus")
    for name in calculus.__all__:
        assert callable(getattr(calculus, name)) and not isinstance(
            getattr(calculus, name), type(calculus)), name  # fmt: skip
