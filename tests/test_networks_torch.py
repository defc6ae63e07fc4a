"""derive.output_shape, trace and admissible_sizes against torch forward passes.

For every example: derive raises ShapeError exactly when torch's forward raises, the
shapes agree otherwise, and the symbolic trace agrees too (its conditions, evaluated at the
point, hold exactly when torch accepts; its formulas give torch's sizes). Networks are
slimmed (few channels) and run on zero tensors under ``torch.no_grad``.
"""

from __future__ import annotations

from collections import OrderedDict

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from derive import ShapeError, output_shape
from derive.grammar import size_symbol
from derive.networks import admissible_sizes, trace
from derive.networks.admissible import solve_constraints

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from networks_check import (  # noqa: E402
    agree,
    build,
    evaluated,
    ints,
    one_thread,  # noqa: E402, F401  (the autouse fixture)
    torch_shapes,
)

from derive.networks import classic  # noqa: E402  (needs torch)

pytestmark = pytest.mark.filterwarnings("ignore")



def torch_shape(module, shape, grad=False):
    """The shape(s) torch's forward returns for a zero input, or None if it raises."""
    return torch_shapes(module, shape, grad=grad)


CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
CONVT = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
MAXPOOL = {1: nn.MaxPool1d, 2: nn.MaxPool2d, 3: nn.MaxPool3d}
AVGPOOL = {1: nn.AvgPool1d, 2: nn.AvgPool2d, 3: nn.AvgPool3d}
ADAPTIVE = {
    (1, "avg"): nn.AdaptiveAvgPool1d, (2, "avg"): nn.AdaptiveAvgPool2d,
    (3, "avg"): nn.AdaptiveAvgPool3d, (1, "max"): nn.AdaptiveMaxPool1d,
    (2, "max"): nn.AdaptiveMaxPool2d, (3, "max"): nn.AdaptiveMaxPool3d,
}  # fmt: skip
BATCHNORM = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}


@st.composite
def input_shapes(draw, spatial, channels, max_size=9):
    """(N, C, *sizes) or unbatched (C, *sizes); sometimes a wrong channel count or rank."""
    c = channels if draw(st.integers(0, 5)) else channels + draw(st.integers(1, 2))
    sizes = [draw(st.integers(1, max_size)) for _ in range(spatial)]
    rank = draw(st.sampled_from(["batched", "batched", "unbatched", "extra"]))
    if rank == "batched":
        return (draw(st.integers(1, 2)), c, *sizes)
    if rank == "unbatched":
        return (c, *sizes)
    return (1, 1, c, *sizes)


