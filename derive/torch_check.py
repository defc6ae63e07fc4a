"""Run the same configuration through PyTorch and compare with derive.

This is the only module of the package core that touches torch, and it imports torch
lazily, inside each function: ``import derive`` never pays for it.

Every function takes the operation as a :class:`derive.ops.Op` or any spelling
:func:`derive.ops.op_named` accepts (``"conv"``, ``"conv2d"``, ``"max_pool2d"``,
``"conv-transpose"``...), dispatches on the registry entry and runs
``torch.nn.functional.<Op.torch_function(rank)>``.

Shapes: :func:`torch_output_size` asks torch for the output size of a 1-D layer (or its
rejection). Elements: :func:`torch_elements` evaluates a 2-D layer in float64 and
:func:`check_elements` compares a numeric derive result with it (transposed convolution
included; :func:`check_conv_transpose2d` is its shorthand).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from derive.errors import ShapeError, first_line
from derive.ops import (
    CONV_TRANSPOSE,
    Convolution,
    Correlation,
    Op,
    Pooling,
    TransposedConvolution,
    op_named,
)
from derive.tensors import read_tensor

__all__ = [
    "TorchRejected",
    "ElementCheck",
    "torch_output_size",
    "torch_elements",
    "check_elements",
    "check_conv_transpose2d",
    "torch_call",
]


@dataclass(frozen=True)
class TorchRejected:
    """torch raised for this configuration; ``message`` is the first line of its error."""

    message: str


@dataclass(frozen=True)
class ElementCheck:
    """Outcome of comparing derive's elements with torch's (float64, absolute tolerance)."""

    ok: bool
    max_abs_diff: float
    shape: tuple[int, ...]
    torch_shape: tuple[int, ...]
    call: str


def _torch():
    import torch  # lazy: only checks pay for torch

    return torch


def _op(op: Op | str) -> Op:
    """The registry entry of ``op``; torch has no function of its own for ``corr2d``."""
    entry = op if isinstance(op, Op) else op_named(op)
    if isinstance(entry, Correlation):
        raise ShapeError(
            f"{entry.name} has no torch function of its own; check it as a one-channel conv2d"
        )
    return entry


def _int_or_pair(value: Any) -> Any:
    return value if isinstance(value, (int, str)) else tuple(value)


def _not_taken(op: Op, given: dict[str, Any]) -> None:
    """A parameter ``op`` does not take must keep its default (torch would ignore it)."""
    defaults = {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False,
                "output_padding": 0}  # fmt: skip
    for name, value in given.items():
        if not op.takes(name, shape=True) and value != defaults[name]:
            raise ShapeError(f"{op.name} has no {name} in torch, got {name}={value!r}")


def _run_1d(op: Op, x: Any, kernel_size: int, params: dict[str, Any]) -> Any:
    """``torch.nn.functional.<op>1d`` on ``x``: a zero weight for weighted operations, an
    asymmetric convolution padding applied with ``F.pad`` first."""
    torch = _torch()
    F = torch.nn.functional
    fn = getattr(F, op.torch_function(1))
    padding = params.get("padding", 0)
    if isinstance(padding, tuple):
        if not isinstance(op, Convolution):
            raise ShapeError(f"torch {op.name} has no asymmetric padding to compare with")
        x, params = F.pad(x, padding), {**params, "padding": 0}
    if not op.weighted:
        return fn(x, kernel_size, **params)
    w = torch.zeros(1, 1, kernel_size, dtype=torch.float64)
    stride = params.get("stride")
    return fn(x, w, **{**params, "stride": 1 if stride is None else stride})


def torch_output_size(
    op: Op | str,
    size: int,
    kernel_size: int,
    stride: int | None = None,
    padding: int | str | tuple[int, int] = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
    output_padding: int = 0,
) -> int | TorchRejected:
    """The output length torch computes for a 1-D layer over ``size`` entries, or its rejection.

    ``op`` is an :class:`derive.ops.Op` or a spelling of one (``"conv"``, ``"max_pool"``,
    ``"avg_pool"``, ``"conv_transpose"``...). An asymmetric ``(before, after)`` padding is
    applied with ``torch.nn.functional.pad`` first (zeros for convolution; pooling and
    transposed convolution have no torch equivalent and raise :class:`derive.ShapeError`).
    """
    entry = _op(op)
    given = dict(stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode,
                 output_padding=output_padding)  # fmt: skip
    _not_taken(entry, given)
    params = {k: v for k, v in given.items() if entry.takes(k, shape=True)}
    torch = _torch()
    x = torch.zeros(1, 1, size, dtype=torch.float64)
    try:
        y = _run_1d(entry, x, kernel_size, params)
    except ShapeError:
        raise
    except (RuntimeError, ValueError) as exc:
        return TorchRejected(first_line(exc))
    return int(y.shape[-1])


def _tensor(value: Any, name: str):
    torch = _torch()
    flat, shape = read_tensor(value, name)
    try:
        numbers = [float(v) for v in flat]
    except TypeError as exc:
        raise ShapeError(f"{name} must be numeric to run through torch") from exc
    return torch.tensor(numbers, dtype=torch.float64).reshape(shape)


def _pad_arg(padding: Any) -> tuple[Any, tuple[int, int, int, int] | None]:
    """torch's padding argument, plus an explicit F.pad for ((top, bottom), (left, right))."""
    if isinstance(padding, (tuple, list)) and any(isinstance(p, (tuple, list)) for p in padding):
        (t, b), (l, r) = (p if isinstance(p, (tuple, list)) else (p, p) for p in padding)
        return 0, (int(l), int(r), int(t), int(b))
    return _int_or_pair(padding), None


