"""Every output element against PyTorch (float64): conv2d, max_pool2d, avg_pool2d.

Configurations are drawn by hypothesis; tensor entries come from a drawn seed (small
integers, or floats). Where derive raises ShapeError torch must raise too, and where both
run every element must agree. The numbers the book states (read from the specs'
``[steps.book]`` tables) are asserted equal to torch's at the end.
"""

from __future__ import annotations

import random
import warnings
from pathlib import Path

import pytest
import sympy as sp
from hypothesis import event, given, settings
from hypothesis import strategies as st

from derive import (
    ShapeError,
    avg_pool2d,
    conv2d,
    conv2d_terms,
    conv_transpose2d,
    max_pool2d,
    ops,
    symbol_array,
)
from derive.specs import load_specs
from derive.torch_check import (
    check_conv_transpose2d,
    check_elements,
    torch_call,
    torch_elements,
    torch_output_size,
)

torch = pytest.importorskip("torch")
F = torch.nn.functional

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


def entries(rng: random.Random, shape: tuple[int, ...], kind: str):
    """A nested list of random entries: small ints, or floats."""
    if not shape:
        return rng.randint(-4, 4) if kind == "int" else round(rng.uniform(-3, 3), 6)
    return [entries(rng, shape[1:], kind) for _ in range(shape[0])]


def torch_or_rejected(op, *args, **params):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch_elements(op, *args, **params)
    except RuntimeError as exc:
        return exc


def assert_matches_torch(derive_fn, op, input, weight=None, bias=None, **params):
    """derive and torch both reject, or both run and agree on every element."""
    try:
        if weight is None:
            derived = derive_fn(input, **params)
        else:
            derived = derive_fn(input, weight, bias, **params)
    except ShapeError as exc:
        reference = torch_or_rejected(op, input, weight, bias, **params)
        assert isinstance(reference, RuntimeError), f"derive: {exc}; torch accepted"
        event("both reject")
        return None
    event("both accept")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = check_elements(derived, op, input, weight, bias, **params)
    assert result.ok, result
    return derived


def pairs(element):
    return st.tuples(element, element)


def torch_forms(element):
    return st.one_of(element, pairs(element), element.map(lambda v: (v,)))


seeds = st.integers(0, 2**32 - 1)
kinds = st.sampled_from(["int", "int", "float"])

conv_padding = st.one_of(
    torch_forms(st.integers(0, 3)),
    pairs(pairs(st.integers(0, 3))),  # ((top, bottom), (left, right))
    st.just("same"),
    st.just("valid"),
)


# --- conv2d ------------------------------------------------------------------------------


@settings(max_examples=250)
@given(
    seed=seeds,
    kind=kinds,
    groups=st.integers(1, 3),
    per_group=pairs(st.integers(1, 2)),
    size=pairs(st.integers(1, 8)),
    kernel=pairs(st.integers(1, 4)),
    stride=st.one_of(st.just(1), torch_forms(st.integers(1, 3))),
    padding=conv_padding,
    dilation=torch_forms(st.integers(1, 3)),
    bias=st.booleans(),
    batch=st.sampled_from([None, 1, 2]),
)
def test_conv2d_matches_torch(
    seed, kind, groups, per_group, size, kernel, stride, padding, dilation, bias, batch
):
    rng = random.Random(seed)
    c_in, c_out = groups * per_group[0], groups * per_group[1]
    x = entries(rng, ((batch,) if batch else ()) + (c_in, *size), kind)
    w = entries(rng, (c_out, per_group[0], *kernel), kind)
    b = entries(rng, (c_out,), kind) if bias else None
    assert_matches_torch(
        conv2d, "conv2d", x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups
    )


@settings(max_examples=40)
@given(seed=seeds, size=pairs(st.integers(1, 5)), kernel=pairs(st.integers(1, 3)))
def test_conv2d_reads_torch_and_sympy_tensors(seed, size, kernel):
    """The same numbers as nested lists, torch tensors or SymPy Arrays give the same result."""
    rng = random.Random(seed)
    x, w = entries(rng, (2, *size), "int"), entries(rng, (3, 2, *kernel), "int")
    try:
        expected = conv2d(x, w, padding=1)
    except ShapeError:
        event("rejected")
        return
    assert conv2d(torch.tensor(x), torch.tensor(w), padding=1) == expected
    assert conv2d(sp.Array(x), sp.Array(w), padding=1) == expected


