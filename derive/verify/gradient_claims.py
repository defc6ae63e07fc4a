r"""Claims: the gradients of cross-correlation, proved element by element.

For a convolution $Y = X \star W$ (stride $s$, padding $p$, dilation $d$) and any upstream
gradient $G = \partial L / \partial Y$, take $L = \sum_{o,i,j} G_{o,i,j} Y_{o,i,j}$ (every
loss has this gradient to first order). Then

$$
\frac{\partial L}{\partial X_{c,r,q}} = \sum_{o}\ \sum_{\substack{i,a:\ i s - p + a d = r \\
j,e:\ j s - p + e d = q}} G_{o,i,j}\, W_{o,c,a,e},
$$

which is the transposed convolution of $G$ with the same weight, stride, padding and
dilation (``output_padding`` making up the rows the forward pass dropped), and equally a
*full* correlation of $G$, with $s - 1$ zeros inserted between its entries, with the kernel
flipped in both axes and its channel axes swapped; and

$$
\frac{\partial L}{\partial W_{o,c,a,e}} = \sum_{i,j} G_{o,i,j}\,
X^\text{pad}_{c,\ a d + i s,\ e d + j s},
$$

a correlation of the padded input with the output gradient as the kernel, where stride and
dilation trade places (stride $d$, dilation $s$), cut to the kernel's $k_h \times k_w$.

Each claim builds $L$ from derive's own ``conv2d`` on arrays of distinct symbols, lets
SymPy differentiate it, and compares every entry with the right-hand side built by derive's
``conv_transpose2d`` or ``conv2d``: equal as polynomials. That proves the identities **for
the shapes and parameters named** (several strides, paddings, dilations, a grouped case),
not for every size; the test suite also checks them against torch autograd on random
configurations.

These are :class:`derive.verify.claims.Claim` objects (group ``"gradient"``); the catalogue
takes them in as :data:`CLAIMS`.

>>> from derive.verify.claims import establish
>>> establish(CLAIMS[2]).status
'proved'
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from derive import conv as C
from derive import transpose as T
from derive.tensors import symbol_array
from derive.verify.claims import Claim
from derive.verify.proofs import Elementwise

__all__ = ["GROUP", "CLAIMS", "CONFIGURATIONS", "input_gradient", "weight_gradient"]

#: group id and heading, for the catalogue's GROUPS
GROUP = ("gradient", "Gradients of cross-correlation")

#: (input shape (C, H, W), weight shape (C_out, C/g, kh, kw), stride, padding, dilation, groups)
CONFIGURATIONS: tuple[tuple[Any, ...], ...] = (
    ((1, 4, 4), (1, 1, 2, 2), (1, 1), (0, 0), (1, 1), 1),
    ((2, 5, 6), (2, 2, 3, 2), (2, 1), (1, 0), (1, 1), 1),
    ((1, 7, 6), (2, 1, 2, 3), (3, 2), (1, 2), (2, 1), 1),
    ((2, 6, 5), (2, 1, 3, 3), (1, 2), (2, 1), (1, 2), 2),
)

_SOURCE = "the chapter's exercise on the derivative of cross-correlation"


def _loss(X: sp.Array, Wt: sp.Array, G: sp.Array, kw: dict[str, Any]) -> sp.Expr:
    Y = C.conv2d(X, Wt, **kw)
    return sp.Add(*(g * y for g, y in zip(sp.flatten(G), sp.flatten(Y))))


def _arrays(config: tuple[Any, ...]) -> tuple[sp.Array, sp.Array, sp.Array, dict[str, Any]]:
    xshape, wshape, stride, padding, dilation, groups = config
    kw = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    X, Wt = symbol_array("x", xshape), symbol_array("w", wshape)
    out = C.conv2d(X, Wt, **kw).shape
    return X, Wt, symbol_array("g", out), kw


def _output_padding(X: sp.Array, Wt: sp.Array, G: sp.Array, kw: dict[str, Any]) -> tuple:
    """The rows and columns of X the transposed convolution must add back."""
    return tuple(
        n - ((o - 1) * s - 2 * p + d * (k - 1) + 1)
        for n, o, k, s, p, d in zip(X.shape[1:], G.shape[1:], Wt.shape[2:], kw["stride"],
                                    kw["padding"], kw["dilation"])
    )  # fmt: skip


def input_gradient(X: sp.Array, Wt: sp.Array, G: sp.Array, kw: dict[str, Any]) -> sp.Array:
    r"""$\partial L/\partial X$ as derive's transposed convolution of ``G`` with ``Wt``."""
    return T.conv_transpose2d(G, Wt, stride=kw["stride"], padding=kw["padding"],
                              output_padding=_output_padding(X, Wt, G, kw),
                              groups=kw["groups"], dilation=kw["dilation"])  # fmt: skip


