r"""The inverse questions: which inputs, or which paddings, give a wanted output size.

Every layer's output size $f(n)$ is non-decreasing in its input size $n$ (a floor or a ceiling
of $n$ over the stride, or $(n-1)s + c$ for a transposed layer), so the inputs giving $m$
outputs are the consecutive sizes

$$
\{\, n : f(n) = m \,\} = [\, n_{\ge}(m),\ n_{\ge}(m + 1) - 1 \,],
\qquad n_{\ge}(m) = \min\{\, n \ge 1 : f(n) \ge m \,\}.
$$

For a convolution with total padding $P$ and span $\kappa = d(k-1)+1$ this is
$[(m-1)s + \kappa - P,\ ms + \kappa - P - 1]$: $s$ sizes (fewer at $n = 1$); for SAME it is
$[(m-1)s + 1,\ ms]$. With numbers the bounds come from a bisection on the layer's own checked
rule (exact, any convention, ``ceil_mode`` included); with symbols they are solved from the
size formula (a floor, a ceiling or an affine function of $n$) and refused otherwise.

>>> from derive.ops import CONV_TRANSPOSE, MAX_POOL
>>> conv = Layer(CONV, 3, stride=2)
>>> input_sizes(conv, 7)
SizeRange(low=15, high=16)
>>> n_out = sp.Symbol("m", integer=True, positive=True)
>>> input_sizes(conv, n_out)
SizeRange(low=2*m + 1, high=2*m + 2)
>>> paddings(8, 15, 3, stride=2).symmetric
SizeRange(low=1, high=1)
>>> smallest_input([Layer(CONV, 5), Layer(MAX_POOL, 2), Layer(CONV, 5), Layer(MAX_POOL, 2)])
16
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from derive.conventions import Padded, convention_named
from derive.errors import ShapeError
from derive.guards import enforce, first_rejection
from derive.ops import CONV, Op, Pooling, TransposedConvolution
from derive.params import Dim, as_dim

__all__ = [
    "Layer",
    "SizeRange",
    "Paddings",
    "least_input",
    "input_sizes",
    "paddings",
    "smallest_input",
]

#: bisection stops here: no layer of sane sizes needs more
_LIMIT = 2**40


@dataclass(frozen=True)
class Layer:
    """One layer along one axis: an operation of the registry, its arguments and a convention."""

    op: Op
    kernel_size: Dim
    stride: Dim | None = None
    padding: object = 0
    dilation: Dim = 1
    ceil_mode: bool = False
    output_padding: Dim | None = 0
    convention: object = None

    def rule(self, size: Dim) -> Padded:
        """The layer's rule (guards, size, pads) at input size ``size``, unchecked."""
        entry = convention_named(self.convention)  # type: ignore[arg-type]
        if isinstance(self.op, TransposedConvolution):
            stride = 1 if self.stride is None else self.stride
            return entry.conv_transpose(size, self.kernel_size, stride, self.padding,
                                        self.output_padding, self.dilation)  # fmt: skip
        if isinstance(self.op, Pooling):
            return entry.pool(size, self.kernel_size, self.stride, self.padding, self.dilation,
                              self.ceil_mode)  # fmt: skip
        stride = 1 if self.stride is None else self.stride
        return entry.conv(size, self.kernel_size, stride, self.padding, self.dilation)

    def output(self, size: int) -> int | None:
        """The output size at a numeric input size, or None where the layer rejects it."""
        rule = self.rule(size)
        if first_rejection(rule.guards) or rule.size is None:
            return None
        return int(rule.size)


