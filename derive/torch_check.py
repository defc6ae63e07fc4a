"""Run the same configuration through PyTorch and compare with derive.

This is the only module of the package core that touches torch, and it imports torch
lazily, inside each function: ``import derive`` never pays for it.

Shapes: :func:`torch_output_size` asks torch for the output size of a 1-D layer (or its
rejection). Elements: :func:`torch_elements` evaluates a 2-D layer in float64 and
:func:`check_elements` compares a numeric derive result with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from derive.errors import ShapeError
from derive.tensors import read_tensor

__all__ = [
    "TorchRejected",
    "ElementCheck",
    "torch_output_size",
    "torch_elements",
    "check_elements",
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


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _int_or_pair(value: Any) -> Any:
    return value if isinstance(value, (int, str)) else tuple(value)


def torch_output_size(
    op: str,
    size: int,
    kernel_size: int,
    stride: int | None = None,
    padding: int | str | tuple[int, int] = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
    output_padding: int = 0,
) -> int | TorchRejected:
    """The output length torch computes for a 1-D layer over ``size`` entries, or its rejection.

    ``op`` is ``"conv"``, ``"max_pool"``, ``"avg_pool"`` or ``"conv_transpose"``. An asymmetric
    ``(before, after)`` padding is applied with ``torch.nn.functional.pad`` first (zeros for
    convolution; pooling has no torch equivalent and raises :class:`derive.ShapeError`).
    """
    torch = _torch()
    F = torch.nn.functional
    x = torch.zeros(1, 1, size, dtype=torch.float64)
    try:
        if op == "conv":
            w = torch.zeros(1, 1, kernel_size, dtype=torch.float64)
            if isinstance(padding, tuple):
                x = F.pad(x, padding)
                padding = 0
            y = F.conv1d(
                x, w, stride=1 if stride is None else stride, padding=padding, dilation=dilation
            )
        elif op in ("max_pool", "avg_pool"):
            if isinstance(padding, tuple):
                raise ShapeError("torch pooling has no asymmetric padding to compare with")
            if op == "max_pool":
                y = F.max_pool1d(x, kernel_size, stride, padding, dilation, ceil_mode)
            else:
                if dilation != 1:
                    raise ShapeError("avg_pool has no dilation in torch")
                y = F.avg_pool1d(x, kernel_size, stride, padding, ceil_mode)
        elif op == "conv_transpose":
            w = torch.zeros(1, 1, kernel_size, dtype=torch.float64)
            if isinstance(padding, tuple):
                raise ShapeError("torch conv_transpose has no asymmetric padding to compare with")
            y = F.conv_transpose1d(
                x, w, stride=1 if stride is None else stride, padding=padding,
                output_padding=output_padding, dilation=dilation,
            )
        else:
            raise ShapeError(
                f"op must be conv, max_pool, avg_pool or conv_transpose, got op={op!r}"
            )
    except ShapeError:
        raise
    except (RuntimeError, ValueError) as exc:
        return TorchRejected(_first_line(exc))
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


def torch_call(op: str, **params: Any) -> str:
    """The line of torch that computes the same thing, for pages and reports."""
    shown = ", ".join(f"{k}={v!r}" for k, v in params.items() if v is not None)
    args = "input, weight" if op == "conv2d" else "input"
    return f"torch.nn.functional.{op}({args}{', ' if shown else ''}{shown})"


def torch_elements(op: str, input: Any, weight: Any = None, bias: Any = None, **params: Any):
    """Evaluate ``torch.nn.functional.<op>`` in float64 and return the output tensor.

    ``op`` is ``"conv2d"``, ``"max_pool2d"`` or ``"avg_pool2d"``; ``params`` are that
    function's keyword arguments, with derive's ((top, bottom), (left, right)) padding
    applied through ``F.pad`` for conv2d.
    """
    torch = _torch()
    F = torch.nn.functional
    x = _tensor(input, "input")
    if op == "conv2d":
        w = _tensor(weight, "weight")
        b = None if bias is None else _tensor(bias, "bias")
        padding, explicit = _pad_arg(params.pop("padding", 0))
        if explicit is not None:
            x = F.pad(x, explicit)
        for key in ("stride", "dilation"):
            if key in params:
                params[key] = _int_or_pair(params[key])
        return F.conv2d(x, w, b, padding=padding, **params)
    if op in ("max_pool2d", "avg_pool2d"):
        for key in ("kernel_size", "stride", "padding", "dilation"):
            if params.get(key) is not None:
                params[key] = _int_or_pair(params[key])
        fn = F.max_pool2d if op == "max_pool2d" else F.avg_pool2d
        return fn(x, **params)
    raise ShapeError(f"op must be conv2d, max_pool2d or avg_pool2d, got op={op!r}")


def check_elements(
    derived: Any,
    op: str,
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
