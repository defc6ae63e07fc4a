r"""Push symbolic input shapes through a whole ``torch.nn.Module``.

derive runs the module's own ``forward`` (:mod:`derive.networks.execute`) on inputs whose
sizes are SymPy symbols. Nothing is evaluated at a sample size: each output size is a
formula in the input's symbols that holds for every size the network accepts, and every
condition ``forward`` needs is kept as a :class:`~derive.networks.rules.Constraint`.

When ``forward`` branches on a size (``if x.shape[-1] % 2: x = F.pad(x, (0, 1))``), each
branch is run (:mod:`derive.networks.branches`): the result is a :class:`Trace` with one
:class:`Case` per branch, each saying which conditions it assumed; the output shape is a
case split over them and the conditions of each case hold under its assumptions,

$$
\text{accepted} = \bigvee_i \bigl(A_i \wedge C_i\bigr)
  = \bigwedge_i \bigl(\lnot A_i \vee C_i\bigr) \quad (\text{the } A_i \text{ partition the sizes}).
$$

This module imports torch (lazily imported by :mod:`derive.networks`).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy as sp
import torch
from torch import nn

from derive.errors import ShapeError
from derive.networks import handlers  # noqa: F401  (registers every rule)
from derive.networks.branches import Explorer
from derive.networks.execute import Layer, Machine, Outcome
from derive.networks.flow import Ref
from derive.networks.rules import Constraint, Shape, as_shape
from derive.networks.symbolic import new_tensor

__all__ = [
    "Layer",
    "Case",
    "Trace",
    "UnusedInputWarning",
    "trace",
    "output_shape",
    "read_inputs",
]


class UnusedInputWarning(UserWarning):
    """A tensor passed to a ``forward`` was never read: the answer does not depend on it."""


@dataclass(frozen=True)
class Case:
    """One branch of a forward whose control flow depends on sizes: what it assumed, its rows,
    its output (``None`` when torch rejects every size of this case, see ``rejection``)."""

    assumptions: tuple[sp.Basic, ...]
    layers: tuple[Layer, ...]
    output: Any
    constraints: tuple[Constraint, ...]
    rejection: str | None = None
    static: tuple[Constraint, ...] = ()
    unused: tuple[str, ...] = ()
    #: where each returned tensor came from (:class:`derive.networks.flow.Ref`)
    sources: tuple[Any, ...] = field(default=(), compare=False, repr=False)
    #: per constraint, how many of :attr:`assumptions` had been made when it was recorded
    depths: tuple[int, ...] = field(default=(), compare=False, repr=False)

    @property
    def condition(self) -> sp.Basic:
        """The conjunction of the assumptions (``True`` for a forward without branches)."""
        return sp.And(*self.assumptions)


@dataclass(frozen=True)
class Trace:
    """Everything :func:`trace` learnt: per-layer shapes, the output, the conditions, and
    the cases a size-dependent forward splits into (one case without branches)."""

    input_shape: Shape
    layers: tuple[Layer, ...]
    output: Any
    constraints: tuple[Constraint, ...]
    cases: tuple[Case, ...] = ()
    inputs: tuple[Shape, ...] = ()

    @property
    def symbols(self) -> list[sp.Symbol]:
        """The inputs' symbols, in order of appearance."""
        seen: list[sp.Symbol] = []
        for shape in self.inputs or (self.input_shape,):
            for d in shape:
                for s in sorted(d.free_symbols, key=lambda s: s.name):
                    if s not in seen:
                        seen.append(s)
        return seen

    @property
    def unused(self) -> tuple[str, ...]:
        """Tensors passed to a ``forward`` (the network's or a submodule's) that it never read
        nor returned: their sizes cannot matter, and derive says so rather than stay quiet."""
        out: list[str] = []
        for case in self.cases:
            out += [u for u in case.unused if u not in out]
        return tuple(out)

    @property
    def assumptions(self) -> tuple[sp.Basic, ...]:
        """Every condition some case assumed (empty for a forward without size branches)."""
        out: list[sp.Basic] = []
        for case in self.cases:
            out += [a for a in case.assumptions if a not in out]
        return tuple(out)


