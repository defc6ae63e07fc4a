r"""Element identities for symbolic sizes: the layer formulas as indexed sums.

The convolution formula (:func:`derive.verify.indexed.conv_element`) and the average-pooling
formula are proved linear, a matrix product for a 1x1 kernel, a sum over channels, and a
uniform convolution, for *every* size, kernel, stride, padding and dilation; stacked
convolutions for every input size with the stated kernel shapes. That the engine computes
exactly these formulas is claimed entry by entry at concrete shapes (``formula.*``), and the
sweep compares the engine's elements with torch's.
"""

from __future__ import annotations

import sympy as sp

from derive import conv as C
from derive import pool as PL
from derive import tensors as T
from derive import transpose as TR
from derive.verify.catalogue.symbols import NN, POS, alpha, beta
from derive.verify.claim import claim
from derive.verify.indexed import (
    BOUND,
    avg_pool_element,
    conv_element,
    conv_transpose_element,
    corr2d_element,
)
from derive.verify.proofs import Elementwise, Identity
from derive.verify.splits import Chain, Compare

__all__ = ["CLAIMS"]

Cc, H, W, kh, kw, sh, sw, dh, dw = sp.symbols("C H W k_h k_w s_h s_w d_h d_w", **POS)
pt, pl, o, i, j, tH, tW = sp.symbols("p_t p_l o i j t_H t_W", **NN)
X, Y, K, V = (sp.IndexedBase(name) for name in ("X", "Y", "W", "V"))
SIZES = {"C": Cc, "H": H, "W": W, "kh": kh, "kw": kw, "sh": sh, "sw": sw, "pt": pt, "pl": pl,
         "dh": dh, "dw": dw}  # fmt: skip
SIZE_SYMBOLS = (Cc, H, W, kh, kw, sh, sw, dh, dw, pt, pl, o, i, j)
_c = BOUND[0]


def _x(*ix):
    return X[ix]


def _y(*ix):
    return Y[ix]


def _w(*ix):
    return K[ix]


def _v(*ix):
    return V[ix]


def _conv(x, w, sizes=SIZES, **kw):
    return conv_element(x, w, (o, i, j), sizes, **kw)


def _inside(height, width, extra=0):
    """Output positions inside an output of height - extra by width - extra: a comparison
    split whose other side the stated conditions rule out."""
    split = Chain((Compare(height, i + 1 + extra, height, height, tH),
                   Compare(width, j + 1 + extra, width, width, tW)))  # fmt: skip
    return split, (sp.Lt(i + extra, height), sp.Lt(j + extra, width))


_SPLIT_1X1, _WHERE_1X1 = _inside(H, W)
_UNIFORM = 1 / (kh * kw)


def _full_kernel(K1: sp.Array, K2: sp.Array) -> sp.Array:
    """The kernel of two stacked cross-correlations: the coefficients of a polynomial product."""
    z, y = sp.symbols("z y")
    (h1, w1), (h2, w2) = K1.shape, K2.shape
    poly = sp.expand(
        sum(K1[a, e] * z**a * y**e for a in range(h1) for e in range(w1))
        * sum(K2[a, e] * z**a * y**e for a in range(h2) for e in range(w2))
    )
    return sp.Array([[poly.coeff(z, a).coeff(y, e) for e in range(w1 + w2 - 1)]
                     for a in range(h1 + h2 - 1)])  # fmt: skip


_STACKS = (((2, 2), (3, 2)), ((1, 3), (2, 1)))


def _stack_sides(first: tuple[int, int], second: tuple[int, int]):
    """Two stacked valid convolutions of an H x W input, and one with the full kernel."""
    K1, K2 = T.symbol_array("a", first), T.symbol_array("b", second)
    F = _full_kernel(K1, K2)
    h1, w1 = H - first[0] + 1, W - first[1] + 1

    def y1(c, r, q):  # the first layer's output (its sums written out: numeric kernel)
        inner = {"C": 1, "H": H, "W": W, "kh": first[0], "kw": first[1]}
        return conv_element(_x, lambda *ix: K1[ix[2:]], (0, r, q), inner)

    two = conv_element(
        y1,
        lambda *ix: K2[ix[2:]],
        (0, i, j),
        {"C": 1, "H": h1, "W": w1, "kh": second[0], "kw": second[1]},
    )
    one = conv_element(
        _x,
        lambda *ix: F[ix[2:]],
        (0, i, j),
        {"C": 1, "H": H, "W": W, "kh": F.shape[0], "kw": F.shape[1]},
    )
    return two, one  # fmt: skip


