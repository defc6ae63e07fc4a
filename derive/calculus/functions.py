"""torch functions and tensor methods as rules of the calculus.

The rows a forward's own code makes between layers: arithmetic (``+ - * /``, in place too,
with broadcasting), activations called as functions, concatenation, views and reshapes
(``view``, ``flatten``, ``permute``, ``transpose``, ``unsqueeze``, ``expand``, slicing and
indexing, ``chunk``), reductions (``mean``, ``sum``), ``F.pad`` and ``F.interpolate``, and the
functional forms of layers (``F.max_pool2d`` is ``nn.MaxPool2d``'s rule). Each is registered
under torch's function object, resolved by name as :mod:`derive.networks.bind` does.

Cost and memory follow :mod:`derive.layer_cost` and :mod:`derive.layer_memory`; a function
with a receptive-field rule but no memory rule (``exp``, ``sqrt``...) is refused when memory
is asked for.

This module imports torch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy as sp
import torch
from torch import nn

from derive.calculus import resample
from derive.calculus.axes import (
    EQUAL,
    JOINED,
    Axis,
    Drop,
    Out,
    Row,
    bound,
    broadcast,
    permuted,
    reduced,
    reshaped,
    same,
    whole,
    windowed,
)
from derive.calculus.layers import ACT_IN, ACT_OUT, MODULE_RULES, elementwise, pointwise
from derive.calculus.rules import Rule
from derive.layer_cost import ZERO, LayerCost, adaptive_pool_cost, numel
from derive.layer_memory import SavedTensor
from derive.networks.bind import resolve
from derive.receptive import affine_window

__all__ = ["FUNCTION_RULES", "function_rule"]

Shape = tuple[sp.Expr, ...]

#: torch function object -> rule
FUNCTION_RULES: dict[Any, Rule] = {}

_OWNERS = ("torch", "Tensor", "F", "nn")


def _register(rule: Rule, *names: str) -> None:
    for name in names:
        owner = name.split(".")[0]
        for full in ([name] if owner in _OWNERS else [f"{o}.{name}" for o in ("torch", "Tensor")]):
            target = resolve(full)
            if target is not None and callable(target):
                FUNCTION_RULES[target] = rule


def function_rule(func: Any) -> Rule | None:
    return FUNCTION_RULES.get(func)


def _tensors(row: Row) -> list[Shape | None]:
    """Each operand's shape (all operands are tensors)."""
    return list(row.ins)


def _zero(row: Row) -> LayerCost:
    return ZERO


def _nothing(row: Row) -> tuple[SavedTensor, ...]:
    return ()


# -- arithmetic ------------------------------------------------------------------------------


def _broadcast_flow(row: Row) -> tuple[Out, ...]:
    return (broadcast(_tensors(row), row.y),)


def _product_saves(row: Row) -> tuple[SavedTensor, ...]:
    """``a * b``: each tensor operand kept when the other needs a gradient."""
    grads = row.grads
    if len(row.ins) < 2:
        return ()
    return tuple(SavedTensor(f"input{k}") for k in (0, 1) if grads[1 - k])


def _division_saves(row: Row) -> tuple[SavedTensor, ...]:
    if len(row.ins) >= 2:
        raise row.refuse("derive does not know what a division of two tensors keeps for "
                         "backward")  # fmt: skip
    return ()


_SUM = Rule(_broadcast_flow, elementwise, _nothing)
_PRODUCT = Rule(_broadcast_flow, elementwise, _product_saves)
_QUOTIENT = Rule(_broadcast_flow, elementwise, _division_saves)
_register(_SUM, "add", "sub", "subtract", "Tensor.__add__", "Tensor.__radd__",
          "Tensor.__sub__", "Tensor.__iadd__", "Tensor.__isub__", "Tensor.add_", "Tensor.sub_")
_register(_PRODUCT, "mul", "multiply", "Tensor.__mul__", "Tensor.__rmul__", "Tensor.__imul__",
          "Tensor.mul_")
_register(_QUOTIENT, "div", "divide", "true_divide", "Tensor.__truediv__",
          "Tensor.__itruediv__", "Tensor.div_")
