"""Layers applied again to inputs of the same shapes, answered from the first application.

A ResNet applies the same convolution configuration to tensors of the same symbolic shape
many times (every block of a stage after the first). Within one run of a forward
(:class:`derive.networks.execute.Machine`), a torch layer whose class, plain attributes,
parameter shapes and mode match one already applied, called on tensors of the same shapes
and dtypes with the same other arguments, gives the same output shapes, and its conditions
are already recorded (a condition met again is not recorded twice): the memo returns new
tensors of those shapes, replays the export hints, and runs nothing.

Only applications that raised nothing and took no size decision (no case split, nothing
read from the run's assumptions) are remembered; anything else runs as usual.

This module imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp
import torch
from torch import nn

from derive.networks.rules import Constraint
from derive.networks.symbolic import SymSize, SymTensor, new_tensor

__all__ = ["LayerMemo", "structure"]

_PLAIN = (bool, int, float, str, type(None))


def structure(module: nn.Module) -> tuple | None:
    """What a torch layer's forward can depend on besides its inputs: its class, mode and
    plain attributes, its parameters' and buffers' shapes, the same of its submodules;
    ``None`` when an attribute is not plain (then nothing is remembered)."""
    attrs = []
    for k, v in module.__dict__.items():
        if k[0] == "_" or k == "forward":
            continue
        if type(v) in _PLAIN:
            attrs.append((k, v))
        elif type(v) in (tuple, list) and all(type(x) in _PLAIN for x in v):
            attrs.append((k, tuple(v)))
        else:
            return None
    owned = (*module._parameters.items(), *module._buffers.items())
    tensors = tuple((n, None if t is None else (tuple(t.shape), t.dtype, t.requires_grad))
                    for n, t in owned)  # fmt: skip
    children = []
    for name, child in module._modules.items():
        sub = None if child is None else structure(child)
        if child is not None and sub is None:
            return None
        children.append((name, sub))
    return type(module), module.training, tuple(attrs), tensors, tuple(children)


def _argument(value: Any) -> Any:
    """A hashable stand-in for one argument (``None`` key part: not rememberable)."""
    if isinstance(value, SymTensor):
        return ("tensor", value.derive_shape, getattr(value, "derive_dtype", torch.float32))
    if isinstance(value, torch.Tensor):
        raise TypeError("a tensor derive did not make")
    if isinstance(value, SymSize):
        return ("size", value.expr)
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, tuple(_argument(v) for v in value))
    if type(value) in _PLAIN or isinstance(value, sp.Basic):
        return value
    raise TypeError(f"an argument of type {type(value).__name__}")


def _template(value: Any) -> Any:
    if isinstance(value, SymTensor):
        return ("tensor", value.derive_shape, getattr(value, "derive_dtype", None))
    if isinstance(value, (tuple, list)):
        return (type(value), tuple(_template(v) for v in value))
    if value is None:
        return None
    raise TypeError(f"an output of type {type(value).__name__}")


def _rebuilt(template: Any) -> Any:
    if template is None:
        return None
    if template[0] == "tensor":
        t = new_tensor(template[1])
        if template[2] is not None:
            t.derive_dtype = template[2]
        return t
    kind, items = template
    return kind(_rebuilt(v) for v in items)


@dataclass(frozen=True)
class _Entry:
    template: Any
    hints: tuple[Constraint, ...]


class LayerMemo:
    """The remembered applications of one run."""

    def __init__(self) -> None:
        self._entries: dict[tuple, _Entry] = {}
        self._structures: dict[int, tuple | None] = {}

    def key(self, module: nn.Module, args: tuple, kwargs: dict) -> tuple | None:
        """The memo key of applying ``module`` to these arguments (``None``: do not)."""
        if id(module) not in self._structures:  # a module does not change during a run
            self._structures[id(module)] = structure(module)
        shape = self._structures[id(module)]
        if shape is None:
            return None
        try:
            return shape, _argument(args), _argument(sorted(kwargs.items()))
        except TypeError:
            return None

    def replay(self, key: tuple, path: str, hints: list[Constraint]) -> Any:
        """The remembered output (new tensors), its export hints added under ``path``; the
        sentinel :data:`MISS` when there is nothing to replay."""
        entry = self._entries.get(key)
        if entry is None:
            return MISS
        hints += [Constraint(path, h.kind, h.condition, h.reason) for h in entry.hints]
        return _rebuilt(entry.template)

    def store(self, key: tuple, value: Any, hints: list[Constraint]) -> None:
        try:
            self._entries[key] = _Entry(_template(value), tuple(hints))
        except TypeError:
            return


#: what :meth:`LayerMemo.replay` returns when nothing is remembered
MISS = object()
