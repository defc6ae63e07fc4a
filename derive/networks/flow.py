r"""The data flow of a traced forward: which tensors each row of a trace read.

While derive runs a forward (:mod:`derive.networks.execute`), every tensor it makes carries
where it came from: a :class:`Ref` to the row whose output it is (or to the forward's own
input). When a row is recorded, its :class:`Call` says what it applied (the module, or the
torch function), with which arguments, and every tensor among them replaced by its
:class:`Ref`, or by a :class:`Const` for a tensor derive did not make (a parameter, a
buffer, a constant). Composing per-row formulas over a network (receptive fields, cost,
memory: :mod:`derive.calculus`) reads this graph; nothing is traced a second time.

A row that changes a tensor in place (``y += x``, ``x.relu_()``, ``nn.ReLU(inplace=True)``)
becomes the origin of that tensor object too: later reads of ``y`` read the row's result,
as in torch.

This module imports torch.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, field
from typing import Any

import torch

from derive.networks.symbolic import SymTensor, unwrap

__all__ = ["Ref", "Const", "Written", "Call", "source", "mark", "call_of", "in_place"]


@dataclass(frozen=True)
class Ref:
    """Output ``k`` of row ``row`` of the same case; ``row = -1 - j`` is the forward's
    ``j``-th input."""

    row: int
    k: int = 0


@dataclass(frozen=True, eq=False)
class Const:
    """A tensor a row read that derive did not make: its shape, whether it is a parameter,
    whether it needs a gradient (the tensor itself in ``tensor``)."""

    shape: tuple
    parameter: bool
    requires_grad: bool
    tensor: Any = field(default=None, repr=False)


@dataclass(frozen=True)
class Written:
    """A tensor the forward wrote into without a row of its own (``x[i] = v`` in place):
    derive does not know what it holds, and composing over it is refused."""

    what: str


Operand = Ref | Const | Written


@dataclass(frozen=True, eq=False)
class Call:
    """What one row computed.

    ``target``: the module applied, or the torch function called. ``args`` and ``kwargs``:
    its arguments as derive's rules read them (sizes as SymPy expressions), every tensor
    replaced by its :class:`Ref` or :class:`Const`. ``operands``: those, in order of
    appearance. ``inplace``: the row wrote into its first operand (its output is that
    tensor's storage).
    """

    target: Any
    args: tuple
    kwargs: dict
    operands: tuple[Operand, ...]
    inplace: bool = False

    @property
    def module(self) -> Any:
        """The module applied (``None`` for a torch function)."""
        return self.target if isinstance(self.target, torch.nn.Module) else None


def source(t: torch.Tensor) -> Operand:
    """The :class:`Ref` of a derive tensor, a :class:`Const` of any other tensor."""
    if isinstance(t, SymTensor):
        ref = getattr(t, "derive_source", None)
        if ref is not None:
            return ref
        return Const(tuple(t.derive_shape), False, False, None)
    return Const(tuple(t.shape), isinstance(t, torch.nn.Parameter), bool(t.requires_grad), t)


def mark(value: Any, row: int) -> None:
    """Make row ``row`` the origin of the derive tensors in ``value`` (numbered in order)."""
    for k, t in enumerate(tensors_in(value)):
        t.derive_source = Ref(row, k)


def tensors_in(value: Any) -> list[Any]:
    """The tensors in ``value`` (nested tuples, lists and dicts), in order."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in tensors_in(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in tensors_in(v)]
    return []


def _described(value: Any, operands: list[Operand]) -> Any:
    if isinstance(value, torch.Tensor):
        operands.append(source(value))
        return operands[-1]
    if isinstance(value, tuple):
        return tuple(_described(v, operands) for v in value)
    if isinstance(value, list):
        return [_described(v, operands) for v in value]
    if isinstance(value, dict):
        return {k: _described(v, operands) for k, v in value.items()}
    return value


def call_of(target: Any, args: tuple, kwargs: dict, inplace: bool = False) -> Call:
    """The :class:`Call` of ``target`` on ``args``/``kwargs`` (as the forward passed them)."""
    operands: list[Operand] = []
    a = _described(unwrap(tuple(args)), operands)
    kw = _described(unwrap(dict(kwargs)), operands)
    return Call(target, a, kw, tuple(operands), inplace)


_AUGMENTED = frozenset(f"__i{op}__" for op in (
    "add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "and", "or", "xor", "lshift",
    "rshift", "matmul", "div")) | {"__setitem__"}  # fmt: skip


@functools.lru_cache(maxsize=512)
def _inplace_position(func: Any) -> int | None:
    try:
        names = list(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        return None
    return names.index("inplace") if "inplace" in names else None


def in_place(func: Any, args: tuple, kwargs: dict) -> bool:
    """Whether calling torch's ``func`` so writes into its first argument: a trailing
    underscore (``add_``), an augmented assignment (``__iadd__``), an item assignment
    (``x[i] = v``), or ``inplace=True``."""
    name = getattr(func, "__name__", "") or ""
    if name in _AUGMENTED:
        return True
    if name.endswith("_") and not name.endswith("__"):
        return True
    if "inplace" in kwargs:
        return bool(kwargs["inplace"])
    try:
        position = _inplace_position(func)
    except TypeError:  # unhashable
        return False
    return position is not None and len(args) > position and bool(args[position])
