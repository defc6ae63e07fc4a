r"""Keras's convention: ``padding="valid"``, ``"same"``, ``"causal"`` or ``"full"``.

Keras lower-cases the spelling. ``"same"`` and ``"valid"`` are TensorFlow's SAME and VALID
(:mod:`derive.conventions.same`); ``"causal"`` (``Conv1D``) pads $d(k-1)$ zeros before the
input only, so output $t$ sees inputs up to $t s$; ``"full"`` pads $d(k-1)$ on both sides and
comes from Keras 2's ``conv_utils`` (Keras 3 layers no longer accept it). Pooling takes
``"valid"`` and ``"same"``, never counts the padding in an average, and has no ``ceil_mode``.

A transposed convolution (``Conv*DTranspose``) crops and appends so that, with
$\kappa = d(k-1) + 1$,

$$
n_\text{out} = \begin{cases}
(n-1)s + \max(\kappa, s) & \text{valid, } p_\text{out} = \text{None} \\
n s & \text{same, } p_\text{out} = \text{None} \\
(n-1)s + (\kappa \bmod 2) + p_\text{out} & \text{same} \\
(n-1)s + \kappa + p_\text{out} & \text{valid} \\
(n-1)s - \kappa + 2 + p_\text{out} & \text{full (None: } p_\text{out} = 0)
\end{cases}
$$

``output_padding=None`` lets Keras infer it; a given one must be smaller than the stride.

>>> conv_rule(32, 5, 2, "causal", 1).checked().pads
(4, 0)
>>> conv_transpose_rule(224, 7, 2, "same", None, 1).checked().size
448
>>> conv_transpose_rule(224, 7, 2, "same", 0, 1).checked().size
447
"""

from __future__ import annotations

import sympy as sp

from derive.conventions.base import (
    Padded,
    read_axis,
    span_of,
    stop_early,
    strided_dilation_guard,
)
from derive.conventions.same import (
    causal_rule,
    full_rule,
    same_rule,
    transposed_crops,
    transposed_rule,
    valid_rule,
)
from derive.errors import ShapeError
from derive.guards import Guard, first_rejection
from derive.params import Dim, as_dim, pool_stride

__all__ = ["conv_rule", "pool_rule", "conv_transpose_rule", "count_include_pad"]


def _spell(padding: object) -> str:
    from derive.conventions import KERAS

    spelled = KERAS.spell(padding)
    if not isinstance(spelled, str):
        raise ShapeError(
            "Keras takes padding 'valid', 'same', 'causal' or 'full', got "
            f"padding={padding!r} (convention='keras')"
        )
    return spelled


def conv_rule(size: Dim, kernel_size: Dim, stride: Dim, padding: object, dilation: Dim) -> Padded:
    """``keras.layers.Conv*D`` along one axis."""
    rules = {"same": same_rule, "causal": causal_rule, "full": full_rule}
    spelled = _spell(padding)
    if spelled == "valid":
        rule = valid_rule(size, kernel_size, stride, dilation, "valid")
    else:
        rule = rules[spelled](size, kernel_size, stride, dilation)
    return with_strided_dilation(rule, stride, dilation)


def with_strided_dilation(rule: Padded, stride: Dim, dilation: Dim) -> Padded:
    """``rule`` with TensorFlow's and Keras's stride-or-dilation guard after the positivity ones."""
    s, d = as_dim(stride, "stride"), as_dim(dilation, "dilation")
    guards = rule.guards[:4] + (strided_dilation_guard(s, d),) + rule.guards[4:]
    size = None if rule.size is None or first_rejection(guards) else rule.size
    return Padded(guards, size, rule.before, rule.after, rule.output_padding)


def pool_rule(
    size: Dim, kernel_size: Dim, stride: object, padding: object, dilation: Dim, ceil_mode: bool
) -> Padded:
    """``keras.layers.*Pooling*D`` along one axis: ``"valid"`` or ``"same"``."""
    spelled = _spell(padding)
    if ceil_mode or spelled not in ("valid", "same") or as_dim(dilation, "dilation") != 1:
        raise ShapeError(
            f"Keras pooling takes padding 'valid' or 'same', no ceil_mode and no dilation, got "
            f"padding={padding!r}, ceil_mode={ceil_mode}, dilation={dilation}"
        )
    stride = pool_stride(stride, kernel_size)
    if spelled == "same":
        return same_rule(size, kernel_size, stride, dilation)
    return valid_rule(size, kernel_size, stride, dilation, "valid")


def _output_padding_guards(op: sp.Expr, s: sp.Expr) -> tuple[Guard, ...]:
    return (
        Guard(
            "output_padding",
            sp.Lt(op, 0),
            "output_padding must be non-negative, got output_padding={op}",
            (("op", op),),
        ),
        Guard(
            "output_padding",
            sp.Ge(op, s),
            "`output_padding` must be strictly less than `strides`, got output_padding={op} "
            "and strides={s}",
            (("op", op), ("s", s)),
        ),
    )


def _crop_total(spelled: str, span: sp.Expr, s: sp.Expr, op: sp.Expr | None) -> sp.Expr:
    """Entries cropped in all (negative: appended) from the full scatter $(n-1)s + \\kappa$."""
    if spelled == "same":
        return span - s if op is None else span - sp.Mod(span, 2) - op
    if spelled == "valid":
        return -sp.Max(s - span, 0) if op is None else -op
    return 2 * (span - 1) - (0 if op is None else op)  # full


def conv_transpose_rule(
    size: Dim,
    kernel_size: Dim,
    stride: Dim,
    padding: object,
    output_padding: object,
    dilation: Dim,
    output_size: Dim | None = None,
) -> Padded:
    """``keras.layers.Conv*DTranspose`` along one axis (``output_padding=None`` inferred)."""
    spelled = _spell(padding)
    if spelled == "causal" or output_size is not None:
        raise ShapeError(
            "Keras's Conv*DTranspose takes padding 'valid', 'same' (or Keras 2's 'full') and no "
            f"output size, got padding={padding!r}, output_size={output_size}"
        )
    return inferred_transpose_rule(size, kernel_size, stride, spelled, output_padding, dilation)


def inferred_transpose_rule(
    size: Dim,
    kernel_size: Dim,
    stride: Dim,
    spelled: str,
    output_padding: object,
    dilation: Dim,
    strided_dilation: bool = False,
) -> Padded:
    """Keras's transposed axis for a spelled padding; JAX's ``conv_transpose`` with
    ``strided_dilation`` (JAX lets a stride above 1 combine with a dilation above 1)."""
    (n, k, s, d), guards = read_axis(size, kernel_size, stride, dilation)
    op = None if output_padding is None else as_dim(output_padding, "output_padding")
    if not strided_dilation:
        guards += (strided_dilation_guard(s, d),)
    if op is not None:
        guards += _output_padding_guards(op, s)
    early = stop_early(guards)
    if early:
        return early
    span = span_of(k, d)
    total = _crop_total(spelled, span, s, op)
    if spelled == "full":
        before, after, extra = span - 1, span - 1, (sp.Integer(0) if op is None else op)
    else:
        before, after, extra = transposed_crops(total)
    return transposed_rule(n, k, s, d, (before, after), extra, guards)


def count_include_pad(given: bool | None) -> bool:
    """Keras's average pooling never counts the padding."""
    if given:
        raise ShapeError(
            "Keras's average pooling never counts padding zeros; count_include_pad applies to "
            "convention='torch' and 'onnx'"
        )
    return False