def torch_call(op: Op | str, spatial: int = 2, **params: Any) -> str:
    """The line of torch that computes the same thing, for pages and reports.

    >>> torch_call("conv2d", stride=2)
    'torch.nn.functional.conv2d(input, weight, stride=2)'
    """
    entry = _op(op)
    args = ["input, weight" if entry.weighted else "input"]
    args += [f"{k}={v!r}" for k, v in params.items() if v is not None]
    return f"torch.nn.functional.{entry.torch_function(spatial)}({', '.join(args)})"


def _pairs(params: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """``params`` with the given size arguments as torch reads them (lists become tuples)."""
    return {
        k: _int_or_pair(v) if k in names and v is not None else v for k, v in params.items()
    }


def torch_elements(
    op: Op | str, input: Any, weight: Any = None, bias: Any = None, **params: Any
):
    """Evaluate ``torch.nn.functional.<op>`` (2-D) in float64 and return the output tensor.

    ``op`` is a convolution, pooling or transposed convolution (an :class:`derive.ops.Op`
    or a spelling such as ``"conv2d"``); ``params`` are that function's keyword arguments,
    with derive's ((top, bottom), (left, right)) padding applied through ``F.pad`` for
    convolution.
    """
    entry = _op(op)
    F = _torch().nn.functional
    fn = getattr(F, entry.torch_function(2))
    x = _tensor(input, "input")
    if isinstance(entry, Pooling):
        return fn(x, **_pairs(params, ("kernel_size", "stride", "padding", "dilation")))
    w = _tensor(weight, "weight")
    b = None if bias is None else _tensor(bias, "bias")
    if isinstance(entry, TransposedConvolution):
        sizes = ("stride", "padding", "output_padding", "dilation")
        return fn(x, w, b, **_pairs(params, sizes))
    padding, explicit = _pad_arg(params.pop("padding", 0))
    if explicit is not None:
        x = F.pad(x, explicit)
    return fn(x, w, b, padding=padding, **_pairs(params, ("stride", "dilation")))


def check_elements(
    derived: Any,
    op: Op | str,
    input: Any,
    weight: Any = None,
    bias: Any = None,
    atol: float = 1e-9,
    **params: Any,
) -> ElementCheck:
    """Compare a numeric derive result (e.g. from :func:`derive.conv2d`) with torch's."""
    flat, shape = read_tensor(derived, "derived")
    reference = torch_elements(op, input, weight, bias, **dict(params))
    call = torch_call(op, **params)
    tshape = tuple(reference.shape)
    if tshape != shape:
        return ElementCheck(False, float("inf"), shape, tshape, call)
    values = reference.reshape(-1).tolist()
    worst = 0.0
    for ours, theirs in zip(flat, values):
        if not ours.is_number:
            raise ShapeError("check_elements needs numeric results; substitute symbols first")
        v = float(sp.N(ours))
        if v == theirs:  # also handles equal infinities
            continue
        worst = max(worst, abs(v - theirs))
    return ElementCheck(worst <= atol, worst, shape, tshape, call)


def check_conv_transpose2d(
    derived: Any, input: Any, weight: Any, bias: Any = None, atol: float = 1e-9, **params: Any
) -> ElementCheck:
    """:func:`check_elements` of a :func:`derive.conv_transpose2d` result."""
    return check_elements(derived, CONV_TRANSPOSE, input, weight, bias, atol, **params)
