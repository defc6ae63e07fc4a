"""Output sizes and rejections against PyTorch, over wide random configurations.

For every configuration either both reject (derive raises ShapeError, torch raises) or both
accept with equal sizes. 1-D layers go through derive.torch_check.torch_output_size; the 2-D
functions (whose C++ checks differ from the 1-D ones) are called on real tensors, with and
without autograd (max pooling has a separate no-grad 1-D path).
"""

from __future__ import annotations

import warnings

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from derive import ShapeError, conv_output_size, conv_transpose_output_size, pool_output_size
from derive.conv import plan_conv2d
from derive.pool import pool2d_windows
from derive.torch_check import TorchRejected, torch_output_size
from derive.transpose import plan_conv_transpose2d

torch = pytest.importorskip("torch")
F = torch.nn.functional

# torch warns that 'same' with an even kernel copies the input; it is not under test here
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")

REJECTED = "rejected"
N = sp.Symbol("n", integer=True, positive=True)

sizes = st.integers(1, 40)
kernels = st.integers(1, 9)
strides = st.integers(1, 6)
dilations = st.integers(1, 4)
pads = st.integers(0, 6)
output_pads = st.integers(0, 5)


def ours(fn, *args, **kwargs):
    try:
        value = fn(*args, **kwargs)
    except ShapeError:
        return REJECTED
    assert isinstance(value, sp.Integer), value
    return int(value)


def theirs(op, *args, **kwargs):
    value = torch_output_size(op, *args, **kwargs)
    return REJECTED if isinstance(value, TorchRejected) else value


def torch_2d(fn):
    """Run a torch call; its output's spatial shape, or REJECTED."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return tuple(fn().shape[-2:])
    except RuntimeError:
        return REJECTED


def derive_2d(fn):
    try:
        return fn()
    except ShapeError:
        return REJECTED


# --- 1-D: wide ranges ----------------------------------------------------------------------

conv_padding = st.one_of(
    pads, st.just("same"), st.just("valid"), st.tuples(pads, pads)
)


@settings(max_examples=1000)
@given(sizes, kernels, st.one_of(st.just(1), strides), conv_padding, dilations)
def test_conv_size_matches_torch(n, k, s, padding, d):
    """int, 'same', 'valid' and asymmetric (before, after) padding (torch: F.pad first)."""
    assert ours(conv_output_size, n, k, s, padding, d) == theirs("conv", n, k, s, padding, d)


@settings(max_examples=1000)
@given(sizes, kernels, st.one_of(st.none(), strides), pads, dilations, st.booleans())
def test_max_pool_size_matches_torch(n, k, s, p, d, ceil_mode):
    expected = theirs("max_pool", n, k, s, p, d, ceil_mode)
    assert ours(pool_output_size, n, k, s, p, d, ceil_mode) == expected


@settings(max_examples=1000)
@given(sizes, kernels, st.one_of(st.none(), strides), pads, st.booleans())
def test_avg_pool_size_matches_torch(n, k, s, p, ceil_mode):
    expected = theirs("avg_pool", n, k, s, p, 1, ceil_mode)
    assert ours(pool_output_size, n, k, s, p, 1, ceil_mode) == expected


@settings(max_examples=1000)
@given(sizes, kernels, strides, pads, output_pads, dilations)
def test_conv_transpose_size_matches_torch(n, k, s, p, op, d):
    expected = theirs("conv_transpose", n, k, s, p, output_padding=op, dilation=d)
    assert ours(conv_transpose_output_size, n, k, s, p, op, d) == expected


# --- 1-D: edges (zero and negative arguments, tiny sizes) ------------------------------------

tiny = st.integers(-2, 4)


@settings(max_examples=400)
@given(st.integers(0, 5), st.integers(0, 4), tiny, tiny, tiny)
def test_conv_edges_match_torch(n, k, s, p, d):
    """size 0, kernel 0, stride/padding/dilation zero or negative: reject exactly as torch."""
    assert ours(conv_output_size, n, k, s, p, d) == theirs("conv", n, k, s, p, d)


@settings(max_examples=400)
@given(st.integers(0, 5), st.integers(-1, 4), tiny, tiny, tiny, st.booleans())
def test_pool_edges_match_torch(n, k, s, p, d, ceil_mode):
    assert ours(pool_output_size, n, k, s, p, d, ceil_mode) == theirs(
        "max_pool", n, k, s, p, d, ceil_mode
    )
    assert ours(pool_output_size, n, k, s, p, 1, ceil_mode) == theirs(
        "avg_pool", n, k, s, p, 1, ceil_mode
    )


@settings(max_examples=400)
@given(st.integers(0, 5), st.integers(0, 4), tiny, tiny, st.integers(-1, 4), tiny)
def test_conv_transpose_edges_match_torch(n, k, s, p, op, d):
    expected = theirs("conv_transpose", n, k, s, p, output_padding=op, dilation=d)
    assert ours(conv_transpose_output_size, n, k, s, p, op, d) == expected


def test_rules_discovered_in_torch():
    """The exact rules, each shown on one configuration (torch decides, derive agrees)."""
    cases = [
        # pooling padding is compared with the raw kernel_size // 2, even when dilated
        ("max_pool", (9, 3, 1, 2, 3, False)),
        ("max_pool", (9, 3, 1, 1, 3, False)),
        # ceil_mode: a window may overhang the padded end by less than a stride ...
        ("avg_pool", (2, 3, 2, 0, 1, True)),
        # ... but the last window must start inside the input or the left padding
        ("max_pool", (1, 2, 2, 1, 1, True)),
        # output size below 1
        ("max_pool", (2, 3, 1, 0, 1, False)),
    ]
    for op, (n, k, s, p, d, ceil_mode) in cases:
        assert ours(pool_output_size, n, k, s, p, d, ceil_mode) == theirs(
            op, n, k, s, p, d, ceil_mode
        )
    assert theirs("max_pool", 9, 3, 1, 2, 3) == REJECTED  # effective kernel 7 would allow 2
    assert theirs("avg_pool", 2, 3, 2, 0, 1, True) == 1  # kernel 3 > size 2, still accepted
    # output_padding must be below stride OR dilation (either suffices)
    assert theirs("conv_transpose", 2, 2, 2, 0, output_padding=2, dilation=3) == 8
    assert ours(conv_transpose_output_size, 2, 2, 2, 0, 2, 3) == 8
    assert theirs("conv_transpose", 2, 2, 2, 0, output_padding=2, dilation=2) == REJECTED


# --- 2-D functions on real tensors -----------------------------------------------------------


def pairs(element):
    return st.tuples(element, element)


def torch_forms(element):
    """An int, a (height, width) pair, or torch's one-element (v,) meaning both axes."""
    return st.one_of(element, pairs(element), element.map(lambda v: (v,)))


