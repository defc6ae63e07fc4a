r"""The padding rules that several frameworks share: SAME, VALID, causal, full and explicit pads.

Along one axis with input size $n$, kernel $k$, stride $s$ and dilation $d$ (span
$d(k-1)+1$):

- **SAME** (TensorFlow, Keras and JAX ``'SAME'``, ONNX ``SAME_UPPER``) gives
  $\lceil n/s \rceil$ outputs and pads the least that needs,

  $$
  P = \max\bigl((\lceil n/s \rceil - 1)s + d(k-1) + 1 - n,\ 0\bigr)
    = \max\bigl(d(k-1) - ((n - 1) \bmod s),\ 0\bigr),
  $$

  $\lfloor P/2 \rfloor$ before and the odd one after; **SAME_LOWER** (ONNX, JAX) puts the
  odd one before. The total depends on $n \bmod s$: that is the ``Mod`` in the formula.
- **VALID** pads nothing and needs the kernel to fit:
  $\lfloor (n - d(k-1) - 1)/s \rfloor + 1 = \lceil (n - d(k-1))/s \rceil$ outputs.
- **causal** (Keras ``Conv1D``) pads $d(k-1)$ before and nothing after: $\lceil n/s \rceil$.
- **full** (Keras 2's ``conv_utils``) pads $d(k-1)$ on both sides:
  $\lceil (n + d(k-1))/s \rceil$ outputs.
- **explicit** ``(before, after)`` zeros, as torch's integer padding, ONNX's ``pads`` and
  JAX's pairs, by the engine's formula.

Every function returns a :class:`derive.conventions.base.Padded` (guards, size, pads),
unchecked: callers enforce it.

>>> import sympy as sp
>>> n = sp.Symbol("n", integer=True, positive=True)
>>> r = same_rule(n, 3, 2, 1)
>>> r.size, r.before, r.after
(ceiling(n/2), floor(-Mod(n + 1, 2)/2) + 1, -Mod(n + 1, 2) - floor(-Mod(n + 1, 2)/2) + 1)
>>> same_rule(6, 3, 2, 1).pads, same_rule(6, 4, 2, 1, lower=True).pads
((0, 1), (1, 1))
"""

from __future__ import annotations

import sympy as sp

from derive import shapes  # looked up at call time: a patched engine is seen
from derive.conventions.base import Padded, read_axis, span_of, stop_early
from derive.guards import Guard, first_rejection
from derive.params import Dim, as_dim
from derive.shapes import floor_div

__all__ = [
    "same_total",
    "same_rule",
    "valid_rule",
    "causal_rule",
    "full_rule",
    "explicit_conv_rule",
    "explicit_pool_rule",
    "nonnegative_pads",
    "fits_guard",
    "transposed_rule",
]


def same_total(n: sp.Expr, k: sp.Expr, s: sp.Expr, d: sp.Expr) -> sp.Expr:
    r"""SAME's total padding $\max(d(k-1) - ((n-1) \bmod s), 0)$.

    The ``Max`` is left out where it is decided: when $d(k-1) \ge s - 1$ the remainder never
    exceeds the span, and a span of one entry needs no padding.

    >>> same_total(sp.Integer(7), sp.Integer(3), sp.Integer(2), sp.Integer(1))
    2
    >>> m = sp.Symbol("m", integer=True, positive=True)
    >>> same_total(m, sp.Integer(3), sp.Integer(2), sp.Integer(1))
    2 - Mod(m + 1, 2)
    """
    excess = d * (k - 1)
    if excess == 0:
        return sp.Integer(0)
    if sp.Ge(excess, s - 1) is sp.true:
        return excess - sp.Mod(n - 1, s)
    return sp.Max(excess - sp.Mod(n - 1, s), 0)


def _split(total: sp.Expr, lower: bool) -> tuple[sp.Expr, sp.Expr]:
    small = sp.floor(total / 2)
    return (total - small, small) if lower else (small, total - small)


def same_rule(
    size: Dim, kernel_size: Dim, stride: Dim, dilation: Dim, lower: bool = False
) -> Padded:
    r"""SAME along one axis: $\lceil n/s \rceil$ outputs, the odd zero after (before: ``lower``)."""
    (n, k, s, d), guards = read_axis(size, kernel_size, stride, dilation)
    early = stop_early(guards)
    if early:
        return early
    before, after = _split(same_total(n, k, s, d), lower)
    return Padded(guards, sp.ceiling(n / s), before, after)


def fits_guard(
    n: sp.Expr, k: sp.Expr, d: sp.Expr, lo: sp.Expr, hi: sp.Expr, padding: object
) -> Guard:
    """The kernel must fit the padded input, $n + p_l + p_r \\ge d(k-1) + 1$."""
    span = span_of(k, d)
    return Guard(
        "kernel_size",
        sp.Lt(n + lo + hi, span),
        "kernel_size={k} with dilation={d} spans {span}, more than the padded input of size "
        "{padded} (size={n}, padding={padding})",
        (("k", k), ("d", d), ("span", span), ("padded", n + lo + hi), ("n", n),
         ("padding", padding)),
    )  # fmt: skip


