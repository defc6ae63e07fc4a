r"""Layer formulas as indexed sums over symbolic bounds, and their reduction.

The engine computes every element of a layer for concrete shapes. Its formula, written as
a SymPy ``Sum`` over symbolic bounds with ``IndexedBase`` entries, states the same thing for
*every* shape: output channel $o$ of a convolution at $(i, j)$ is

$$
Y_{o,i,j} = \sum_{c=0}^{C-1} \sum_{a=0}^{k_h-1} \sum_{e=0}^{k_w-1}
    W_{o,c,a,e}\, \tilde X_{c,\; i s_h - p_t + a d_h,\; j s_w - p_l + e d_w},
$$

$\tilde X$ being the input with zeros outside $0 \le r < H$, $0 \le q < W$ (the padding).
:func:`conv_element` and :func:`avg_pool_element` build these sums; identities between them
(linearity, a 1x1 convolution as a matrix product, average pooling as a convolution) are
proved by :func:`reduce_sums` for symbolic sizes. That the engine computes exactly these sums
is a separate claim, checked entry by entry at concrete shapes (where the sums, their counts
being numbers, are written out).

:func:`reduce_sums` rests on three facts about finite sums: a constant factor moves inside,
sums over the same ranges add term by term, and sums over independent ranges may be taken in
any order (so nested sums flatten).

>>> X, Y = sp.IndexedBase("X"), sp.IndexedBase("Y")
>>> n = sp.Symbol("n", integer=True, positive=True)
>>> a = sp.Symbol("a", integer=True)
>>> reduce_sums(sp.Sum(X[a] + Y[a], (a, 0, n - 1)) - sp.Sum(X[a], (a, 0, n - 1))
...             - sp.Sum(Y[a], (a, 0, n - 1)))
0
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any

import sympy as sp

from derive.verify.deltas import canonical, collapse, restate_indicators
from derive.verify.lemmas import Region, apply_lemmas

__all__ = [
    "BOUND",
    "OUT_BOUND",
    "padded",
    "conv_element",
    "conv_transpose_element",
    "corr2d_element",
    "avg_pool_element",
    "reduce_sums",
    "evaluate_sums",
]

#: the summation variables (channel, kernel row, kernel column), reserved for sums
BOUND = sp.symbols("c_ a_ e_", integer=True)
#: the summation variables over a layer's output (channel, row, column), reserved for sums
OUT_BOUND = sp.symbols("o_ i_ j_", integer=True)


Entry = Callable[..., sp.Expr]


def _number(value: object) -> bool:
    return isinstance(value, int) or (isinstance(value, sp.Basic) and value.is_Integer)


def padded(x: Entry, height: sp.Expr, width: sp.Expr) -> Entry:
    """The input with zeros outside ``0 <= r < height``, ``0 <= q < width`` (decided at once
    when everything is a number, a ``Piecewise`` otherwise)."""

    def entry(c: sp.Expr, r: sp.Expr, q: sp.Expr) -> sp.Expr:
        if all(_number(v) for v in (r, q, height, width)):
            return x(c, r, q) if 0 <= r < height and 0 <= q < width else sp.Integer(0)
        inside = sp.And(r >= 0, r < height, q >= 0, q < width)
        return sp.Piecewise((x(c, r, q), inside), (0, True))

    return entry


def _sum(body: Callable[..., sp.Expr], bound: tuple, counts: tuple) -> sp.Expr:
    """``sum body(*bound)`` over ``0 <= bound[i] < counts[i]``: written out when every count
    is a number, a ``Sum`` (first bound innermost) otherwise."""
    if all(_number(count) for count in counts):
        ranges = [range(int(count)) for count in counts]
        return sp.Add(*(body(*map(sp.Integer, point)) for point in itertools.product(*ranges)))
    limits = [(var, 0, count - 1) for var, count in zip(bound, counts)]
    return sp.Sum(body(*bound), *limits)


def conv_element(
    x: Entry,
    w: Entry,
    position: tuple[sp.Expr, sp.Expr, sp.Expr],
    sizes: Mapping[str, Any],
    channel: Callable[[sp.Expr, sp.Expr], sp.Expr] = lambda o, c: c,
    bound: tuple[sp.Symbol, sp.Symbol, sp.Symbol] = BOUND,
) -> sp.Expr:
    r"""Output element ``position = (o, i, j)`` of a 2-D convolution as an indexed sum.

    ``sizes``: ``C`` (input channels per group), ``H``, ``W``, ``kh``, ``kw`` and optionally
    ``sh``, ``sw``, ``pt``, ``pl``, ``dh``, ``dw`` (default stride 1, padding 0, dilation 1);
    ``channel(o, c)`` is the input channel of term ``c`` (grouped convolutions); ``bound``
    names the summation variables (channel, kernel row, kernel column). With numeric ``C``,
    ``kh``, ``kw`` the sum is written out.
    """
    o, i, j = position
    get = {"sh": 1, "sw": 1, "pt": 0, "pl": 0, "dh": 1, "dw": 1, **sizes}
    pad = padded(x, get["H"], get["W"])

    def body(e, a, c):
        r = i * get["sh"] - get["pt"] + a * get["dh"]
        q = j * get["sw"] - get["pl"] + e * get["dw"]
        return w(o, c, a, e) * pad(channel(o, c), r, q)

    c, a, e = bound
    return _sum(body, (e, a, c), (get["kw"], get["kh"], get["C"]))


def _delta(x: sp.Expr, y: sp.Expr) -> sp.Expr:
    """$[x = y]$: decided at once for two numbers, a Kronecker delta otherwise."""
    if _number(x) and _number(y):
        return sp.Integer(1 if x == y else 0)
    return sp.KroneckerDelta(x, y)


def conv_transpose_element(
    g: Entry, w: Entry, position: tuple[sp.Expr, sp.Expr, sp.Expr], sizes: Mapping[str, Any]
) -> sp.Expr:
    r"""Output element ``position = (c, r, q)`` of a 2-D transposed convolution (groups 1) as a
    scatter sum: input entry $(i, j)$ of channel $o$ lands, through kernel entry $(a, e)$, on
    output row $i s_h - p_t + a d_h$ and column $j s_w - p_l + e d_w$ (the first $p_t$, $p_l$
    rows and columns cropped, as torch's ``padding``):

    $$
    Z_{c,r,q} = \sum_{o,i,j,a,e} G_{o,i,j}\, W_{o,c,a,e}\,
        [\,i s_h - p_t + a d_h = r\,]\, [\,j s_w - p_l + e d_w = q\,].
    $$

    ``sizes``: ``O`` (input channels), ``H``, ``W`` (input size), ``kh``, ``kw`` and
    optionally ``sh``, ``sw``, ``pt``, ``pl``, ``dh``, ``dw``. Output padding only adds rows
    at the end: it changes which positions exist, not the formula of one.
    """
    c, r, q = position
    get = {"sh": 1, "sw": 1, "pt": 0, "pl": 0, "dh": 1, "dw": 1, **sizes}

    def body(e, a, j, i, o):
        row = i * get["sh"] - get["pt"] + a * get["dh"]
        col = j * get["sw"] - get["pl"] + e * get["dw"]
        hits = _delta(row, r) * _delta(col, q)
        return hits * g(o, i, j) * w(o, c, a, e) if hits != 0 else sp.Integer(0)

    o, i, j = OUT_BOUND
    _, a, e = BOUND
    counts = (get["kw"], get["kh"], get["W"], get["H"], get["O"])
    return _sum(body, (e, a, j, i, o), counts)


def corr2d_element(x: Entry, k: Entry, position: tuple[sp.Expr, sp.Expr], sizes) -> sp.Expr:
    r"""Entry $(i, j)$ of the book's one-channel cross-correlation of a zero-padded $H \times W$
    input $x(r, q)$ with a $k_h \times k_w$ kernel $k(a, e)$ (stride 1):
    $\sum_{a,e} k_{a,e}\, \tilde x_{i + a,\, j + e}$."""
    i, j = position
    pad = padded(lambda c, r, q: x(r, q), sizes["H"], sizes["W"])
    _, a, e = BOUND
    return _sum(lambda e, a: k(a, e) * pad(0, i + a, j + e), (e, a), (sizes["kw"], sizes["kh"]))


def avg_pool_element(x: Entry, position: tuple[sp.Expr, sp.Expr, sp.Expr], sizes) -> sp.Expr:
    r"""Output ``(c, i, j)`` of average pooling (zeros counted, no ``ceil_mode``):
    $\frac{1}{k_h k_w} \sum_{a,e} \tilde X_{c,\, i s_h - p_t + a,\, j s_w - p_l + e}$."""
    c, i, j = position
    get = {"sh": sizes["kh"], "sw": sizes["kw"], "pt": 0, "pl": 0, **sizes}
    pad = padded(x, get["H"], get["W"])

    def body(e, a):
        return pad(c, i * get["sh"] - get["pt"] + a, j * get["sw"] - get["pl"] + e)

    _, a, e = BOUND
    return _sum(body, (e, a), (get["kw"], get["kh"])) / (get["kh"] * get["kw"])


def _flat(term: sp.Sum) -> tuple[sp.Expr, tuple]:
    """A sum's summand and limits, nested sums flattened, limits in canonical order (valid
    when no bound depends on a summation variable: then the order does not matter)."""
    body, limits = term.function, list(term.limits)
    while isinstance(body, sp.Sum):
        limits = list(body.limits) + limits
        body = body.function
    names = {lim[0] for lim in limits}
    if any((lo.free_symbols | hi.free_symbols) & names for _, lo, hi in limits):
        return term.function, tuple(term.limits)
    single = {v: lo for v, lo, hi in limits if sp.expand(hi - lo) == 0}
    kept = [lim for lim in limits if lim[0] not in single]
    return body.xreplace(single), tuple(sorted(kept, key=lambda lim: str(lim[0])))


def _reduce_summand(body: sp.Expr, region: Region) -> sp.Expr:
    body = sp.piecewise_fold(sp.expand(body))
    if isinstance(body, sp.Piecewise):
        if all(sp.expand(value) == 0 for value, _ in body.args):
            return sp.Integer(0)
        body = sp.piecewise_fold(apply_lemmas(body, region))
        if isinstance(body, sp.Piecewise):
            pieces = [(sp.expand(v), c) for v, c in body.args]
            return sp.Piecewise(*pieces) if any(v != 0 for v, _ in pieces) else sp.Integer(0)
    return sp.expand(body)


def _deltas_reduced(body: sp.Expr, limits: tuple, region: Region) -> tuple[sp.Expr, tuple]:
    """A summand's Kronecker deltas reduced (:mod:`derive.verify.deltas`) on the region."""
    if not body.has(sp.KroneckerDelta):
        return body, limits
    body = sp.piecewise_fold(sp.expand(body))
    body = restate_indicators(body, {lim[0] for lim in limits}, region)
    body, limits = collapse(body, limits, region)
    return body, tuple(sorted(limits, key=lambda lim: str(lim[0])))


