r"""Output sizes of convolution, pooling and transposed convolution, along one axis.

Every function takes Python ints or SymPy expressions and returns a SymPy expression,
an ``Integer`` when every argument is a number. Argument names and defaults follow
``torch.nn.functional``; where torch rejects a configuration, :class:`derive.ShapeError`
is raised.

With input size $n$, kernel size $k$, stride $s$, dilation $d$ and padding $p_l$ before
and $p_r$ after, the dilated kernel spans $d(k-1)+1$ entries and

$$
n_\text{out} = \left\lfloor \frac{n + p_l + p_r - d(k-1) - 1}{s} \right\rfloor + 1 .
$$
"""

from __future__ import annotations

import sympy as sp

from derive.errors import ShapeError
from derive.params import (
    Dim,
    Padding1d,
    as_dim,
    is_true,
    padding_pair,
    require_nonnegative,
    require_positive,
)

__all__ = [
    "conv_output_size",
    "pool_output_size",
    "conv_transpose_output_size",
    "resolve_conv_padding",
]


def _floor_div(numerator: sp.Expr, stride: sp.Expr) -> sp.Expr:
    """``numerator // stride`` for integer-valued expressions (no floor when stride is 1)."""
    if stride == 1:
        return numerator
    return sp.floor(numerator / stride)


def _common(size: Dim, kernel_size: Dim, stride: Dim, dilation: Dim):
    n = as_dim(size, "size")
    k = as_dim(kernel_size, "kernel_size")
    s = as_dim(stride, "stride")
    d = as_dim(dilation, "dilation")
    require_positive(n, "size")
    require_positive(k, "kernel_size")
    require_positive(s, "stride")
    require_positive(d, "dilation")
    return n, k, s, d


def resolve_conv_padding(
    padding: Padding1d, kernel_size: Dim, stride: Dim = 1, dilation: Dim = 1
) -> tuple[sp.Expr, sp.Expr]:
    r"""The ``(before, after)`` zeros a convolution adds, with torch's rule for ``'same'``.

    ``'same'`` pads $d(k-1)$ zeros in total, $\lfloor d(k-1)/2 \rfloor$ before and the
    rest after, and is only allowed with stride 1; ``'valid'`` pads nothing.

    >>> resolve_conv_padding("same", 4)
    (1, 2)
    >>> resolve_conv_padding("same", 3, stride=2)
    Traceback (most recent call last):
        ...
    derive.errors.ShapeError: padding='same' is not supported for strided convolutions, got stride=2
    """
    p = padding_pair(padding)
    if p == "valid":
        return sp.Integer(0), sp.Integer(0)
    if p == "same":
        s = as_dim(stride, "stride")
        if not (s == 1):
            raise ShapeError(
                f"padding='same' is not supported for strided convolutions, got stride={s}"
            )
        total = as_dim(dilation, "dilation") * (as_dim(kernel_size, "kernel_size") - 1)
        before = sp.floor(total / 2)
        # not expanded: n + before + after - (d(k-1) + 1) then cancels to n - 1 symbolically
        return before, total - before
    return p  # type: ignore[return-value]


def conv_output_size(
    size: Dim,
    kernel_size: Dim,
    stride: Dim = 1,
    padding: Padding1d = 0,
    dilation: Dim = 1,
) -> sp.Expr:
    r"""Output size of a convolution (cross-correlation) along one axis.

    $$
    n_\text{out} = \left\lfloor \frac{n + p_l + p_r - d(k-1) - 1}{s} \right\rfloor + 1
    $$

    ``padding`` is an int (zeros on each side, as in torch), a ``(before, after)`` pair, or
    ``'same'``/``'valid'``. The book's total padding $p$ is ``(ceil(p/2), floor(p/2))``.

    >>> conv_output_size(8, 3, stride=2, padding=1)
    4
    >>> import sympy as sp
    >>> n = sp.Symbol("n", integer=True, positive=True)
    >>> conv_output_size(n, 3)
    n - 2
    >>> conv_output_size(n, 3, stride=2, padding=1)
    floor(n/2 - 1/2) + 1
    """
    n, k, s, d = _common(size, kernel_size, stride, dilation)
    lo, hi = resolve_conv_padding(padding, k, s, d)
    span = d * (k - 1) + 1
    padded = n + lo + hi
    if is_true(sp.Lt(padded, span)):
        raise ShapeError(
            f"kernel_size={k} with dilation={d} spans {span}, more than the padded input "
            f"of size {padded} (size={n}, padding=({lo}, {hi}))"
        )
    return _floor_div(padded - span, s) + 1