@settings(max_examples=80)
@given(
    seed=seeds,
    size=pairs(st.integers(1, 6)),
    kernel=pairs(st.integers(1, 3)),
    stride=pairs(st.integers(1, 2)),
    padding=pairs(pairs(st.integers(0, 2))),
    dilation=pairs(st.integers(1, 2)),
    groups=st.integers(1, 2),
)
def test_symbolic_conv2d_substituted_matches_torch(
    seed, size, kernel, stride, padding, dilation, groups
):
    """Derive once with symbols, then substitute random integers: torch's numbers."""
    params = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    X = symbol_array("x", (2 * groups, *size))
    W = symbol_array("w", (2 * groups, 2, *kernel))
    B = symbol_array("b", (2 * groups,))
    try:
        Y = conv2d(X, W, B, **params)
    except ShapeError:
        event("rejected")
        return
    rng = random.Random(seed)
    values = {s: sp.Integer(rng.randint(-5, 5)) for s in (*X._array, *W._array, *B._array)}
    numeric = Y.applyfunc(lambda e: e.xreplace(values))
    x, w, b = (T.applyfunc(lambda e: e.xreplace(values)) for T in (X, W, B))
    assert check_elements(numeric, "conv2d", x, w, b, **params).ok


@settings(max_examples=80)
@given(
    seed=seeds,
    size=pairs(st.integers(1, 6)),
    kernel=pairs(st.integers(1, 3)),
    stride=pairs(st.integers(1, 3)),
    padding=st.one_of(pairs(st.integers(0, 2)), pairs(pairs(st.integers(0, 2)))),
    dilation=pairs(st.integers(1, 2)),
    groups=st.integers(1, 2),
)
def test_conv2d_terms_sum_to_the_element(seed, size, kernel, stride, padding, dilation, groups):
    rng = random.Random(seed)
    x = entries(rng, (2 * groups, *size), "int")
    w = entries(rng, (3 * groups, 2, *kernel), "int")
    params = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    try:
        Y = conv2d(x, w, **params)
    except ShapeError:
        event("rejected")
        return
    c_out, oh, ow = Y.shape
    for o in range(c_out):
        for i in range(oh):
            for j in range(ow):
                terms = conv2d_terms(x, w, (o, i, j), **params)
                for (c, r, q), xv, (o2, c2, a, e), wv in terms:
                    assert (xv, wv, o2) == (x[c][r][q], w[o][c2][a][e], o)
                assert sum(xv * wv for _, xv, _, wv in terms) == Y[o, i, j]


# --- pooling ---------------------------------------------------------------------------------


@st.composite
def pool_kernel_and_padding(draw):
    """A kernel in torch's forms and a padding that is mostly valid (at most kernel // 2)."""
    kernel = draw(torch_forms(st.integers(1, 5)))
    kh, kw = kernel if isinstance(kernel, tuple) and len(kernel) == 2 else (
        (kernel[0],) * 2 if isinstance(kernel, tuple) else (kernel, kernel)
    )
    if draw(st.integers(0, 5)) == 0:  # sometimes too much padding: both must reject
        return kernel, draw(torch_forms(st.integers(0, 3)))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    if ph == pw and draw(st.booleans()):
        return kernel, draw(st.sampled_from([ph, (ph,)]))
    return kernel, (ph, pw)


@settings(max_examples=300)
@given(
    seed=seeds,
    kind=kinds,
    size=pairs(st.integers(1, 9)),
    kernel_padding=pool_kernel_and_padding(),
    stride=st.one_of(st.none(), st.just(()), torch_forms(st.integers(1, 3))),
    dilation=torch_forms(st.integers(1, 3)),
    ceil_mode=st.booleans(),
    batch=st.sampled_from([None, 2]),
)
def test_max_pool2d_matches_torch(
    seed, kind, size, kernel_padding, stride, dilation, ceil_mode, batch
):
    """Includes windows lying wholly in the padding (torch: -inf) and rejected paddings."""
    kernel, padding = kernel_padding
    rng = random.Random(seed)
    x = entries(rng, ((batch,) if batch else ()) + (2, *size), kind)
    assert_matches_torch(
        max_pool2d,
        "max_pool2d",
        x,
        kernel_size=kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
    )