@settings(max_examples=300)
@given(
    pairs(st.integers(1, 12)),
    torch_forms(st.integers(1, 6)),
    st.one_of(st.none(), torch_forms(st.integers(1, 4)), st.just(())),
    torch_forms(st.integers(0, 3)),
    torch_forms(st.integers(1, 3)),
    st.booleans(),
    st.booleans(),
)
def test_pool2d_shape_matches_torch(size, kernel, stride, padding, dilation, ceil_mode, grad):
    x = torch.zeros(1, 2, *size, dtype=torch.float64, requires_grad=grad)
    shape = (2, *size)
    got = derive_2d(lambda: pool2d_windows(shape, kernel, stride, padding, dilation, ceil_mode)[0])
    assert got == torch_2d(lambda: F.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode))
    got = derive_2d(lambda: pool2d_windows(shape, kernel, stride, padding, 1, ceil_mode)[0])
    assert got == torch_2d(lambda: F.avg_pool2d(x, kernel, stride, padding, ceil_mode))


@settings(max_examples=300)
@given(
    pairs(st.integers(1, 12)),
    pairs(st.integers(1, 6)),
    st.one_of(st.just(1), torch_forms(st.integers(1, 4))),
    st.one_of(torch_forms(st.integers(0, 4)), st.just("same"), st.just("valid")),
    torch_forms(st.integers(1, 3)),
    st.integers(1, 3),
)
def test_conv2d_shape_matches_torch(size, kernel, stride, padding, dilation, groups):
    x = torch.zeros(2 * groups, *size, dtype=torch.float64)
    w = torch.zeros(groups, 2, *kernel, dtype=torch.float64)
    plan = derive_2d(
        lambda: plan_conv2d(tuple(x.shape), tuple(w.shape), stride, padding, dilation, groups)
    )
    got = plan if plan == REJECTED else plan.out_shape
    expected = torch_2d(lambda: F.conv2d(x, w, None, stride, padding, dilation, groups))
    assert got == expected


