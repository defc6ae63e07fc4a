r"""TensorFlow's convention (``tf.nn``): ``padding="SAME"`` or ``"VALID"``, or explicit pads.

``"SAME"`` gives $\lceil n/s \rceil$ outputs with the odd zero after; ``"VALID"`` pads nothing
(:mod:`derive.conventions.same`). Convolution also takes explicit pads (TensorFlow's
``padding=[[0, 0], [before, after], ...]``), by the engine's rule; pooling takes the two
strings only, and never ``ceil_mode``. Average pooling never counts the padding.

``tf.nn.conv_transpose`` is the gradient of the convolution with the same padding and takes
the output size (``output_shape``, derive's ``output_size``): the pads are those of the
forward convolution over ``output_size`` entries, which must give back the input size.

>>> conv_rule(7, 3, 2, "SAME", 1).checked().size
4
>>> conv_transpose_rule(4, 3, 2, "SAME", 0, 1, output_size=7).checked().pads
(1, 1)
"""

from __future__ import annotations

import sympy as sp

from derive.conventions.base import Padded, read_axis, span_of, stop_early
from derive.conventions.keras import with_strided_dilation
from derive.conventions.same import explicit_conv_rule, same_rule, valid_rule
from derive.errors import ShapeError
from derive.guards import Guard
from derive.params import Dim, as_dim, padding_pair, pool_stride

__all__ = ["conv_rule", "pool_rule", "conv_transpose_rule", "count_include_pad"]


def _spell(padding: object) -> object:
    from derive.conventions import TF

    return TF.spell(padding)


def _string_rule(padding: str, size, kernel_size, stride, dilation) -> Padded:
    if padding == "SAME":
        return same_rule(size, kernel_size, stride, dilation)
    return valid_rule(size, kernel_size, stride, dilation, "VALID")


def conv_rule(size: Dim, kernel_size: Dim, stride: Dim, padding: object, dilation: Dim) -> Padded:
    """``tf.nn.convolution`` along one axis (a stride above 1 excludes a dilation above 1)."""
    padding = _spell(padding)
    if isinstance(padding, str):
        rule = _string_rule(padding, size, kernel_size, stride, dilation)
    else:
        pair = padding_pair(padding)
        rule = explicit_conv_rule(size, kernel_size, stride, pair, dilation)  # type: ignore[arg-type]
    return with_strided_dilation(rule, stride, dilation)


def pool_rule(
    size: Dim, kernel_size: Dim, stride: object, padding: object, dilation: Dim, ceil_mode: bool
) -> Padded:
    """``tf.nn.pool`` (max or average) along one axis: ``"SAME"`` or ``"VALID"`` only."""
    if ceil_mode:
        raise ShapeError("TensorFlow pooling has no ceil_mode, got ceil_mode=True")
    padding = _spell(padding)
    if not isinstance(padding, str):
        raise ShapeError(
            f"derive's TensorFlow pooling takes padding 'SAME' or 'VALID', got padding={padding!r}"
        )
    stride = pool_stride(stride, kernel_size)
    rule = _string_rule(padding, size, kernel_size, stride, dilation)
    return with_strided_dilation(rule, stride, dilation)


def conv_transpose_rule(
    size: Dim,
    kernel_size: Dim,
    stride: Dim,
    padding: object,
    output_padding: object,
    dilation: Dim,
    output_size: Dim | None = None,
) -> Padded:
    """``tf.nn.conv_transpose``: the forward convolution's pads over ``output_size`` entries."""
    padding = _spell(padding)
    if output_size is None or not isinstance(padding, str):
        raise ShapeError(
            "tf.nn.conv_transpose takes output_shape (derive's output_size=) and padding 'SAME' "
            "or 'VALID'; Keras's Conv*DTranspose infers the size: use convention='keras'"
        )
    if as_dim(output_padding, "output_padding") != 0:
        raise ShapeError(f"tf.nn.conv_transpose has no output_padding, got {output_padding}")
    (n, k, s, d), guards = read_axis(size, kernel_size, stride, dilation)
    early = stop_early(guards)
    if early:
        return early
    target = as_dim(output_size, "output_size")
    forward = with_strided_dilation(_string_rule(padding, target, k, s, d), s, d)
    back = Guard(
        "output_size",
        sp.Ne(forward.size, n),
        "output_size={t} does not fit: a {padding} convolution of {t} entries gives {m}, "
        "not size={n}",
        (("t", target), ("padding", padding), ("m", forward.size), ("n", n)),
    )
    guards += forward.guards + (back,)
    before, after = forward.before, forward.after
    op = sp.expand(target - ((n - 1) * s + span_of(k, d) - before - after))
    return Padded(guards, target, before, after, op)


def count_include_pad(given: bool | None) -> bool:
    """TensorFlow's average pooling never counts the padding."""
    if given:
        raise ShapeError(
            "TensorFlow's average pooling never counts padding zeros; count_include_pad applies "
            "to convention='torch' and 'onnx'"
        )
    return False
