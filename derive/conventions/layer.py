r"""One layer axis under a framework's convention: the size *and* the zeros the framework chose.

These are the checked entry points (:class:`derive.ShapeError` where the framework rejects, or
where derive refuses to choose between a framework's own disagreeing documents); ``convention``
is a name of :data:`derive.conventions.CONVENTIONS` or an entry, ``None`` meaning torch.

>>> import sympy as sp
>>> n = sp.Symbol("n", integer=True, positive=True)
>>> r = conv_padding(n, 3, stride=2, padding="SAME", convention="tf")
>>> r.size
ceiling(n/2)
>>> [r.pads for r in (conv_padding(m, 3, stride=2, padding="SAME", convention="tf")
...                   for m in (7, 8))]
[(1, 1), (0, 1)]
>>> conv_transpose_padding(5, 3, stride=2, padding=1, output_size=10).output_padding
1
"""

from __future__ import annotations

from derive.conventions import Convention, Padded, convention_named
from derive.conventions.base import strided_dilation_guard
from derive.guards import enforce
from derive.params import Dim, int_pair, padding_2d, pair

__all__ = [
    "conv_padding",
    "pool_padding",
    "conv_transpose_padding",
    "axis_paddings",
    "axis_values",
    "conv_pads_2d",
]


def conv_padding(
    size: Dim,
    kernel_size: Dim,
    stride: Dim = 1,
    padding: object = 0,
    dilation: Dim = 1,
    convention: str | Convention | None = None,
) -> Padded:
    r"""A convolution axis: output size and ``(before, after)`` zeros, checked.

    $$
    n_\text{out} = \left\lfloor \frac{n + p_b + p_a - d(k-1) - 1}{s} \right\rfloor + 1
    $$

    with the pads the convention chooses (``'SAME'``: $\lceil n/s \rceil$ outputs).
    """
    rule = convention_named(convention).conv(size, kernel_size, stride, padding, dilation)
    return rule.checked()


def pool_padding(
    size: Dim,
    kernel_size: Dim,
    stride: Dim | None = None,
    padding: object = 0,
    dilation: Dim = 1,
    ceil_mode: bool = False,
    convention: str | Convention | None = None,
) -> Padded:
    """A pooling axis: output size and ``(before, after)`` zeros, checked.

    >>> pool_padding(5, 3, 1, (3, 0), convention="onnx").size
    6
    """
    entry = convention_named(convention)
    return entry.pool(size, kernel_size, stride, padding, dilation, ceil_mode).checked()


def conv_transpose_padding(
    size: Dim,
    kernel_size: Dim,
    stride: Dim = 1,
    padding: object = 0,
    output_padding: Dim | None = 0,
    dilation: Dim = 1,
    output_size: Dim | None = None,
    convention: str | Convention | None = None,
) -> Padded:
    r"""A transposed axis: output size, crops ``(before, after)`` and output padding, checked.

    $$
    n_\text{out} = (n-1)s + d(k-1) + 1 - c_b - c_a + p_\text{out}
    $$

    ``output_size`` asks for a size (torch's ``output_size``, ONNX's and TensorFlow's
    ``output_shape``); ``output_padding=None`` lets Keras infer it.

    >>> r = conv_transpose_padding(3, 4, 2, "same", None, convention="keras")
    >>> r.size, r.pads
    (6, (1, 1))
    """
    entry = convention_named(convention)
    rule = entry.conv_transpose(
        size, kernel_size, stride, padding, output_padding, dilation, output_size
    )
    return rule.checked()


def axis_paddings(padding: object) -> tuple[object, object]:
    """A 2-D ``padding`` split into its two axes: a string for both, else torch's 2-D forms.

    >>> axis_paddings("SAME"), axis_paddings(((0, 1), (2, 3))), axis_paddings(1)
    (('SAME', 'SAME'), ((0, 1), (2, 3)), ((1, 1), (1, 1)))
    """
    if isinstance(padding, str):
        return padding, padding
    rows, cols = padding_2d(padding)  # type: ignore[misc]
    return rows, cols


def axis_values(value: object, name: str) -> tuple[object, object]:
    """An int (both axes), a pair, or ``None`` (both axes ``None``: Keras's inferred padding)."""
    if value is None:
        return None, None
    return pair(value, name)


def conv_pads_2d(
    convention: str | Convention | None,
    in_hw: tuple[int, int],
    kernel: tuple[int, int],
    strides: tuple[int, int],
    dilations: tuple[int, int],
    padding: object,
) -> tuple[tuple[int, int], tuple[int, int]]:
    """``((top, bottom), (left, right))`` the convention pads a 2-D convolution with, checked."""
    entry = convention_named(convention)
    if not entry.strided_dilation:  # Keras checks the layer as a whole, any axis with any
        enforce([strided_dilation_guard(strides, dilations)])
    pads = []
    for n, k, s, d, p in zip(in_hw, kernel, strides, dilations, axis_paddings(padding)):
        rule = entry.conv(n, k, s, p, d).checked()
        pads.append(int_pair(rule.pads, "padding"))
    return pads[0], pads[1]
