r"""Output elements of 2-D max and average pooling, as SymPy expressions.

A pooling window at output $(i, j)$ covers rows $i s_h - p_t + a d_h$ and columns
$j s_w - p_l + e d_w$. Max pooling takes the maximum of the entries that lie inside the
input (padding never wins); average pooling divides their sum by torch's divisor:

$$
Y_{c,i,j} = \frac{1}{D_{i,j}} \sum_{(r,q)\,\in\,\text{window} \cap \text{input}} X_{c,r,q},
$$

with $D$ the window's area clipped to the padded input when ``count_include_pad``, the
number of input entries in the window otherwise, or ``divisor_override``.
"""

from __future__ import annotations

import operator
from typing import Any

import sympy as sp

from derive.errors import ShapeError
from derive.ops import MAX_POOL
from derive.params import int_pair, padding_2d, pool_stride
from derive.tensors import check_layout, read_tensor, to_array
from derive.windows import AxisWindows, Windows2d

__all__ = ["max_pool2d", "avg_pool2d", "pool2d_windows", "plan_pool2d"]


def _pool_axis(n: int, k: int, s: int, d: int, pads: tuple[int, int], ceil: bool) -> AxisWindows:
    out = int(MAX_POOL.size(n, k, s, pads, d, ceil))  # the size rule, looked up now
    return AxisWindows(n, k, s, d, pads[0], pads[1], out)


def plan_pool2d(
    input_shape: tuple[int, ...],
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    convention: Any = None,
) -> Windows2d:
    """Validate a 2-D pooling layer as torch does and plan its windows (:mod:`derive.windows`).

    ``stride=None`` (or torch's empty ``()``) means ``kernel_size``; average pooling has no
    dilation (pass 1). With ``convention`` the layer is read and checked as that framework
    does (:mod:`derive.conventions`): ONNX's pads may exceed half the kernel, say.

    >>> plan = plan_pool2d((1, 5, 5), 2, ceil_mode=True)
    >>> plan.out_shape, plan.overhang, plan.past_count(2, 2), plan.divisor(2, 0)
    ((3, 3), (1, 1), 3, 2)
    """
    check_layout(input_shape)
    kernel = int_pair(kernel_size, "kernel_size")
    strides = int_pair(pool_stride(stride, kernel_size), "stride")
    dilations = int_pair(dilation, "dilation")
    if convention is not None:
        return _convention_plan(
            convention, input_shape, kernel, strides, dilations, padding, ceil_mode
        )
    pads = padding_2d(padding)
    if isinstance(pads, str):  # torch's pooling takes no string padding, not even 'valid'
        raise ShapeError(f"pooling supports no padding={pads!r}; give an int or a pair")
    rows, cols = (
        _pool_axis(n, k, s, d, int_pair(p, "padding"), ceil_mode)
        for n, k, s, d, p in zip(input_shape[-2:], kernel, strides, dilations, pads)
    )
    return Windows2d(rows, cols)


def _convention_plan(convention, input_shape, kernel, strides, dilations, padding, ceil_mode):
    from derive.conventions import convention_named  # the conventions build on this core
    from derive.conventions.layer import axis_paddings

    entry, axes = convention_named(convention), []
    for n, k, s, d, p in zip(input_shape[-2:], kernel, strides, dilations, axis_paddings(padding)):
        rule = entry.pool(n, k, s, p, d, ceil_mode).checked()
        before, after = int_pair(rule.pads, "padding")
        axes.append(AxisWindows(n, k, s, d, before, after, int(rule.size)))
    return Windows2d(axes[0], axes[1])


def pool2d_windows(
    input_shape: tuple[int, ...],
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    convention: Any = None,
) -> tuple[tuple[int, int], list[tuple[list[int], list[int], int]]]:
    """Output size and, per output position, the rows, columns and torch's padded window area.

    Returns ``((H_out, W_out), windows)`` where ``windows[i * W_out + j]`` is
    ``(rows, cols, area)``: the input rows and columns the window covers and the size of the
    window clipped to the padded input (the ``count_include_pad`` divisor). Read from
    :func:`plan_pool2d`, which has the padded coordinates and counts as well.

    >>> pool2d_windows((1, 3, 3), 2, stride=1)[1][0]
    ([0, 1], [0, 1], 4)
    """
    plan = plan_pool2d(input_shape, kernel_size, stride, padding, dilation, ceil_mode, convention)
    oh, ow = plan.out_shape
    rows = [[r for _, r in plan.rows.taps(i)] for i in range(oh)]
    cols = [[q for _, q in plan.cols.taps(j)] for j in range(ow)]
    windows = [
        (rows[i], cols[j], plan.divisor(i, j)) for i in range(oh) for j in range(ow)
    ]
    return (oh, ow), windows


