r"""The gradients of cross-correlation: proved for every size, and on the engine at named shapes.

Take $L = \sum_{o,i,j} G_{o,i,j} (Y_{o,i,j} + b_o)$ for the convolution formula $Y$ of
:func:`derive.verify.indexed.conv_element` summed over any $H_o \times W_o$ outputs (every
loss has this gradient to first order). SymPy differentiates $L$, a sum over symbolic bounds,
with respect to one entry $X_{c',r',q'}$, $W_{o',c',a',e'}$ or $b_{o'}$; the Kronecker deltas
it gives are reduced by :mod:`derive.verify.deltas` (each step decided on the case's region:
the entry lies inside its array) and the result compared with

- the transposed convolution's scatter formula
  (:func:`derive.verify.indexed.conv_transpose_element`) with the same weight, stride,
  padding and dilation: the input gradient;
- the correlation of the padded input with $G$ as the kernel, stride and dilation trading
  places: the weight gradient;
- the sum of $G$ over one output channel: the bias gradient;

for every number of channels, size, kernel, stride, padding, dilation and output extent
(groups 1). That derive's ``conv_transpose2d`` computes the scatter formula is
``formula.conv-transpose-engine``; the fixed-shape claims below differentiate derive's own
``conv2d`` (groups included) and compare with derive's ``conv_transpose2d`` and ``conv2d``.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from derive import conv as CV
from derive.tensors import symbol_array
from derive.verify.catalogue.symbols import NN, POS
from derive.verify.claim import claim
from derive.verify.gradients import (
    CONFIGURATIONS,
    arrays,
    derivative,
    flipped_gradient,
    input_gradient,
    loss,
    weight_gradient,
)
from derive.verify.indexed import BOUND, OUT_BOUND, conv_element, conv_transpose_element
from derive.verify.proofs import Elementwise, Identity
from derive.verify.splits import Chain, Compare

__all__ = ["CLAIMS"]

SOURCE = "the chapter's exercise on the derivative of cross-correlation"

C, O, H, W, Ho, Wo, kh, kw, sh, sw, dh, dw = sp.symbols(
    "C O H W H_o W_o k_h k_w s_h s_w d_h d_w", **POS
)
pt, pl = sp.symbols("p_t p_l", **NN)
c1, r1, q1, o1, a1, e1 = sp.symbols("c' r' q' o' a' e'", **NN)
X, K, G, B = (sp.IndexedBase(name) for name in ("X", "W", "G", "b"))
SIZES = {"C": C, "H": H, "W": W, "kh": kh, "kw": kw, "sh": sh, "sw": sw, "pt": pt, "pl": pl,
         "dh": dh, "dw": dw}  # fmt: skip
LAYER = (C, O, H, W, Ho, Wo, kh, kw, sh, sw, dh, dw, pt, pl)
_c, _a, _e = BOUND
_o, _i, _j = OUT_BOUND


def _loss() -> sp.Expr:
    r"""$L = \sum_{o,i,j} G_{o,i,j} (Y_{o,i,j} + b_o)$, one flat sum per term (SymPy folds a
    ``Piecewise`` out of an inner sum it is multiplied into; a flat sum keeps it in scope)."""
    Y = conv_element(lambda *ix: X[ix], lambda *ix: K[ix], OUT_BOUND, SIZES)
    outputs = ((_o, 0, O - 1), (_i, 0, Ho - 1), (_j, 0, Wo - 1))
    conv = sp.Sum(G[_o, _i, _j] * Y.function, *Y.limits, *outputs)
    return conv + sp.Sum(G[_o, _i, _j] * B[_o], *outputs)


def _inside(*pairs: tuple[sp.Symbol, sp.Symbol]):
    """The entry lies in its array: a comparison split per index (its other side empty by the
    stated conditions), and those conditions."""
    slacks = sp.symbols(f"t_0:{len(pairs)}", **NN)
    split = Chain(tuple(Compare(bound, index + 1, bound, bound, t)
                        for (index, bound), t in zip(pairs, slacks)))  # fmt: skip
    return split, tuple(sp.Lt(index, bound) for index, bound in pairs)


def _general(name, statement, latex, wrt, rhs, pairs):
    split, where = _inside(*pairs)
    position = tuple(index for index, _ in pairs)
    assumed = ("C, O, H, W, H_o, W_o, k_h, k_w, s_h, s_w, d_h, d_w positive, p_t, p_l and the "
               "entry's indices non-negative integers, the entry inside its array (groups 1)")
    spec = Identity(lambda: sp.diff(_loss(), wrt), rhs, LAYER + position, split=split, where=where)
    return claim(name, statement, latex, assumed, spec, SOURCE)


def _transposed() -> sp.Expr:
    sizes = {**SIZES, "O": O, "H": Ho, "W": Wo}
    return conv_transpose_element(lambda *ix: G[ix], lambda *ix: K[ix], (c1, r1, q1), sizes)


def _correlated() -> sp.Expr:
    """The padded input correlated with G (stride d, dilation s), at kernel entry (a', e')."""
    swapped = {**SIZES, "C": 1, "kh": Ho, "kw": Wo, "sh": dh, "sw": dw, "dh": sh, "dw": sw}
    return conv_element(lambda *ix: X[ix], lambda o, c, a, e: G[o1, a, e], (c1, a1, e1), swapped,
                        channel=lambda o, c: o, bound=(_c, _i, _j))  # fmt: skip


# ------------------------------------------------------------- the engine, at named shapes
def _input_pairs(flipped: bool) -> list[tuple[sp.Array, sp.Array]]:
    pairs = []
    for config in CONFIGURATIONS:
        if flipped and config[-1] != 1:
            continue
        Xa, Wt, Ga, kwargs = arrays(config)
        gradient = flipped_gradient if flipped else input_gradient
        rhs = gradient(Xa, Wt, Ga, kwargs)
        pairs.append((derivative(loss(Xa, Wt, Ga, kwargs), Xa), rhs))
    return pairs


def _engine_pairs() -> list[tuple[Any, Any]]:
    """Input gradients (every configuration), weight gradients (ungrouped) and bias gradients."""
    pairs = _input_pairs(False)
    for config in CONFIGURATIONS:
        Xa, Wt, Ga, kwargs = arrays(config)
        if config[-1] == 1:
            pairs.append((derivative(loss(Xa, Wt, Ga, kwargs), Wt),
                          weight_gradient(Xa, Wt, Ga, kwargs)))  # fmt: skip
        b = symbol_array("b", (Wt.shape[0],))
        Y = CV.conv2d(Xa, Wt, bias=b, **kwargs)
        with_bias = sp.Add(*(g * y for g, y in zip(sp.flatten(Ga), sp.flatten(Y))))
        sums = [sp.Add(*sp.flatten(Ga[o, :, :])) for o in range(Ga.shape[0])]
        pairs.append((derivative(with_bias, b), sp.Array(sums)))
    return pairs


def _described(configs) -> str:
    """The configurations in words, read from the data (never typed twice)."""

    def shape(dims) -> str:
        return "x".join(map(str, dims))

    columns = list(zip(*configs))
    grouped = [i for i, c in enumerate(configs) if c[-1] != 1]
    text = (f"inputs {', '.join(shape(x) for x in columns[0])}; kernels "
            f"{', '.join(shape(w[2:]) for w in columns[1])}; strides "
            f"{', '.join(map(str, columns[2]))}; paddings {', '.join(map(str, columns[3]))}; "
            f"dilations {', '.join(map(str, columns[4]))}")  # fmt: skip
    groups = "; ".join(f"number {i + 1} with {configs[i][-1]} groups" for i in grouped)
    return text + (f"; {groups}" if groups else "")


_SHAPES = _described(CONFIGURATIONS)
_ASSUMED = "X, W, G, b arrays of distinct symbols of these shapes only"

CLAIMS = (
    _general(
        "gradient.input-transposed",
        "The gradient of a convolution with respect to its input is the transposed convolution "
        "of the output gradient with the same weight, stride, padding and dilation, for every "
        "number of channels, size, kernel, stride, padding, dilation and output extent.",
        r"\frac{\partial L}{\partial X_{c,r,q}} = \sum_{o,i,j,a,e} G_{o,i,j} W_{o,c,a,e}"
        r"\,[i s_h - p_t + a d_h = r]\,[j s_w - p_l + e d_w = q]",
        X[c1, r1, q1],
        _transposed,
        ((c1, C), (r1, H), (q1, W)),
    ),
    _general(
        "gradient.weight",
        "The gradient with respect to the kernel is the correlation of the padded input with "
        "the output gradient as the kernel, stride and dilation trading places, for every "
        "number of channels, size, kernel, stride, padding, dilation and output extent.",
        r"\frac{\partial L}{\partial W_{o,c,a,e}} = \sum_{i,j} G_{o,i,j}\,"
        r"\tilde X_{c,\, a d_h + i s_h - p_t,\, e d_w + j s_w - p_l}",
        K[o1, c1, a1, e1],
        _correlated,
        ((o1, O), (c1, C), (a1, kh), (e1, kw)),
    ),
    _general(
        "gradient.bias",
        "The gradient with respect to the bias of an output channel is the sum of that "
        "channel's output gradient, for every number of channels and output extent.",
        r"\frac{\partial L}{\partial b_o} = \sum_{i,j} G_{o,i,j}",
        B[o1],
        lambda: sp.Sum(G[o1, _i, _j], (_i, 0, Ho - 1), (_j, 0, Wo - 1)),
        ((o1, O),),
    ),
    claim(
        "gradient.engine",
        "SymPy's derivative of derive's own conv2d is derive's conv_transpose2d of the output "
        "gradient (input), the correlation of the input with it (weight, ungrouped) and its "
        f"channel sums (bias), entry by entry; for {_SHAPES}.",
        r"\frac{\partial L}{\partial X} = \operatorname{conv\_transpose2d}"
        r"\!\left(\frac{\partial L}{\partial Y}, W;\ s, p, d\right)",
        _ASSUMED,
        Elementwise(_engine_pairs),
        SOURCE,
    ),
    claim(
        "gradient.input-flipped",
        "The input gradient is a full cross-correlation of the output gradient (s - 1 zeros "
        "between its entries, d(k - 1) - p zeros around) with the kernel flipped in both axes "
        "and its channel axes swapped, at dilation d, computed by derive's conv2d; for the "
        f"ungrouped configurations of: {_SHAPES}.",
        r"\frac{\partial L}{\partial X_c} = \sum_o \operatorname{pad}_{d(k-1)-p}"
        r"(G_o^{\uparrow s}) \star_d \operatorname{rot}_{180}(W_{o,c})",
        _ASSUMED,
        Elementwise(lambda: _input_pairs(True)),
        SOURCE,
    ),
)