def pool_output_size(
    size: Dim,
    kernel_size: Dim,
    stride: Dim | None = None,
    padding: Dim | tuple[Dim, Dim] = 0,
    dilation: Dim = 1,
    ceil_mode: bool = False,
) -> sp.Expr:
    r"""Output size of max or average pooling along one axis (torch's rule, ``ceil_mode`` included).

    ``stride=None`` (or torch's empty ``()``) means ``kernel_size``. With ``ceil_mode=False``
    the result is the convolution formula. With ``ceil_mode=True`` the division rounds up,
    $m = \lceil (n + p_l + p_r - d(k-1) - 1)/s \rceil + 1$, except that the last window must
    start inside the input or the left padding:

    $$
    n_\text{out} = \begin{cases}
        m - 1 & \text{if } (m-1)\,s \ge n + p_l \\
        m & \text{otherwise.}
    \end{cases}
    $$

    torch requires each padding to be at most ``kernel_size // 2`` (the raw kernel size,
    even when dilated).

    >>> pool_output_size(4, 3)
    1
    >>> pool_output_size(5, 2, ceil_mode=True)
    3
    >>> import sympy as sp
    >>> n = sp.Symbol("n", integer=True, positive=True)
    >>> pool_output_size(n, 2, ceil_mode=True)
    floor(n/2 - 1/2) + 1
    """
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        stride = kernel_size
    n, k, s, d = _common(size, kernel_size, stride, dilation)
    if isinstance(padding, str):  # torch's pooling takes no string padding, not even 'valid'
        raise ShapeError(f"pooling supports no padding={padding!r}; give an int or a pair")
    lo, hi = padding_pair(padding)  # type: ignore[misc]
    half = sp.floor(k / 2)
    for side in (lo, hi):
        if is_true(sp.Gt(side, half)):
            raise ShapeError(
                f"padding should be at most half of kernel_size, got padding={side} "
                f"with kernel_size={k}"
            )
    span = d * (k - 1) + 1
    total = n + lo + hi - span
    if not ceil_mode:
        out = _floor_div(total, s) + 1
    else:
        out = _floor_div(total + s - 1, s) + 1
        # The decrement can only happen when the ceiling reaches past n + lo, which needs
        # hi + s - 1 >= span; when that is decidedly false the formula needs no case split.
        if not is_true(sp.Lt(hi + s - 1, span)):
            out = sp.Piecewise((out - 1, sp.Ge((out - 1) * s, n + lo)), (out, True))
    if is_true(sp.Lt(out, 1)):
        raise ShapeError(
            f"output size would be {out}: kernel_size={k} (dilation={d}) does not fit "
            f"size={n} with padding=({lo}, {hi})"
        )
    return out


def conv_transpose_output_size(
    size: Dim,
    kernel_size: Dim,
    stride: Dim = 1,
    padding: Dim | tuple[Dim, Dim] = 0,
    output_padding: Dim = 0,
    dilation: Dim = 1,
) -> sp.Expr:
    r"""Output size of a transposed convolution along one axis.

    $$
    n_\text{out} = (n - 1)\,s - p_l - p_r + d(k - 1) + p_\text{out} + 1
    $$

    torch requires ``output_padding`` to be smaller than the stride or the dilation.

    >>> conv_transpose_output_size(2, 2, stride=2)
    4
    >>> import sympy as sp
    >>> n = sp.Symbol("n", integer=True, positive=True)
    >>> conv_transpose_output_size(n, 4, stride=2, padding=1)
    2*n
    """
    n, k, s, d = _common(size, kernel_size, stride, dilation)
    if isinstance(padding, str):
        raise ShapeError(
            f"transposed convolution supports no padding={padding!r}; give an int or a pair"
        )
    lo, hi = padding_pair(padding)  # type: ignore[misc]
    op = as_dim(output_padding, "output_padding")
    require_nonnegative(op, "output_padding")
    if is_true(sp.Ge(op, s)) and is_true(sp.Ge(op, d)):
        raise ShapeError(
            f"output_padding must be smaller than either stride or dilation, got "
            f"output_padding={op} with stride={s} and dilation={d}"
        )
    out = sp.expand((n - 1) * s - lo - hi + d * (k - 1) + op + 1)
    if is_true(sp.Lt(out, 1)):
        raise ShapeError(
            f"output size would be {out} (size={n}, kernel_size={k}, stride={s}, "
            f"padding=({lo}, {hi}), output_padding={op}, dilation={d})"
        )
    return out