def read_inputs(input_shape: Sequence[object]) -> tuple[Shape, ...]:
    """One shape, or several (a sequence of shapes, for a forward taking several tensors)."""
    if (
        isinstance(input_shape, Sequence)
        and not isinstance(input_shape, (str, bytes))
        and input_shape
        and all(isinstance(s, (tuple, list)) for s in input_shape)
    ):
        return tuple(as_shape(s) for s in input_shape)
    return (as_shape(input_shape),)


def trace(
    module: nn.Module, input_shape: Sequence[object], dtype: torch.dtype | None = None
) -> Trace:
    r"""Every layer's output shape for an input of ``input_shape`` (ints and/or SymPy symbols).

    ``input_shape`` may also be a list of shapes, one per tensor ``forward`` takes; ``dtype``
    is the inputs' dtype (float32 by default; an ``Embedding`` wants ``torch.long``).

    >>> from torch import nn
    >>> from derive.grammar import size_symbol
    >>> H = size_symbol("H")
    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU(), nn.MaxPool2d(2))
    >>> for layer in trace(net, (1, 1, H, 8)).layers:
    ...     print(layer.path, layer.kind, layer.shape)
    0 Conv2d (1, 4, floor(H/2 - 1/2) + 1, 4)
    1 ReLU (1, 4, floor(H/2 - 1/2) + 1, 4)
    2 MaxPool2d (1, 4, floor(H/4 - 3/4) + 1, 2)
    """
    if not isinstance(module, nn.Module):
        raise ShapeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    shapes = read_inputs(input_shape)
    outcomes: list[Outcome] = []
    with Machine(module) as machine:
        for path in Explorer():
            inputs = [_input(s, dtype, j) for j, s in enumerate(shapes)]
            outcomes.append(machine.run(inputs, path))
    result = _merge(shapes, outcomes)
    for note in result.unused:
        warnings.warn(note, UnusedInputWarning, stacklevel=2)
    return result


def _input(shape: Shape, dtype: torch.dtype | None, j: int = 0) -> Any:
    t = new_tensor(shape)
    t.derive_source = Ref(-1 - j)
    if dtype is not None:
        t.derive_dtype = dtype
    return t


def _merge(shapes: tuple[Shape, ...], outcomes: list[Outcome]) -> Trace:
    cases = tuple(
        Case(o.path.assumptions, tuple(o.layers), o.output, tuple(o.constraints), o.rejection,
             tuple(o.static), tuple(o.unused), tuple(o.sources),
             tuple(getattr(o.constraints, "depths", ())))
        for o in outcomes
    )
    accepted = [c for c in cases if c.rejection is None]
    if not accepted:
        first = cases[0].rejection or ""
        more = f" (and in each of the other {len(cases) - 1} cases)" if len(cases) > 1 else ""
        raise ShapeError(first + more)
    if len(cases) == 1:
        (case,) = cases
        return Trace(shapes[0], case.layers, case.output, case.constraints, cases, shapes)
    layers = tuple(
        dataclasses.replace(layer, case=i) for i, case in enumerate(cases) for layer in case.layers
    )
    return Trace(shapes[0], layers, _merged_output(cases), _merged_constraints(cases), cases,
                 shapes)  # fmt: skip