@pytest.mark.parametrize(
    "plan, layer, batch",
    [(plan_conv2d, F.conv2d, (1,)), (plan_conv_transpose2d, F.conv_transpose2d, ())],
    ids=["conv2d", "conv_transpose2d"],
)
@settings(max_examples=200)
@given(
    st.integers(1, 4),
    st.integers(1, 4),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 3),
    st.one_of(st.none(), st.integers(1, 4)),
)
def test_channel_rules_match_torch(plan, layer, batch, c_in, w_0, w_1, groups, size, bias):
    """Channels not divisible by groups, not matching the weight (C_out, C_in/groups, ...) or,
    transposed, (C_in, C_out/groups, ...), or a bias of the wrong length: both reject."""
    x = torch.zeros(*batch, c_in, size, size, dtype=torch.float64)
    w = torch.zeros(w_0, w_1, 1, 1, dtype=torch.float64)
    b = None if bias is None else torch.zeros(bias, dtype=torch.float64)
    bias_shape = None if b is None else tuple(b.shape)
    found = derive_2d(lambda: plan(tuple(x.shape), tuple(w.shape), groups=groups,
                                   bias_shape=bias_shape))  # fmt: skip
    got = found if found == REJECTED else found.out_shape
    assert got == torch_2d(lambda: layer(x, w, b, groups=groups))


# --- symbolic formulas against torch ------------------------------------------------------


@settings(max_examples=60)
@given(kernels, st.one_of(st.none(), strides), st.integers(0, 4), dilations, st.booleans())
def test_symbolic_pool_formula_matches_torch_at_every_size(k, s, p, d, ceil_mode):
    try:
        expr = pool_output_size(N, k, s, p, d, ceil_mode)
    except ShapeError:
        assert all(theirs("max_pool", n, k, s, p, d, ceil_mode) == REJECTED for n in range(1, 41))
        return
    for n in range(1, 41):
        expected = theirs("max_pool", n, k, s, p, d, ceil_mode)
        if expected != REJECTED:
            value = expr.xreplace({N: sp.Integer(n)})
            assert isinstance(value, sp.Integer) and value == expected, (expr, n)


@settings(max_examples=60)
@given(kernels, strides, conv_padding, dilations)
def test_symbolic_conv_formula_matches_torch_at_every_size(k, s, padding, d):
    if padding == "same":
        s = 1
    expr = conv_output_size(N, k, s, padding, d)
    for n in range(1, 41):
        expected = theirs("conv", n, k, s, padding, d)
        if expected != REJECTED:
            value = expr.xreplace({N: sp.Integer(n)})
            assert isinstance(value, sp.Integer) and value == expected, (expr, n)


@settings(max_examples=60)
@given(kernels, strides, pads, output_pads, dilations)
def test_symbolic_conv_transpose_formula_matches_torch_at_every_size(k, s, p, op, d):
    if op >= s and op >= d:
        op = 0
    expr = conv_transpose_output_size(N, k, s, p, op, d)
    for n in range(1, 41):
        expected = theirs("conv_transpose", n, k, s, p, output_padding=op, dilation=d)
        if expected != REJECTED:
            assert expr.xreplace({N: sp.Integer(n)}) == expected, (expr, n)


K, S, D = sp.symbols("k s d", integer=True, positive=True)
P = sp.Symbol("p", integer=True, nonnegative=True)
FULLY_SYMBOLIC = {
    "conv": conv_output_size(N, K, S, P, D),
    "max_pool": pool_output_size(N, K, S, P, D, False),
    "max_pool_ceil": pool_output_size(N, K, S, P, D, True),
    "conv_transpose": conv_transpose_output_size(N, K, S, P, 0, D),
}


@settings(max_examples=400)
@given(sizes, kernels, strides, st.integers(0, 4), dilations)
def test_fully_symbolic_formulas_match_torch(n, k, s, p, d):
    """One formula in n, k, s, p, d (ceil_mode's Piecewise included), evaluated at a point."""
    point = {N: n, K: k, S: s, P: p, D: d}
    point = {key: sp.Integer(v) for key, v in point.items()}
    expected = {
        "conv": theirs("conv", n, k, s, p, d),
        "max_pool": theirs("max_pool", n, k, s, p, d, False),
        "max_pool_ceil": theirs("max_pool", n, k, s, p, d, True),
        "conv_transpose": theirs("conv_transpose", n, k, s, p, dilation=d),
    }
    for name, expr in FULLY_SYMBOLIC.items():
        if expected[name] != REJECTED:
            value = expr.xreplace(point)
            assert isinstance(value, sp.Integer) and value == expected[name], (name, point)
