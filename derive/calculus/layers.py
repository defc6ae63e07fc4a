"""torch layers as rules of the calculus: windows, cost and what each keeps for backward.

One :class:`~derive.calculus.rules.Rule` per family of ``torch.nn`` layers, looked up along
the layer class's MRO (so subclasses that keep torch's ``forward`` are covered). The
formulas are those of :mod:`derive.receptive`, :mod:`derive.layer_cost` and
:mod:`derive.layer_memory`; this module reads the layer's arguments and says which axes
they act on: the last ``n`` axes of an ``n``-d convolution or pooling (the one before them
is the channel axis), the last axis of ``Linear``, the normalised axes of ``LayerNorm``.

**Convention.** Receptive fields are those of inference: batch norm and an instance norm
that tracks running statistics normalise entry by entry; an instance norm without running
statistics (and group norm) reads its whole group of positions.

This module imports torch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy as sp
from torch import nn

from derive.calculus.axes import Axis, Drop, Out, Row, same, whole, windowed
from derive.calculus.rules import Rule
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
from derive.ops import AVG_POOL, CONV, CONV_TRANSPOSE, MAX_POOL
from derive.receptive import (
    adaptive_window,
    conv_transpose_window,
    conv_window,
    pool_window,
)
from derive.shapes import same_padding

__all__ = ["MODULE_RULES", "module_rule", "tuple_of", "pointwise", "keeps", "ACT_OUT",
           "ACT_IN", "spatial_windows"]  # fmt: skip

Shape = tuple[sp.Expr, ...]


def tuple_of(value: Any, n: int) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


def pointwise(row: Row) -> tuple[Out, ...]:
    """Every output tensor entry by entry from the first operand."""
    return tuple(same(len(y)) for y in row.outs)


def spatial_windows(x: Shape, windows: list[Any], mix_channels: bool) -> Out:
    """Windows on the last ``len(windows)`` axes; the channel axis before them read whole
    when ``mix_channels`` (a convolution) and entry by entry otherwise (pooling)."""
    n, rank = len(windows), len(x)
    by_axis: dict[int, Any] = {rank - n + a: w for a, w in enumerate(windows)}
    if mix_channels and rank > n:
        by_axis[rank - n - 1] = whole(x[rank - n - 1])
    return windowed(rank, by_axis)


# -- convolutions and pooling --------------------------------------------------------------


def _conv_flow(row: Row) -> tuple[Out, ...]:
    m = row.module
    if m.padding_mode != "zeros":
        raise row.refuse(f"padding_mode={m.padding_mode!r} reads mirrored or wrapped entries; "
                         "derive has receptive fields for zero padding only")  # fmt: skip
    windows = []
    for k, s, p, d in zip(m.kernel_size, m.stride, tuple_of(m.padding, len(m.kernel_size)),
                          m.dilation):  # fmt: skip
        before = 0 if p == "valid" else same_padding(k, d)[0] if p == "same" else p
        windows.append(conv_window(k, s, before, d))
    return (spatial_windows(row.x, windows, True),)


def _batch(x: Shape, n: int) -> sp.Expr:
    """The batch size of an ``n``-d layer's input (1 when unbatched)."""
    return x[0] if len(x) == n + 2 else sp.Integer(1)


def _conv_cost(row: Row) -> LayerCost:
    m, x, y = row.module, row.x, row.y
    n = len(m.kernel_size)
    return conv_cost(_batch(x, n), m.in_channels, m.out_channels, m.kernel_size, y[-n:],
                     m.groups, m.bias is not None)  # fmt: skip


def _transpose_flow(row: Row) -> tuple[Out, ...]:
    m = row.module
    windows = [conv_transpose_window(k, s, p, d)
               for k, s, p, d in zip(m.kernel_size, m.stride, m.padding, m.dilation)]  # fmt: skip
    return (spatial_windows(row.x, windows, True),)


def _transpose_cost(row: Row) -> LayerCost:
    m, x, y = row.module, row.x, row.y
    n = len(m.kernel_size)
    return conv_transpose_cost(_batch(x, n), m.in_channels, m.out_channels, m.kernel_size,
                               x[-n:], y[-n:], m.groups, m.bias is not None)  # fmt: skip


def _pool_dims(m: Any) -> int:
    name = type(m).__name__
    return int(name[-2]) if name[-2:-1].isdigit() else 2