def _merged_constraints(cases: Sequence[Case]) -> tuple[Constraint, ...]:
    """Each case's conditions, guarded by the sides its run had taken when it met them.

    A condition met after the first ``d`` splits holds for every size that takes those ``d``
    sides (the run up to there is the same for all of them), so it is guarded by them alone:
    a size torch rejects there is rejected even where a later split is undefined at it (a
    division by a size formula that is 0 there)."""
    out: list[Constraint] = []
    seen: set[tuple[sp.Basic, str]] = set()
    for case in cases:
        if case.rejection is not None:
            out.append(Constraint("", "case", sp.Not(case.condition),
                                  f"rejected: {case.rejection}"))  # fmt: skip
            continue
        depths = case.depths or (len(case.assumptions),) * len(case.constraints)
        for c, depth in zip(case.constraints, depths):
            prefix = case.assumptions[:depth]
            if _holds_under(prefix, c.condition):
                continue
            guarded = sp.Or(sp.Not(sp.And(*prefix)), c.condition) if prefix else c.condition
            if (guarded, c.reason) not in seen:
                seen.add((guarded, c.reason))
                out.append(Constraint(c.path, c.kind, guarded, c.reason))
    return tuple(out)


def _holds_under(assumptions: Sequence[sp.Basic], condition: sp.Basic) -> bool:
    """Whether ``condition`` is, or has as an alternative, one of the ``assumptions``."""
    parts = condition.args if isinstance(condition, sp.Or) else (condition,)
    return any(_same(p, a) for p in parts for a in assumptions)


def _same(p: sp.Basic, q: sp.Basic) -> bool:
    if p == q:
        return True
    return (type(p) is type(q) and isinstance(p, (sp.Eq, sp.Ne))
            and p.lhs == q.rhs and p.rhs == q.lhs)  # fmt: skip


def _merged_output(cases: Sequence[Case]) -> Any:
    accepted = [c for c in cases if c.rejection is None]
    first = accepted[0].output
    if all(c.output == first for c in accepted):
        return first
    exhaustive = len(accepted) == len(cases)
    return _piecewise([c.output for c in accepted], [c.condition for c in accepted], exhaustive)


def _piecewise(values: list[Any], conditions: list[sp.Basic], exhaustive: bool) -> Any:
    first = values[0]
    if isinstance(first, tuple):
        if any(not isinstance(v, tuple) or len(v) != len(first) for v in values):
            return None  # the cases differ in structure: see Trace.cases
        parts = [_piecewise([v[i] for v in values], conditions, exhaustive)
                 for i in range(len(first))]  # fmt: skip
        return None if any(p is None for p in parts) else tuple(parts)
    if all(v == first for v in values):
        return first
    pairs = list(zip(values, conditions))
    if exhaustive:
        pairs[-1] = (pairs[-1][0], sp.true)
    return sp.Piecewise(*pairs)


def output_shape(module: nn.Module, input_shape: Sequence[object],
                 dtype: torch.dtype | None = None) -> Any:  # fmt: skip
    r"""The shape ``module`` outputs for an input of ``input_shape``, exact for every size.

    ``input_shape`` holds ints and/or SymPy symbols (e.g. :func:`derive.grammar.size_symbol`).
    The result is a tuple of SymPy expressions (a tuple of such tuples when ``forward``
    returns several tensors). With concrete sizes, :class:`derive.ShapeError` is raised
    exactly when torch's forward would fail, naming the layer.

    >>> from torch import nn
    >>> from derive.grammar import size_symbol
    >>> H, W = size_symbol("H"), size_symbol("W")
    >>> lenet_features = nn.Sequential(
    ...     nn.Conv2d(1, 6, 5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2, 2),
    ...     nn.Conv2d(6, 16, 5), nn.Sigmoid(), nn.AvgPool2d(2, 2), nn.Flatten())
    >>> output_shape(lenet_features, (1, 1, H, W))
    (1, 16*(floor(H/4) - 2)*(floor(W/4) - 2))
    >>> output_shape(nn.Sequential(lenet_features, nn.Linear(400, 120)), (1, 1, 20, 28))
    Traceback (most recent call last):
        ...
    derive.errors.ShapeError: 1 (Linear): in_features=400 does not match the last dim 240 ...
    """
    t = trace(module, input_shape, dtype)
    if t.output is None:
        raise ShapeError(
            "the output's rank differs between the cases of this forward: see "
            "derive.networks.trace(...).cases"
        )
    return t.output
