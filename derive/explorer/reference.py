r"""derive's own answer for an explorer layer, in Python: shape, message and every element.

The page's engine is generated from derive's rules; this module asks derive itself, through
its public element functions (:func:`derive.conv2d`, :func:`derive.max_pool2d`,
:func:`derive.avg_pool2d`, :func:`derive.transpose.conv_transpose2d`), what the layer outputs
on given input and weight entries. A 1-D layer is the 2-D function on a height-1 input
with a height-1 kernel (:func:`derive.explorer.rules.explorer_shapes`). The tests compare the
page with this, configuration by configuration.

>>> from derive.explorer.layer import Layer
>>> out = reference(Layer("max_pool", size=(4,), kernel_size=(2,), stride=(2,)), [3, 1, 4, 1])
>>> out.shape, out.elements
((1, 2), [3, 4])
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from derive.conv import conv2d
from derive.errors import ShapeError
from derive.explorer.layer import Layer
from derive.explorer.rules import channel_values, explorer_shapes
from derive.ops import Pooling, TransposedConvolution
from derive.pool import avg_pool2d, max_pool2d
from derive.tensors import read_tensor, to_array
from derive.transpose import conv_transpose2d
from derive.windows import Windows2d

__all__ = ["Reference", "reference", "input_shape", "weight_shape", "window_plan"]


@dataclass(frozen=True)
class Reference:
    """derive's result: output shape (channels first) and flat elements, or the message."""

    shape: tuple[int, ...] | None
    elements: list[sp.Basic] | None
    message: str | None


def _shape(layer: Layer, which: int) -> tuple[int, ...]:
    values = channel_values(layer)
    shape = explorer_shapes(layer.op, layer.dims)[which]
    return tuple(int(e.xreplace(values)) for e in shape)  # type: ignore[misc]


def input_shape(layer: Layer) -> tuple[int, ...]:
    """``(C_in, *sizes)`` of derive's computation (``(C_in, 1, n)`` for a 1-D layer)."""
    return _shape(layer, 0)


def weight_shape(layer: Layer) -> tuple[int, ...]:
    """torch's weight shape: ``(C_out, C_in/g, *k)`` (conv), ``(C_in, C_out/g, *k)``
    (transposed), ``()`` for pooling; a 1-D layer's kernel has height 1."""
    if layer.operation.weighted and layer.groups < 1:
        raise ShapeError(f"no weight has groups={layer.groups}")
    return _shape(layer, 1)


def _axes(layer: Layer, name: str, one: object) -> object:
    values = getattr(layer, name)
    return (one, values[0]) if layer.dims == 1 else tuple(values)


def _padding(layer: Layer) -> object:
    if isinstance(layer.padding, str):
        return layer.padding
    return ((0, 0), _pair(layer.padding[0])) if layer.dims == 1 else tuple(
        _pair(p) for p in layer.padding
    )


def _pair(p: object) -> tuple[int, int]:
    return p if isinstance(p, tuple) else (p, p)  # type: ignore[return-value]


def window_plan(layer: Layer) -> Windows2d:
    """derive's 2-D window plan of ``layer`` (:mod:`derive.windows`), from the registry entry's
    plan function with the arguments its element function gets."""
    op, kernel, stride = layer.operation, _axes(layer, "kernel_size", 1), _axes(layer, "stride", 1)
    xs, ws = input_shape(layer), weight_shape(layer)
    if isinstance(op, TransposedConvolution):
        return op.plan(xs, ws, stride, _axes(layer, "padding", 0),
                       _axes(layer, "output_padding", 0), layer.groups,
                       _axes(layer, "dilation", 1)).windows  # fmt: skip
    if isinstance(op, Pooling):
        dilation = _axes(layer, "dilation", 1) if layer.applies("dilation") else 1
        return op.plan(xs, kernel, stride, _padding(layer), dilation, layer.ceil_mode)
    return op.plan(xs, ws, stride, _padding(layer), _axes(layer, "dilation", 1), layer.groups)


def _run(layer: Layer, x: sp.Array, w: sp.Array | None) -> sp.Array:
    op, kernel, stride = layer.operation, _axes(layer, "kernel_size", 1), _axes(layer, "stride", 1)
    if isinstance(op, TransposedConvolution):
        return conv_transpose2d(x, w, None, stride, _axes(layer, "padding", 0),
                                _axes(layer, "output_padding", 0), layer.groups,
                                _axes(layer, "dilation", 1))  # fmt: skip
    if not isinstance(op, Pooling):
        return conv2d(x, w, None, stride, _padding(layer), _axes(layer, "dilation", 1),
                      layer.groups)  # fmt: skip
    if op.reduction == "max":
        return max_pool2d(x, kernel, stride, _padding(layer), _axes(layer, "dilation", 1),
                          layer.ceil_mode)  # fmt: skip
    return avg_pool2d(x, kernel, stride, _padding(layer), layer.ceil_mode,
                      layer.count_include_pad)  # fmt: skip


def reference(layer: Layer, x: list[int], w: list[int] | None = None) -> Reference:
    """derive's output for ``layer`` on input entries ``x`` (flat, ``input_shape`` order) and
    weight entries ``w`` (flat, ``weight_shape`` order; ``None`` for pooling)."""
    if any(n < 1 for n in layer.size) or (layer.operation.weighted and layer.groups < 1):
        raise ShapeError(f"no tensor has the shapes of {layer}; ask derive.explorer.rules")
    xs = to_array([sp.Integer(v) for v in x], input_shape(layer))
    ws = None if w is None else to_array([sp.Integer(v) for v in w], weight_shape(layer))
    try:
        out = _run(layer, xs, ws)
    except ShapeError as exc:
        return Reference(None, None, str(exc))
    flat, shape = read_tensor(out, "output")
    if layer.dims == 1:
        shape = (shape[0], shape[2])
    return Reference(tuple(shape), list(flat), None)
