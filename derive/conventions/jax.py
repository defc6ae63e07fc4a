r"""JAX's convention (``jax.lax``): ``"SAME"``, ``"SAME_LOWER"``, ``"VALID"`` or ``(low, high)``.

``lax.conv_general_dilated`` and ``lax.reduce_window`` resolve a string with
``lax.padtype_to_pads`` on the *dilated* window: ``"SAME"`` is TensorFlow's (the odd zero
after), ``"SAME_LOWER"`` puts it before, ``"VALID"`` pads nothing. Explicit pairs are used as
given (derive refuses negative, cropping, pairs). A pooling window may lie wholly in the
padding (``reduce_window`` then returns its initial value); there is no ``ceil_mode``.
Average pooling (``jax.example_libraries.stax.AvgPool``) divides by the input entries only.

``lax.conv_transpose(padding="SAME" | "VALID")`` gives $n s$ and $(n-1)s + \max(\kappa, s)$
outputs ($\kappa = d(k-1)+1$), cropping as Keras does with ``output_padding=None``.

>>> conv_rule(8, 3, 3, "SAME_LOWER", 2).checked().pads
(2, 1)
>>> conv_transpose_rule(3, 1, 2, "SAME", 0, 1).checked().output_padding
1
"""

from __future__ import annotations

from derive import shapes  # looked up at call time: a patched engine is seen
from derive.conventions import keras
from derive.conventions.base import Padded
from derive.conventions.same import explicit_pool_rule, same_rule, valid_rule
from derive.errors import ShapeError
from derive.params import Dim, as_dim, padding_pair, pool_stride

__all__ = ["conv_rule", "pool_rule", "conv_transpose_rule", "count_include_pad"]


def _spell(padding: object) -> object:
    from derive.conventions import JAX

    return JAX.spell(padding)


def _string_rule(padding: str, size, kernel_size, stride, dilation) -> Padded:
    if padding == "VALID":
        return valid_rule(size, kernel_size, stride, dilation, "VALID")
    return same_rule(size, kernel_size, stride, dilation, lower=padding == "SAME_LOWER")


def _pair(padding: object) -> tuple:
    pair = padding_pair(padding)
    if isinstance(pair, str):  # pragma: no cover - strings were spelled already
        raise ShapeError(f"padding={padding!r} is not a pair")
    return pair


def conv_rule(size: Dim, kernel_size: Dim, stride: Dim, padding: object, dilation: Dim) -> Padded:
    """``lax.conv_general_dilated`` along one axis."""
    padding = _spell(padding)
    if isinstance(padding, str):
        return _string_rule(padding, size, kernel_size, stride, dilation)
    lo, hi = _pair(padding)
    rule = shapes.conv_rule(size, kernel_size, stride, (lo, hi), dilation)
    return Padded(rule.guards, rule.size, lo, hi)


def pool_rule(
    size: Dim, kernel_size: Dim, stride: object, padding: object, dilation: Dim, ceil_mode: bool
) -> Padded:
    """``lax.reduce_window`` along one axis (windows may lie in the padding)."""
    if ceil_mode:
        raise ShapeError("lax.reduce_window has no ceil_mode, got ceil_mode=True")
    padding = _spell(padding)
    stride = pool_stride(stride, kernel_size)
    if isinstance(padding, str):
        return _string_rule(padding, size, kernel_size, stride, dilation)
    return explicit_pool_rule(size, kernel_size, stride, _pair(padding), dilation, False, "padding")


def conv_transpose_rule(
    size: Dim,
    kernel_size: Dim,
    stride: Dim,
    padding: object,
    output_padding: object,
    dilation: Dim,
    output_size: Dim | None = None,
) -> Padded:
    """``lax.conv_transpose`` with ``"SAME"`` or ``"VALID"`` (exactly these spellings)."""
    if padding not in ("SAME", "VALID") or output_size is not None:
        raise ShapeError(
            "lax.conv_transpose takes padding 'SAME' or 'VALID' (its pairs pad the dilated "
            f"input, not a crop) and no output size, got padding={padding!r}"
        )
    if as_dim(output_padding, "output_padding") != 0:
        raise ShapeError(f"lax.conv_transpose has no output_padding, got {output_padding}")
    spelled = "same" if padding == "SAME" else "valid"
    return keras.inferred_transpose_rule(size, kernel_size, stride, spelled, None, dilation, True)


def count_include_pad(given: bool | None) -> bool:
    """``stax.AvgPool`` divides by the input entries of the window only."""
    if given:
        raise ShapeError(
            "JAX's average pooling (stax.AvgPool) never counts padding zeros; count_include_pad "
            "applies to convention='torch' and 'onnx'"
        )
    return False
