r"""The explorer's acceptance rule and sizes, assembled from derive's own rules.

A layer of the explorer is accepted when no guard of its *plan* holds. The plan lists, in the
order derive checks them:

1. for a convolution or a transposed convolution, the channel guards of
   :func:`derive.channels.channel_guards` (``groups`` positive, ``in_channels`` and
   ``out_channels`` divisible by ``groups``, the weight's channels), on the input and weight
   shapes the explorer builds (:func:`channel_guards`);
2. for a 2-D convolution with ``padding='same'``, derive's strided-``'same'`` guard on the
   pair of strides (:func:`derive.shapes.same_stride_guard`);
3. for each axis, height then width, the guards of the operation's :class:`derive.shapes.Rule`
   along that axis (``conv_rule``, ``pool_rule``, ``conv_transpose_rule``).

A padding that the operation refuses outright (pooling's ``'same'``) is a *fixed* message,
taken from the rule function itself.

Every axis rule is built once with symbols (:data:`AXIS_SYMBOLS`, integers of any sign so
that no guard is decided away) for each padding form and ``ceil_mode``: these are the
*variants* the page's engine module is generated from (:mod:`derive.explorer.jsgen`), and
:func:`evaluate` substitutes a layer's values into the same variants in Python.

>>> from derive.explorer.layer import Layer
>>> evaluate(Layer("conv", size=(8, 8), kernel_size=(3, 3), stride=(2, 2), padding=(1, 1)))
Verdict(shape=(1, 4, 4), message=None)
>>> evaluate(Layer("max_pool", size=(5,), kernel_size=(2,), stride=(2,), padding=(2,))).message
'padding should be at most half of kernel_size, got padding=2 with kernel_size=2'
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sympy as sp

from derive import channels
from derive.errors import ShapeError
from derive.explorer.layer import EXPLORER_OPS, Layer
from derive.explorer.taps import AXIS_SYMBOLS, CHANNEL_SYMBOLS
from derive.guards import Guard, decided
from derive.ops import Convolution, Pooling, TransposedConvolution
from derive.shapes import Rule, same_padding, same_stride_guard

__all__ = [
    "AXIS_SYMBOLS",
    "CHANNEL_SYMBOLS",
    "Variant",
    "variants",
    "channel_guards",
    "explorer_shapes",
    "same_2d_guard",
    "SAME_PADDING",
    "fixed_message",
    "plan",
    "Step",
    "evaluate",
    "Verdict",
]

_A, _C = AXIS_SYMBOLS, CHANNEL_SYMBOLS


@dataclass(frozen=True)
class Variant:
    """One operation's rule along one axis, for one padding form (``int``, ``pair``, ``same``,
    ``valid``) and ``ceil_mode``, built with :data:`AXIS_SYMBOLS`."""

    key: str
    op: str
    padding: str
    ceil_mode: bool
    rule: Rule


def _rule(op: str, padding: str, ceil_mode: bool) -> Rule:
    n, k, s, d, p, lo, hi, q = (_A[x] for x in ("n", "k", "s", "d", "p", "lo", "hi", "q"))
    pad: object = {"int": p, "pair": (lo, hi)}.get(padding, padding)
    operation = EXPLORER_OPS[op]
    if isinstance(operation, Pooling):
        return operation.rule(n, k, s, pad, d, ceil_mode)
    if isinstance(operation, TransposedConvolution):
        return operation.rule(n, k, s, pad, q, d)
    return operation.rule(n, k, s, pad, d)


def _forms(op: str) -> tuple[str, ...]:
    operation = EXPLORER_OPS[op]
    if isinstance(operation, Convolution) and not isinstance(operation, TransposedConvolution):
        return ("int", "pair", "same", "valid")
    if isinstance(operation, TransposedConvolution):
        return ("int",)  # derive's 2-D transposed elements take one padding per axis
    return ("int", "pair")


def _ceil_modes(op: str) -> tuple[bool, ...]:
    return (False, True) if isinstance(EXPLORER_OPS[op], Pooling) else (False,)


def variant_key(op: str, padding: str, ceil_mode: bool) -> str:
    """``conv/int``, ``max_pool/pair/ceil``: the name of a variant."""
    return f"{op}/{padding}" + ("/ceil" if ceil_mode else "")


@functools.cache
def variants() -> dict[str, Variant]:
    """Every axis rule the explorer may need, by :func:`variant_key`."""
    out = {}
    for op in EXPLORER_OPS:
        for padding in _forms(op):
            for ceil in _ceil_modes(op):
                key = variant_key(op, padding, ceil)
                out[key] = Variant(key, op, padding, ceil, _rule(op, padding, ceil))
    return out


def explorer_shapes(op: str, dims: int) -> tuple[tuple[sp.Expr, ...], tuple[sp.Expr, ...]]:
    r"""The input and weight shapes of derive's computation of a layer, in the symbols of
    :data:`CHANNEL_SYMBOLS`.

    The input is $(C_\text{in}, \dots)$, one channel for pooling; the weight is torch's,
    $(C_\text{out}, \lfloor C_\text{in}/g \rfloor, \dots)$ for a convolution,
    $(C_\text{in}, \lfloor C_\text{out}/g \rfloor, \dots)$ for a transposed one and none for
    pooling. A 1-D layer is derive's 2-D layer with a height of 1 (derive's element functions
    are 2-D), so its shapes hold a 1 before the length.

    >>> explorer_shapes("conv", 1)
    ((cin, 1, n0), (cout, floor(cin/g), 1, k0))
    >>> explorer_shapes("max_pool", 2)
    ((1, n0, n1), ())
    """
    cin, cout, g = _C["cin"], _C["cout"], _C["g"]
    unit = (sp.Integer(1),) if dims == 1 else ()
    sizes = unit + tuple(_C[f"n{i}"] for i in range(dims))
    kernels = unit + tuple(_C[f"k{i}"] for i in range(dims))
    operation = EXPLORER_OPS[op]
    if not operation.weighted:
        return (sp.Integer(1), *sizes), ()
    if isinstance(operation, TransposedConvolution):
        return (cin, *sizes), (cin, sp.floor(cout / g), *kernels)
    return (cin, *sizes), (cout, sp.floor(cin / g), *kernels)


def channel_guards(op: str, dims: int) -> tuple[Guard, ...]:
    r"""The channel guards of a ``dims``-D (transposed) convolution, in derive's order.

    :func:`derive.channels.channel_guards` on :func:`explorer_shapes`: torch rejects
    $g < 1$, $C_\text{in} \bmod g \ne 0$ and $C_\text{out} \bmod g \ne 0$.

    >>> [g.argument for g in channel_guards("conv", 2)]
    ['groups', 'in_channels', 'out_channels', 'weight']
    >>> [g.argument for g in channel_guards("conv_transpose", 1)]
    ['groups', 'weight', 'in_channels', 'out_channels']
    """
    transposed = isinstance(EXPLORER_OPS[op], TransposedConvolution)
    guards = channels.channel_guards(*explorer_shapes(op, dims), _C["g"], transposed=transposed)
    # the explorer asks for out_channels, as torch's module does, so it checks what the module
    # checks (for a transposed layer the weight alone does not say it)
    module = channels.module_out_channels_guard(_C["cout"], _C["g"])
    return guards + ((module,) if transposed else ())


def same_2d_guard() -> Guard:
    """``padding='same'`` needs stride 1 on both axes: derive's guard on the pair of strides."""
    return same_stride_guard((_C["s0"], _C["s1"]))