def pool_flow(row: Row) -> tuple[Out, ...]:
    m = row.module
    n = _pool_dims(m)
    stride = m.stride if m.stride not in (None, ()) else m.kernel_size
    windows = [pool_window(k, s, p, d) for k, s, p, d in zip(
        tuple_of(m.kernel_size, n), tuple_of(stride, n), tuple_of(m.padding, n),
        tuple_of(getattr(m, "dilation", 1), n))]  # fmt: skip
    return (spatial_windows(row.x, windows, False),)


def _pool_cost(reduction: str) -> Callable[[Row], LayerCost]:
    def cost(row: Row) -> LayerCost:
        m = row.module
        return pool_cost(numel(row.y), tuple_of(m.kernel_size, _pool_dims(m)), reduction)

    return cost


def _adaptive_flow(row: Row) -> tuple[Out, ...]:
    n = _pool_dims(row.module)
    windows = [adaptive_window(a, b) for a, b in zip(row.x[-n:], row.y[-n:])]
    return tuple(spatial_windows(row.x, windows, False) for _ in row.outs)


def _adaptive_avg_saves(row: Row) -> tuple[SavedTensor, ...]:
    n = _pool_dims(row.module)
    return saved("nothing" if all(o == 1 for o in row.y[-n:]) else "adaptive_avg_pool")


# -- normalisation, linear, activations, dropout ---------------------------------------------


def _batch_stats(m: Any) -> bool:
    return bool(m.training or not m.track_running_stats)


def _affine(m: Any) -> int:
    return 2 * m.num_features if m.affine else 0


def _norm_cost(params: Callable[[Any], Any]) -> Callable[[Row], LayerCost]:
    return lambda row: norm_cost(numel(row.y), params(row.module))


def _last_axes(row: Row, count: int) -> Out:
    rank = len(row.x)
    return windowed(rank, {t: whole(row.x[t]) for t in range(rank - count, rank)})


def _instance_flow(row: Row) -> tuple[Out, ...]:
    m = row.module
    if m.track_running_stats:
        return pointwise(row)
    return (_last_axes(row, _pool_dims(m)),)


def _instance_saves(row: Row) -> tuple[SavedTensor, ...]:
    m, x = row.module, row.x
    if m.track_running_stats and not m.training:
        raise row.refuse("derive does not know what an instance norm with running statistics "
                         "keeps for backward")  # fmt: skip
    groups = numel(x[: len(x) - _pool_dims(m)])
    return saved("instance_norm", stats=groups, weights=groups if m.affine else 0)


def _layer_norm_params(m: nn.LayerNorm) -> Any:
    if not m.elementwise_affine:
        return 0
    return numel(m.normalized_shape) * (1 + int(m.bias is not None))


def _linear_cost(row: Row) -> LayerCost:
    m = row.module
    return linear_cost(numel(row.x) / m.in_features, m.in_features, m.out_features,
                       m.bias is not None)  # fmt: skip


def _linear_saves(row: Row) -> tuple[SavedTensor, ...]:
    if len(row.x) >= 3 and not row.contiguous(0):
        return saved("linear_strided", copy=numel(row.x))
    return saved("linear")


def _flatten_view(row: Row) -> str | bool:
    return "same" if row.contiguous(0) or row.x == row.y else False


def _softmax_flow(row: Row) -> tuple[Out, ...]:
    dim = row.module.dim
    rank = len(row.x)
    if dim is None:
        dim = 0 if rank in (0, 1, 3) else 1  # torch's legacy choice
    return (windowed(rank, {dim: whole(row.x[dim % rank])}),)


def _dropout_saves(row: Row) -> tuple[SavedTensor, ...]:
    m, x = row.module, row.x
    if not m.training or m.p == 0:
        return ()
    per_channel = isinstance(m, (nn.Dropout1d, nn.Dropout2d, nn.Dropout3d))
    return saved("dropout", mask=numel(x[:2]) if per_channel else numel(x))


def _flatten_flow(row: Row) -> tuple[Out, ...]:
    from derive.calculus.axes import reshaped

    return (reshaped(row.x, row.y),)


def elementwise(row: Row) -> LayerCost:
    return elementwise_cost(numel(row.y))


def _zero(row: Row) -> LayerCost:
    return ZERO


def keeps(op: str, **counts: Callable[[Row], Any]) -> Callable[[Row], tuple[SavedTensor, ...]]:
    """What ``op`` keeps (:func:`derive.layer_memory.saved`), counts computed from the row."""

    def saves(row: Row) -> tuple[SavedTensor, ...]:
        values = {k: f(row) for k, f in counts.items()}
        training = _batch_stats(row.module) if op == "batch_norm" else True
        return saved(op, training=training, **values)

    return saves