_register(Rule(_broadcast_flow, elementwise, _division_saves), "Tensor.__rsub__")
_register(Rule(pointwise, _zero, _nothing), "Tensor.__neg__", "neg", "negative")

# -- activations called as functions ----------------------------------------------------------

_register(ACT_OUT, "relu", "relu_", "F.relu", "sigmoid", "sigmoid_", "F.sigmoid", "tanh",
          "tanh_", "F.tanh", "exp", "exp_")
_register(ACT_IN, "F.gelu", "F.silu", "F.leaky_relu", "F.elu", "F.hardswish", "F.hardtanh",
          "F.relu6", "F.mish", "F.softplus", "F.hardsigmoid", "Tensor.leaky_relu_",
          "F.leaky_relu_", "F.elu_", "F.hardtanh_")
_register(Rule(pointwise, elementwise, None), "abs", "sqrt", "rsqrt", "log", "sin", "cos",
          "square", "clamp", "clip", "reciprocal", "sign", "floor", "ceil", "round", "erf")


def _softmax_flow(row: Row) -> tuple[Out, ...]:
    b = bound(row, ("input", "dim"), {"dim": None})
    rank = len(row.x)
    if b["dim"] is None:
        raise row.refuse("softmax without dim: say which axis it normalises")
    return (windowed(rank, {b["dim"]: whole(row.x[b["dim"] % rank])}),)


_register(Rule(_softmax_flow, elementwise, ACT_OUT.saves), "softmax", "log_softmax", "F.softmax",
          "F.log_softmax")


def _dropout_view(row: Row) -> str | bool:
    b = bound(row, ("input", "p", "training", "inplace"),
              {"p": 0.5, "training": True, "inplace": False})  # fmt: skip
    return "same" if not b["training"] or b["p"] == 0 else False


def _dropout_saves(row: Row) -> tuple[SavedTensor, ...]:
    if _dropout_view(row):
        return ()
    from derive.layer_memory import saved

    return saved("dropout", mask=numel(row.x))


_register(Rule(pointwise, _zero, _dropout_saves, _dropout_view), "F.dropout")

# -- functional forms of layers ----------------------------------------------------------------


def _as_layer(cls: type[nn.Module], names: tuple[str, ...]) -> Rule:
    """A functional call (``F.max_pool2d(x, 2)``) as the rule of the layer it equals."""

    def build(row: Row) -> nn.Module:
        values = bound(row, ("input", *names), {})
        values.pop("input")
        training = values.pop("training", True)
        try:
            layer = cls(**values)
        except (TypeError, ValueError) as exc:
            raise row.refuse(str(exc)) from None
        return layer.train(bool(training))

    rule = next(r for c in cls.__mro__ if (r := MODULE_RULES.get(c)) is not None)

    def on_layer(part: Callable[[Row], Any] | None) -> Callable[[Row], Any] | None:
        if part is None:
            return None
        return lambda row: part(row.with_module(row.layer(build)))

    return Rule(on_layer(rule.flow), on_layer(rule.cost), on_layer(rule.saves))


_POOL = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")
_AVG = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad")
for _d in (1, 2, 3):
    FUNCTION_RULES[getattr(torch.nn.functional, f"max_pool{_d}d")] = _as_layer(
        getattr(nn, f"MaxPool{_d}d"), _POOL)
    FUNCTION_RULES[getattr(torch.nn.functional, f"avg_pool{_d}d")] = _as_layer(
        getattr(nn, f"AvgPool{_d}d"), _AVG + (("divisor_override",) if _d > 1 else ()))
    FUNCTION_RULES[getattr(torch.nn.functional, f"adaptive_avg_pool{_d}d")] = _as_layer(
        getattr(nn, f"AdaptiveAvgPool{_d}d"), ("output_size",))
    FUNCTION_RULES[getattr(torch.nn.functional, f"adaptive_max_pool{_d}d")] = _as_layer(
        getattr(nn, f"AdaptiveMaxPool{_d}d"), ("output_size",))

# -- concatenation -----------------------------------------------------------------------------


def _cat_flow(row: Row) -> tuple[Out, ...]:
    b = bound(row, ("tensors", "dim"), {"dim": 0})
    rank = len(row.y)
    d = b["dim"] % rank
    axes = [tuple(Axis(k, t, EQUAL) for k in range(len(row.ins))) for t in range(rank)]
    axes[d] = tuple(Axis(k, d, JOINED) for k in range(len(row.ins)))
    return (Out(tuple(axes)),)