@dataclass(frozen=True)
class SizeRange:
    """The consecutive integers ``low <= x <= high`` (empty when ``low > high``)."""

    low: sp.Expr
    high: sp.Expr

    @property
    def count(self) -> sp.Expr:
        """How many integers: $\\max(h - l + 1, 0)$."""
        return sp.Max(self.high - self.low + 1, 0)

    def __contains__(self, value: object) -> bool:
        inside = sp.And(sp.Ge(value, self.low), sp.Le(value, self.high))
        if inside not in (sp.true, sp.false):
            raise ShapeError(f"cannot decide whether {value} lies in [{self.low}, {self.high}]")
        return bool(inside)

    def values(self) -> list[int]:
        """Every integer of a numeric range."""
        if not (self.low.is_Integer and self.high.is_Integer):
            raise ShapeError(f"[{self.low}, {self.high}] is symbolic: no list of values")
        return list(range(int(self.low), int(self.high) + 1))


def _rejected_everywhere(layer: Layer) -> None:
    """Raise the layer's own error when it rejects every input size (a bad kernel, say)."""
    if layer.output(_LIMIT) is None:
        enforce(layer.rule(_LIMIT).guards)
        raise ShapeError("the layer rejects every input size")  # pragma: no cover


def _least_numeric(layer: Layer, target: int) -> sp.Integer:
    _rejected_everywhere(layer)

    def reaches(n: int) -> bool:
        out = layer.output(n)
        return out is not None and out >= target

    high = 1
    while not reaches(high):
        high *= 2
        if high > _LIMIT:  # pragma: no cover - outputs grow with the input
            raise ShapeError(f"no input size up to {_LIMIT} gives {target} outputs")
    low = high // 2  # reaches(low) is False (or low == 0)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if reaches(mid) else (mid, high)
    return sp.Integer(high)


def _rounding(f: sp.Expr, n: sp.Symbol):
    """``(kind, c, s, e)`` when ``f = kind((n + c)/s) + e``; ``('affine', B, A, 0)`` if affine."""
    atoms = [a for a in f.atoms(sp.floor, sp.ceiling) if a.has(n)]
    if not atoms:
        slope = sp.diff(f, n)
        if slope.has(n) or not sp.expand(f - slope * n).free_symbols.isdisjoint({n}):
            return None
        return "affine", sp.expand(f - slope * n), slope, sp.Integer(0)
    if len(atoms) != 1:
        return None
    g = atoms[0]
    e = sp.expand(f - g)
    slope = sp.diff(g.args[0], n)
    if e.has(n) or slope.has(n) or slope == 0:
        return None
    s = 1 / slope
    c = sp.expand(g.args[0] * s - n)
    if c.has(n):
        return None
    return type(g).__name__, c, s, e


def _least_symbolic(layer: Layer, target: sp.Expr) -> sp.Expr:
    n = sp.Dummy("n", integer=True, positive=True)
    rule = layer.rule(n)
    enforce(rule.guards)  # guards free of n must hold; the others are domain conditions
    form = _rounding(sp.sympify(rule.size), n)
    if form is None:
        raise ShapeError(
            f"cannot solve {rule.size} for the input size symbolically; give numbers "
            "(ceil_mode pooling, say, is solved numerically)"
        )
    kind, c, s, e = form
    if kind == "floor":  # floor((n + c)/s) + e >= t  <=>  n >= (t - e)s - c
        least = (target - e) * s - c
    elif kind == "ceiling":  # ceil((n + c)/s) + e >= t  <=>  n >= (t - e - 1)s + 1 - c
        least = (target - e - 1) * s + 1 - c
    else:  # A n + B >= t  <=>  n >= ceil((t - B)/A)
        least = sp.ceiling((target - c) / s)
    return sp.Max(sp.expand(least), 1)


def least_input(layer: Layer, target: Dim) -> sp.Expr:
    r"""$n_{\ge}(m)$: the least input size giving at least ``target`` outputs (accepted there).

    >>> least_input(Layer(CONV, 3, padding="SAME", stride=2, convention="tf"), 4)
    7
    """
    t = as_dim(target, "target")
    if t.is_Integer:
        return _least_numeric(layer, int(t))
    return _least_symbolic(layer, t)