# -- layers -------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_conv_layers(data):
    d = data.draw(st.sampled_from([1, 2, 2, 3]))
    groups = data.draw(st.sampled_from([1, 1, 2]))
    cin, cout = groups * data.draw(st.integers(1, 2)), groups * data.draw(st.integers(1, 2))
    k = data.draw(st.integers(1, 5))
    stride = data.draw(st.integers(1, 3))
    padding = data.draw(st.one_of(st.integers(0, 3), st.sampled_from(["same", "valid"])))
    mode = data.draw(st.sampled_from(["zeros", "zeros", "reflect", "replicate", "circular"]))
    dilation = data.draw(st.integers(1, 3))
    m = build(CONV[d], cin, cout, k, stride=stride, padding=padding, dilation=dilation,
              groups=groups, padding_mode=mode, bias=False)  # fmt: skip
    if m is None:
        return
    agree(m, data.draw(input_shapes(d, cin, 10 if d < 3 else 6)), solve=(d == 1))


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_conv_transpose_layers(data):
    d = data.draw(st.sampled_from([1, 2, 3]))
    groups = data.draw(st.sampled_from([1, 2]))
    cin, cout = groups, groups * data.draw(st.integers(1, 2))
    k, stride, dilation = (data.draw(st.integers(1, 4)) for _ in range(3))
    padding = data.draw(st.integers(0, 3))
    output_padding = data.draw(st.integers(0, 2))
    m = build(CONVT[d], cin, cout, k, stride=stride, padding=padding, dilation=dilation,
              output_padding=output_padding, groups=groups, bias=False)  # fmt: skip
    if m is None:
        return
    shape = data.draw(input_shapes(d, cin, 6))
    if 0 in (torch_shape(m, shape) or ()):
        return  # some torch CPU kernels return an empty tensor instead of raising
    agree(m, shape, solve=(d == 1))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_pool_layers(data):
    d = data.draw(st.sampled_from([1, 2, 2, 3]))
    kind = data.draw(st.sampled_from(["max", "avg"]))
    k = data.draw(st.integers(1, 5))
    stride = data.draw(st.one_of(st.none(), st.integers(1, 3)))
    padding = data.draw(st.integers(0, 3))
    ceil_mode = data.draw(st.booleans())
    if kind == "max":
        m = build(MAXPOOL[d], k, stride=stride, padding=padding, ceil_mode=ceil_mode,
                  dilation=data.draw(st.integers(1, 3)),
                  return_indices=data.draw(st.booleans()))  # fmt: skip
    else:
        m = build(AVGPOOL[d], k, stride=stride, padding=padding, ceil_mode=ceil_mode,
                  count_include_pad=data.draw(st.booleans()))  # fmt: skip
    if m is None:
        return
    shape = data.draw(input_shapes(d, 2, 10 if d < 3 else 6))
    agree(m, shape, solve=(d == 1), grad=data.draw(st.booleans()))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_adaptive_pool_layers(data):
    d = data.draw(st.sampled_from([1, 2, 3]))
    kind = data.draw(st.sampled_from(["avg", "max"]))
    out = tuple(data.draw(st.one_of(st.none(), st.integers(1, 4))) for _ in range(d))
    m = ADAPTIVE[d, kind](out if d > 1 else (out[0] or 2))
    agree(m, data.draw(input_shapes(d, 3, 7)), solve=True)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_normalisation_layers(data):
    kind = data.draw(st.sampled_from(["bn1", "bn2", "bn3", "ln", "gn"]))
    training = data.draw(st.booleans())
    if kind.startswith("bn"):
        d = int(kind[2])
        m = BATCHNORM[d](3)
        rank = data.draw(st.integers(2, 5))
        c = data.draw(st.sampled_from([3, 3, 2]))
        spatial = [data.draw(st.integers(1, 3)) for _ in range(rank - 2)]
        shape = (data.draw(st.integers(1, 2)), c, *spatial)
    elif kind == "ln":
        m = nn.LayerNorm((3, 4))
        rank = data.draw(st.integers(1, 4))
        shape = tuple(data.draw(st.sampled_from([1, 2, 3, 4])) for _ in range(rank))
    else:
        m = nn.GroupNorm(2, 4)
        shape = (1, data.draw(st.sampled_from([4, 4, 2])), data.draw(st.integers(1, 3)))
    m.train(training)
    agree(m, shape, symbolic=range(len(shape)), solve=True)


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_shape_preserving_and_dense_layers(data):
    layer = data.draw(st.sampled_from([
        nn.ReLU(), nn.Sigmoid(), nn.Tanh(), nn.GELU(), nn.LeakyReLU(0.1), nn.SiLU(),
        nn.Dropout(0.5), nn.Dropout1d(0.2), nn.Dropout2d(0.2), nn.Dropout3d(0.2),
        nn.Dropout2d(0.2).eval(), nn.Identity(), nn.Hardswish(), nn.ELU(),
        nn.Flatten(), nn.Flatten(0, 1), nn.Flatten(2), nn.Linear(4, 3), nn.Linear(6, 2),
        nn.Softmax(dim=1), nn.Unflatten(1, (2, -1)), nn.PReLU(), nn.PReLU(3),
    ]))  # fmt: skip
    rank = data.draw(st.integers(1, 4))
    shape = tuple(data.draw(st.integers(1, 6)) for _ in range(rank))
    agree(layer, shape, symbolic=range(len(shape)))


