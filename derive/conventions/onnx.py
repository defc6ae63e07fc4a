r"""ONNX's convention: ``auto_pad`` (``NOTSET``, ``SAME_UPPER``, ``SAME_LOWER``, ``VALID``), pads.

``padding=`` takes the ``auto_pad`` value, or the ``pads`` of one axis as ``(begin, end)``
(an int pads both ends) with ``auto_pad=NOTSET``. ``SAME_UPPER`` is TensorFlow's SAME (the
odd zero at the end), ``SAME_LOWER`` puts it at the beginning; both give $\lceil n/s \rceil$
outputs, with ``ceil_mode`` or without. Where the stride exceeds the kernel's span the
specification's padding formula goes negative: ONNX's shape inference clamps it at 0, as
TensorFlow does, and so does derive (ONNX's reference evaluator fails there).

**Pooling** (``MaxPool``, ``AveragePool``) pads by torch's size rule, ``ceil_mode``'s last
window included, but with no bound on the pads but their sign: a window may lie in the padding
beyond half the kernel, even wholly. ``AveragePool``'s ``count_include_pad`` defaults to 0.
With ``auto_pad=VALID`` and ``ceil_mode=1`` ONNX's shape inference rounds up where its
specification rounds down: derive refuses that combination.

**ConvTranspose** crops ``pads`` and appends ``output_padding`` (smaller than the stride or
the dilation). With ``output_shape`` (derive's ``output_size``) the pads follow from it,

$$
P = (n-1)s + p_\text{out} + d(k-1) + 1 - n_\text{out},
$$

$\lfloor P/2 \rfloor$ at the beginning for ``SAME_UPPER`` and $\lceil P/2 \rceil$ otherwise
(ONNX's specification, floor division). An ``output_shape`` longer than the scatter makes $P$
negative: the negative crops are zeros added (ONNX's backend test ``convtranspose_output_shape``
appends one at the end). Under ``NOTSET`` and ``VALID`` ONNX's reference evaluator appends them
all at the end, as onnxruntime does (the specification's formula, meant for $P \ge 0$, would split
$P \le -2$), and so does derive. ``pads`` given with ``output_shape`` are refused: the
specification ignores them, the reference evaluator applies them.

Without ``output_shape``, ``SAME_UPPER``/``SAME_LOWER`` give $n s$ outputs; where ONNX's shape
inference and its specification disagree (a non-zero ``output_padding``, or a kernel span
shorter than the stride) derive refuses rather than choose.

>>> pool_rule(5, 3, 1, (3, 0), 1, False).checked().size
6
>>> conv_transpose_rule(3, 3, 2, "SAME_LOWER", 0, 1, output_size=5).checked().pads
(1, 1)
"""

from __future__ import annotations

from dataclasses import replace

import sympy as sp

from derive.conventions.base import Padded, read_axis, span_of, stop_early
from derive.conventions.same import (
    explicit_conv_rule,
    explicit_pool_rule,
    nonnegative_pads,
    same_rule,
    transposed_rule,
    valid_rule,
)
from derive.errors import ShapeError
from derive.guards import Guard
from derive.params import Dim, as_dim, padding_pair, pool_stride

__all__ = ["conv_rule", "pool_rule", "conv_transpose_rule", "count_include_pad"]


def _read(padding: object) -> tuple[str, tuple[sp.Expr, sp.Expr] | None]:
    """``(auto_pad, pads)``: pads only under ``NOTSET``."""
    from derive.conventions import ONNX

    spelled = ONNX.spell(padding)
    if isinstance(spelled, str):
        zero = sp.Integer(0)
        return spelled, ((zero, zero) if spelled == "NOTSET" else None)
    pair = padding_pair(spelled)
    return "NOTSET", tuple(as_dim(p, "pads") for p in pair)  # type: ignore[return-value]


def _auto(auto_pad: str, size, kernel_size, stride, dilation) -> Padded:
    if auto_pad == "VALID":
        return valid_rule(size, kernel_size, stride, dilation, "VALID")
    return same_rule(size, kernel_size, stride, dilation, lower=auto_pad == "SAME_LOWER")


def conv_rule(size: Dim, kernel_size: Dim, stride: Dim, padding: object, dilation: Dim) -> Padded:
    """An ONNX ``Conv`` node along one axis."""
    auto_pad, pads = _read(padding)
    if pads is None:
        return _auto(auto_pad, size, kernel_size, stride, dilation)
    return explicit_conv_rule(size, kernel_size, stride, pads, dilation)


