r"""The explorer preset of an example step: the same layer, one click away on the site.

:func:`step_layer` reads the layer of a step into an explorer
:class:`derive.explorer.layer.Layer`: for an elements step from what the build derived (the
input, the output and the engine's window plan of :mod:`derive.windows`: kernel, stride,
resolved padding, dilation), for a shape step from its sizes and parameters, a parameter not
given at the registry's default (:mod:`derive.ops`). :func:`step_link` is the relative
Markdown link to it from a page under ``docs/``.

A step the explorer cannot show as it is has no preset (None): sizes or parameters in
symbols, an operation the explorer does not have, a parameter it does not take
(``divisor_override``), or channels of a transposed convolution (the explorer's has one).

>>> from derive.explorer.layer import Layer
>>> from derive.ops import MAX_POOL
>>> _fields_at_numbers(MAX_POOL, [sp.Integer(6)], {"kernel_size": [2], "stride": [None]})
{'size': (6,), 'kernel_size': (2,), 'stride': (2,)}
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from derive.explorer.layer import EXPLORER_OPS, Layer, explorer_link
from derive.ops import Convolution, Op, Pooling, TransposedConvolution
from derive.params import int_pair, pool_stride
from derive.render.results import StepResult
from derive.render.sizes import axis_params
from derive.specs import ExampleSpec

__all__ = ["step_layer", "step_link"]


def _flags(params: dict[str, Any]) -> dict[str, bool]:
    """The explorer's flags, as the step sets them (torch's defaults otherwise)."""
    return {
        "ceil_mode": bool(params.get("ceil_mode", False)),
        "count_include_pad": bool(params.get("count_include_pad", True)),
    }


def _elements_fields(result: StepResult) -> dict[str, Any] | None:
    """An elements step's layer, read from its input, output and window plan."""
    geo, params = result.geometry, result.step.params
    assert geo is not None
    if isinstance(geo.op, TransposedConvolution) and (len(geo.input) > 1 or len(geo.output) > 1):
        return None  # the explorer's transposed convolution has one channel in and out
    padding = params.get("padding")
    if not isinstance(padding, str):  # 'same' / 'valid' as written, numbers as resolved
        padding = tuple(lo if lo == hi else (lo, hi) for lo, hi in geo.plan.padding)
    fields: dict[str, Any] = dict(
        size=(len(geo.input[0]), len(geo.input[0][0])),
        kernel_size=geo.plan.kernel,
        stride=geo.plan.stride,
        padding=padding,
        dilation=geo.plan.dilation,
        output_padding=int_pair(params.get("output_padding", 0), "output_padding"),
        **_flags(params),
    )
    if isinstance(geo.op, Convolution):
        fields.update(in_channels=len(geo.input), out_channels=len(geo.output), groups=geo.groups)
    return fields


def _number(value: Any) -> int | tuple[int, int] | None:
    """An int (or a ``(before, after)`` pair of ints) from a spec value; None for symbols."""
    if isinstance(value, tuple):
        pair = tuple(_number(v) for v in value)
        if any(not isinstance(v, int) for v in pair):
            return None
        return pair[0] if pair[0] == pair[1] else pair  # type: ignore[return-value]
    if isinstance(value, int) or (isinstance(value, sp.Basic) and value.is_Integer):
        return int(value)
    return None


def _fields_at_numbers(op: Op, size: list, per: dict[str, list]) -> dict[str, Any] | None:
    """A shape step's sizes and per-axis parameters as the explorer's fields (None: symbols)."""
    fields: dict[str, Any] = {"size": tuple(_number(v) for v in size)}
    for name, values in per.items():
        if name == "padding" and isinstance(values[0], str):
            fields[name] = values[0]
            continue
        default = op.param(name, shape=True).default
        if isinstance(op, Pooling) and name == "stride":
            values = [pool_stride(v, k) for v, k in zip(values, per["kernel_size"])]
        fields[name] = tuple(_number(default if v is None else v) for v in values)
    if any(v is None for value in fields.values() if isinstance(value, tuple) for v in value):
        return None
    return fields


def step_layer(spec: ExampleSpec, result: StepResult) -> Layer | None:
    """The explorer's layer for ``result``'s step, or None if the explorer cannot show it."""
    step = result.step
    op = step.op.runs_as
    if op.name not in EXPLORER_OPS or step.params.get("divisor_override") is not None:
        return None
    if result.geometry is not None:
        fields = _elements_fields(result)
    else:
        per = axis_params(spec, step, step.params)
        fields = _fields_at_numbers(op, list(step.size), per)
        if fields is not None:
            fields.update(_flags(step.params))
    return None if fields is None else Layer(op.name, **fields)


def step_link(spec: ExampleSpec, result: StepResult, page: str) -> str | None:
    """The Markdown link target of the step's preset from ``page`` (a path under ``docs/``)."""
    layer = step_layer(spec, result)
    return None if layer is None else explorer_link(layer, page)
