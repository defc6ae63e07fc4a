"""Output-size formulas without torch: exact for every size, against independent counts.

The oracles here restate each rule differently from the engine: by counting window
positions one by one, by the book's formulas, and by the round trip of a transposed
convolution through the convolution it inverts. The comparison with torch itself is in
test_shapes_torch.py.
"""

from __future__ import annotations

import math

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from derive import ShapeError, conv_output_size, conv_transpose_output_size, pool_output_size
from derive.shapes import resolve_conv_padding

N = sp.Symbol("n", integer=True, positive=True)
K, S, D = sp.symbols("k s d", integer=True, positive=True)
P, Q = sp.symbols("p q", integer=True, nonnegative=True)
SIZES = range(1, 41)

sizes = st.integers(1, 40)
kernels = st.integers(1, 9)
strides = st.integers(1, 6)
dilations = st.integers(1, 4)
pads = st.integers(0, 6)


def numeric(fn, *args, **kwargs) -> int | None:
    """The engine's integer answer, or None when it raises ShapeError."""
    try:
        value = fn(*args, **kwargs)
    except ShapeError:
        return None
    assert isinstance(value, sp.Integer), f"{fn.__name__}{args} gave {value!r}, not an Integer"
    return int(value)


def count_conv_windows(n: int, k: int, s: int, lo: int, hi: int, d: int) -> int:
    """Window starts 0, s, 2s, ... whose dilated span ends inside the padded input."""
    span, padded = d * (k - 1) + 1, n + lo + hi
    count = 0
    while count * s + span <= padded:
        count += 1
    return count


def count_ceil_windows(n: int, k: int, s: int, lo: int, hi: int, d: int) -> int:
    """ceil_mode: a window may run past the padded end, by less than one stride, as long
    as it starts inside the input or the left padding (torch's rule, restated)."""
    span, padded = d * (k - 1) + 1, n + lo + hi
    count = 0
    while count * s < padded - span + s and count * s < n + lo:
        count += 1
    return count


def at(expr: sp.Expr, values: dict) -> sp.Expr:
    """Substitute integers and let SymPy evaluate (floor, Piecewise) exactly."""
    return expr.xreplace({key: sp.Integer(v) for key, v in values.items()})


# --- numeric results against window counts -------------------------------------------


@settings(max_examples=300)
@given(sizes, kernels, strides, pads, pads, dilations)
def test_conv_counts_windows(n, k, s, lo, hi, d):
    expected = count_conv_windows(n, k, s, lo, hi, d)
    assert numeric(conv_output_size, n, k, s, (lo, hi), d) == (expected or None)


@settings(max_examples=300)
@given(sizes, kernels, strides, st.integers(0, 4), st.integers(0, 4), dilations, st.booleans())
def test_pool_counts_windows(n, k, s, lo, hi, d, ceil_mode):
    got = numeric(pool_output_size, n, k, s, (lo, hi), d, ceil_mode)
    if lo > k // 2 or hi > k // 2:
        assert got is None  # torch: padding at most half of the (raw) kernel size
        return
    count = count_ceil_windows if ceil_mode else count_conv_windows
    assert got == (count(n, k, s, lo, hi, d) or None)


@settings(max_examples=300)
@given(sizes, kernels, strides, pads, st.integers(0, 5), dilations)
def test_conv_transpose_inverts_conv(n, k, s, p, output_padding, d):
    """A transposed convolution's output, fed to the same convolution, gives back n."""
    out = numeric(conv_transpose_output_size, n, k, s, p, output_padding, d)
    if output_padding >= s and output_padding >= d:
        assert out is None
        return
    expected = (n - 1) * s - 2 * p + d * (k - 1) + output_padding + 1
    assert out == (expected if expected >= 1 else None)
    if out is not None and output_padding < s:
        assert conv_output_size(out, k, s, p, d) == n


def test_stride_none_means_kernel_size():
    for n, k in [(7, 3), (40, 9), (5, 5)]:
        assert pool_output_size(n, k) == pool_output_size(n, k, stride=k)
        assert pool_output_size(n, k, stride=()) == pool_output_size(n, k, stride=k)


# --- padding forms -------------------------------------------------------------------


@settings(max_examples=200)
@given(sizes, kernels, strides, pads, dilations)
def test_padding_forms_agree(n, k, s, p, d):
    base = numeric(conv_output_size, n, k, s, p, d)
    assert base == numeric(conv_output_size, n, k, s, (p, p), d)
    assert base == numeric(conv_output_size, n, k, s, [p], d)  # torch's one-element form
    if p == 0:
        assert base == numeric(conv_output_size, n, k, s, "valid", d)


@settings(max_examples=200)
@given(sizes, kernels, dilations)
def test_same_keeps_the_size_and_splits_extra_zero_after(n, k, d):
    lo, hi = resolve_conv_padding("same", k, 1, d)
    assert (lo + hi, hi - lo) == (d * (k - 1), d * (k - 1) % 2)
    assert conv_output_size(n, k, 1, "same", d) == n


def test_same_is_symbolic_identity():
    assert conv_output_size(N, K, 1, "same", D) == N
    assert conv_output_size(N, 4, padding="same") == N


