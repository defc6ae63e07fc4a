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
from derive.params import padding_2d, pair
from derive.shapes import pool_output_size
from derive.tensors import read_tensor, to_array

__all__ = ["max_pool2d", "avg_pool2d", "pool2d_windows"]


def _ints(value: Any, name: str) -> tuple[int, int]:
    h, w = pair(value, name)
    if not (h.is_Integer and w.is_Integer):
        raise ShapeError(f"{name} must be integers for element computations, got {name}={(h, w)}")
    return int(h), int(w)


def pool2d_windows(
    input_shape: tuple[int, ...],
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> tuple[tuple[int, int], list[tuple[list[int], list[int], int]]]:
    """Output size and, per output position, the rows, columns and torch's padded window area.

    Returns ``((H_out, W_out), windows)`` where ``windows[i * W_out + j]`` is
    ``(rows, cols, area)``: the input rows and columns the window covers and the size of the
    window clipped to the padded input (the ``count_include_pad`` divisor).
    """
    if len(input_shape) not in (3, 4):
        raise ShapeError(
            f"input must be (C, H, W) or (N, C, H, W), got a tensor of shape {input_shape}"
        )
    kh, kw = _ints(kernel_size, "kernel_size")
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        stride = kernel_size  # torch: None or an empty sequence means kernel_size
    sh, sw = _ints(stride, "stride")
    dh, dw = _ints(dilation, "dilation")
    pads = padding_2d(padding)
    if isinstance(pads, str):  # torch's pooling takes no string padding, not even 'valid'
        raise ShapeError(f"pooling supports no padding={pads!r}; give an int or a pair")
    (pt, pb), (pl, pr) = ((int(lo), int(hi)) for lo, hi in pads)
    height, width = input_shape[-2:]
    oh = int(pool_output_size(height, kh, sh, (pt, pb), dh, ceil_mode))
    ow = int(pool_output_size(width, kw, sw, (pl, pr), dw, ceil_mode))

    def axis(n_out: int, k: int, s: int, d: int, lo: int, hi: int, n: int):
        out = []
        for i in range(n_out):
            start = i * s - lo
            idx = [start + a * d for a in range(k) if 0 <= start + a * d < n]
            padded_extent = min(start + (k - 1) * d + 1, n + hi) - start
            out.append((idx, padded_extent))
        return out

    rows = axis(oh, kh, sh, dh, pt, pb, height)
    cols = axis(ow, kw, sw, dw, pl, pr, width)
    windows = [(r, c, ra * ca) for r, ra in rows for c, ca in cols]
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
) -> sp.Array:
    r"""Every output element of ``torch.nn.functional.max_pool2d`` as a SymPy expression.

    $$
    Y_{c,i,j} = \max_{a,e}\; X_{c,\, i s_h - p_t + a d_h,\, j s_w - p_l + e d_w}
    $$

    over the window positions inside the input (padding is never the maximum).

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
        lambda shape: pool2d_windows(shape, kernel_size, stride, padding, dilation, ceil_mode),
        reduce,
    )


def avg_pool2d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> sp.Array:
    r"""Every output element of ``torch.nn.functional.avg_pool2d``, with torch's divisor.

    $$
    Y_{c,i,j} = \frac{1}{D_{i,j}} \sum_{(r,q)} X_{c,r,q}
    $$

    $D_{i,j}$ is ``divisor_override`` if given; else, with ``count_include_pad``, the window's
    area clipped to the padded input (the part of a ``ceil_mode`` window past the padding
    never counts); else the number of input entries in the window.

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
        lambda shape: pool2d_windows(shape, kernel_size, stride, padding, 1, ceil_mode),
        reduce,
    )
