r"""The gradients of a convolution, computed with derive's own engine (concrete arrays).

For a convolution $Y = X \star W$ (stride $s$, padding $p$, dilation $d$) and any upstream
gradient $G = \partial L / \partial Y$, take $L = \sum_{o,i,j} G_{o,i,j} Y_{o,i,j}$ (every
loss has this gradient to first order). Then $\partial L / \partial X$ is the transposed
convolution of $G$ with the same weight, stride, padding and dilation (``output_padding``
making up the rows the forward pass dropped), and equally a *full* correlation of $G$, with
$s - 1$ zeros inserted between its entries, with the kernel flipped in both axes and its
channel axes swapped; $\partial L / \partial W$ is a correlation of the padded input with
$G$ as the kernel, stride and dilation trading places (stride $d$, dilation $s$), cut to the
kernel's $k_h \times k_w$.

These functions build the right-hand sides with derive's ``conv_transpose2d`` and ``conv2d``
on given arrays; the claims of :mod:`derive.verify.catalogue.gradient` prove the identities
(for every size as indexed sums, and entry by entry on the engine at named shapes), and the
exercise pages use them.

>>> X, Wt, G, kw = arrays(CONFIGURATIONS[0])
>>> input_gradient(X, Wt, G, kw).shape == X.shape
True
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from derive import conv as C
from derive import transpose as T
from derive.tensors import symbol_array
from derive.verify.elements import entries

__all__ = [
    "CONFIGURATIONS",
    "arrays",
    "loss",
    "derivative",
    "input_gradient",
    "flipped_gradient",
    "weight_gradient",
]

#: (input shape (C, H, W), weight shape (C_out, C/g, kh, kw), stride, padding, dilation, groups)
CONFIGURATIONS: tuple[tuple[Any, ...], ...] = (
    ((1, 4, 4), (1, 1, 2, 2), (1, 1), (0, 0), (1, 1), 1),
    ((2, 5, 6), (2, 2, 3, 2), (2, 1), (1, 0), (1, 1), 1),
    ((1, 7, 6), (2, 1, 2, 3), (3, 2), (1, 2), (2, 1), 1),
    ((2, 6, 5), (2, 1, 3, 3), (1, 2), (2, 1), (1, 2), 2),
)

def loss(X: sp.Array, Wt: sp.Array, G: sp.Array, kw: dict[str, Any]) -> sp.Expr:
    r"""$L = \sum_{o,i,j} G_{o,i,j} Y_{o,i,j}$ with $Y$ derive's ``conv2d`` of ``X`` and ``Wt``."""
    Y = C.conv2d(X, Wt, **kw)
    return sp.Add(*(g * y for g, y in zip(sp.flatten(G), sp.flatten(Y))))


def arrays(config: tuple[Any, ...]) -> tuple[sp.Array, sp.Array, sp.Array, dict[str, Any]]:
    """Input, weight and output gradient of distinct symbols for one of
    :data:`CONFIGURATIONS`, and the convolution's keyword arguments."""
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


def _monomials(expr: sp.Expr) -> list[sp.Expr]:
    """The terms of ``expr`` multiplied out: a product with one sum factor distributed over it
    (recursively), anything else by ``sympy.expand``."""
    out: list[sp.Expr] = []
    for term in sp.Add.make_args(expr):
        factors = sp.Mul.make_args(term)
        sums = [f for f in factors if f.is_Add]
        if len(sums) == 1:
            rest = sp.Mul(*(f for f in factors if f is not sums[0]))
            out += [m for t in sums[0].args for m in _monomials(rest * t)]
        else:
            out += sp.Add.make_args(sp.expand(term)) if sums else [term]
    return out


def _power_rule(term: sp.Expr) -> dict[sp.Basic, int] | None:
    """``term``'s factors and integer powers when it is a monomial (numbers, symbols and
    indexed entries only), else None."""
    powers = term.as_powers_dict()
    plain = all(
        (base.is_Number or isinstance(base, (sp.Symbol, sp.Indexed))) and power.is_Integer
        for base, power in powers.items()
    )
    return powers if plain else None


def derivative(L: sp.Expr, A: sp.Array) -> sp.Array:
    r"""The derivative of ``L`` with respect to every entry of ``A`` (symbols), shaped as
    ``A``: ``L`` multiplied out into terms once, each monomial differentiated by the power rule,
    $\partial (c\, a^m) / \partial a = m\, c\, a^{m-1}$, any other term by ``sympy.diff``
    (one pass over ``L``, not one per entry).

    >>> x, y = sp.symbols("x y")
    >>> derivative(3 * x**2 * y + y * (x + sp.sin(x)), sp.Array([x, y]))
    [6*x*y + y*cos(x) + y, 3*x**2 + x + sin(x)]
    """
    position = {v: k for k, v in enumerate(entries(A))}
    terms: list[list[sp.Expr]] = [[] for _ in position]
    for term in _monomials(L):
        powers = _power_rule(term)
        if powers is None:
            for v in term.free_symbols & set(position):
                terms[position[v]].append(sp.diff(term, v))
            continue
        for factor, power in powers.items():
            k = position.get(factor)
            if k is not None:
                terms[k].append(power * term / factor)
    return sp.Array([sp.Add(*t) for t in terms], A.shape)