#: torch's 'same' zeros (before, after) in the axis symbols k, d
SAME_PADDING: tuple[sp.Expr, sp.Expr] = same_padding(_A["k"], _A["d"])


@functools.cache
def fixed_message(op: str, padding: str) -> str | None:
    """derive's message for a padding form the operation refuses whatever the values."""
    try:
        _rule(op, padding, False)
    except ShapeError as exc:
        return str(exc)
    return None


@dataclass(frozen=True)
class Step:
    """One part of a plan: ``kind`` is ``fixed``, ``channels``, ``same2d`` or ``axis``."""

    kind: str
    axis: int = 0
    variant: str = ""
    same: bool = False  # the axis's padding is torch's 'same' zeros, given as a pair
    message: str = ""


def padding_form(layer: Layer, axis: int) -> str:
    """``int``, ``pair``, ``same`` or ``valid``: how ``layer`` pads ``axis``."""
    if isinstance(layer.padding, str):
        return layer.padding
    return "pair" if isinstance(layer.padding[axis], tuple) else "int"


def plan_key(op: str, dims: int, padding: str, ceil_mode: bool) -> str:
    """The name of a plan: operation, rank, padding form (``num`` for numbers) and ceil mode."""
    return f"{op}/{dims}d/{padding}" + ("/ceil" if ceil_mode else "")