def _eval_dropout(row: Row) -> str | bool:
    """Dropout in evaluation mode (or with p = 0) returns its input itself."""
    return "same" if not row.module.training or row.module.p == 0 else False


#: activations that, applied in place, keep a copy of their input (torch clones it)
_COPIED = (nn.Hardtanh, nn.SiLU, nn.Hardswish, nn.Hardsigmoid, nn.Mish)


def _copied(row: Row) -> bool:
    import torch.nn.functional as F

    if row.module is not None:
        return isinstance(row.module, _COPIED)
    return row.node.target in {F.hardtanh, F.relu6, F.silu, F.hardswish, F.hardsigmoid,
                               F.mish, F.hardtanh_}  # fmt: skip


def _input_activation_saves(row: Row) -> tuple[SavedTensor, ...]:
    """Its input; applied in place, torch keeps a copy of it for some activations."""
    if row.node.call is not None and row.node.call.inplace and _copied(row):
        return saved("activation_copy", copy=numel(row.x))
    return saved("input_activation")


ACT_OUT = Rule(pointwise, elementwise, keeps("output_activation"))
ACT_IN = Rule(pointwise, elementwise, _input_activation_saves)
_SOFTMAX = Rule(_softmax_flow, elementwise, keeps("output_activation"))
_POOL_MAX = Rule(pool_flow, _pool_cost("max"), keeps(MAX_POOL.name, outputs=lambda r: numel(r.y)))

#: torch layer class -> rule (looked up along the MRO)
MODULE_RULES: dict[type, Rule] = {
    nn.modules.conv._ConvTransposeNd: Rule(_transpose_flow, _transpose_cost,
                                           keeps(CONV_TRANSPOSE.name)),
    nn.modules.conv._ConvNd: Rule(_conv_flow, _conv_cost, keeps(CONV.name)),
    nn.modules.pooling._MaxPoolNd: _POOL_MAX,
    nn.modules.pooling._AvgPoolNd: Rule(pool_flow, _pool_cost("mean"), keeps(AVG_POOL.name)),
    nn.modules.pooling._AdaptiveAvgPoolNd: Rule(
        _adaptive_flow, lambda r: adaptive_pool_cost(numel(r.x)), _adaptive_avg_saves),
    nn.modules.pooling._AdaptiveMaxPoolNd: Rule(
        _adaptive_flow, lambda r: adaptive_pool_cost(numel(r.x)),
        keeps("adaptive_max_pool", outputs=lambda r: numel(r.y))),
    nn.modules.batchnorm._BatchNorm: Rule(
        pointwise, _norm_cost(_affine), keeps("batch_norm", stats=lambda r: r.x[1])),
    nn.GroupNorm: Rule(
        lambda r: (_last_axes(r, len(r.x) - 1),),
        _norm_cost(lambda m: 2 * m.num_channels if m.affine else 0),
        keeps("group_norm", stats=lambda r: r.x[0] * r.module.num_groups)),
    nn.LayerNorm: Rule(
        lambda r: (_last_axes(r, len(r.module.normalized_shape)),),
        _norm_cost(_layer_norm_params),
        keeps("layer_norm", stats=lambda r: numel(r.x) / numel(r.module.normalized_shape))),
    nn.modules.instancenorm._InstanceNorm: Rule(_instance_flow, _norm_cost(_affine),
                                                _instance_saves),
    nn.Linear: Rule(lambda r: (_last_axes(r, 1),), _linear_cost, _linear_saves),
    nn.ReLU: ACT_OUT, nn.Sigmoid: ACT_OUT, nn.Tanh: ACT_OUT,
    nn.Softmax: _SOFTMAX, nn.LogSoftmax: _SOFTMAX,
    nn.GELU: ACT_IN, nn.SiLU: ACT_IN, nn.LeakyReLU: ACT_IN, nn.Hardtanh: ACT_IN,
    nn.Hardswish: ACT_IN, nn.ELU: ACT_IN, nn.Mish: ACT_IN, nn.Softplus: ACT_IN,
    nn.Hardsigmoid: ACT_IN,
    nn.modules.dropout._DropoutNd: Rule(pointwise, _zero, _dropout_saves, _eval_dropout),
    nn.Identity: Rule(pointwise, _zero, lambda r: (), "same"),
    nn.Flatten: Rule(_flatten_flow, _zero, lambda r: (), _flatten_view),
}  # fmt: skip