# -- traced forwards ---------------------------------------------------------------------


class DenseBlock(nn.Module):
    """DenseNet's block: each conv's output is concatenated onto its input."""

    def __init__(self, num_convs, in_channels, growth):
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Sequential(nn.BatchNorm2d(in_channels + i * growth), nn.ReLU(),
                          nn.Conv2d(in_channels + i * growth, growth, 3, padding=1))
            for i in range(num_convs)
        )  # fmt: skip

    def forward(self, x):
        for conv in self.convs:
            x = torch.cat((x, conv(x)), dim=1)
        return x


class TinyUNet(nn.Module):
    """Down by a strided conv, up by a transposed conv, skip joined with torch.cat:
    only even sizes line up."""

    def __init__(self):
        super().__init__()
        self.down = nn.Conv2d(2, 4, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(4, 2, 2, stride=2)
        self.head = nn.Conv2d(4, 1, 1)

    def forward(self, x):
        y = self.up(F.relu(self.down(x)))
        return self.head(torch.cat([x, y], dim=1))


class Functional(nn.Module):
    """view, reshape, permute, broadcasting against a parameter, mean with keepdim."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(3, 1, 1))
        self.conv = nn.Conv2d(3, 3, 3)
        self.fc = nn.Linear(12, 5)

    def forward(self, x):
        x = self.conv(x) * self.scale
        x = x - x.mean((2, 3), keepdim=True)
        x = F.max_pool2d(x, 2)
        x = x.permute(0, 2, 3, 1).reshape(x.size(0), -1, 3).transpose(1, 2)
        x = torch.flatten(x, 1)
        return self.fc(x.view(x.shape[0], -1))


class BadResidual(nn.Module):
    """A residual block whose main path is strided but whose shortcut is not."""

    def __init__(self, inplace):
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 3, stride=2, padding=1)
        self.inplace = inplace

    def forward(self, x):
        y = self.conv(x)
        if self.inplace:
            y += x
            return y
        return y + x


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_traced_modules(data):
    which = data.draw(st.sampled_from(
        ["residual", "residual1x1", "dense", "unet", "functional", "bad", "bad_inplace"]
    ))  # fmt: skip
    m = {
        "residual": lambda: classic.Residual(2, 2),
        "residual1x1": lambda: classic.Residual(2, 3, use_1x1conv=True, strides=2),
        "dense": lambda: DenseBlock(2, 2, 3),
        "unet": TinyUNet,
        "functional": Functional,
        "bad": lambda: BadResidual(False),
        "bad_inplace": lambda: BadResidual(True),
    }[which]()
    m.eval()
    c = 3 if which == "functional" else 2
    shape = (1, c, data.draw(st.integers(1, 12)), data.draw(st.integers(1, 12)))
    agree(m, shape, solve=True)


def test_unet_accepts_exactly_the_even_sizes():
    adm = admissible_sizes(TinyUNet(), (1, 2, size_symbol("H"), 6))
    assert adm.exact
    (box,) = adm.boxes
    (h,) = box.sizes.values()
    assert h.to_text("H") == "H >= 2 with H = 0 mod 2"
    for n in range(1, 30):
        assert (torch_shape(TinyUNet(), (1, 2, n, 6)) is not None) == (n in h)


def test_bad_residual_sizes_follow_broadcasting():
    H = size_symbol("H")
    for inplace in (False, True):
        m = BadResidual(inplace)
        adm = admissible_sizes(m, (1, 2, H, 1))
        for n in range(1, 12):
            assert ((n,) in adm) == (torch_shape(m, (1, 2, n, 1)) is not None), (inplace, n)


@st.composite
def stacks(draw):
    """A Sequential of 1-4 convolutions, poolings (ceil_mode too) and transposed convolutions."""
    layers = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["conv", "max", "max_ceil", "avg_ceil", "transpose"]))
        k, s = draw(st.integers(1, 4)), draw(st.integers(1, 3))
        if kind == "conv":
            layers.append(nn.Conv1d(1, 1, k, stride=s, padding=draw(st.integers(0, 2))))
        elif kind == "transpose":
            layers.append(nn.ConvTranspose1d(1, 1, k, stride=s, padding=draw(st.integers(0, 1))))
        elif kind.startswith("max"):
            layers.append(nn.MaxPool1d(k, s, padding=draw(st.integers(0, k // 2)),
                                       ceil_mode=kind.endswith("ceil")))  # fmt: skip
        else:
            layers.append(nn.AvgPool1d(k, s, padding=draw(st.integers(0, k // 2)), ceil_mode=True))
    return nn.Sequential(*layers)


@settings(max_examples=30, deadline=None)
@given(stacks())
def test_stacked_layers_admissible_lengths_match_torch(net):
    L = size_symbol("L")
    try:
        t = trace(net, (1, 1, L))
    except ShapeError:
        assert all(torch_shape(net, (1, 1, n)) is None for n in range(1, 40))
        return
    adm = solve_constraints(t.constraints, t.symbols)
    assert adm.exact, [str(c) for c in t.constraints]
    for n in range(1, 40):
        expected = torch_shape(net, (1, 1, n))
        if expected is not None and 0 in expected:
            continue  # an empty output torch returns instead of raising
        assert ((n,) in adm) == (expected is not None), (net, n, adm.to_text())
        if expected is not None:
            assert evaluated(t.output, {L: n}) == expected


# -- classic networks -----------------------------------------------------------------------

SLIM = {
    "LeNet": lambda: classic.lenet(1 / 3),
    "AlexNet": lambda: classic.alexnet(1 / 32),
    "VGG-11": lambda: classic.vgg11(1 / 32),
    "NiN": lambda: classic.nin(1 / 32),
    "ResNet-18": lambda: classic.resnet18(1 / 16),
}
_NETS: dict = {}
_ADMISSIBLE: dict = {}


def slim(name):
    if name not in _NETS:
        _NETS[name] = SLIM[name]()
    return _NETS[name]


def admissible(name):
    if name not in _ADMISSIBLE:
        H, W = size_symbol("H"), size_symbol("W")
        _ADMISSIBLE[name] = admissible_sizes(slim(name), (1, 1, H, W))
    return _ADMISSIBLE[name]


@st.composite
def near_boundaries(draw, name):
    """A size close to a boundary of the admissible set (or anywhere below 300)."""
    edges = [1]
    for box in admissible(name).boxes:
        for s in box.sizes.values():
            for r in s.runs:
                edges += [r.lo] + ([r.hi] if r.hi is not None else [])
    if draw(st.booleans()):
        return draw(st.integers(1, 300))
    return max(1, draw(st.sampled_from(edges)) + draw(st.integers(-2, 2)))


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_classic_networks(data):
    name = data.draw(st.sampled_from(list(SLIM)))
    h, w = data.draw(near_boundaries(name)), data.draw(near_boundaries(name))
    if name in ("VGG-11", "AlexNet") and h * w > 400 * 400:
        return
    net = slim(name)
    expected = torch_shape(net, (1, 1, h, w))
    assert ((h, w) in admissible(name)) == (expected is not None), (name, h, w)
    assert admissible(name).accepts((h, w)) == (expected is not None)
    try:
        got = ints(output_shape(net, (1, 1, h, w)))
    except ShapeError:
        got = None
    assert got == expected, (name, h, w)


def test_lenet_admissible_sizes_checked_at_every_boundary():
    adm = admissible("LeNet")
    assert adm.exact
    assert [b.to_text() for b in adm.boxes] == [
        "12 <= H <= 15, 108 <= W <= 111",
        "28 <= H <= 31, 28 <= W <= 31",
        "108 <= H <= 111, 12 <= W <= 15",
    ]
    net = slim("LeNet")
    for box in adm.boxes:
        (hs,), (ws,) = (s.runs for s in box.sizes.values())
        for h in (hs.lo - 1, hs.lo, hs.hi, hs.hi + 1):
            for w in (ws.lo - 1, ws.lo, ws.hi, ws.hi + 1):
                inside = hs.lo <= h <= hs.hi and ws.lo <= w <= ws.hi
                assert (torch_shape(net, (1, 1, h, w)) is not None) == inside, (h, w)


def test_the_book_sizes_are_admissible():
    for name, size in classic.SAMPLE_SIZE.items():
        assert (size, size) in admissible(name), name


def test_errors_name_the_layer():
    net = nn.Sequential(OrderedDict(
        features=nn.Sequential(nn.Conv2d(1, 4, 5), nn.ReLU(), nn.MaxPool2d(2),
                               nn.Conv2d(4, 8, 5)),
        head=nn.Sequential(nn.Flatten(), nn.Linear(8, 2)),
    ))  # fmt: skip
    with pytest.raises(ShapeError, match=r"^features\.3 \(Conv2d\): kernel_size=5"):
        output_shape(net, (1, 1, 12, 12))
    with pytest.raises(ShapeError, match=r"^head\.1 \(Linear\): in_features=8 does not match"):
        output_shape(net, (1, 1, 20, 20))
    with pytest.raises(ShapeError, match=r"^features\.0 \(Conv2d\): expected input with 1 chan"):
        output_shape(net, (1, 3, 20, 20))
    with pytest.raises(ShapeError, match=r"^1\.add \(add\): the size of tensor a"):
        output_shape(nn.Sequential(nn.Identity(), BadResidual(False)), (1, 2, 9, 9))
    assert output_shape(net, (1, 1, 14, 14)) == (1, 2)


def test_data_dependent_forwards_and_unknown_functions_are_refused_by_name():
    class DataDependent(nn.Module):
        def forward(self, x):
            return x if x.sum() > 0 else -x

    with pytest.raises(ShapeError, match=r"^block\.bool \(bool\): .*needs a tensor's values"):
        output_shape(nn.Sequential(OrderedDict(block=DataDependent())), (1, 2))

    class Fourier(nn.Module):
        def forward(self, x):
            return torch.fft.fft(x)

    with pytest.raises(ShapeError, match=r"^Fourier: unsupported function torch\.\S*fft"):
        output_shape(Fourier(), (1, 4))


def test_symbolic_resnet_formulas_match_torch_at_many_sizes():
    net = slim("ResNet-18")
    H, W = size_symbol("H"), size_symbol("W")
    t = trace(net, (1, 1, H, W))
    stage4 = [layer for layer in t.layers if layer.path == "4.1.add_"][0].shape
    assert stage4[2] == sp.floor((H - 1) / 32) + 1
    captured = {}
    hook = net[4][1].register_forward_hook(lambda m, i, o: captured.update(shape=tuple(o.shape)))
    try:
        for h, w in [(33, 40), (64, 65), (100, 37), (224, 224), (97, 161)]:
            torch_shape(net, (1, 1, h, w))
            point = {H: h, W: w}
            assert captured["shape"] == evaluated(stage4, point)
    finally:
        hook.remove()


def test_site_page_is_computed_deterministic_and_checked():
    from derive.render.pages.networks import render_page

    first = render_page()
    assert render_page() == first  # byte-identical rebuilds
    assert first.startswith("# Shapes through classic networks\n")
    for name in classic.CLASSIC:
        assert f"\n## {name}\n" in first
    lenet_part = first.split("\n## AlexNet\n")[0]
    for box in admissible("LeNet").boxes:
        assert f"- ${box.to_latex()}$" in lenet_part
    assert "| 28 x 28 | `(1, 10)` | `(1, 10)` | agree |" in lenet_part
    assert "Eq(16*(((H//4)) - 2)*(((W//4)) - 2), 400)" in lenet_part  # torch's own guard
    assert "0x" not in first  # no addresses
    assert "torch.fx" not in first
    # formulas in the reader's form (derive.printing), SymPy's own never
    from derive.printing import latex

    alexnet = trace(classic.alexnet(), (1, 1, size_symbol("H"), size_symbol("W")))
    first_size = alexnet.layers[0].shape[2]
    assert latex(first_size) in first and sp.latex(first_size) not in first
    # the zoo's sections: accepted sizes as formulas, the export specification, the checks
    from derive.networks import zoo_summary

    for heading, name in (("U-Net (2-D)", "unet2d"), ("Vision Transformer", "vit"),
                          ("DeepLab ASPP", "aspp"), ("WaveNet", "wavenet")):  # fmt: skip
        part = first.split(f"\n## {heading}\n")[1].split("\n## ")[0]
        summary = zoo_summary(name)
        for formula in summary.accepted_formulas():
            assert f"`{formula}`" in part
        assert summary.export.text() in part
        assert "### Checked against torch" in part and "| agree |" in part
        assert "read from torch by" in part


# -- forwards as people write them --------------------------------------------------------


def test_reused_modules_are_applied_as_often_as_forward_applies_them():
    p = nn.MaxPool2d(2)
    assert output_shape(nn.Sequential(p, nn.ReLU(), p), (1, 1, 16, 16)) == (1, 1, 4, 4)
    c = nn.Conv2d(1, 1, 3)
    net = nn.Sequential(c, c, c)
    assert output_shape(net, (1, 1, 16, 16)) == (1, 1, 10, 10)
    assert [layer.path for layer in trace(net, (1, 1, 16, 16)).layers] == ["0", "1", "2"]

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.pool = nn.MaxPool2d(2)
            self.blocks = nn.ModuleList([nn.Conv2d(1, 1, 3, padding=1)] * 3)

        def forward(self, x):
            for block in self.blocks:
                x = block(x)
            return self.pool(self.pool(x))

    H = size_symbol("H")
    t = trace(Twice(), (1, 1, H, 8))
    assert [(layer.path, layer.kind) for layer in t.layers] == [
        ("blocks.0", "Conv2d"), ("blocks.1", "Conv2d"), ("blocks.2", "Conv2d"),
        ("pool", "MaxPool2d"), ("pool#2", "MaxPool2d"),
    ]  # fmt: skip
    assert t.output == (1, 1, sp.floor(H / 4), 2)
    for n in range(1, 20):
        agree(Twice(), (1, 1, n, 8), solve=True)


def test_trace_stays_the_function_once_its_module_is_imported():
    import importlib

    output_shape(nn.ReLU(), (1, 2))
    importlib.import_module("derive.networks.trace")
    from derive.networks import trace as imported

    assert callable(imported) and imported(nn.ReLU(), (1, 2)).output == (1, 2)


class SkipBlock(nn.Module):
    """A decoder block whose skip connection is optional: ``isinstance(skip, Tensor)``."""

    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose2d(4, 2, 2, stride=2)
        self.conv = nn.Conv2d(4, 2, 3, padding=1)

    def forward(self, x, skip=None):
        x = self.up(x)
        if isinstance(skip, torch.Tensor):
            x = torch.cat([x, skip], dim=1)
        return self.conv(x)


class WithSkip(nn.Module):
    def __init__(self):
        super().__init__()
        self.down = nn.Conv2d(2, 4, 3, stride=2, padding=1)
        self.block = SkipBlock()

    def forward(self, x):
        return self.block(self.down(x), x)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 20), st.integers(1, 20))
def test_isinstance_tests_on_skip_connections_keep_the_skip(h, w):
    agree(WithSkip(), (1, 2, h, w), solve=True)


class LoopUntilSmall(nn.Module):
    """Halves while the width exceeds 8: a loop on a size."""

    def forward(self, x):
        while x.shape[-1] > 8:
            x = F.max_pool1d(x, 2)
        return x


def test_loops_on_sizes_are_cases_when_bounded_and_refused_when_not():
    for n in (*range(1, 20), 33, 64, 65, 100):
        agree(LoopUntilSmall(), (1, 1, n), symbolic=())
    with pytest.raises(ShapeError, match="size-dependent decisions along one run"):
        trace(LoopUntilSmall(), (1, 1, size_symbol("L")))


def test_unused_inputs_are_reported():
    class Ignores(nn.Module):
        def forward(self, x, y):
            return x * 2

    from derive.networks.trace import UnusedInputWarning

    with pytest.warns(UnusedInputWarning, match="argument 2 of forward"):
        t = trace(Ignores(), [(1, 2), (3, size_symbol("L"))])
    assert t.output == (1, 2)
    assert t.unused == ("Ignores: tensor argument 2 of forward (shape (3, L)) is never used",)


def test_einops_patterns_and_layers_agree_with_torch():
    einops = pytest.importorskip("einops")
    from einops.layers.torch import Rearrange, Reduce

    class Patches(nn.Module):
        def forward(self, x):
            y = einops.rearrange(x, "b c (h p) (w q) -> b (h w) (p q c)", p=4, q=2)
            z = einops.reduce(x, "b c (h 2) w -> b c h w", "max")
            return y, einops.repeat(z, "b c h w -> b c h w r", r=3)

    layers = nn.Sequential(Rearrange("b c (h p) w -> b h (p w c)", p=3),
                           Reduce("b h d -> b d", "mean"))  # fmt: skip
    for h in range(1, 14):
        for w in (1, 2, 4, 5, 8):
            agree(Patches(), (2, 3, h, w), solve=True)
            agree(layers, (2, 3, h, w), solve=True)
    adm = admissible_sizes(Patches(), (1, 3, size_symbol("H"), size_symbol("W")))
    assert adm.to_text() == "H >= 4 with H = 0 mod 4, W >= 2 with W = 0 mod 2"


class Shifted(nn.Module):
    """Needs W = H + 2 (an assert, as in code that wants a fixed aspect)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)

    def forward(self, x):
        assert x.shape[-1] == x.shape[-2] + 2, "width must be height + 2"
        return self.conv(x).flatten(2)


