r"""derive's own answer for an explorer layer, in Python: shape, message and every element.

The page's engine is generated from derive's rules; this module asks derive itself, through
its public element functions (:func:`derive.conv2d`, :func:`derive.max_pool2d`,
:func:`derive.avg_pool2d`, :func:`derive.transpose.conv_transpose2d`), what the layer outputs
on given input and weight entries. A 1-D layer is the 2-D function on a height-1 input
with a height-1 kernel. The tests compare the page with this, configuration by configuration.

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
from derive.pool import avg_pool2d, max_pool2d
from derive.tensors import read_tensor, to_array
from derive.transpose import conv_transpose2d

__all__ = ["Reference", "reference", "input_shape", "weight_shape"]


@dataclass(frozen=True)
class Reference:
    """derive's result: output shape (channels first) and flat elements, or the message."""

    shape: tuple[int, ...] | None
    elements: list[sp.Basic] | None
    message: str | None


def input_shape(layer: Layer) -> tuple[int, ...]:
    """``(C_in, *sizes)``."""
    channels = layer.in_channels if layer.applies("in_channels") else 1
    return (channels, *layer.size)


def weight_shape(layer: Layer) -> tuple[int, ...]:
    """torch's weight shape: ``(C_out, C_in/g, *k)`` (conv), ``(C_in, C_out, *k)`` (transposed),
    ``()`` for pooling."""
    if layer.op == "conv":
        return (layer.out_channels, layer.in_channels // max(layer.groups, 1), *layer.kernel_size)
    if layer.op == "conv_transpose":
        return (1, 1, *layer.kernel_size)
    return ()


def _two_d(values: list[int], shape: tuple[int, ...], spatial: int) -> sp.Array:
    """Entries as an array whose last ``spatial`` axes get a unit height when ``spatial`` is 1."""
    lead, rest = shape[: len(shape) - spatial], shape[len(shape) - spatial :]
    full = (*lead, 1, *rest) if spatial == 1 else shape
    return to_array([sp.Integer(v) for v in values], full)


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


def _run(layer: Layer, x: sp.Array, w: sp.Array | None) -> sp.Array:
    kernel, stride = _axes(layer, "kernel_size", 1), _axes(layer, "stride", 1)
    if layer.op == "conv":
        return conv2d(x, w, None, stride, _padding(layer), _axes(layer, "dilation", 1),
                      layer.groups)  # fmt: skip
    if layer.op == "conv_transpose":
        pad = _axes(layer, "padding", 0)
        return conv_transpose2d(x, w, None, stride, pad, _axes(layer, "output_padding", 0), 1,
                                _axes(layer, "dilation", 1))  # fmt: skip
    if layer.op == "max_pool":
        return max_pool2d(x, kernel, stride, _padding(layer), _axes(layer, "dilation", 1),
                          layer.ceil_mode)  # fmt: skip
    return avg_pool2d(x, kernel, stride, _padding(layer), layer.ceil_mode,
                      layer.count_include_pad)  # fmt: skip


def reference(layer: Layer, x: list[int], w: list[int] | None = None) -> Reference:
    """derive's output for ``layer`` on input entries ``x`` (flat, ``input_shape`` order) and
    weight entries ``w`` (flat, ``weight_shape`` order; ``None`` for pooling)."""
    if any(n < 1 for n in layer.size):
        raise ShapeError(f"no input tensor has size={layer.size}; ask derive.explorer.rules")
    xs = _two_d(x, input_shape(layer), layer.dims)
    ws = None if w is None else _two_d(w, weight_shape(layer), layer.dims)
    try:
        out = _run(layer, xs, ws)
    except ShapeError as exc:
        return Reference(None, None, str(exc))
    flat, shape = read_tensor(out, "output")
    if layer.dims == 1:
        shape = (shape[0], shape[2])
    return Reference(tuple(shape), list(flat), None)