def plan(op: str, dims: int, padding: str, ceil_mode: bool) -> tuple[Step, ...]:
    """The ordered checks of a layer (``padding``: ``num``, ``same`` or ``valid``).

    >>> [s.kind for s in plan("conv", 2, "same", False)]
    ['channels', 'same2d', 'axis', 'axis']
    """
    if padding != "num" and (message := fixed_message(op, padding)):
        return (Step("fixed", message=message),)
    steps: list[Step] = []
    if EXPLORER_OPS[op].weighted:  # a convolution, plain or transposed: channels first
        steps.append(Step("channels"))
    if padding == "same" and dims == 2:
        steps.append(Step("same2d"))
    ceil = ceil_mode and isinstance(EXPLORER_OPS[op], Pooling)
    # derive's 2-D convolution and pooling hand each axis its padding as a (before, after) pair
    as_pairs = dims == 2 and "pair" in _forms(op)
    for axis in range(dims):
        if padding == "same" and dims == 2:  # derive's conv2d pads 'same' as numbers
            steps.append(Step("axis", axis, variant_key(op, "pair", ceil), same=True))
        elif padding == "num" and as_pairs:
            steps.append(Step("axis", axis, variant_key(op, "pair", ceil)))
        elif padding == "num":
            steps.append(Step("axis", axis, variant_key(op, "*", ceil)))
        else:
            steps.append(Step("axis", axis, variant_key(op, padding, ceil)))
    return tuple(steps)


def plans() -> dict[str, tuple[Step, ...]]:
    """Every plan, by :func:`plan_key`."""
    out = {}
    for op in EXPLORER_OPS:
        forms = ["num"] + [f for f in ("same", "valid") if f in _forms(op) or fixed_message(op, f)]
        for dims in (1, 2):
            for padding in forms:
                for ceil in _ceil_modes(op):
                    out[plan_key(op, dims, padding, ceil)] = plan(op, dims, padding, ceil)
    return out


def axis_values(layer: Layer, axis: int, same: bool = False) -> dict[sp.Symbol, int]:
    """The values of :data:`AXIS_SYMBOLS` for one axis of ``layer`` (the page's ``axisValues``).

    ``same``: the axis is padded with torch's ``'same'`` zeros given as numbers (a 2-D
    ``'same'`` convolution); a 1-D ``'same'`` layer gets them too. ``'valid'`` pads nothing.
    """
    k, d = layer.kernel_size[axis], layer.dilation[axis] if layer.applies("dilation") else 1
    values = {"n": layer.size[axis], "k": k, "s": layer.stride[axis], "d": d,
              "q": layer.output_padding[axis], "p": 0, "lo": 0, "hi": 0}  # fmt: skip
    if same or layer.padding == "same":
        lo, hi = (int(e.xreplace({_A["k"]: k, _A["d"]: d})) for e in SAME_PADDING)
        values.update(lo=lo, hi=hi)
    elif not isinstance(layer.padding, str):
        pad = layer.padding[axis]
        lo, hi = pad if isinstance(pad, tuple) else (pad, pad)
        values.update(lo=lo, hi=hi, p=pad if isinstance(pad, int) else 0)
    return {_A[name]: v for name, v in values.items()}


def channel_values(layer: Layer) -> dict[sp.Symbol, int]:
    """The values of :data:`CHANNEL_SYMBOLS` for ``layer``."""
    values = {"cin": layer.in_channels, "cout": layer.out_channels, "g": layer.groups}
    for i in range(layer.dims):
        values.update({f"n{i}": layer.size[i], f"k{i}": layer.kernel_size[i],
                       f"s{i}": layer.stride[i]})  # fmt: skip
    return {_C[name]: v for name, v in values.items()}


def _first(guards: tuple[Guard, ...], values: dict[sp.Symbol, int]) -> str | None:
    for guard in guards:  # one at a time: a later guard may divide by a stride found zero
        bound = guard.at(values)
        if decided(bound.rejects) is True:
            return bound.message()
    return None


@dataclass(frozen=True)
class Verdict:
    """What derive says of a layer: the output shape (channels first) or the message."""

    shape: tuple[int, ...] | None
    message: str | None


def _axis_variant(layer: Layer, step: Step) -> Variant:
    key = step.variant.replace("*", padding_form(layer, step.axis))
    return variants()[key]


def evaluate(layer: Layer) -> Verdict:
    """Substitute ``layer`` into its plan: the first guard that holds, or the output shape."""
    form = layer.padding if isinstance(layer.padding, str) else "num"
    sizes = []
    for step in plan(layer.op, layer.dims, form, layer.ceil_mode):
        if step.kind == "fixed":
            return Verdict(None, step.message)
        if step.kind == "channels":
            message = _first(channel_guards(layer.op, layer.dims), channel_values(layer))
        elif step.kind == "same2d":
            message = _first((same_2d_guard(),), channel_values(layer))
        else:
            variant = _axis_variant(layer, step)
            values = axis_values(layer, step.axis, step.same)
            message = _first(variant.rule.guards, values)
            if message is None:
                sizes.append(int(variant.rule.size.xreplace(values)))  # type: ignore[union-attr]
        if message is not None:
            return Verdict(None, message)
    channels = layer.out_channels if layer.applies("out_channels") else layer.in_channels
    return Verdict((channels, *sizes), None)
