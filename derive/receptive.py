r"""Receptive fields along one axis: which input entries an output entry sees, as formulas.

A layer reads, for its output index $i$, a *window* of its input: the interval of input
coordinates $[\ell(i), h(i)]$, counting padding as coordinates (``-1`` is the first zero in
front). For a convolution or a pooling layer with kernel $k$, stride $s$, padding $p$ in
front and dilation $d$,

$$
\ell(i) = s\,i - p, \qquad h(i) = s\,i - p + d(k-1).
$$

A transposed convolution gathers output $i$ from the inputs $j$ with $j s - p + a d = i$:
$\ell(i) = \lceil (i + p - d(k-1))/s \rceil$, $h(i) = \lfloor (i + p)/s \rfloor$ (exact
when $s = 1$ or $d = 1$; derive refuses the other case). Adaptive pooling from $n$ to $o$
entries reads $[\lfloor i n/o \rfloor, \lceil (i+1) n/o \rceil - 1]$.

Composed through layers (:class:`Field`), the windows give the receptive field of output $i$
in the *network's* input, $[\ell(i), h(i)]$: every map is non-decreasing, so the hull of
the windows of a window is read off its two ends. For a chain of convolutions and poolings
this is affine, $\ell(i) = J i + \ell(0)$ with the *jump* $J = \prod_l s_l$, and the size
$R = h(i) - \ell(i) + 1$ obeys

$$
R_L = R_{L-1} + d_L (k_L - 1) J_{L-1}, \qquad J_L = J_{L-1} s_L, \qquad
\ell_L(0) = \ell_{L-1}(0) - p_L J_{L-1}.
$$

Two branches joined by an addition or a concatenation see the union of what each sees: the
hull is $[\min(\ell_a, \ell_b), \max(h_a, h_b)]$.

These intervals count every layer's padding as input ("unclipped"). An output index is
*interior* when its interval lies inside the input, $0 \le \ell(i)$ and $h(i) \le n - 1$ (and,
after a transposed convolution, the positions it uses of that layer's output exist): there the
input entries it depends on span exactly $[\ell(i), h(i)]$, and :attr:`Field.offsets` says
which of them it reads (a dilated kernel leaves holes). One exception: a transposed
convolution whose kernel is shorter than its stride leaves output entries that no input
reaches, and a later window over such entries cannot tell which of its ends see anything;
from there on the interval is an outer bound (:attr:`Field.exact` is false, and no position is
called interior). Near the border, what it depends on
is computed exactly at concrete sizes by :meth:`Window.taps` (the engine's window plans).

>>> f = Field.identity(32).through(conv_window(3, padding=1)).through(pool_window(2))
>>> f.interval(INDEX), f.size, f.jump, f.dense
((2*i - 1, 2*i + 2), 4, 2, True)
>>> f.interior(INDEX)
(2*i - 1 >= 0) & (2*i + 2 <= 31)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import sympy as sp

from derive.errors import ShapeError
from derive.params import Dim, as_dim, padding_pair, pool_stride
from derive.windows import AxisWindows

__all__ = [
    "INDEX",
    "Window",
    "conv_window",
    "pool_window",
    "conv_transpose_window",
    "adaptive_window",
    "pointwise_window",
    "global_window",
    "affine_window",
    "interpolate_window",
    "Field",
    "DENSE",
]

#: the output index $i$ in every formula of this module
INDEX = sp.Symbol("i", integer=True, nonnegative=True)

#: how a layer's window moves: ``sliding`` (convolution and pooling), ``scatter`` (transposed
#: convolution), and the rest
WindowKind = Literal["sliding", "scatter", "adaptive", "pointwise", "global", "affine",
                     "interpolate"]

#: :attr:`Field.offsets` when an interior output reads every entry of its interval
DENSE = -1


def _int(value: sp.Expr) -> int | None:
    return int(value) if isinstance(value, (int, sp.Integer)) else None


@dataclass(frozen=True)
class Window:
    """What one layer's output index $i$ reads of its input along one axis.

    ``lo`` and ``hi`` are formulas in :data:`INDEX`; ``params`` keeps the layer's numbers
    (kernel, stride, before-padding, dilation; or the sizes of adaptive pooling) for the
    exact tap lists of :meth:`taps`.
    """

    kind: WindowKind
    lo: sp.Expr
    hi: sp.Expr
    params: tuple[sp.Expr, ...] = ()
    #: ``((a, b), (c, e))`` when ``lo`` is $a i + b$ and ``hi`` is $c i + e$ with integers
    lin: tuple[tuple[int, int], tuple[int, int]] | None = None
    #: false when ``[lo, hi]`` is only an outer bound of what output $i$ reads
    exact: bool = True

    def ends(self) -> tuple[End, End]:
        """``(lo, hi)`` as :data:`End` values (affine pairs when they are)."""
        return self.lin if self.lin is not None else (self.lo, self.hi)

    def at(self, index: Dim) -> tuple[sp.Expr, sp.Expr]:
        """``(lo, hi)`` of output ``index``."""
        return self.lo.xreplace({INDEX: index}), self.hi.xreplace({INDEX: index})

    def taps(self, n_in: int, n_out: int) -> tuple[tuple[int, ...], ...]:
        """Per output index, the input coordinates it reads that lie in ``[0, n_in)``.

        Numbers only. Convolution and pooling read the engine's window plan
        (:class:`derive.windows.AxisWindows`); a transposed convolution gathers.

        >>> conv_window(3, stride=2, padding=1).taps(5, 3)
        ((0, 1), (1, 2, 3), (3, 4))
        >>> conv_transpose_window(3, stride=2).taps(2, 5)
        ((0,), (0,), (0, 1), (1,), (1,))
        """
        ints = [_int(v) for v in self.params]
        if self.kind == "interpolate":
            ints = [0]
        if any(v is None for v in ints):
            raise ShapeError(f"exact taps need numeric layer parameters, got {self.params}")
        if self.kind == "sliding":
            k, s, p, d = ints
            plan = AxisWindows(n_in, k, s, d, p, 0, n_out)
            return tuple(tuple(r for _, r in plan.taps(i)) for i in range(n_out))
        if self.kind == "scatter":
            k, s, p, d = ints
            plan = AxisWindows(n_out, k, s, d, p, p, n_in)
            return tuple(tuple(sorted({j for j, _ in plan.gather(r)})) for r in range(n_out))
        if self.kind == "pointwise":
            return tuple((i,) for i in range(n_out))
        if self.kind == "global":
            return tuple(tuple(range(n_in)) for _ in range(n_out))
        if self.kind == "affine":
            step, offset = ints
            return tuple(tuple(j for j in (step * i + offset,) if 0 <= j < n_in)
                         for i in range(n_out))  # fmt: skip
        if self.kind == "interpolate":
            return tuple(_interpolation_taps(self.params, i, n_in) for i in range(n_out))
        lo_hi = [self.at(i) for i in range(n_out)]  # adaptive pooling: the bins
        return tuple(tuple(range(int(a), int(b) + 1)) for a, b in lo_hi)


def _before(padding: object, name: str = "padding") -> sp.Expr:
    pair = padding_pair(padding)  # type: ignore[arg-type]
    if isinstance(pair, str):
        raise ShapeError(f"resolve padding={pair!r} to numbers first (derive.shapes.same_padding)")
    return pair[0]


def conv_window(
    kernel_size: Dim, stride: Dim = 1, padding: object = 0, dilation: Dim = 1
) -> Window:
    r"""A convolution's window: $[s i - p,\ s i - p + d(k-1)]$ (``padding``: before, or a pair).

    >>> conv_window(3, stride=2, padding=1).at(INDEX)
    (2*i - 1, 2*i + 1)
    >>> k, s = sp.symbols("k s", integer=True, positive=True)
    >>> conv_window(k, s).hi
    i*s + k - 1
    """
    try:
        return _conv_window(kernel_size, stride, padding, dilation)
    except TypeError:  # an unhashable argument (a list): nothing to remember
        return _conv_window.__wrapped__(kernel_size, stride, padding, dilation)


@functools.lru_cache(maxsize=4096)
def _conv_window(kernel_size: Dim, stride: Dim, padding: object, dilation: Dim) -> Window:
    k, s = as_dim(kernel_size, "kernel_size"), as_dim(stride, "stride")
    d, p = as_dim(dilation, "dilation"), _before(padding)
    lo = s * INDEX - p
    ints = [_int(v) for v in (k, s, p, d)]
    lin = None
    if all(v is not None for v in ints):
        ki, si, pi, di = ints  # type: ignore[misc]
        lin = ((si, -pi), (si, -pi + di * (ki - 1)))
    return Window("sliding", lo, lo + d * (k - 1), (k, s, p, d), lin)


def pool_window(
    kernel_size: Dim, stride: Dim | None = None, padding: object = 0, dilation: Dim = 1
) -> Window:
    """A pooling window (stride defaults to the kernel, as in torch); ceil_mode changes only
    how many windows there are, not where each one lies.

    >>> pool_window(2).at(3)
    (6, 7)
    """
    return conv_window(kernel_size, pool_stride(stride, kernel_size), padding, dilation)


def conv_transpose_window(
    kernel_size: Dim, stride: Dim = 1, padding: object = 0, dilation: Dim = 1
) -> Window:
    r"""A transposed convolution's gather: inputs $\lceil (i + p - d(k-1))/s \rceil$ to
    $\lfloor (i + p)/s \rfloor$.

    Every input in that range contributes when $s = 1$ or $d = 1$; with both above 1 some
    do not (the gather has holes that move with $i$), and derive refuses.

    >>> conv_transpose_window(4, stride=2, padding=1).at(INDEX)
    (ceiling(i/2) - 1, floor(i/2 + 1/2))
    >>> conv_transpose_window(3, stride=2, dilation=2)
    Traceback (most recent call last):
        ...
    derive.errors.ShapeError: receptive field of a transposed convolution with stride=2 and ...
    """
    k, s = as_dim(kernel_size, "kernel_size"), as_dim(stride, "stride")
    d, p = as_dim(dilation, "dilation"), _before(padding)
    if sp.And(sp.Ne(s, 1), sp.Ne(d, 1)) is not sp.false:
        raise ShapeError(
            f"receptive field of a transposed convolution with stride={s} and dilation={d}: "
            "derive has a formula only when one of them is 1"
        )
    lo = sp.ceiling((INDEX + p - d * (k - 1)) / s)
    return Window("scatter", lo, sp.floor((INDEX + p) / s), (k, s, p, d))


def adaptive_window(size: Dim, output_size: Dim) -> Window:
    r"""Adaptive pooling from $n$ to $o$ entries: bin $[\lfloor i n/o \rfloor,
    \lceil (i+1) n/o \rceil - 1]$ (torch's bins).

    >>> adaptive_window(5, 3).taps(5, 3)
    ((0, 1), (1, 2, 3), (3, 4))
    """
    n, o = as_dim(size, "size"), as_dim(output_size, "output_size")
    lo = sp.floor(INDEX * n / o)
    return Window("adaptive", lo, sp.ceiling((INDEX + 1) * n / o) - 1, (n, o))


def pointwise_window() -> Window:
    """An entry-by-entry layer (activation, normalisation with fixed statistics): $[i, i]$."""
    return Window("pointwise", INDEX, INDEX, (), ((1, 0), (1, 0)))


def global_window(size: Dim) -> Window:
    """A layer whose every output reads the whole axis of $n$ entries: $[0, n-1]$."""
    n = as_dim(size, "size")
    return Window("global", sp.Integer(0), n - 1, (n,))


def affine_window(step: Dim, offset: Dim) -> Window:
    r"""Output $i$ reads the one entry $s i + o$: padding by $p$ in front is $o = -p$, a
    slice ``x[a::s]`` is $o = a$, an index ``x[a]`` is $s = 0$.

    >>> affine_window(1, -2).at(INDEX), affine_window(1, -2).taps(3, 7)
    ((i - 2, i - 2), ((), (), (0,), (1,), (2,), (), ()))
    """
    s, o = sp.sympify(step), sp.sympify(offset)
    lo = s * INDEX + o
    ints = (_int(s), _int(o))
    lin = None if None in ints else ((ints[0], ints[1]), (ints[0], ints[1]))
    return Window("affine", lo, lo, (s, o), lin)  # type: ignore[arg-type]


def _dyadic(value: sp.Expr) -> bool:
    """A number that binary floating point holds exactly (a fraction over a power of 2)."""
    if not value.is_Rational:
        return False
    q = int(value.q)
    return q & (q - 1) == 0


def interpolate_window(mode: str, scale: Dim, size: Dim, align_corners: bool = False) -> Window:
    r"""What torch's interpolation reads along one axis of ``size`` entries, ``scale`` input
    entries per output entry (torch's own: the input size over the output size, or
    ``1/scale_factor`` when a scale factor is given and not recomputed).

    ``"nearest"``: $\lfloor i\,r \rfloor$; ``"nearest-exact"``: $\lfloor (i + 1/2)\,r
    \rfloor$; ``"linear"`` (bilinear and trilinear per axis): the two entries around the
    source coordinate $x = (i + 1/2)\,r - 1/2$ ($x = i\,r$ with ``align_corners``), that is
    $[\lfloor x \rfloor, \lceil x \rceil]$: one entry when $x$ is a whole number (its
    neighbour's weight is 0). torch clamps $x$ at 0 and the upper index at $n - 1$; the
    interval does not (those positions are not interior). torch computes $x$ in floating
    point: the interval is exact when $r$ is a fraction over a power of 2 (scale factors 2,
    4, 1/2...) or the axis has one entry; otherwise it is widened by one entry on each side
    and marked as an outer bound.

    >>> interpolate_window("linear", sp.Rational(1, 2), 8).at(INDEX)
    (floor(i/2 - 1/4), ceiling(i/2 - 1/4))
    >>> interpolate_window("linear", sp.Rational(1, 2), 3).taps(3, 6)
    ((0,), (0, 1), (0, 1), (1, 2), (1, 2), (2,))
    """
    r, n = sp.sympify(scale), as_dim(size, "size")
    if n == 1:
        return global_window(1)  # every output reads the one entry (x is clamped to it)
    if mode in ("nearest", "nearest-exact"):
        x = (INDEX + (sp.Rational(1, 2) if mode == "nearest-exact" else 0)) * r
        lo = hi = sp.floor(x)
    elif mode == "linear":
        x = INDEX * r if align_corners else (INDEX + sp.Rational(1, 2)) * r - sp.Rational(1, 2)
        lo, hi = sp.floor(x), sp.ceiling(x)
    else:
        raise ShapeError(f"receptive field of {mode!r} interpolation: derive has it for "
                         "'nearest', 'nearest-exact' and the linear modes")  # fmt: skip
    exact = n == 1 or _dyadic(r)
    if not exact:
        lo, hi = lo - 1, hi + 1
    return Window("interpolate", lo, hi, (sp.Symbol(mode), r, n, sp.sympify(int(align_corners))),
                  exact=exact)


def _interpolation_taps(params: tuple, i: int, n_in: int) -> tuple[int, ...]:
    """torch's taps of output ``i``, computed as torch's CPU kernels compute them: the
    nearest modes in single precision, the linear modes in double (float64 tensors)."""
    mode, r, _, align = params
    if mode.name in ("nearest", "nearest-exact"):
        import numpy as np

        shift = 0.5 if mode.name == "nearest-exact" else 0.0
        x = np.float32(np.float32(i + shift) * np.float32(float(r)))
        return (min(int(math.floor(x)), n_in - 1),)
    scale = float(r)
    x = scale * i if align else max(scale * (i + 0.5) - 0.5, 0.0)
    low = int(x)
    weight = min(max(x - low, 0.0), 1.0)
    high = low + 1 if low < n_in - 1 else low
    return (low,) if high == low or weight == 0.0 else (low, high)


def _shifted(offsets: int, by: int) -> int:
    return offsets << by if by >= 0 else offsets >> -by


def _full(size: sp.Expr) -> int | None:
    n = _int(size)
    return None if n is None else (1 << n) - 1


#: one end of a field: ``(a, b)`` for the affine $a i + b$ with integer $a, b$ (the fast
#: path of convolution and pooling chains), any formula in :data:`INDEX`, or
#: :class:`Extreme`, the least (or greatest) of several such ends
End = Any


@dataclass(frozen=True)
class Extreme:
    r"""The least (``low``) or greatest of several ends: the hull of branches joined by an
    addition or a concatenation, kept as its candidates. Every map a field goes through is
    applied to each candidate ($f(\min_c g_c) = \min_c f(g_c)$ for the composition of
    ends), so SymPy's ``Min``/``Max`` are built once, when the formula is read."""

    items: tuple
    low: bool


def _expr(end: End) -> sp.Expr:
    if isinstance(end, Extreme):
        return (sp.Min if end.low else sp.Max)(*(_expr(e) for e in end.items))
    return end[0] * INDEX + end[1] if isinstance(end, tuple) else end


def _compose(outer: End, inner: End) -> End:
    """``outer`` evaluated at ``inner``: $f(g(i))$ (``inner`` is a window's end)."""
    if isinstance(outer, Extreme):
        return _extreme_of([_compose(o, inner) for o in outer.items], outer.low)
    if isinstance(outer, tuple) and isinstance(inner, tuple):
        return (outer[0] * inner[0], outer[0] * inner[1] + outer[1])
    return sp.expand(_expr(outer).xreplace({INDEX: _expr(inner)}))


def _bounds(expr: sp.Expr) -> tuple[sp.Expr, sp.Expr] | None:
    """Affine lower and upper bounds of ``expr`` (floors and ceilings within one of their
    argument), or None when it has other functions."""
    lower = expr.replace(sp.floor, lambda x: x - 1).replace(sp.ceiling, lambda x: x)
    upper = expr.replace(sp.floor, lambda x: x).replace(sp.ceiling, lambda x: x + 1)
    if lower.has(sp.Min, sp.Max, sp.Piecewise) or upper.has(sp.Min, sp.Max, sp.Piecewise):
        return None
    return sp.expand(lower), sp.expand(upper)


def _nonnegative(expr: sp.Expr) -> bool:
    r"""Proved $e \ge 0$ for every $i \ge 0$: an affine $a i + b$ with $a, b \ge 0$ (sizes
    are positive)."""
    slope = expr.coeff(INDEX)
    rest = sp.expand(expr - slope * INDEX)
    return (not rest.has(INDEX) and not slope.has(INDEX) and bool(slope.is_nonnegative)
            and bool(rest.is_nonnegative))  # fmt: skip


def _dominates(a: End, b: End, low: bool) -> bool:
    """Proved: ``a`` never wins over ``b`` (``a >= b`` for a minimum), for every index."""
    if isinstance(a, tuple) and isinstance(b, tuple) and a[0] == b[0]:
        return a[1] >= b[1] if low else a[1] <= b[1]
    ba, bb = _bounds(_expr(a)), _bounds(_expr(b))
    if ba is None or bb is None:
        return False
    return _nonnegative(ba[0] - bb[1]) if low else _nonnegative(bb[0] - ba[1])


def _extreme_of(ends: Sequence[End], low: bool) -> End:
    """The least (greatest) of ``ends``, candidates that never win left out."""
    flat: list[End] = []
    for e in ends:
        flat += list(e.items) if isinstance(e, Extreme) else [e]
    kept: list[End] = []
    for e in flat:
        if any(k == e or _dominates(e, k, low) for k in kept):
            continue
        kept = [k for k in kept if not _dominates(k, e, low)] + [e]
    return kept[0] if len(kept) == 1 else Extreme(tuple(kept), low)


def _extreme(a: End, b: End, low: bool) -> End:
    return _extreme_of([a, b], low)


@dataclass(frozen=True)
class Field:
    r"""The receptive field of one tensor's index $i$ in the network's input, along one axis.

    ``lo_end``, ``hi_end``: its ends (see :data:`End`; read them as formulas through
    :attr:`lo` and :attr:`hi`), padding counted as coordinates. ``n``: the size of the
    network's input along this axis. ``conditions``: triples ``(lo_T, hi_T, n_T)``, one per
    transposed convolution on the way; index $i$ is *interior* when $0 \le \ell(i)$,
    $h(i) \le n - 1$ and, for each triple, $0 \le$ ``lo_T`` and ``hi_T`` $\le n_T - 1$.
    ``offsets``: which entries of $[\ell(i), h(i)]$ an interior output reads, as a bit mask
    relative to $\ell(i)$; :data:`DENSE` when all of them, ``None`` when it is not known in
    closed form.
    """

    lo_end: End
    hi_end: End
    n: sp.Expr
    conditions: tuple[tuple[sp.Expr, sp.Expr, sp.Expr], ...] = ()
    offsets: int | None = field(default=1)
    #: some positions may see nothing (after a transposed convolution whose kernel is shorter
    #: than its stride, which leaves output entries no input reaches)
    gaps: bool = False
    #: the interval is the exact hull on interior positions (False: an outer bound only; a
    #: window over positions that may see nothing cannot tell which of its ends do)
    exact: bool = True

    @classmethod
    def identity(cls, size: Dim) -> Field:
        """The network input itself: entry $i$ sees $[i, i]$."""
        return cls((1, 0), (1, 0), as_dim(size, "size"))

    # -- the formulas ------------------------------------------------------------------------

    @property
    def lo(self) -> sp.Expr:
        r"""$\ell(i)$, the first input coordinate output $i$ sees."""
        return _expr(self.lo_end)

    @property
    def hi(self) -> sp.Expr:
        """$h(i)$, the last."""
        return _expr(self.hi_end)

    def interval(self, index: Dim = INDEX) -> tuple[sp.Expr, sp.Expr]:
        """``(lo, hi)`` of output ``index``, padding counted as input coordinates."""
        return self.lo.xreplace({INDEX: index}), self.hi.xreplace({INDEX: index})

    @property
    def size(self) -> sp.Expr:
        r"""$R = h(i) - \ell(i) + 1$ (a number for chains of convolutions and poolings)."""
        lo, hi = self.lo_end, self.hi_end
        if isinstance(lo, tuple) and isinstance(hi, tuple) and lo[0] == hi[0]:
            return sp.Integer(hi[1] - lo[1] + 1)
        return sp.expand(self.hi - self.lo + 1)

    @property
    def jump(self) -> sp.Expr | None:
        r"""$J$, with $\ell(i) = J i + \ell(0)$, or ``None`` when $\ell$ is not affine."""
        if isinstance(self.lo_end, tuple):
            return sp.Integer(self.lo_end[0])
        lo = sp.expand(self.lo)
        slope = lo.coeff(INDEX)
        rest = sp.expand(lo - slope * INDEX)
        return slope if not rest.has(INDEX) and not slope.has(INDEX) else None

    @property
    def start(self) -> sp.Expr:
        r"""$\ell(0)$: where output 0's field begins (negative: in the padding)."""
        return self.lo.xreplace({INDEX: 0})

    def interior(self, index: Dim = INDEX) -> sp.Boolean:
        """The condition under which output ``index`` reads no padding on the way, and so
        sees exactly its interval (``false`` when the field is only an outer bound)."""
        if not self.exact:
            return sp.false
        at = {INDEX: index}
        parts = [sp.Ge(self.lo.xreplace(at), 0), sp.Le(self.hi.xreplace(at), self.n - 1)]
        for lo, hi, n in self.conditions:
            parts += [sp.Ge(lo.xreplace(at), 0), sp.Le(hi.xreplace(at), n - 1)]
        return sp.And(*parts)

    @property
    def dense(self) -> bool | None:
        """Whether an interior output reads every entry of its interval (no holes)."""
        if self.offsets is None:
            return None
        full = _full(self.size)
        return self.offsets == DENSE or (full is not None and self.offsets == full)

    def at_index(self, index: Dim) -> Field:
        """This field with the index fixed (what every entry of a broadcast axis sees)."""
        at = {INDEX: index}
        conditions = tuple((a.xreplace(at), b.xreplace(at), n) for a, b, n in self.conditions)
        lo, hi = self.interval(index)
        return Field(lo, hi, self.n, conditions, self.offsets, self.gaps, self.exact)

    def choose(self, condition: sp.Basic, other: Field) -> Field:
        """``self`` where ``condition`` holds and ``other`` elsewhere (an axis that is
        broadcast for some sizes only: its size may be 1)."""
        if condition is sp.true:
            return self
        if condition is sp.false:
            return other
        lo = sp.Piecewise((self.lo, condition), (other.lo, True))
        hi = sp.Piecewise((self.hi, condition), (other.hi, True))
        conditions = tuple(dict.fromkeys(self.conditions + other.conditions))
        offsets = self.offsets if self.offsets == other.offsets else None
        return Field(lo, hi, self.n, conditions, offsets, self.gaps or other.gaps,
                     self.exact and other.exact)  # fmt: skip

    # -- composition ---------------------------------------------------------------------------

    def through(self, window: Window, out_size: Dim | None = None) -> Field:
        """This field seen through a layer whose output index reads ``window`` of it.

        ``out_size`` (the layer's output size) is needed after a transposed convolution,
        whose output positions beyond its ends are a later layer's padding.
        """
        low, high = window.ends()
        lo, hi = _compose(self.lo_end, low), _compose(self.hi_end, high)
        conditions = tuple(
            (sp.expand(a.xreplace({INDEX: _expr(low)})),
             sp.expand(b.xreplace({INDEX: _expr(high)})), n)
            for a, b, n in self.conditions
        )  # fmt: skip
        if window.kind == "scatter":
            if out_size is None:
                raise ShapeError("a transposed convolution's field needs its output size")
            conditions += ((INDEX, INDEX, as_dim(out_size, "size")),)
        exact = self.exact and window.exact and (window.kind == "pointwise" or not self.gaps)
        gaps = self.gaps or _leaves_gaps(window)
        return Field(lo, hi, self.n, conditions, self._offsets_through(window), gaps, exact)

    def _affine_size(self) -> tuple[int, int] | None:
        """``(jump, size)`` as ints when both ends are affine with the same slope."""
        lo, hi = self.lo_end, self.hi_end
        if isinstance(lo, tuple) and isinstance(hi, tuple) and lo[0] == hi[0]:
            return lo[0], hi[1] - lo[1] + 1
        return None

    def _offsets_through(self, window: Window) -> int | None:
        if window.kind in ("pointwise", "affine"):
            return self.offsets if window.exact else None
        if self.offsets is None:
            return None
        fast = self._affine_size()
        if fast is not None and window.lin is not None and window.kind == "sliding":
            return _spread(self.offsets, fast, window.params)
        jump = self.jump
        numbers = [_int(v) for v in window.params]
        if window.kind in ("global", "adaptive", "interpolate"):
            # the union of consecutive fields: no holes if each touches the next
            dense = self.dense and jump is not None and sp.Le(jump, self.size) is sp.true
            return DENSE if dense else None
        j = _int(jump) if jump is not None else None
        if j is None or any(v is None for v in numbers):
            return None
        k, s, _, d = numbers  # type: ignore[misc]
        if window.kind == "scatter" and s != 1:
            return None
        base = _full(self.size) if self.offsets == DENSE else self.offsets
        if base is None:
            return None
        if base == _full(self.size) and d * j <= _int(self.size):
            return DENSE  # consecutive taps overlap or touch: no holes
        out = 0
        for a in range(k):
            out |= base << (a * d * j)
        return out

    def union(self, other: Field) -> Field:
        """The field of a tensor made from two (an addition, a concatenation)."""
        if self.n != other.n and sp.expand(self.n - other.n) != 0:
            raise ShapeError(f"fields over inputs of sizes {self.n} and {other.n}")
        lo = _extreme(self.lo_end, other.lo_end, True)
        hi = _extreme(self.hi_end, other.hi_end, False)
        seen = dict.fromkeys(self.conditions + other.conditions)
        gaps = self.gaps or other.gaps
        exact = self.exact and other.exact and not gaps
        return Field(lo, hi, self.n, tuple(seen), _union_offsets(self, other, lo), gaps,
                     exact)  # fmt: skip

    @staticmethod
    def union_all(fields: Sequence[Field]) -> Field:
        """The union of one or more fields."""
        out = fields[0]
        for f in fields[1:]:
            out = out.union(f)
        return out


def _spread(offsets: int, jump_size: tuple[int, int], params: tuple) -> int:
    """The offsets seen through ``k`` taps ``d`` apart (in the previous layer's units)."""
    j, size = jump_size
    k, _, _, d = (int(v) for v in params)
    base = (1 << size) - 1 if offsets == DENSE else offsets
    if base == (1 << size) - 1 and d * j <= size:
        return DENSE  # consecutive taps overlap or touch: no holes
    out = 0
    for a in range(k):
        out |= base << (a * d * j)
    return out


def _leaves_gaps(window: Window) -> bool:
    """Whether some outputs of a transposed convolution receive no input: $d(k-1)+1 < s$
    (some residues of $r + p$ modulo $s$ are then hit by no tap); undecided counts as yes."""
    if window.kind != "scatter":
        return False
    k, s, _, d = window.params
    return sp.Lt(d * (k - 1) + 1, s) is not sp.false


def _union_offsets(a: Field, b: Field, lo: End) -> int | None:
    if a.offsets is None or b.offsets is None:
        return None
    if a.dense and b.dense and a.lo_end == b.lo_end and a.hi_end == b.hi_end:
        return DENSE
    out = 0
    for f in (a, b):
        fast = f._affine_size()
        if fast is not None and isinstance(lo, tuple) and lo[0] == fast[0]:
            shift = f.lo_end[1] - lo[1]  # type: ignore[index]
            base = (1 << fast[1]) - 1 if f.offsets == DENSE else f.offsets
        else:
            shift = _int(sp.expand(f.lo - _expr(lo)))
            base = _full(f.size) if f.offsets == DENSE else f.offsets
        if shift is None or base is None:
            return None
        out |= _shifted(base, shift)
    return out