@settings(max_examples=300)
@given(sizes, kernels, strides, st.integers(0, 12))
def test_book_formula_with_total_padding(n, k, s, p):
    """d2l: total padding p split (ceil(p/2), floor(p/2)) gives floor((n - k + p + s) / s)."""
    got = numeric(conv_output_size, n, k, s, (math.ceil(p / 2), p // 2))
    book = (n - k + p + s) // s
    assert got == (book if n + p >= k else None)


def test_book_examples():
    """The seed page's torch outputs: 8x8 inputs through four Conv2d layers."""
    assert [conv_output_size(8, 3, padding=1)] * 2 == [8, 8]
    assert (conv_output_size(8, 5, padding=2), conv_output_size(8, 3, padding=1)) == (8, 8)
    assert [conv_output_size(8, 3, 2, 1)] * 2 == [4, 4]
    assert (conv_output_size(8, 3, 3, 0), conv_output_size(8, 5, 4, 1)) == (2, 2)
    # a 3x3 input padded to 5x5 with a 2x2 kernel gives a 4x4 output
    assert conv_output_size(3, 2, padding=1) == 4


# --- symbolic formulas: exact at every size ----------------------------------------------


def _assert_exact(expr, fn, args_at, free):
    """``expr`` at each integer point equals the numeric result wherever that is valid."""
    for values in free:
        expected = numeric(fn, *args_at(values))
        if expected is None:
            continue
        got = at(expr, values)
        assert isinstance(got, sp.Integer), (expr, values, got)
        assert got == expected, (expr, values)


@settings(max_examples=60)
@given(kernels, strides, pads, pads, dilations)
def test_symbolic_conv_size_exact_for_every_n(k, s, lo, hi, d):
    expr = conv_output_size(N, k, s, (lo, hi), d)
    _assert_exact(
        expr, conv_output_size, lambda v: (v[N], k, s, (lo, hi), d), [{N: n} for n in SIZES]
    )


@settings(max_examples=80)
@given(kernels, strides, st.integers(0, 4), dilations, st.booleans())
def test_symbolic_pool_size_exact_for_every_n(k, s, p, d, ceil_mode):
    p = min(p, k // 2)
    expr = pool_output_size(N, k, s, p, d, ceil_mode)
    _assert_exact(
        expr, pool_output_size, lambda v: (v[N], k, s, p, d, ceil_mode), [{N: n} for n in SIZES]
    )


@settings(max_examples=60)
@given(kernels, strides, pads, st.integers(0, 5), dilations)
def test_symbolic_conv_transpose_size_exact_for_every_n(k, s, p, op, d):
    if op >= s and op >= d:
        op = 0
    expr = conv_transpose_output_size(N, k, s, p, op, d)
    _assert_exact(
        expr,
        conv_transpose_output_size,
        lambda v: (v[N], k, s, p, op, d),
        [{N: n} for n in SIZES],
    )


@pytest.mark.parametrize("ceil_mode", [False, True])
def test_fully_symbolic_pool_formula(ceil_mode):
    """n, k, s, p, d all symbols; the one formula is right at every integer point."""
    expr = pool_output_size(N, K, S, P, D, ceil_mode)
    assert expr.has(sp.Piecewise) == ceil_mode
    points = [
        {N: n, K: k, S: s, P: p, D: d}
        for n in range(1, 13)
        for k in range(1, 5)
        for s in range(1, 4)
        for p in range(0, k // 2 + 1)
        for d in range(1, 3)
    ]
    _assert_exact(
        expr, pool_output_size, lambda v: (v[N], v[K], v[S], v[P], v[D], ceil_mode), points
    )


def test_fully_symbolic_conv_and_transpose_formulas():
    conv = conv_output_size(N, K, S, (P, Q), D)
    transpose = conv_transpose_output_size(N, K, S, P, 0, D)
    points = [
        {N: n, K: k, S: s, P: p, Q: q, D: d}
        for n in range(1, 11)
        for k in range(1, 5)
        for s in range(1, 4)
        for p in range(0, 3)
        for q in range(0, 3)
        for d in range(1, 3)
    ]
    _assert_exact(conv, conv_output_size, lambda v: (v[N], v[K], v[S], (v[P], v[Q]), v[D]), points)
    _assert_exact(
        transpose,
        conv_transpose_output_size,
        lambda v: (v[N], v[K], v[S], v[P], 0, v[D]),
        [v for v in points if v[Q] == 0],
    )


def test_ceil_mode_piecewise_needed_only_when_a_window_can_start_in_the_right_padding():
    """With hi + s - 1 < span no window can start past n + lo, so no case split."""
    assert not pool_output_size(N, 3, 2, 1, 1, True).has(sp.Piecewise)
    assert pool_output_size(N, 2, 2, 1, 1, True).has(sp.Piecewise)
    # the case split matters: at n = 1 the rounded-up count's last window would start in
    # the right padding, and is dropped
    rounded_up = math.ceil((1 + 1 + 1 - 2) / 2) + 1
    assert pool_output_size(1, 2, 2, 1, 1, True) == count_ceil_windows(1, 2, 2, 1, 1, 1)
    assert pool_output_size(1, 2, 2, 1, 1, True) == rounded_up - 1


@settings(max_examples=200)
@given(
    st.integers(1, 40),
    kernels,
    st.one_of(st.none(), strides),
    st.integers(0, 4),
    dilations,
    st.booleans(),
    st.integers(0, 5),
)
def test_numeric_arguments_give_sympy_integers(n, k, s, p, d, ceil_mode, op):
    for fn, args in [
        (conv_output_size, (n, k, s or 1, p, d)),
        (pool_output_size, (n, k, s, min(p, k // 2), d, ceil_mode)),
        (conv_transpose_output_size, (n, k, s or 1, p, op if op < (s or 1) else 0, d)),
    ]:
        numeric(fn, *args)  # asserts sp.Integer whenever it does not raise