def _spread(G: sp.Array, stride: tuple[int, int]) -> list[list[list]]:
    """``G`` with ``s - 1`` zeros between its entries along each axis."""
    c, ho, wo = G.shape
    sh, sw = stride
    rows, cols = (ho - 1) * sh + 1, (wo - 1) * sw + 1
    out = [[[sp.Integer(0)] * cols for _ in range(rows)] for _ in range(c)]
    for o in range(c):
        for i in range(ho):
            for j in range(wo):
                out[o][i * sh][j * sw] = G[o, i, j]
    return out


def flipped_gradient(X: sp.Array, Wt: sp.Array, G: sp.Array, kw: dict[str, Any]) -> sp.Array:
    r"""$\partial L/\partial X$ as a full correlation with the flipped kernel (groups 1).

    $G$ spread by the stride (zeros between entries), padded by $d(k-1) - p$ on each side
    (plus, after, the rows the forward pass dropped), correlated with $W$ flipped in both
    spatial axes and with its channel axes swapped, at dilation $d$; needs $p \le d(k-1)$.
    """
    c_out, c_in, kh, kw_ = Wt.shape
    flipped = [[[[Wt[o, c, kh - 1 - a, kw_ - 1 - e] for e in range(kw_)] for a in range(kh)]
                for o in range(c_out)] for c in range(c_in)]  # fmt: skip
    extra = _output_padding(X, Wt, G, kw)
    pads = tuple(
        (d * (k - 1) - p, d * (k - 1) - p + e)
        for k, p, d, e in zip((kh, kw_), kw["padding"], kw["dilation"], extra)
    )
    return C.conv2d(_spread(G, kw["stride"]), flipped, padding=pads, dilation=kw["dilation"])


def weight_gradient(X: sp.Array, Wt: sp.Array, G: sp.Array, kw: dict[str, Any]) -> sp.Array:
    r"""$\partial L/\partial W$: each input channel correlated with each output gradient
    (stride $d$, dilation $s$, padding $p$), cut to the kernel (groups 1)."""
    c_out, c_in, kh, kwidth = Wt.shape
    out = []
    for o in range(c_out):
        for c in range(c_in):
            plane = [[[X[c, r, q] for q in range(X.shape[2])] for r in range(X.shape[1])]]
            kernel = [[[[G[o, i, j] for j in range(G.shape[2])] for i in range(G.shape[1])]]]
            full = C.conv2d(plane, kernel, stride=kw["dilation"], padding=kw["padding"],
                            dilation=kw["stride"])  # fmt: skip
            out += [full[0, a, e] for a in range(kh) for e in range(kwidth)]
    return sp.Array(out, Wt.shape)


def _derivative(L: sp.Expr, A: sp.Array) -> sp.Array:
    return sp.Array([sp.diff(L, v) for v in sp.flatten(A)], A.shape)


def _input_pairs(flipped: bool) -> list[tuple[sp.Array, sp.Array]]:
    pairs = []
    for config in CONFIGURATIONS:
        if flipped and config[-1] != 1:
            continue
        X, Wt, G, kw = _arrays(config)
        rhs = flipped_gradient(X, Wt, G, kw) if flipped else input_gradient(X, Wt, G, kw)
        pairs.append((_derivative(_loss(X, Wt, G, kw), X), rhs))
    return pairs