_register(Rule(_cat_flow, _zero, _nothing), "cat", "concat", "concatenate")

# -- views and reshapes ------------------------------------------------------------------------


def _sizes_arg(row: Row, name: str) -> tuple:
    rest = row.args[1:]
    if len(rest) == 1 and isinstance(rest[0], (tuple, list)):
        return tuple(rest[0])
    return tuple(rest) if rest else tuple(row.kwargs.get(name, ()))


def _permute_flow(row: Row) -> tuple[Out, ...]:
    return (permuted(_sizes_arg(row, "dims")),)


def _transpose_flow(row: Row) -> tuple[Out, ...]:
    rank = len(row.x)
    if rank < 2:
        return (same(rank),)
    b = bound(row, ("input", "dim0", "dim1"), {"dim0": 0, "dim1": 1})
    order = list(range(rank))
    d0, d1 = b["dim0"] % rank, b["dim1"] % rank
    order[d0], order[d1] = order[d1], order[d0]
    return (permuted(order),)


def _movedim_flow(row: Row) -> tuple[Out, ...]:
    b = bound(row, ("input", "source", "destination"), {})
    rank = len(row.x)
    src = b["source"] if isinstance(b["source"], (tuple, list)) else [b["source"]]
    dst = b["destination"] if isinstance(b["destination"], (tuple, list)) else [b["destination"]]
    order: list[int | None] = [None] * rank
    for s, d in zip(src, dst):
        order[d % rank] = s % rank
    rest = iter(t for t in range(rank) if t not in {s % rank for s in src})
    return (permuted([o if o is not None else next(rest) for o in order]),)


def _reshape_flow(row: Row) -> tuple[Out, ...]:
    return (reshaped(row.x, row.y),)


def _reshape_view(row: Row) -> str | bool:
    return "same" if row.contiguous(0) or row.x == row.y else False


def _expand_flow(row: Row) -> tuple[Out, ...]:
    return (broadcast([row.x], row.y),)


_register(Rule(_permute_flow, _zero, _nothing, "strided"), "permute")
_register(Rule(_transpose_flow, _zero, _nothing, "strided"), "transpose", "swapaxes",
          "swapdims", "t", "Tensor.T.__get__", "Tensor.mT.__get__")
_register(Rule(_movedim_flow, _zero, _nothing, "strided"), "movedim", "moveaxis")
_register(Rule(_reshape_flow, _zero, _nothing, _reshape_view), "reshape", "flatten",
          "Tensor.reshape_as", "unflatten", "Tensor.view", "Tensor.view_as", "unsqueeze",
          "squeeze")
_register(Rule(_expand_flow, _zero, _nothing, "strided"), "Tensor.expand", "Tensor.expand_as",
          "broadcast_to")
_register(Rule(pointwise, _zero, _nothing, _reshape_view), "Tensor.contiguous")
_register(Rule(pointwise, _zero, _nothing, "same"), "detach", "Tensor.detach_")
_register(Rule(pointwise, _zero, _nothing), "clone")

# -- indexing ----------------------------------------------------------------------------------


def _index_flow(row: Row) -> tuple[Out, ...]:
    key = row.args[1]
    items = list(key) if isinstance(key, tuple) else [key]
    rank = len(row.x)
    if sum(1 for i in items if i is Ellipsis) > 1:
        raise row.refuse("indexing with several ellipses")
    used = sum(1 for i in items if i is not None and i is not Ellipsis)
    if Ellipsis in items:
        e = items.index(Ellipsis)
        items[e : e + 1] = [slice(None)] * (rank - used)
    else:
        items += [slice(None)] * (rank - used)
    axes: list[tuple[Axis, ...]] = []
    drops: list[Drop] = []
    t = 0
    for item in items:
        if item is None:
            axes.append(())
            continue
        n = row.x[t]
        if isinstance(item, slice):
            axes.append((Axis(0, t, _slice_window(row, item, n)),))
        elif isinstance(item, (int, sp.Expr)) and not isinstance(item, bool):
            drops.append(Drop(0, t, affine_window(0, _start(row, item, n))))
        else:
            raise row.refuse("indexing with tensors: derive follows slices and integer indices")
        t += 1
    return (Out(tuple(axes), tuple(drops)),)


