r"""PyTorch's convention (derive's default): the engine's rules, with the pads they imply.

Convolution pads an int on both sides, a ``(before, after)`` pair, ``'same'`` (stride 1,
$\lfloor d(k-1)/2 \rfloor$ before) or ``'valid'``; pooling pads an int or a pair, at most
half the kernel; a transposed convolution crops ``padding`` from both ends and appends
``output_padding``.

``ConvTranspose*d.forward(input, output_size=...)`` chooses ``output_padding`` itself
(``torch.nn.modules.conv._ConvTransposeNd._output_padding``): the output size must lie in

$$
m = (n-1)s - 2p + d(k-1) + 1 \;\le\; n_\text{out} \;\le\; m + s - 1,
\qquad p_\text{out} = n_\text{out} - m,
$$

and torch raises ``requested an output size of [...], but valid sizes range from [...] to
[...]`` otherwise.

>>> conv_transpose_rule(5, 3, 2, 1, 0, 1, output_size=10).checked().output_padding
1
>>> conv_transpose_rule(5, 3, 2, 1, 0, 1, output_size=7).checked()
Traceback (most recent call last):
    ...
derive.errors.ShapeError: requested an output size of [7], but valid sizes range from [9] to [10] (for an input of [5])
"""  # noqa: E501

from __future__ import annotations

import sympy as sp

from derive import shapes  # looked up at call time: a patched engine is seen
from derive.conventions.base import Padded
from derive.guards import Guard
from derive.params import Dim, as_dim, padding_pair

__all__ = [
    "conv_rule",
    "pool_rule",
    "conv_transpose_rule",
    "count_include_pad",
    "output_size_guard",
]


def conv_rule(size: Dim, kernel_size: Dim, stride: Dim, padding: object, dilation: Dim) -> Padded:
    """torch's convolution axis, with the zeros ``padding`` stands for."""
    rule = shapes.conv_rule(size, kernel_size, stride, padding, dilation)  # type: ignore[arg-type]
    p = padding_pair(padding)
    if p == "same":
        lo, hi = shapes.same_padding(kernel_size, dilation)
    elif p == "valid":
        lo, hi = sp.Integer(0), sp.Integer(0)
    else:
        lo, hi = p  # type: ignore[misc]
    return Padded(rule.guards, rule.size, lo, hi)


def pool_rule(
    size: Dim, kernel_size: Dim, stride: object, padding: object, dilation: Dim, ceil_mode: bool
) -> Padded:
    """torch's pooling axis (padding at most half the kernel), with its zeros."""
    rule = shapes.pool_rule(size, kernel_size, stride, padding, dilation, ceil_mode)  # type: ignore[arg-type]
    lo, hi = padding_pair(padding)  # a string was refused by the rule already
    return Padded(rule.guards, rule.size, lo, hi)


#: the positivity checks of size, kernel_size, stride and dilation come first in torch's rules
_READS = 4


def output_size_guard(target: sp.Expr, low: sp.Expr, stride: sp.Expr, n: sp.Expr) -> Guard:
    """torch's check of ``output_size``: within $[m, m + s - 1]$ (its message, one axis)."""
    high = low + stride - 1
    return Guard(
        "output_size",
        sp.Or(sp.Lt(target, low), sp.Gt(target, high)),
        "requested an output size of [{t}], but valid sizes range from [{lo}] to [{hi}] "
        "(for an input of [{n}])",
        (("t", target), ("lo", low), ("hi", high), ("n", n)),
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
    """torch's transposed axis; with ``output_size``, the ``output_padding`` torch chooses.

    As in torch, ``output_size`` overrides ``output_padding``.
    """
    lo, hi = padding_pair(padding)  # type: ignore[misc]
    if output_size is None:
        rule = shapes.conv_transpose_rule(
            size, kernel_size, stride, padding, output_padding, dilation  # type: ignore[arg-type]
        )
        return Padded(rule.guards, rule.size, lo, hi, as_dim(output_padding, "output_padding"))
    target = as_dim(output_size, "output_size")
    n, s = as_dim(size, "size"), as_dim(stride, "stride")
    low = shapes.conv_transpose_rule(size, kernel_size, stride, padding, 0, dilation).size  # type: ignore[arg-type]
    op = target - low
    rule = shapes.conv_transpose_rule(size, kernel_size, stride, padding, op, dilation)  # type: ignore[arg-type]
    guards = rule.guards[:_READS] + (output_size_guard(target, low, s, n),) + rule.guards[_READS:]
    return Padded(guards, rule.size, lo, hi, op)

def count_include_pad(given: bool | None) -> bool:
    """torch's ``count_include_pad`` (default ``True``)."""
    return True if given is None else bool(given)