def _stack_claim(name: str, index: int):
    first, second = _STACKS[index]
    eh, ew = first[0] + second[0] - 2, first[1] + second[1] - 2
    split = Chain((Compare(H, i + 1 + eh, H, H, tH), Compare(W, j + 1 + ew, W, W, tW)))
    kernels = tuple(T.symbol_array("a", first)) + tuple(T.symbol_array("b", second))
    shapes = f"{first[0]}x{first[1]} then {second[0]}x{second[1]}"
    return claim(
        name,
        "Two stacked valid convolutions equal one with the full convolution of the kernels "
        f"(size k1 + k2 - 1), entry by entry, for every input size H x W and output position: "
        f"with {shapes} kernels of symbols.",
        r"(X \star K_1) \star K_2 = X \star (K_1 * K_2)",
        f"H, W positive, i, j non-negative integers, (i, j) inside the output; {shapes} "
        "kernels only",
        Identity(
            lambda: _stack_sides(first, second)[0],
            lambda: _stack_sides(first, second)[1],
            (H, W, i, j) + tuple(sp.flatten(kernels)),
            split=split,
            where=(sp.Lt(i + eh, H), sp.Lt(j + ew, W)),
            shapes=f"{shapes} kernels",
        ),
    )


# ---------------------------------------------------------------- the engine at concrete shapes
_CONV_CASES = (
    # (input shape, weight shape, stride, padding ((t, b), (l, r)), dilation, groups)
    ((2, 4, 5), (3, 2, 2, 3), (1, 1), ((0, 0), (0, 0)), (1, 1), 1),
    ((2, 5, 5), (2, 2, 3, 2), (2, 1), ((1, 2), (0, 1)), (1, 2), 1),
    ((4, 4, 4), (2, 2, 2, 2), (1, 2), ((1, 1), (1, 1)), (2, 1), 2),
)


