r"""The two axes of a 2-D transposed convolution under a convention, as window plans.

Each axis is resolved by the convention's rule (:class:`~derive.conventions.base.Padded`:
output size, crops, output padding) and described as the windows of the convolution whose
shape map it inverts (:class:`derive.windows.AxisWindows`, see :mod:`derive.transpose`): the
output padded by the crops, one window per input entry.

torch's ``output_size`` is checked on both axes at once, with torch's message listing both:

>>> transposed_axes(None, (5, 5), (3, 3), 2, 1, 0, 1, (7, 9))
Traceback (most recent call last):
    ...
derive.errors.ShapeError: requested an output size of [7, 9], but valid sizes range from [9, 9] to [10, 10] (for an input of [5, 5])
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Sequence

from derive.conventions import TORCH, convention_named
from derive.conventions.base import strided_dilation_guard
from derive.conventions.layer import axis_paddings, axis_values
from derive.errors import ShapeError
from derive.guards import enforce, first_rejection
from derive.params import int_pair, pair
from derive.windows import AxisWindows

__all__ = ["transposed_axes", "read_output_size"]


def read_output_size(output_size: object) -> tuple[object, object]:
    """``(H, W)`` from an int pair, or the last two entries of a longer size (as torch reads)."""
    if output_size is None:
        return None, None
    if isinstance(output_size, Sequence) and len(output_size) > 2:
        output_size = tuple(output_size)[-2:]
    return pair(output_size, "output_size")


def _torch_range_error(rules, targets, sizes) -> ShapeError | None:
    """torch's one message for both axes when a requested size is out of range on either."""
    failing = [first_rejection(r.guards) for r in rules]
    if not any(g is not None and g.argument == "output_size" for g in failing):
        return None
    fields = [dict(next(g for g in r.guards if g.argument == "output_size").fields) for r in rules]
    lows = ", ".join(str(f["lo"]) for f in fields)
    highs = ", ".join(str(f["hi"]) for f in fields)
    return ShapeError(
        f"requested an output size of [{', '.join(str(t) for t in targets)}], but valid sizes "
        f"range from [{lows}] to [{highs}] (for an input of [{', '.join(map(str, sizes))}])"
    )


def transposed_axes(
    convention, in_hw, kernel, stride, padding, output_padding, dilation, output_size
) -> tuple[AxisWindows, AxisWindows]:
    """Rows and columns of a 2-D transposed convolution, checked as the convention does."""
    entry = convention_named(convention)
    strides, dilations = int_pair(stride, "stride"), int_pair(dilation, "dilation")
    if not entry.strided_dilation:
        enforce([strided_dilation_guard(strides, dilations)])
    targets = read_output_size(output_size)
    ops = axis_values(output_padding, "output_padding")
    rules = [
        entry.conv_transpose(n, k, s, p, op, d, t)
        for n, k, s, p, op, d, t in zip(
            in_hw, kernel, strides, axis_paddings(padding), ops, dilations, targets
        )
    ]
    if entry is TORCH and output_size is not None:
        error = _torch_range_error(rules, targets, in_hw)
        if error is not None:
            raise error
    axes = []
    for n, k, s, d, rule in zip(in_hw, kernel, strides, dilations, rules):
        rule.checked()
        before, after = int_pair(rule.pads, "padding")
        if before < 0:  # ONNX's output_shape beyond the scatter under SAME_UPPER / SAME_LOWER
            raise ShapeError(
                f"the output of size {rule.size} starts with {-before} added zero(s) (a negative "
                "crop before): derive gives its size but does not model its elements"
            )
        axes.append(AxisWindows(int(rule.size), k, s, d, before, after, n))
    return axes[0], axes[1]