def _weight_pairs() -> list[tuple[sp.Array, sp.Array]]:
    pairs = []
    for config in CONFIGURATIONS:
        if config[-1] != 1:
            continue
        X, Wt, G, kw = _arrays(config)
        pairs.append((_derivative(_loss(X, Wt, G, kw), Wt), weight_gradient(X, Wt, G, kw)))
    return pairs


def _bias_pairs() -> list[tuple[sp.Array, sp.Array]]:
    pairs = []
    for config in CONFIGURATIONS:
        X, Wt, G, kw = _arrays(config)
        b = symbol_array("b", (Wt.shape[0],))
        Y = C.conv2d(X, Wt, bias=b, **kw)
        L = sp.Add(*(g * y for g, y in zip(sp.flatten(G), sp.flatten(Y))))
        sums = [sp.Add(*(G[o, i, j] for i in range(G.shape[1]) for j in range(G.shape[2])))
                for o in range(G.shape[0])]  # fmt: skip
        pairs.append((_derivative(L, b), sp.Array(sums)))
    return pairs


_SHAPES = ("inputs 1x4x4, 2x5x6, 1x7x6, 2x6x5; kernels 2x2, 3x2, 2x3, 3x3; strides (1, 1), "
           "(2, 1), (3, 2), (1, 2); paddings (0, 0), (1, 0), (1, 2), (2, 1); dilations (1, 1), "
           "(1, 1), (2, 1), (1, 2); the last with 2 groups")  # fmt: skip
_ASSUMED = "X, W, G arrays of distinct symbols of these shapes only"


def _catalogue() -> list[Claim]:
    group = GROUP[0]
    return [
        Claim(
            "gradient.input-transposed", group,
            "The gradient of a convolution with respect to its input is the transposed "
            "convolution of the output gradient with the same weight, stride, padding, "
            f"dilation and groups (output_padding restoring the input size); for {_SHAPES}.",
            r"\frac{\partial L}{\partial X} = \operatorname{conv\_transpose2d}"
            r"\!\left(\frac{\partial L}{\partial Y}, W;\ s, p, d\right)",
            _ASSUMED, "elementwise proof", Elementwise(lambda: _input_pairs(False)), _SOURCE,
        ),
        Claim(
            "gradient.input-flipped", group,
            "The same gradient is a full cross-correlation of the output gradient (s - 1 "
            "zeros between its entries, d(k - 1) - p zeros around) with the kernel flipped "
            "in both axes and its channel axes swapped, at dilation d; for the ungrouped "
            "configurations above.",
            r"\frac{\partial L}{\partial X_c} = \sum_o \operatorname{pad}_{d(k-1)-p}"
            r"(G_o^{\uparrow s}) \star_d \operatorname{rot}_{180}(W_{o,c})",
            _ASSUMED, "elementwise proof", Elementwise(lambda: _input_pairs(True)), _SOURCE,
        ),
        Claim(
            "gradient.weight", group,
            "The gradient with respect to the kernel is the cross-correlation of the padded "
            "input with the output gradient as the kernel, stride and dilation trading "
            "places, cut to the kernel's size; for the ungrouped configurations above.",
            r"\frac{\partial L}{\partial W_{o,c,a,e}} = \sum_{i,j} G_{o,i,j}\, "
            r"X^{\mathrm{pad}}_{c,\, a d + i s,\, e d + j s}",
            _ASSUMED, "elementwise proof", Elementwise(_weight_pairs), _SOURCE,
        ),
        Claim(
            "gradient.bias", group,
            "The gradient with respect to the bias of an output channel is the sum of that "
            "channel's output gradient.",
            r"\frac{\partial L}{\partial b_o} = \sum_{i,j} G_{o,i,j}",
            _ASSUMED, "elementwise proof", Elementwise(_bias_pairs), _SOURCE,
        ),
    ]  # fmt: skip


#: the claims, in catalogue order
CLAIMS: list[Claim] = _catalogue()