def pool_rule(
    size: Dim, kernel_size: Dim, stride: object, padding: object, dilation: Dim, ceil_mode: bool
) -> Padded:
    """An ONNX ``MaxPool`` / ``AveragePool`` node along one axis."""
    auto_pad, pads = _read(padding)
    stride = pool_stride(stride, kernel_size)
    if pads is not None:
        return explicit_pool_rule(size, kernel_size, stride, pads, dilation, ceil_mode)
    if auto_pad == "VALID" and ceil_mode:
        raise ShapeError(
            "auto_pad='VALID' with ceil_mode=1: ONNX's shape inference rounds up where its "
            "specification rounds down, so derive does not choose; give pads=(0, 0) instead"
        )
    return _auto(auto_pad, size, kernel_size, stride, dilation)


def _output_padding_guards(op: sp.Expr, s: sp.Expr, d: sp.Expr) -> tuple[Guard, ...]:
    return nonnegative_pads(op, op, "output_padding", op) + (
        Guard(
            "output_padding",
            sp.And(sp.Ge(op, s), sp.Ge(op, d)),
            "output_padding must be less than the stride or the dilation, got "
            "output_padding={op} with strides={s} and dilations={d}",
            (("op", op), ("s", s), ("d", d)),
        ),
    )


def _split(total: sp.Expr, upper: bool) -> tuple[sp.Expr, sp.Expr]:
    small = sp.floor(total / 2)
    return (small, total - small) if upper else (total - small, small)


def _same_without_shape(s, span, op) -> tuple[Guard, ...]:
    """Where ONNX's shape inference and specification disagree, refuse (two guards)."""
    return (
        Guard(
            "output_padding",
            sp.Ne(op, 0),
            "auto_pad SAME with output_padding={op}: ONNX's specification gives n*s outputs and "
            "its shape inference n*s + output_padding, so derive does not choose",
            (("op", op),),
        ),
        Guard(
            "kernel_size",
            sp.Lt(span, s),
            "auto_pad SAME with a kernel span {span} shorter than strides={s}: ONNX's "
            "specification and its shape inference disagree, so derive does not choose",
            (("span", span), ("s", s)),
        ),
    )


def conv_transpose_rule(
    size: Dim,
    kernel_size: Dim,
    stride: Dim,
    padding: object,
    output_padding: object,
    dilation: Dim,
    output_size: Dim | None = None,
) -> Padded:
    """An ONNX ``ConvTranspose`` node along one axis (``output_size`` is ``output_shape``)."""
    auto_pad, pads = _read(padding)
    (n, k, s, d), guards = read_axis(size, kernel_size, stride, dilation)
    op = as_dim(output_padding, "output_padding")
    guards += _output_padding_guards(op, s, d)
    if pads is not None:
        guards += nonnegative_pads(pads[0], pads[1], "pads", pads)
    early = stop_early(guards)
    if early:
        return early
    span = span_of(k, d)
    if output_size is not None:
        if pads is not None and (pads[0] != 0 or pads[1] != 0):
            raise ShapeError(
                f"pads={tuple(pads)} with output_shape: ONNX's specification ignores pads when "
                "output_shape is given and its reference evaluator applies them, so derive does "
                "not choose; leave pads at 0"
            )
        target = as_dim(output_size, "output_size")
        return _by_output_shape(n, k, s, d, op, target, auto_pad, guards)
    if pads is not None or auto_pad == "VALID":
        crops = pads or (sp.Integer(0), sp.Integer(0))
        return transposed_rule(n, k, s, d, crops, op, guards)
    guards += _same_without_shape(s, span, op)
    crops = _split(span - s, auto_pad == "SAME_UPPER")
    return transposed_rule(n, k, s, d, crops, sp.Integer(0), guards)


def _by_output_shape(n, k, s, d, op, target, auto_pad, guards) -> Padded:
    total = sp.expand((n - 1) * s + op + span_of(k, d) - target)
    guards += (
        Guard("output_size", sp.Lt(target, 1), "output_shape must be positive, got {t}",
              (("t", target),)),
    )  # fmt: skip
    before, after = _split(total, auto_pad == "SAME_UPPER")
    if auto_pad in ("NOTSET", "VALID"):  # added zeros all at the end, as ONNX's reference adds
        kept = sp.Max(total, 0)
        before, after = kept - sp.floor(kept / 2), sp.Min(total, sp.floor(total / 2))
    rule = transposed_rule(n, k, s, d, (before, after), op, guards)
    return replace(rule, size=target)  # the same number, kept in its simplest form


def count_include_pad(given: bool | None) -> bool:
    """``AveragePool``'s ``count_include_pad`` (default 0)."""
    return False if given is None else bool(given)