def input_sizes(layer: Layer, target: Dim) -> SizeRange:
    r"""Every input size giving exactly ``target`` outputs: $[n_{\ge}(m), n_{\ge}(m+1) - 1]$.

    >>> from derive.ops import CONV_TRANSPOSE
    >>> input_sizes(Layer(CONV_TRANSPOSE, 4, stride=2, padding=1), 8)
    SizeRange(low=4, high=4)
    """
    return SizeRange(least_input(layer, target), least_input(layer, target + 1) - 1)


@dataclass(frozen=True)
class Paddings:
    """The paddings that give a wanted output: totals, and torch's symmetric ``padding=p``.

    ``total`` holds $p_b + p_a$; every pair of non-negative sides with that sum works (each side
    at most ``bound`` when the layer bounds it, as torch's pooling does by $\\lfloor k/2 \\rfloor$).
    ``symmetric`` holds the ``p`` of torch's ``padding=p`` (both sides $p$).
    """

    total: SizeRange
    symmetric: SizeRange
    bound: sp.Expr | None = None

    def pairs(self) -> list[tuple[int, int]]:
        """Every ``(before, after)`` of a numeric answer."""
        cap = None if self.bound is None else int(self.bound)
        found = []
        for total in self.total.values():
            for before in range(0, total + 1):
                after = total - before
                if cap is None or (before <= cap and after <= cap):
                    found.append((before, after))
        return found


def paddings(
    target: Dim,
    size: Dim,
    kernel_size: Dim,
    stride: Dim = 1,
    dilation: Dim = 1,
    op: Op = CONV,
) -> Paddings:
    r"""Paddings ``(before, after)`` giving ``target`` outputs from ``size`` inputs (torch's rule).

    With span $\kappa = d(k-1)+1$, a convolution (or floor-mode pooling) needs a total

    $$
    (m-1)s + \kappa - n \;\le\; p_b + p_a \;\le\; (m-1)s + \kappa - n + s - 1,
    \qquad p_b, p_a \ge 0,
    $$

    and torch's ``padding=p`` pads $2p$: $\lceil P_\min/2 \rceil \le p \le \lfloor P_\max/2
    \rfloor$. Pooling also bounds each side by $\lfloor k/2 \rfloor$.

    >>> paddings(5, 5, 3).pairs()
    [(0, 2), (1, 1), (2, 0)]
    >>> from derive.ops import MAX_POOL
    >>> paddings(4, 5, 3, op=MAX_POOL, stride=1).pairs()
    [(0, 1), (1, 0)]
    """
    if isinstance(op, TransposedConvolution):
        raise ShapeError("paddings() answers convolution and pooling; a transposed layer's crop "
                         "is (size - 1)*stride + span + output_padding - target")  # fmt: skip
    m, n = as_dim(target, "target"), as_dim(size, "size")
    k, s, d = (as_dim(v, name) for v, name in ((kernel_size, "kernel_size"), (stride, "stride"),
                                              (dilation, "dilation")))  # fmt: skip
    low = (m - 1) * s + d * (k - 1) + 1 - n
    high = low + s - 1
    bound = sp.floor(k / 2) if isinstance(op, Pooling) else None
    total_low = sp.Max(low, 0)
    total_high = high if bound is None else sp.Min(high, 2 * bound)
    sym_high = sp.floor(high / 2) if bound is None else sp.Min(sp.floor(high / 2), bound)
    symmetric = SizeRange(sp.Max(sp.ceiling(low / 2), 0), sym_high)
    return Paddings(SizeRange(total_low, total_high), symmetric, bound)


def smallest_input(layers: Sequence[Layer], target: Dim = 1) -> sp.Expr:
    r"""The least input size a stack of layers accepts (giving at least ``target`` outputs).

    Outputs grow with inputs, so the answer runs backwards: $t_L = $ ``target``, and each
    layer needs $t_{i-1} = n_{\ge,i}(t_i)$ inputs.

    >>> smallest_input([Layer(CONV, 3, stride=2), Layer(CONV, 3, stride=2)])
    7
    """
    needed = as_dim(target, "target")
    for layer in reversed(list(layers)):
        needed = least_input(layer, needed)
    return needed