def reduce_sums(expr: sp.Expr, region: Region = {}) -> sp.Expr:  # noqa: B006 - read only
    """Combine the sums of ``expr`` term by term and reduce each summand (0 when it cancels)."""
    grouped: dict[tuple, sp.Expr] = {}
    rest = []
    if expr.has(sp.KroneckerDelta):
        expr = canonical(expr)
    for term in sp.Add.make_args(sp.expand(expr)):
        sums = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.Sum)]
        if len(sums) != 1:
            rest.append(term)
            continue
        coeff = term / sums[0]
        body, limits = _deltas_reduced(*_flat(sums[0]), region)
        if coeff.free_symbols & {lim[0] for lim in limits}:
            rest.append(term)  # the factor would be captured by a summation variable
            continue
        grouped[limits] = grouped.get(limits, 0) + coeff * body
    out = [sp.Add(*rest)]
    for limits, body in grouped.items():
        body = _reduce_summand(body, region)
        if body != 0:
            out.append(sp.Sum(body, *limits) if limits else body)
    return sp.expand(sp.Add(*out))


def _write(body: sp.Basic, limits: tuple) -> sp.Basic:
    """The sum of ``body`` over ``limits`` (numeric bounds), one variable at a time: a summand
    that is already 0 (a Kronecker delta decided) is not expanded further."""
    if not limits:
        return body
    (v, lo, hi), rest = limits[0], limits[1:]
    parts = (body.xreplace({v: sp.Integer(value)}) for value in range(int(lo), int(hi) + 1))
    return sp.Add(*(_write(part, rest) for part in parts if part != 0))


def _written_out(term: sp.Sum) -> sp.Basic:
    if not all(lo.is_Integer and hi.is_Integer for _, lo, hi in term.limits):
        return term
    return _write(term.function, tuple(term.limits))


def evaluate_sums(expr: sp.Basic) -> sp.Basic:
    """Every sum with numeric bounds written out term by term (inner sums first)."""
    return expr.replace(lambda e: isinstance(e, sp.Sum), _written_out)