def _conv_engine_pairs():
    pairs = []
    for shape, wshape, stride, pads, dil, groups in _CONV_CASES:
        Xa, Wa = T.symbol_array("x", shape), T.symbol_array("w", wshape)
        ours = C.conv2d(Xa, Wa, stride=stride, padding=pads, dilation=dil, groups=groups)
        per_in, per_out = shape[0] // groups, wshape[0] // groups
        sizes = {"C": per_in, "H": shape[1], "W": shape[2], "kh": wshape[2], "kw": wshape[3],
                 "sh": stride[0], "sw": stride[1], "pt": pads[0][0], "pl": pads[1][0],
                 "dh": dil[0], "dw": dil[1]}  # fmt: skip

        def channel(oo, cc, per_in=per_in, per_out=per_out):
            return cc + (oo // per_out) * per_in

        x, w = Xa.__getitem__, Wa.__getitem__
        formula = [
            [[conv_element(lambda *ix, x=x: x(ix), lambda *ix, w=w: w(ix), (oo, ii, jj), sizes,
                           channel=channel) for jj in range(ours.shape[2])]
             for ii in range(ours.shape[1])] for oo in range(ours.shape[0])
        ]  # fmt: skip
        pairs.append((ours, sp.Array(formula)))
    return pairs


_TRANSPOSE_CASES = (
    # (input shape, weight shape, stride, padding, output padding, dilation)
    ((2, 3, 3), (2, 2, 2, 3), (2, 1), (1, 0), (1, 0), (1, 2)),
    ((1, 4, 3), (1, 3, 3, 2), (1, 3), (0, 1), (0, 2), (2, 1)),
    ((3, 2, 2), (3, 1, 2, 2), (2, 2), (0, 0), (0, 0), (1, 1)),
)


def _transpose_cases_text() -> str:
    """The transposed cases in words, read from the data."""
    return "; ".join(
        f"a {'x'.join(map(str, shape))} input with a {'x'.join(map(str, wshape))} weight, stride "
        f"{stride}, padding {pads}, output padding {extra}, dilation {dil}"
        for shape, wshape, stride, pads, extra, dil in _TRANSPOSE_CASES
    )


def _conv_transpose_engine_pairs():
    pairs = []
    for shape, wshape, stride, pads, extra, dil in _TRANSPOSE_CASES:
        Ga, Wa = T.symbol_array("g", shape), T.symbol_array("w", wshape)
        ours = TR.conv_transpose2d(Ga, Wa, stride=stride, padding=pads, output_padding=extra,
                                   dilation=dil)  # fmt: skip
        sizes = {"O": shape[0], "H": shape[1], "W": shape[2], "kh": wshape[2], "kw": wshape[3],
                 "sh": stride[0], "sw": stride[1], "pt": pads[0], "pl": pads[1],
                 "dh": dil[0], "dw": dil[1]}  # fmt: skip
        g, w = Ga.__getitem__, Wa.__getitem__
        formula = [
            [[conv_transpose_element(lambda *ix, g=g: g(ix), lambda *ix, w=w: w(ix),
                                     (cc, rr, qq), sizes) for qq in range(ours.shape[2])]
             for rr in range(ours.shape[1])] for cc in range(ours.shape[0])
        ]  # fmt: skip
        pairs.append((ours, sp.Array(formula)))
    return pairs


def _pool_engine_pairs():
    Xa = T.symbol_array("x", (2, 5, 5))
    pairs = []
    for ks, st, pad in (((2, 3), (1, 2), (0, 1)), ((3, 3), (2, 2), (1, 1)), ((2, 2), None, (0, 0))):
        ours = PL.avg_pool2d(Xa, ks, st, pad)
        stride = ks if st is None else st
        sizes = {"H": 5, "W": 5, "kh": ks[0], "kw": ks[1], "sh": stride[0], "sw": stride[1],
                 "pt": pad[0], "pl": pad[1]}  # fmt: skip
        formula = [[[avg_pool_element(lambda *ix: Xa[ix], (c, ii, jj), sizes)
                     for jj in range(ours.shape[2])] for ii in range(ours.shape[1])]
                   for c in range(2)]  # fmt: skip
        pairs.append((ours, sp.Array(formula)))
    return pairs


_FORMULA = (
    r"Y_{o,i,j} = \sum_{c,a,e} W_{o,c,a,e}\,"
    r" \tilde X_{c,\, i s_h - p_t + a d_h,\, j s_w - p_l + e d_w}"
)
_ALL_SIZES = ("C, H, W, k_h, k_w, s_h, s_w, d_h, d_w positive, p_t, p_l, o, i, j non-negative "
              "integers (every size, stride, padding and dilation; groups 1)")  # fmt: skip

def _linear(what: str, words: str, latex: str, lhs, rhs):
    statement = f"The convolution formula is linear in its {what}, for every size: {words}."
    spec = Identity(lhs, rhs, SIZE_SYMBOLS + (alpha, beta))
    return claim(f"book.linear-{what}", statement, latex, f"{_ALL_SIZES}; a, b any", spec)


CLAIMS = (
    claim(
        "formula.conv-engine",
        "The engine's conv2d computes the convolution formula: for a 2x4x5 input with a "
        "3x2x2x3 weight; a 2x5x5 input, 2x2x3x2 weight, stride (2, 1), padding ((1, 2), (0, 1)), "
        "dilation (1, 2); a 4x4x4 input, 2x2x2x2 weight, stride (1, 2), padding 1, dilation "
        "(2, 1), groups 2; all entries symbols.",
        _FORMULA,
        "the three stated configurations (these shapes only)",
        Elementwise(_conv_engine_pairs),
        "derive.conv",
    ),
    claim(
        "formula.avg-pool-engine",
        "The engine's avg_pool2d computes the average-pooling formula (zeros counted): for a "
        "2x5x5 input of symbols with window (2, 3) stride (1, 2) padding (0, 1); window 3 "
        "stride 2 padding 1; window 2 with the default stride.",
        r"Y_{c,i,j} = \frac{1}{k_h k_w} \sum_{a,e}"
        r" \tilde X_{c,\, i s_h - p_t + a,\, j s_w - p_l + e}",
        "X a 2x5x5 array of symbols, the three stated configurations (this shape only)",
        Elementwise(_pool_engine_pairs),
        "derive.pool",
    ),
    claim(
        "formula.conv-transpose-engine",
        "The engine's conv_transpose2d computes the transposed convolution's scatter formula: "
        f"for {_transpose_cases_text()}; all entries symbols.",
        r"Z_{c,r,q} = \sum_{o,i,j,a,e} G_{o,i,j} W_{o,c,a,e}\,[i s_h - p_t + a d_h = r]\,"
        r"[j s_w - p_l + e d_w = q]",
        "the stated configurations (these shapes only)",
        Elementwise(_conv_transpose_engine_pairs),
        "derive.transpose",
    ),
    _linear("input", "conv(aX + bY, W) = a conv(X, W) + b conv(Y, W)",
            r"(aX + bY) \star W = a (X \star W) + b (Y \star W)",
            lambda: _conv(lambda *ix: alpha * X[ix] + beta * Y[ix], _w),
            lambda: alpha * _conv(_x, _w) + beta * _conv(_y, _w)),
    _linear("kernel", "conv(X, aV + bW) = a conv(X, V) + b conv(X, W)",
            r"X \star (aV + bW) = a (X \star V) + b (X \star W)",
            lambda: _conv(_x, lambda *ix: alpha * V[ix] + beta * K[ix]),
            lambda: alpha * _conv(_x, _v) + beta * _conv(_x, _w)),  # fmt: skip
    claim(
        "book.multi-in-sum",
        "Several input channels give the sum of per-channel cross-correlations, for every "
        "number of channels, size and kernel (stride 1, no padding): "
        "conv(X, W)_o = sum over c of corr2d(X_c, W_{o,c}).",
        r"Y_o = \sum_{c} \operatorname{corr2d}(X_c, W_{o,c})",
        "C, H, W, k_h, k_w positive, o, i, j non-negative integers",
        Identity(
            lambda: _conv(_x, _w, {"C": Cc, "H": H, "W": W, "kh": kh, "kw": kw}),
            lambda: sp.Sum(
                corr2d_element(
                    lambda r, q: X[_c, r, q],
                    lambda a, e: K[o, _c, a, e],
                    (i, j),
                    {"H": H, "W": W, "kh": kh, "kw": kw},
                ),
                (_c, 0, Cc - 1),
            ),
            (Cc, H, W, kh, kw, o, i, j),
        ),  # fmt: skip
    ),
    claim(
        "book.conv1x1-matmul",
        "A 1x1 convolution is a matrix product, for every number of channels and size: "
        "output o at (i, j) is row o of W (C_out x C) times column (i, j) of X (C x HW).",
        r"Y_{o,(i,j)} = \sum_{c} W_{o,c}\, X_{c,(i,j)}",
        "C, H, W positive, o, i, j non-negative integers, i < H, j < W (stride 1, no padding)",
        Identity(
            lambda: _conv(_x, _w, {"C": Cc, "H": H, "W": W, "kh": 1, "kw": 1}),
            lambda: sp.Sum(K[o, _c, 0, 0] * X[_c, i, j], (_c, 0, Cc - 1)),
            (Cc, H, W, o, i, j),
            split=_SPLIT_1X1,
            where=_WHERE_1X1,
        ),  # fmt: skip
    ),
    claim(
        "composition.avgpool-is-conv",
        "Average pooling (zeros counted, no ceil_mode) is a depthwise convolution with the "
        "uniform kernel 1/(k_h k_w), for every size, window, stride and padding.",
        r"\operatorname{avgpool}_{k}(X) = X \star \tfrac{1}{k_h k_w} \mathbf{1}_{k_h \times k_w}",
        "H, W, k_h, k_w, s_h, s_w positive, p_t, p_l, c, i, j non-negative integers",
        Identity(
            lambda: avg_pool_element(_x, (o, i, j), SIZES),
            lambda: _conv(
                _x,
                lambda *ix: _UNIFORM,
                {**SIZES, "C": 1, "dh": 1, "dw": 1},
                channel=lambda oo, cc: oo + cc,
            ),
            (H, W, kh, kw, sh, sw, pt, pl, o, i, j),
        ),  # fmt: skip
    ),
    _stack_claim("composition.stack-elements", 0),
    _stack_claim("composition.stack-elements-thin", 1),
)