def valid_rule(
    size: Dim, kernel_size: Dim, stride: Dim, dilation: Dim, spelling: str = "VALID"
) -> Padded:
    r"""VALID: no padding, $\lfloor (n - d(k-1) - 1)/s \rfloor + 1$ outputs; the kernel must fit."""
    (n, k, s, d), guards = read_axis(size, kernel_size, stride, dilation)
    early = stop_early(guards)
    if early:
        return early
    zero = sp.Integer(0)
    guards += (fits_guard(n, k, d, zero, zero, spelling),)
    return Padded(guards, floor_div(n - span_of(k, d), s) + 1, zero, zero)


def causal_rule(size: Dim, kernel_size: Dim, stride: Dim, dilation: Dim) -> Padded:
    r"""Keras's causal padding: $d(k-1)$ zeros before, none after; $\lceil n/s \rceil$ outputs."""
    (n, k, s, d), guards = read_axis(size, kernel_size, stride, dilation)
    early = stop_early(guards)
    if early:
        return early
    return Padded(guards, sp.ceiling(n / s), d * (k - 1), sp.Integer(0))


def full_rule(size: Dim, kernel_size: Dim, stride: Dim, dilation: Dim) -> Padded:
    r"""'full' padding: $d(k-1)$ zeros on each side; $\lceil (n + d(k-1))/s \rceil$ outputs."""
    (n, k, s, d), guards = read_axis(size, kernel_size, stride, dilation)
    early = stop_early(guards)
    if early:
        return early
    pad = d * (k - 1)
    return Padded(guards, sp.ceiling((n + pad) / s), pad, pad)


def explicit_conv_rule(
    size: Dim, kernel_size: Dim, stride: Dim, pads: tuple[Dim, Dim], dilation: Dim
) -> Padded:
    """Explicit ``(before, after)`` zeros of a convolution: the engine's rule (torch's guards)."""
    lo, hi = (as_dim(p, "padding") for p in pads)
    rule = shapes.conv_rule(size, kernel_size, stride, (lo, hi), dilation)
    return Padded(rule.guards, rule.size, lo, hi)


def nonnegative_pads(lo: sp.Expr, hi: sp.Expr, name: str, shown: object) -> tuple[Guard, ...]:
    """``name`` must not be negative (one guard per distinct side)."""
    message = f"{name} must be non-negative, got {name}={{v}}"
    return tuple(
        Guard(name, sp.Lt(side, 0), message, (("v", shown),)) for side in dict.fromkeys((lo, hi))
    )


def explicit_pool_rule(
    size: Dim,
    kernel_size: Dim,
    stride: Dim,
    pads: tuple[Dim, Dim],
    dilation: Dim,
    ceil_mode: bool,
    name: str = "pads",
) -> Padded:
    r"""Pooling with explicit zeros and no bound on them but their sign (ONNX's ``pads``).

    torch's size rule (``ceil_mode``'s last window must start inside the input or the
    left padding) with at least one output; a window may lie in the padding beyond half the
    kernel, even wholly.
    """
    (n, k, s, d), guards = read_axis(size, kernel_size, stride, dilation)
    lo, hi = (as_dim(p, name) for p in pads)
    guards += nonnegative_pads(lo, hi, name, (lo, hi))
    if first_rejection(guards):
        return Padded(guards, None)
    out = shapes.pool_size_formula(n, k, s, d, lo, hi, ceil_mode)
    guards += (
        Guard(
            "kernel_size",
            sp.Lt(out, 1),
            "output size would be {out}: kernel_size={k} (dilation={d}) does not fit "
            f"size={{n}} with {name}=({{lo}}, {{hi}})",
            (("out", out), ("k", k), ("d", d), ("n", n), ("lo", lo), ("hi", hi)),
        ),
    )
    return Padded(guards, out, lo, hi)


def transposed_rule(
    n: sp.Expr,
    k: sp.Expr,
    s: sp.Expr,
    d: sp.Expr,
    crops: tuple[sp.Expr, sp.Expr],
    output_padding: sp.Expr,
    guards: tuple[Guard, ...],
) -> Padded:
    r"""A transposed axis from crops and output padding: $(n-1)s + d(k-1) + 1 - c_b - c_a + p_o$.

    A negative crop after is an extension: it becomes output padding (zeros at the back).
    """
    before, after = crops
    out = sp.expand((n - 1) * s + span_of(k, d) - before - after + output_padding)
    if after.is_number and after < 0:
        after, output_padding = sp.Integer(0), output_padding - after
    guards += (
        Guard(
            "size",
            sp.Lt(out, 1),
            "output size would be {out} (size={n}, kernel_size={k}, stride={s}, dilation={d}, "
            "crops=({b}, {a}), output_padding={op})",
            (("out", out), ("n", n), ("k", k), ("s", s), ("d", d), ("b", before), ("a", after),
             ("op", output_padding)),
        ),
    )  # fmt: skip
    return Padded(guards, out, before, after, output_padding)


def transposed_crops(total: sp.Expr) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    r"""``(before, after, output_padding)`` of a transposed layer that crops ``total`` entries.

    Half the crop before (the odd one after); a negative total is an extension, zeros
    appended at the back: $(\lfloor T^+/2 \rfloor,\ T^+ - \lfloor T^+/2 \rfloor,\ (-T)^+)$.

    >>> transposed_crops(sp.Integer(3)), transposed_crops(sp.Integer(-1))
    ((1, 2, 0), (0, 0, 1))
    """
    kept = sp.Max(total, 0)
    before = sp.floor(kept / 2)
    return before, kept - before, sp.Max(-total, 0)