@settings(max_examples=300)
@given(
    seed=seeds,
    kind=kinds,
    size=pairs(st.integers(1, 9)),
    kernel_padding=pool_kernel_and_padding(),
    stride=st.one_of(st.none(), torch_forms(st.integers(1, 3))),
    ceil_mode=st.booleans(),
    count_include_pad=st.booleans(),
    divisor_override=st.one_of(st.none(), st.integers(-3, 7).filter(bool)),
    batch=st.sampled_from([None, 2]),
)
def test_avg_pool2d_matches_torch(
    seed, kind, size, kernel_padding, stride, ceil_mode, count_include_pad, divisor_override, batch
):
    kernel, padding = kernel_padding
    rng = random.Random(seed)
    x = entries(rng, ((batch,) if batch else ()) + (2, *size), kind)
    y = assert_matches_torch(
        avg_pool2d,
        "avg_pool2d",
        x,
        kernel_size=kernel,
        stride=stride,
        padding=padding,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
        divisor_override=divisor_override,
    )
    if y is not None and kind == "int":
        assert all(isinstance(v, sp.Rational) for v in y._array)  # exact fractions


@settings(max_examples=100)
@given(
    seed=seeds,
    size=pairs(st.integers(1, 8)),
    kernel=pairs(st.integers(1, 4)),
    stride=pairs(st.integers(1, 3)),
    lows=pairs(st.integers(0, 2)),
    highs=pairs(st.integers(0, 2)),
    dilation=pairs(st.integers(1, 2)),
)
def test_asymmetric_pool_padding_matches_explicitly_padded_torch(
    seed, size, kernel, stride, lows, highs, dilation
):
    """((top, bottom), (left, right)) pooling, floor mode: torch on F.pad'ed input
    (-inf for max, zeros for avg with count_include_pad)."""
    lows = tuple(min(p, k // 2) for p, k in zip(lows, kernel))  # torch's limit, per side
    highs = tuple(min(p, k // 2) for p, k in zip(highs, kernel))
    rng = random.Random(seed)
    x = entries(rng, (2, *size), "int")
    padding = ((lows[0], highs[0]), (lows[1], highs[1]))
    try:
        got_max = max_pool2d(x, kernel, stride, padding, dilation)
        got_avg = avg_pool2d(x, kernel, stride, padding)
    except ShapeError:
        event("rejected")
        return
    pad = (lows[1], highs[1], lows[0], highs[0])
    t = torch.tensor(x, dtype=torch.float64)
    want_max = F.max_pool2d(F.pad(t, pad, value=float("-inf")), kernel, stride, 0, dilation)
    want_avg = F.avg_pool2d(F.pad(t, pad), kernel, stride, 0)
    assert [float(v) for v in got_max._array] == want_max.reshape(-1).tolist()
    assert [float(v) for v in got_avg._array] == pytest.approx(want_avg.reshape(-1).tolist())


@settings(max_examples=60)
@given(
    seed=seeds,
    size=pairs(st.integers(1, 6)),
    kernel=pairs(st.integers(1, 3)),
    stride=st.one_of(st.none(), pairs(st.integers(1, 2))),
    ceil_mode=st.booleans(),
    count_include_pad=st.booleans(),
)
def test_symbolic_pooling_substituted_matches_torch(
    seed, size, kernel, stride, ceil_mode, count_include_pad
):
    padding = (kernel[0] // 2, kernel[1] // 2)
    X = symbol_array("x", (2, *size))
    try:
        mx = max_pool2d(X, kernel, stride, padding, 1, ceil_mode)
        av = avg_pool2d(X, kernel, stride, padding, ceil_mode, count_include_pad)
    except ShapeError:
        event("rejected")
        return
    rng = random.Random(seed)
    values = {s: sp.Integer(rng.randint(-9, 9)) for s in X._array}
    x = X.applyfunc(lambda e: e.xreplace(values))
    common = dict(kernel_size=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode)
    got = mx.applyfunc(lambda e: e.xreplace(values))
    assert check_elements(got, "max_pool2d", x, **common).ok
    got = av.applyfunc(lambda e: e.xreplace(values))
    assert check_elements(
        got, "avg_pool2d", x, count_include_pad=count_include_pad, **common
    ).ok


def test_max_pool_propagates_nan_like_torch():
    x = [[[float("nan"), 1.0, 2.0], [3.0, 4.0, 5.0]]]
    got = max_pool2d(x, 2, 1)
    want = F.max_pool2d(torch.tensor(x), 2, 1).reshape(-1).tolist()
    assert [str(float(v)) for v in got._array] == [str(v) for v in want]


# --- conv_transpose2d -------------------------------------------------------------------------


@settings(max_examples=150)
@given(
    seed=seeds,
    kind=kinds,
    groups=st.integers(1, 2),
    per_group=pairs(st.integers(1, 2)),
    size=pairs(st.integers(1, 4)),
    kernel=pairs(st.integers(1, 3)),
    stride=torch_forms(st.integers(1, 3)),
    padding=torch_forms(st.integers(0, 2)),
    output_padding=torch_forms(st.integers(0, 2)),
    dilation=torch_forms(st.integers(1, 2)),
    bias=st.booleans(),
)
def test_conv_transpose2d_matches_torch(
    seed, kind, groups, per_group, size, kernel, stride, padding, output_padding, dilation, bias
):
    """Both reject (output_padding too large, output below one entry) or agree everywhere."""
    rng = random.Random(seed)
    x = entries(rng, (groups * per_group[0], *size), kind)
    w = entries(rng, (groups * per_group[0], per_group[1], *kernel), kind)
    b = entries(rng, (groups * per_group[1],), kind) if bias else None
    params = dict(
        stride=stride, padding=padding, output_padding=output_padding, groups=groups,
        dilation=dilation,
    )  # fmt: skip
    assert_matches_torch(conv_transpose2d, "conv_transpose2d", x, w, b, **params)


# --- the checker itself -----------------------------------------------------------------------


def test_check_elements_detects_a_wrong_element_and_a_wrong_shape():
    x = [[[1, 2, 3], [4, 5, 6], [7, 8, 10]]]
    w = [[[[1, -1], [2, 0]]]]
    y = conv2d(x, w)
    assert check_elements(y, "conv2d", x, w).ok
    flat = list(y._array)
    flat[-1] += 1
    bad = check_elements(sp.Array(flat, y.shape), "conv2d", x, w)
    assert not bad.ok and bad.max_abs_diff == 1.0
    assert not check_elements(y, "conv2d", x, w, padding=1).ok  # shapes differ


# --- the book's numbers: read from the specs, computed by torch ------------------------------
# The numbers the book states live once, in the [steps.book] tables of examples/*.toml;
# tests/test_build.py checks them against derive's engine and the pages. Here torch computes
# each such step from the spec's own tensors and must give the stated numbers.

ROOT = Path(__file__).resolve().parent.parent
#: the facts that are numbers of the output
NUMBERS = ("output", "shape", "elements", "products", "distinct", "constant")
BOOK_STEPS = [
    (spec, step)
    for spec in load_specs(ROOT / "examples", ROOT)
    for step in spec.steps
    if step.kind != "shape" and set(step.book) & set(NUMBERS)
]


def _torch_output(spec, step) -> list:
    """torch's output of the step in float64, as the book shows it (a matrix for corr2d)."""
    x, w, b = (spec.tensors[n].values if n else None for n in (step.input, step.weight, step.bias))
    matrix = isinstance(step.op, ops.Correlation)
    if matrix:  # torch runs the book's cross-correlation as a one-channel conv2d
        x, w = [x], [[w]]
    y = torch_elements(step.op.runs_as, x, w, b, **step.params).tolist()
    return y[0] if matrix else y


def _at(nested: list, index: tuple[int, ...]) -> float:
    for i in index:
        nested = nested[i]
    return nested


def _close(a: float, b: object) -> bool:
    return abs(a - float(b)) <= 1e-9


@pytest.mark.parametrize(
    "spec, step", BOOK_STEPS, ids=[f"{spec.slug}-{step.id}" for spec, step in BOOK_STEPS]
)
def test_torch_gives_the_numbers_the_book_states(spec, step):
    shown, book = _torch_output(spec, step), step.book
    flat = [float(v) for v in sp.flatten(shown)]
    if "output" in book:
        values, _ = book["output"]
        assert len(flat) == len(values) and all(map(_close, flat, values))
    if "shape" in book:
        shape = tuple(sp.Array(shown).shape)
        assert book["shape"] in (shape, shape[1:] if shape[0] == 1 else shape, (1, *shape))
    for index, value in book.get("elements", []):
        assert _close(_at(shown, index), value)
    for index, pairs in book.get("products", []):
        assert _close(_at(shown, index), sum(a * b for a, b in pairs))
    if "distinct" in book:
        assert sorted(set(flat)) == [float(v) for v in book["distinct"]]
    if "constant" in book:
        assert set(flat) == {float(book["constant"])}


def test_the_book_s_worked_numbers_are_among_them():
    """The chapter's worked outputs: corr2d's 3x3 result, the edge image, padding, stride and
    two input channels (the numbers themselves are in the specs)."""
    stated = {(spec.slug, key) for spec, step in BOOK_STEPS for key in step.book}
    assert {
        ("01-cross-correlation", "output"),
        ("03-edge-detection", "distinct"),
        ("03-edge-detection", "constant"),
        ("04-padding", "products"),
        ("05-stride", "elements"),
        ("05-stride", "products"),
        ("06-multi-input-channels", "elements"),
        ("06-multi-input-channels", "products"),
    } <= stated


@settings(max_examples=30)
@given(seed=seeds, c_i=st.integers(1, 4), c_o=st.integers(1, 4), size=pairs(st.integers(1, 5)))
def test_1x1_convolution_is_a_matrix_product_numerically(seed, c_i, c_o, size):
    rng = random.Random(seed)
    h, w = size
    X = entries(rng, (c_i, h, w), "int")
    K = entries(rng, (c_o, c_i, 1, 1), "int")
    Y = conv2d(X, K)
    product = sp.Matrix(c_o, c_i, sp.flatten(K)) * sp.Matrix(c_i, h * w, sp.flatten(X))
    assert list(Y._array) == list(product)
    assert check_elements(Y, "conv2d", X, K).ok


# --- the bridge dispatches on the registry ------------------------------------------------


def test_every_spelling_and_the_op_itself_run_the_same_torch_function():
    x, w = [[[1, 2, 3], [4, 5, 6], [7, 8, 10]]], [[[[1, -1], [2, 0]]]]
    y = conv2d(x, w, stride=2, padding=1)
    for op in (ops.CONV, "conv", "conv1d", "conv2d"):
        check = check_elements(y, op, x, w, stride=2, padding=1)
        assert check.ok and check.call.startswith("torch.nn.functional.conv2d(input, weight")
    for op in (ops.CONV_TRANSPOSE, "conv_transpose", "conv-transpose", "conv_transpose2d"):
        assert torch_output_size(op, 4, 3, 2, 1, output_padding=1) == 8
    assert torch_output_size(ops.MAX_POOL, 5, 2, ceil_mode=True) == 3
    assert torch_call("avg_pool", kernel_size=2) == (
        "torch.nn.functional.avg_pool2d(input, kernel_size=2)"
    )
    assert torch_call(ops.CONV_TRANSPOSE, spatial=1, stride=2) == (
        "torch.nn.functional.conv_transpose1d(input, weight, stride=2)"
    )


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: torch_output_size("fft", 5, 2), "op must be one of conv, conv1d"),
        (lambda: torch_elements("corr2d", [[1]], [[1]]), "corr2d has no torch function"),
        (lambda: torch_output_size("avg_pool", 5, 2, dilation=2), "avg_pool has no dilation"),
        (lambda: torch_output_size("conv", 5, 2, ceil_mode=True), "conv has no ceil_mode"),
        (lambda: torch_output_size("max_pool", 5, 2, padding=(1, 0)), "no asymmetric padding"),
        (lambda: torch_output_size("conv_transpose", 5, 2, padding=(1, 0)), "no asymmetric"),
    ],
)
def test_the_bridge_refuses_what_it_cannot_compare(call, message):
    with pytest.raises(ShapeError, match=message):
        call()


def test_check_conv_transpose2d_detects_a_wrong_element():
    x, w = [[[0, 1], [2, 3]]], [[[[0, 1], [2, 3]]]]
    y = conv_transpose2d(x, w, stride=2)
    assert check_conv_transpose2d(y, x, w, stride=2).ok
    assert not check_conv_transpose2d(y, x, w).ok  # shapes differ
    flat = list(y._array)
    flat[5] += 2
    bad = check_elements(sp.Array(flat, y.shape), "conv-transpose", x, w, stride=2)
    assert not bad.ok and bad.max_abs_diff == 2.0


def test_the_core_does_not_reach_the_torch_bridge():
    """The transposed check lives in derive.torch_check only; derive.transpose has no way to it."""
    from derive import transpose

    assert not hasattr(transpose, "check_conv_transpose2d")
    assert "torch_check" not in transpose.__dict__
