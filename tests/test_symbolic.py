"""Symbolic elements: each output is exactly the SymPy expression built independently here.

The expected expressions are assembled in the test from the definition (a loop over
channels and kernel offsets, skipping positions in the padding) with SymPy's own ``Add``
and ``*``; the engine's fast path must produce the identical (``==``, so same argument
order) expression, and its general path must agree whenever the fast path does not apply
(repeated or shared symbols, numbers, non-commutative symbols).
"""

from __future__ import annotations

import string

import pytest
import sympy as sp
from hypothesis import event, given, settings
from hypothesis import strategies as st

from derive import ShapeError, avg_pool2d, conv2d, corr2d, max_pool2d, symbol_array
from derive.params import padding_2d
from derive.shapes import resolve_conv_padding


def pairs(element):
    return st.tuples(element, element)


def expected_conv2d(X, W, B, stride, padding, dilation, groups):
    """conv2d from its definition, one SymPy Add per output element (unbatched)."""
    c_in, h, w = X.shape
    c_out, per_group, kh, kw = W.shape
    (sh, sw), (dh, dw) = stride, dilation
    pads = padding_2d(padding)
    if isinstance(pads, str):
        pads = (resolve_conv_padding(pads, kh, 1, dh), resolve_conv_padding(pads, kw, 1, dw))
    (top, bottom), (left, right) = ((int(a), int(b)) for a, b in pads)
    oh = (h + top + bottom - dh * (kh - 1) - 1) // sh + 1
    ow = (w + left + right - dw * (kw - 1) - 1) // sw + 1
    out_per_group = c_out // groups
    result = {}
    for o in range(c_out):
        first = (o // out_per_group) * per_group
        for i in range(oh):
            for j in range(ow):
                products = []
                for c in range(per_group):
                    for a in range(kh):
                        for e in range(kw):
                            r, q = i * sh - top + a * dh, j * sw - left + e * dw
                            if 0 <= r < h and 0 <= q < w:
                                products.append(X[first + c, r, q] * W[o, c, a, e])
                if B is not None:
                    products.append(B[o])
                result[o, i, j] = sp.Add(*products)
    return (c_out, oh, ow), result


def assert_equals_definition(X, W, B=None, stride=(1, 1), padding=0, dilation=(1, 1), groups=1):
    try:
        Y = conv2d(X, W, B, stride, padding, dilation, groups)
    except ShapeError:
        event("rejected")
        return None
    shape, expected = expected_conv2d(X, W, B, stride, padding, dilation, groups)
    assert Y.shape == shape
    for index, value in expected.items():
        got = Y[index]
        assert got == value, (index, got, value)
        assert sp.srepr(got) == sp.srepr(value)  # same tree, same argument order
    return Y


conv_params = dict(
    stride=pairs(st.integers(1, 3)),
    padding=st.one_of(
        st.integers(0, 2),
        pairs(st.integers(0, 2)),
        pairs(pairs(st.integers(0, 2))),
        st.just("same"),
        st.just("valid"),
    ),
    dilation=pairs(st.integers(1, 2)),
    groups=st.integers(1, 2),
)


@settings(max_examples=60)
@given(
    size=pairs(st.integers(1, 6)),
    kernel=pairs(st.integers(1, 3)),
    per_group=pairs(st.integers(1, 2)),
    bias=st.booleans(),
    **conv_params,
)
def test_each_window_is_the_sum_of_its_products(
    size, kernel, per_group, bias, stride, padding, dilation, groups
):
    if padding == "same":
        stride = (1, 1)
    X = symbol_array("x", (groups * per_group[0], *size))
    W = symbol_array("w", (groups * per_group[1], per_group[0], *kernel))
    B = symbol_array("b", (groups * per_group[1],)) if bias else None
    assert_equals_definition(X, W, B, stride, padding, dilation, groups)


# --- random symbol names: the fast path must equal SymPy's canonical Add -------------------

names = st.text(string.ascii_letters + string.digits + "_{},", min_size=1, max_size=7)
assumption_sets = st.sampled_from(
    [{}, {"real": True}, {"positive": True}, {"integer": True}, {"nonnegative": True}]
)


@st.composite
def distinct_symbols(draw, count):
    labels = draw(st.lists(names, min_size=count, max_size=count, unique=True))
    return [sp.Symbol(label, **draw(assumption_sets)) for label in labels]


def as_array(symbols, shape):
    return sp.ImmutableDenseNDimArray(symbols, shape)


@settings(max_examples=80)
@given(
    data=st.data(),
    size=pairs(st.integers(1, 4)),
    kernel=pairs(st.integers(1, 3)),
    c_in=st.integers(1, 2),
    c_out=st.integers(1, 2),
    bias=st.booleans(),
    padding=st.one_of(st.integers(0, 1), pairs(pairs(st.integers(0, 2)))),
)
def test_fast_path_equals_canonical_add_for_any_names(
    data, size, kernel, c_in, c_out, bias, padding
):
    """Names of different lengths, digits, cases, braces; assumptions (real=True, ...)."""
    nx, nw = c_in * size[0] * size[1], c_out * c_in * kernel[0] * kernel[1]
    symbols = data.draw(distinct_symbols(nx + nw + (c_out if bias else 0)))
    X = as_array(symbols[:nx], (c_in, *size))
    W = as_array(symbols[nx : nx + nw], (c_out, c_in, *kernel))
    B = as_array(symbols[nx + nw :], (c_out,)) if bias else None
    assert_equals_definition(X, W, B, padding=padding)


def test_same_name_different_assumptions_are_different_symbols():
    """x (plain) in the input and x (real) in the weight: distinct, so the fast path applies
    and must still equal SymPy's canonical order (assumptions change Basic.compare)."""
    X = as_array([sp.Symbol(n) for n in ("x", "y", "z", "t")], (1, 2, 2))
    W = as_array([sp.Symbol(n, real=True) for n in ("x", "y", "z", "t")], (1, 1, 2, 2))
    B = as_array([sp.Symbol("x", positive=True)], (1,))
    Y = assert_equals_definition(X, W, B, padding=1)
    assert Y is not None and Y[0, 1, 1].has(sp.Symbol("x", real=True))


@settings(max_examples=80)
@given(
    data=st.data(),
    size=pairs(st.integers(1, 4)),
    kernel=pairs(st.integers(1, 3)),
    pool=st.integers(1, 4),
    numbers=st.booleans(),
    bias=st.booleans(),
)
def test_repeated_and_shared_symbols_fall_back_to_add(data, size, kernel, pool, numbers, bias):
    """Entries drawn from a few symbols (so they repeat and the input and weight share
    them), maybe mixed with numbers: the result is the Add of the products, combined."""
    choices = list(sp.symbols(f"a0:{pool}")) + ([sp.Integer(2), sp.Integer(-1)] if numbers else [])
    nx, nw = 2 * size[0] * size[1], 2 * 2 * kernel[0] * kernel[1]
    count = nx + nw + 2
    drawn = data.draw(st.lists(st.sampled_from(choices), min_size=count, max_size=count))
    X = as_array(drawn[:nx], (2, *size))
    W = as_array(drawn[nx : nx + nw], (2, 2, *kernel))
    B = as_array(drawn[nx + nw :], (2,)) if bias else None
    assert_equals_definition(X, W, B, padding=((1, 0), (0, 1)))


@settings(max_examples=60)
@given(data=st.data(), size=pairs(st.integers(1, 4)), kernel=pairs(st.integers(1, 3)))
def test_weight_sharing_input_symbols_falls_back_to_add(data, size, kernel):
    """Distinct input symbols, but the weight (and bias) reuse them: products like x**2 and
    terms that combine must come out as SymPy's Add builds them."""
    X = symbol_array("x", (1, *size))
    pool = list(X._array)
    nw = 2 * kernel[0] * kernel[1]
    W = as_array(data.draw(st.lists(st.sampled_from(pool), min_size=nw, max_size=nw)),
                 (2, 1, *kernel))
    B = as_array(data.draw(st.lists(st.sampled_from(pool), min_size=2, max_size=2)), (2,))
    assert_equals_definition(X, W, None, padding=1)
    assert_equals_definition(X, W, B)


@settings(max_examples=60)
@given(
    data=st.data(),
    size=pairs(st.integers(1, 4)),
    kernel=pairs(st.integers(1, 3)),
    pools=pairs(st.integers(1, 3)),
)
def test_repeats_within_disjoint_input_and_weight_fall_back_to_add(data, size, kernel, pools):
    """Input and weight share no symbol, but each repeats its own: equal products in one
    window must combine (2*a*b), which the fast path cannot do."""
    A, Bs = sp.symbols(f"a0:{pools[0]}"), sp.symbols(f"b0:{pools[1]}")
    nx, nw = size[0] * size[1], kernel[0] * kernel[1]
    X = as_array(data.draw(st.lists(st.sampled_from(A), min_size=nx, max_size=nx)), (1, *size))
    W = as_array(data.draw(st.lists(st.sampled_from(Bs), min_size=nw, max_size=nw)),
                 (1, 1, *kernel))
    assert_equals_definition(X, W, padding=((0, 1), (1, 0)))


def test_non_commutative_symbols_keep_their_products_in_order():
    A = sp.symbols("z0:4", commutative=False)
    K = sp.symbols("a0:2", commutative=False)
    Y = conv2d(as_array(A, (1, 2, 2)), as_array(K, (1, 1, 1, 2)))
    assert Y[0, 0, 0] == A[0] * K[0] + A[1] * K[1]
    assert Y[0, 0, 0].is_commutative is False


def test_symbolic_corr2d_is_the_window_sum():
    X = symbol_array("x", (4, 5))
    K = symbol_array("k", (2, 3))
    Y = corr2d(X, K)
    assert Y.shape == (3, 3)
    for i in range(3):
        for j in range(3):
            window = [X[i + a, j + e] * K[a, e] for a in range(2) for e in range(3)]
            assert Y[i, j] == sp.Add(*window)


# --- 1x1 convolution is a matrix product ------------------------------------------------------


@settings(max_examples=25)
@given(c_i=st.integers(1, 4), c_o=st.integers(1, 4), size=pairs(st.integers(1, 4)))
def test_1x1_convolution_is_a_matrix_product(c_i, c_o, size):
    h, w = size
    X = symbol_array("x", (c_i, h, w))
    K = symbol_array("k", (c_o, c_i, 1, 1))
    Y = conv2d(X, K)
    product = K.reshape(c_o, c_i).tomatrix() * X.reshape(c_i, h * w).tomatrix()
    assert (Y.reshape(c_o, h * w).tomatrix() - product).expand() == sp.zeros(c_o, h * w)


# --- pooling --------------------------------------------------------------------------------


@settings(max_examples=60)
@given(
    size=pairs(st.integers(1, 6)),
    kernel=pairs(st.integers(1, 4)),
    stride=st.one_of(st.none(), pairs(st.integers(1, 3))),
    fraction=pairs(st.integers(0, 2)),
    ceil_mode=st.booleans(),
    count_include_pad=st.booleans(),
)
def test_symbolic_pooling_windows(size, kernel, stride, fraction, ceil_mode, count_include_pad):
    """Max of the window's entries inside the input; average = their sum / torch's divisor,
    the divisor counted here position by position on the padded grid."""
    padding = tuple(min(f, k // 2) for f, k in zip(fraction, kernel))
    X = symbol_array("x", (1, *size))
    try:
        mx = max_pool2d(X, kernel, stride, padding, 1, ceil_mode)
        av = avg_pool2d(X, kernel, stride, padding, ceil_mode, count_include_pad)
    except ShapeError:
        event("rejected")
        return
    (h, w), (kh, kw), (ph, pw) = size, kernel, padding
    sh, sw = stride or kernel
    _, oh, ow = mx.shape
    for i in range(oh):
        for j in range(ow):
            rows = range(i * sh - ph, i * sh - ph + kh)
            cols = range(j * sw - pw, j * sw - pw + kw)
            inside = [X[0, r, q] for r in rows for q in cols if 0 <= r < h and 0 <= q < w]
            padded = [1 for r in rows for q in cols if -ph <= r < h + ph and -pw <= q < w + pw]
            assert mx[0, i, j] == sp.Max(*inside)
            divisor = len(padded) if count_include_pad else len(inside)
            assert av[0, i, j] == sp.Add(*inside) / divisor


def test_symbol_array_names_and_assumptions():
    X = symbol_array("x", (2, 3, 4), real=True)
    flat = list(X._array)
    assert len(set(flat)) == 24 and all(s.is_real for s in flat)
    assert X[1, 2, 3] == sp.Symbol("x_{1,2,3}", real=True)


# --- SymPy's private constructors, used by the fast path ----------------------------------


def test_sympy_private_api_still_builds_what_the_public_one_does():
    """Fails loudly (SymPyChanged, naming the call) on a SymPy release that changes them."""
    from derive import sympy_private

    sympy_private.self_check()
    a, b, c = sp.symbols("a b c")
    assert sympy_private.sorted_product((a, b)).args == sp.Mul(b, a).args
    assert sympy_private.entries(sp.Array([[a, b], [c, 1]])) == [a, b, c, 1]


def test_sympy_private_self_check_names_what_broke(monkeypatch):
    from derive import sympy_private

    def reversed_add(terms, commutative):  # a SymPy whose _from_args re-sorted its terms
        return sp.Add._from_args(tuple(terms)[::-1], commutative)

    monkeypatch.setattr(sympy_private, "_ADD", reversed_add)
    broke = r"Add\._from_args.*fix derive/sympy_private"
    with pytest.raises(sympy_private.SymPyChanged, match=broke):
        sympy_private.self_check()