def _pool(input: Any, windows_of, reduce) -> sp.Array:
    x, shape = read_tensor(input, "input")
    (oh, ow), windows = windows_of(shape)
    height, width = shape[-2:]
    planes = len(x) // (height * width)
    out: list[sp.Basic] = []
    for p in range(planes):
        base = p * height * width
        for rows, cols, area in windows:
            vals = [x[base + r * width + q] for r in rows for q in cols]
            out.append(reduce(vals, rows, cols, area))
    return to_array(out, (*shape[:-2], oh, ow))


def max_pool2d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    convention: Any = None,
) -> sp.Array:
    r"""Every output element of ``torch.nn.functional.max_pool2d`` as a SymPy expression.

    $$
    Y_{c,i,j} = \max_{a,e}\; X_{c,\, i s_h - p_t + a d_h,\, j s_w - p_l + e d_w}
    $$

    over the window positions inside the input (padding is never the maximum; a window wholly
    in the padding, possible with dilation or ONNX's pads, gives $-\infty$). ``convention``
    reads and checks the layer as another framework does (:mod:`derive.conventions`).

    >>> max_pool2d([[[0, 1, 2], [3, 4, 5], [6, 7, 8]]], 2, stride=1)
    [[[4, 5], [7, 8]]]
    >>> from derive import symbol_array
    >>> max_pool2d(symbol_array("x", (1, 2, 2)), 2)
    [[[Max(x_{0,0,0}, x_{0,0,1}, x_{0,1,0}, x_{0,1,1})]]]
    """

    def reduce(vals, rows, cols, area):
        if not vals:  # the window lies wholly in the padding (possible with dilation)
            return -sp.oo
        if all(v.is_Integer for v in vals):
            return max(vals)
        if any(v is sp.nan for v in vals):  # torch's max propagates NaN
            return sp.nan
        return sp.Max(*vals)

    return _pool(
        input,
        lambda shape: pool2d_windows(
            shape, kernel_size, stride, padding, dilation, ceil_mode, convention
        ),
        reduce,
    )


def avg_pool2d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool | None = None,
    divisor_override: int | None = None,
    convention: Any = None,
) -> sp.Array:
    r"""Every output element of ``torch.nn.functional.avg_pool2d``, with torch's divisor.

    $$
    Y_{c,i,j} = \frac{1}{D_{i,j}} \sum_{(r,q)} X_{c,r,q}
    $$

    $D_{i,j}$ is ``divisor_override`` if given; else, with ``count_include_pad``, the window's
    area clipped to the padded input (the part of a ``ceil_mode`` window past the padding
    never counts); else the number of input entries in the window. ``count_include_pad=None``
    is the convention's default: torch's ``True``, ONNX's 0; TensorFlow, Keras and JAX never
    count the padding (:mod:`derive.conventions`).

    >>> avg_pool2d([[[0, 1, 2], [3, 4, 5], [6, 7, 8]]], 2, stride=1)
    [[[2, 3], [5, 6]]]
    >>> avg_pool2d([[[1, 2], [3, 5]]], 2, padding=1)
    [[[1/4, 1/2], [3/4, 5/4]]]
    """
    if divisor_override is not None:
        try:
            if isinstance(divisor_override, bool):
                raise TypeError
            divisor_override = operator.index(divisor_override)
        except TypeError:
            raise ShapeError(
                f"divisor_override must be an int, got divisor_override={divisor_override!r}"
            ) from None
        if divisor_override == 0:
            raise ShapeError("divisor_override must be non-zero, got divisor_override=0")
    from derive.conventions import convention_named  # the conventions build on this core

    count_include_pad = convention_named(convention).count_include_pad(count_include_pad)

    def reduce(vals, rows, cols, area):
        if divisor_override is not None:
            divisor = divisor_override
        elif count_include_pad:
            divisor = area
        else:
            divisor = len(vals)
        if divisor == 0:
            return sp.nan
        if all(v.is_Integer for v in vals):
            return sp.Rational(sum(int(v) for v in vals), divisor)
        return sp.Add(*vals) / divisor

    return _pool(
        input,
        lambda shape: pool2d_windows(shape, kernel_size, stride, padding, 1, ceil_mode, convention),
        reduce,
    )
