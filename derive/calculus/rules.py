"""Per node of a graph: its windows (receptive field), its cost and what it keeps for backward.

Each torch layer family has one :class:`Family`: ``windows`` (one
:class:`~derive.receptive.Window` per spatial axis, ``None`` for an axis it does not mix, or
:data:`COLLAPSE` when the output has no spatial axes left), ``cost`` (a
:class:`~derive.layer_cost.LayerCost`) and ``saves`` (:func:`derive.layer_memory.saved`).
Families are looked up along the layer class's MRO, so subclasses of torch layers are
covered; a layer with no family is refused by name. The formulas are those of
:mod:`derive.receptive`, :mod:`derive.layer_cost` and :mod:`derive.layer_memory`; this module
only reads the layer's arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy as sp
from torch import nn

from derive.calculus.graph import Node
from derive.errors import ShapeError
from derive.layer_cost import (
    ZERO,
    LayerCost,
    adaptive_pool_cost,
    conv_cost,
    conv_transpose_cost,
    elementwise_cost,
    linear_cost,
    norm_cost,
    numel,
    pool_cost,
)
from derive.layer_memory import SavedTensor, saved
from derive.receptive import (
    Window,
    adaptive_window,
    conv_transpose_window,
    conv_window,
    global_window,
    pool_window,
)
from derive.shapes import same_padding

__all__ = ["COLLAPSE", "Windows", "windows", "cost", "saves", "family_of"]

Shape = tuple[sp.Expr, ...]

#: ``windows`` of a node whose output has no spatial axes (flattening, a global mean)
COLLAPSE = "collapse"

Windows = tuple[Window | None, ...] | str


@dataclass(frozen=True)
class Family:
    """How one family of torch layers maps windows, cost and saved tensors."""

    windows: Callable[[Any, Shape, Shape], Windows]
    cost: Callable[[Any, Shape, Shape], LayerCost]
    saves: Callable[[Any, Shape, Shape], tuple[SavedTensor, ...]] | None


def _spatial(shape: Shape) -> int:
    return max(len(shape) - 2, 0)


def _tuple(value: Any, n: int) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


def _pointwise(m: Any, x: Shape, y: Shape) -> Windows:
    return (None,) * _spatial(x)


def _global_on(axes: set[int], x: Shape) -> Windows:
    """Global windows on the given tensor axes that are spatial (axis 2 onwards)."""
    return tuple(global_window(n) if a + 2 in axes else None for a, n in enumerate(x[2:]))


# -- convolutions and pooling --------------------------------------------------------------


def _conv_windows(m: nn.modules.conv._ConvNd, x: Shape, y: Shape) -> Windows:
    if m.padding_mode != "zeros":
        raise ShapeError(f"padding_mode={m.padding_mode!r} reads mirrored or wrapped entries; "
                         "derive has receptive fields for zero padding only")  # fmt: skip
    out = []
    for k, s, p, d in zip(m.kernel_size, m.stride, _tuple(m.padding, len(m.kernel_size)),
                          m.dilation):  # fmt: skip
        before = 0 if p == "valid" else same_padding(k, d)[0] if p == "same" else p
        out.append(conv_window(k, s, before, d))
    return tuple(out)


def _conv_cost(m: nn.modules.conv._ConvNd, x: Shape, y: Shape) -> LayerCost:
    return conv_cost(x[0], m.in_channels, m.out_channels, m.kernel_size, y[2:], m.groups,
                     m.bias is not None)  # fmt: skip


def _transpose_windows(m: nn.modules.conv._ConvTransposeNd, x: Shape, y: Shape) -> Windows:
    return tuple(conv_transpose_window(k, s, p, d)
                 for k, s, p, d in zip(m.kernel_size, m.stride, m.padding, m.dilation))  # fmt: skip


def _transpose_cost(m: nn.modules.conv._ConvTransposeNd, x: Shape, y: Shape) -> LayerCost:
    return conv_transpose_cost(x[0], m.in_channels, m.out_channels, m.kernel_size, x[2:],
                               y[2:], m.groups, m.bias is not None)  # fmt: skip


def _pool_windows(m: Any, x: Shape, y: Shape) -> Windows:
    n = _spatial(x)
    stride = m.stride if m.stride not in (None, ()) else m.kernel_size
    dilation = getattr(m, "dilation", 1)
    return tuple(pool_window(k, s, p, d) for k, s, p, d in zip(
        _tuple(m.kernel_size, n), _tuple(stride, n), _tuple(m.padding, n), _tuple(dilation, n)
    ))  # fmt: skip


def _pool_cost(reduction: str) -> Callable[[Any, Shape, Shape], LayerCost]:
    return lambda m, x, y: pool_cost(numel(y), _tuple(m.kernel_size, _spatial(x)), reduction)


def _adaptive_windows(m: Any, x: Shape, y: Shape) -> Windows:
    return tuple(adaptive_window(n, o) for n, o in zip(x[2:], y[2:]))


def _adaptive_avg_saves(m: Any, x: Shape, y: Shape) -> tuple[SavedTensor, ...]:
    return saved("nothing" if all(o == 1 for o in y[2:]) else "adaptive_avg_pool")


# -- normalisation, linear, activations, dropout ---------------------------------------------


def _batch_stats(m: Any) -> bool:
    return bool(m.training or not m.track_running_stats)


def _affine(m: Any) -> int:
    return 2 * m.num_features if m.affine else 0


def _norm_cost(params: Callable[[Any], Any]) -> Callable[[Any, Shape, Shape], LayerCost]:
    return lambda m, x, y: norm_cost(numel(y), params(m))


def _layer_norm_axes(m: nn.LayerNorm, x: Shape) -> set[int]:
    return set(range(len(x) - len(m.normalized_shape), len(x)))


def _layer_norm_params(m: nn.LayerNorm) -> Any:
    if not m.elementwise_affine:
        return 0
    return numel(m.normalized_shape) * (1 + int(m.bias is not None))


def _linear_windows(m: nn.Linear, x: Shape, y: Shape) -> Windows:
    return _global_on({len(x) - 1}, x) if len(x) >= 3 else ()


def _linear_cost(m: nn.Linear, x: Shape, y: Shape) -> LayerCost:
    return linear_cost(numel(x) / m.in_features, m.in_features, m.out_features,
                       m.bias is not None)  # fmt: skip


def _softmax_windows(m: Any, x: Shape, y: Shape) -> Windows:
    dim = m.dim if m.dim is not None else 1
    return _global_on({dim % len(x)}, x)


def _dropout_saves(m: Any, x: Shape, y: Shape) -> tuple[SavedTensor, ...]:
    if not m.training or m.p == 0:
        return ()
    per_channel = isinstance(m, (nn.Dropout1d, nn.Dropout2d, nn.Dropout3d))
    return saved("dropout", mask=numel(x[:2]) if per_channel else numel(x))


def _flatten_windows(m: nn.Flatten, x: Shape, y: Shape) -> Windows:
    start, end = m.start_dim % len(x), m.end_dim % len(x)
    if start <= 1 and end == len(x) - 1:
        return COLLAPSE
    if end < 2:
        return _pointwise(m, x, y)
    raise ShapeError(f"flattening dims {start} to {end} merges spatial axes; derive has "
                     "receptive fields per axis only")  # fmt: skip


def _elementwise(m: Any, x: Shape, y: Shape) -> LayerCost:
    return elementwise_cost(numel(y))


def _zero(m: Any, x: Shape, y: Shape) -> LayerCost:
    return ZERO


def _keeps(op: str, **counts: Callable[[Any, Shape, Shape], Any]):
    def saves(m: Any, x: Shape, y: Shape) -> tuple[SavedTensor, ...]:
        values = {k: f(m, x, y) for k, f in counts.items()}
        return saved(op, training=_batch_stats(m) if op == "batch_norm" else True, **values)

    return saves


_CONV = Family(_conv_windows, _conv_cost, _keeps("conv"))
_ACT_OUT = Family(_pointwise, _elementwise, _keeps("output_activation"))
_ACT_IN = Family(_pointwise, _elementwise, _keeps("input_activation"))
_SOFTMAX = Family(_softmax_windows, _elementwise, _keeps("output_activation"))

FAMILIES: dict[type, Family] = {
    nn.modules.conv._ConvTransposeNd: Family(_transpose_windows, _transpose_cost,
                                             _keeps("conv_transpose")),
    nn.modules.conv._ConvNd: _CONV,
    nn.modules.pooling._MaxPoolNd: Family(
        _pool_windows, _pool_cost("max"), _keeps("max_pool", outputs=lambda m, x, y: numel(y))
    ),
    nn.modules.pooling._AvgPoolNd: Family(_pool_windows, _pool_cost("mean"), _keeps("avg_pool")),
    nn.modules.pooling._AdaptiveAvgPoolNd: Family(
        _adaptive_windows, lambda m, x, y: adaptive_pool_cost(numel(x)), _adaptive_avg_saves
    ),
    nn.modules.pooling._AdaptiveMaxPoolNd: Family(
        _adaptive_windows, lambda m, x, y: adaptive_pool_cost(numel(x)),
        _keeps("adaptive_max_pool", outputs=lambda m, x, y: numel(y)),
    ),
    nn.modules.batchnorm._BatchNorm: Family(
        _pointwise, _norm_cost(_affine), _keeps("batch_norm", stats=lambda m, x, y: x[1])
    ),
    nn.GroupNorm: Family(
        lambda m, x, y: _global_on(set(range(2, len(x))), x),
        _norm_cost(lambda m: 2 * m.num_channels if m.affine else 0),
        _keeps("group_norm", stats=lambda m, x, y: x[0] * m.num_groups),
    ),
    nn.LayerNorm: Family(
        lambda m, x, y: _global_on(_layer_norm_axes(m, x), x), _norm_cost(_layer_norm_params),
        _keeps("layer_norm", stats=lambda m, x, y: numel(x) / numel(m.normalized_shape)),
    ),
    nn.modules.instancenorm._InstanceNorm: Family(
        lambda m, x, y: _global_on(set(range(2, len(x))) if _batch_stats(m) else set(), x),
        _norm_cost(_affine), None,
    ),
    nn.Linear: Family(_linear_windows, _linear_cost, _keeps("linear")),
    nn.ReLU: _ACT_OUT, nn.Sigmoid: _ACT_OUT, nn.Tanh: _ACT_OUT,
    nn.Softmax: _SOFTMAX, nn.LogSoftmax: _SOFTMAX,
    nn.GELU: _ACT_IN, nn.SiLU: _ACT_IN, nn.LeakyReLU: _ACT_IN, nn.Hardtanh: _ACT_IN,
    nn.Hardswish: _ACT_IN, nn.ELU: _ACT_IN, nn.Mish: _ACT_IN, nn.Softplus: _ACT_IN,
    nn.Hardsigmoid: _ACT_IN,
    nn.modules.dropout._DropoutNd: Family(_pointwise, _zero, _dropout_saves),
    nn.Identity: Family(_pointwise, _zero, lambda m, x, y: ()),
    nn.Flatten: Family(_flatten_windows, _zero, lambda m, x, y: ()),
}  # fmt: skip


def family_of(module: nn.Module, where: str) -> Family:
    """The :class:`Family` of ``module`` (along its class's MRO), or a refusal naming it."""
    for cls in type(module).__mro__:
        if cls in FAMILIES:
            return FAMILIES[cls]
    raise ShapeError(f"{where} ({type(module).__name__}): no receptive-field, cost and memory "
                     "rule for this layer")  # fmt: skip


# -- nodes ---------------------------------------------------------------------------------


def _function_windows(node: Node, x: Shape, y: Shape) -> Windows:
    f = node.function
    if f == "cat" and node.args["dim"] >= 2 and len(x) >= 3:
        raise ShapeError(f"{node.path}: concatenating along a spatial axis is not supported")
    if f == "mean":
        spatial = set(range(2, len(x)))
        dims = set(node.args["dims"])
        if node.args["keepdim"] or spatial <= dims and dims & {0, 1} == set():
            return COLLAPSE if not node.args["keepdim"] and spatial else _global_on(dims, x)
        raise ShapeError(f"{node.path}: a mean over dims {sorted(dims)} changes the layout")
    if f == "reshape" and tuple(y) != tuple(x):
        if len(y) <= 2 and len(x) >= 3:
            return COLLAPSE
        if len(x) >= 3:
            raise ShapeError(f"{node.path}: reshaping {x} to {y} merges spatial axes")
    return (None,) * _spatial(x)


def windows(node: Node, x: Shape, y: Shape) -> Windows:
    """The node's windows on its (first) input ``x``, giving output ``y``."""
    if node.module is not None:
        return family_of(node.module, node.path).windows(node.module, x, y)
    return _function_windows(node, x, y)


_COSTS: dict[tuple, LayerCost] = {}
_SAVES: dict[tuple, tuple[SavedTensor, ...]] = {}


def _remembered(table: dict, node: Node, shapes: tuple, compute: Callable[[], Any]) -> Any:
    """``compute()``, remembered for a layer of the same type and plain attributes
    (``node.args["key"]``, see :func:`derive.calculus.graph._memo_key`) at the same shapes."""
    key = node.args.get("key")
    if key is None:
        return compute()
    key = (key, shapes)
    if key not in table:
        if len(table) > 8192:
            table.clear()
        table[key] = compute()
    return table[key]


def cost(node: Node, inputs: list[Shape], y: Shape) -> LayerCost:
    """The node's cost (:mod:`derive.layer_cost`'s convention)."""
    if node.module is not None:
        m = node.module
        return _remembered(_COSTS, node, (inputs[0], y),
                           lambda: family_of(m, node.path).cost(m, inputs[0], y))  # fmt: skip
    if node.function in ("add", "sub", "mul", "div"):
        return elementwise_cost(numel(y))
    if node.function == "scalar" and not node.alias:
        return elementwise_cost(numel(y))
    if node.function == "mean":
        return adaptive_pool_cost(numel(inputs[0]))
    return ZERO


def saves(node: Node, x: Shape, needs_grad: list[bool]) -> tuple[SavedTensor, ...]:
    """What the node keeps for backward; ``needs_grad`` says which inputs need a gradient.

    Roles ``"input0"``/``"input1"`` name the operands of a product of two tensors.
    """
    if node.module is not None:
        family = family_of(node.module, node.path)
        if family.saves is None:
            raise ShapeError(f"{node.path} ({node.kind}): derive does not know what this "
                             "layer keeps for backward")  # fmt: skip
        return _remembered(_SAVES, node, (x, node.shape),
                           lambda: family.saves(node.module, x, node.shape))  # fmt: skip
    if node.function == "mul" and len(node.inputs) == 2:
        # d(a b)/da = b, d(a b)/db = a: each operand kept if the other needs a gradient
        return tuple(SavedTensor(f"input{k}") for k in (0, 1) if needs_grad[1 - k])
    if node.function == "div" and len(node.inputs) == 2:
        raise ShapeError(f"{node.path}: derive does not know what a division of two tensors "
                         "keeps for backward")  # fmt: skip
    return ()