def _sequence_axis(row: Row) -> int:
    m = row.module
    attention = m if isinstance(m, nn.MultiheadAttention) else None
    if attention is None:
        layer = m.layers[0] if isinstance(m, nn.TransformerEncoder) else m
        attention = getattr(layer, "self_attn", None)
    first = bool(getattr(attention, "batch_first", False))
    return 1 if first and len(row.x) == 3 else 0


def _attention_flow(row: Row) -> tuple[Out, ...]:
    """Every position of the sequence and every feature reads every other (attention)."""
    if len(row.ins) > 1 and not isinstance(row.module, nn.MultiheadAttention):
        raise row.refuse("masks passed as tensors: derive has no receptive field for them")
    rank, seq = len(row.x), _sequence_axis(row)
    k = len(row.ins) if isinstance(row.module, nn.MultiheadAttention) else 1
    axes = tuple(tuple(Axis(o, t, whole(row.ins[o][t]) if t in (seq, rank - 1) else None)
                       for o in range(k)) for t in range(rank))  # fmt: skip
    return tuple(Out(axes) for _ in row.outs)


def _upsample(part: Callable[..., Any]) -> Callable[[Row], Any]:
    from derive.calculus import resample

    return lambda row: part(row, resample.module_args(row))


def _constant_pad(row: Row) -> tuple[Out, ...]:
    from derive.calculus.resample import pad_flow

    return pad_flow(row, row.module.padding, "constant")


def _einops_flow(row: Row) -> tuple[Out, ...]:
    """einops' ``Rearrange``/``Reduce``: an axis named alone on both sides keeps its
    entries; an axis composed with others, or reduced, is read whole."""
    left, right = _einops_sides(row)
    axes: list[tuple[Axis, ...]] = [() for _ in right]
    drops = []
    alone = {group[0]: u for u, group in enumerate(right) if len(group) == 1}
    for t, group in enumerate(left):
        if len(group) == 1 and group[0] in alone:
            axes[alone[group[0]]] = (Axis(0, t),)
        else:
            drops.append(Drop(0, t, whole(row.x[t])))
    return (Out(tuple(axes), tuple(drops)),)


def _einops_sides(row: Row) -> tuple[list[list[str]], list[list[str]]]:
    from einops.parsing import ParsedExpression

    pattern = row.module.pattern
    if "..." in pattern:
        raise row.refuse("an einops pattern with '...': derive has no receptive field for it")
    left, right = pattern.split("->")
    sides = [ParsedExpression(side.strip()).composition for side in (left, right)]
    return tuple([[str(n) for n in g] if isinstance(g, list) else [str(g)] for g in side]
                 for side in sides)  # type: ignore[return-value]


def _einops_view(row: Row) -> str | bool:
    left, right = _einops_sides(row)
    names = [n for g in left for n in g]
    if [n for g in right for n in g] == names:
        return "same" if row.contiguous(0) else False
    if all(len(g) == 1 for g in left + right) and len(left) == len(right):
        return "strided"
    return False


def _register_libraries() -> None:
    """Rules of layers outside ``torch.nn``'s base classes above (einops when installed)."""
    from derive.calculus import resample

    MODULE_RULES[nn.Upsample] = Rule(_upsample(resample.interpolation_flow),
                                     _upsample(resample.interpolation_cost),
                                     _upsample(resample.interpolation_saves))  # fmt: skip
    MODULE_RULES[nn.modules.padding._ConstantPadNd] = Rule(_constant_pad, _zero, lambda r: ())
    for cls in (nn.TransformerEncoder, nn.TransformerEncoderLayer, nn.MultiheadAttention):
        MODULE_RULES[cls] = Rule(_attention_flow, None, None)
    try:
        from einops.layers.torch import Rearrange, Reduce
    except ImportError:  # pragma: no cover - einops is optional
        return
    MODULE_RULES[Rearrange] = Rule(_einops_flow, _zero, lambda r: (), _einops_view)
    MODULE_RULES[Reduce] = Rule(_einops_flow, lambda r: adaptive_pool_cost(numel(r.x)), None)


_register_libraries()


def module_rule(module: nn.Module) -> Rule | None:
    """The :class:`Rule` of ``module``'s class (along its MRO), or None."""
    for cls in type(module).__mro__:
        rule = MODULE_RULES.get(cls)
        if rule is not None:
            return rule
    return None