class SquareAfterStride(nn.Module):
    """Adds a feature map to its transpose after a strided convolution: needs
    ceil(H/2) = ceil(W/2) (or a side of 1), which boxes cannot express."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, stride=2, padding=1)

    def forward(self, x):
        y = self.conv(x)
        return y + y.transpose(-1, -2)


def test_sizes_coupled_linearly_are_solved_exactly_and_exported_with_one_dim():
    from derive.networks.export import export, export_spec

    H, W = size_symbol("H"), size_symbol("W")
    adm = admissible_sizes(Shifted(), (1, 1, H, W))
    assert adm.exact and adm.to_text() == "H >= 1, W = H + 2"
    for h in range(1, 8):
        for w in range(1, 10):
            accepted = torch_shape(Shifted(), (1, 1, h, w)) is not None
            assert ((h, w) in adm) == accepted == (w == h + 2), (h, w)
    spec = export_spec(Shifted(), (1, 1, H, W), {H: 4, W: 6})
    assert "3: h + 2" in spec.text()
    program = export(Shifted(), spec).module()
    assert tuple(program(torch.zeros(1, 1, 7, 9)).shape) == (1, 2, 63)


def test_sizes_coupled_otherwise_are_an_outer_bound_marked_as_such():
    H, W = size_symbol("H"), size_symbol("W")
    adm = admissible_sizes(SquareAfterStride(), (1, 1, H, W))
    assert not adm.exact and "not split by derive" in adm.to_text()
    for h in range(1, 9):
        for w in range(1, 9):
            accepted = torch_shape(SquareAfterStride(), (1, 1, h, w)) is not None
            assert ((h, w) in adm) == accepted == adm.accepts((h, w)), (h, w)