def _start(row: Row, value: Any, n: sp.Expr) -> sp.Expr:
    """A start or index as torch reads it (negative: from the end); a start past the end
    leaves nothing to read, so it needs no clamping."""
    v = sp.sympify(value)
    if v.is_nonnegative:
        return v
    if v.is_negative:
        return n + v if (n + v).is_nonnegative or not (n + v).is_number else sp.Integer(0)
    raise row.refuse(f"an index or slice start {v} whose sign derive does not know")


def _slice_window(row: Row, item: slice, n: sp.Expr) -> Any:
    if item.start is None and item.stop is None and item.step in (None, 1):
        return None  # the whole axis
    step = sp.sympify(1 if item.step is None else item.step)
    start = sp.Integer(0) if item.start is None else _start(row, item.start, n)
    return affine_window(step, start)


def _trivial(row: Row) -> str:
    return "same" if row.x == row.y else "strided"


_register(Rule(_index_flow, _zero, _nothing, _trivial), "Tensor.__getitem__")


def _pieces_flow(size_name: str) -> Callable[[Row], tuple[Out, ...]]:
    """``chunk``/``split``: piece ``k`` starts where the pieces before it end."""

    def flow(row: Row) -> tuple[Out, ...]:
        b = bound(row, ("input", size_name, "dim"), {"dim": 0})
        rank = len(row.x)
        d = b["dim"] % rank
        outs, offset = [], sp.Integer(0)
        for y in row.outs:
            outs.append(windowed(rank, {d: affine_window(1, offset)}))
            offset = offset + y[d]
        return tuple(outs)

    return flow


def _unbind_flow(row: Row) -> tuple[Out, ...]:
    b = bound(row, ("input", "dim"), {"dim": 0})
    rank = len(row.x)
    d = b["dim"] % rank
    return tuple(Out(tuple((Axis(0, t),) for t in range(rank) if t != d),
                     (Drop(0, d, affine_window(0, k)),)) for k in range(len(row.outs)))


_register(Rule(_pieces_flow("chunks"), _zero, _nothing, "strided"), "chunk")
_register(Rule(_pieces_flow("split_size_or_sections"), _zero, _nothing, "strided"), "split")
_register(Rule(_unbind_flow, _zero, _nothing, "strided"), "unbind")

# -- reductions ----------------------------------------------------------------------------------


def _reduce_flow(row: Row) -> tuple[Out, ...]:
    b = bound(row, ("input", "dim", "keepdim"), {"dim": None, "keepdim": False})
    rank = len(row.x)
    dims = range(rank) if b["dim"] is None else (
        b["dim"] if isinstance(b["dim"], (tuple, list)) else [b["dim"]])  # fmt: skip
    return (reduced(row.x, list(dims), bool(b["keepdim"])),)


_register(Rule(_reduce_flow, lambda r: adaptive_pool_cost(numel(r.x)), _nothing), "mean", "sum")

# -- padding and interpolation ---------------------------------------------------------------


def _pad_args(row: Row) -> dict[str, Any]:
    return bound(row, ("input", "pad", "mode", "value"), {"mode": "constant", "value": None})


_register(Rule(lambda r: resample.pad_flow(r, _pad_args(r)["pad"], _pad_args(r)["mode"]),
               resample.pad_cost, _nothing), "F.pad")
_register(Rule(lambda r: resample.interpolation_flow(r, resample.functional(r)),
               lambda r: resample.interpolation_cost(r, resample.functional(r)),
               lambda r: resample.interpolation_saves(r, resample.functional(r))),
          "F.interpolate")

# -- tensors made from nothing -----------------------------------------------------------------


def _new_flow(row: Row) -> tuple[Out, ...]:
    return tuple(Out(tuple(() for _ in y)) for y in row.outs)


_register(Rule(_new_flow, _zero, _nothing), "zeros", "ones", "empty", "full", "zeros_like",
          "ones_like", "empty_like", "full_like", "rand", "randn", "arange")
