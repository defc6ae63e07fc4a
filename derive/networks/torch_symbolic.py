"""torch's own symbolic shapes, for comparison: fake tensors with a ``ShapeEnv``.

torch traces a network at a *sample* size with the chosen dims marked dynamic and records
*guards*: conditions under which its symbolic result is valid (outside them torch would
trace again). derive's formulas need no sample and no guards; this module produces torch's
side of the comparison, with torch's size symbols renamed to the caller's symbols.

This module imports torch.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy as sp
import torch
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.fx.experimental.symbolic_shapes import (
    DimDynamic,
    ShapeEnv,
    StatelessSymbolicContext,
)

__all__ = ["TorchSymbolic", "torch_symbolic"]


@dataclass(frozen=True)
class TorchSymbolic:
    """torch's symbolic output shape at one sample size, and the guards it holds under.

    ``probe`` is the output shape of the submodule named by ``torch_symbolic(probe=...)``.
    """

    sample: tuple[int, ...]
    shape: tuple[str, ...]
    guards: tuple[str, ...]
    ranges: tuple[str, ...]
    probe: tuple[str, ...] | None = None
    lower: dict[str, int] = field(default_factory=dict)
    _guards: tuple[Any, ...] = field(default=(), repr=False, compare=False)
    _symbols: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def failing_guards(self, point: dict[str, int]) -> list[str]:
        """The guards that are false at ``point`` (sizes by symbol name): there torch's
        symbolic result does not apply (torch would trace again)."""
        values = {self._symbols[name]: sp.Integer(v) for name, v in point.items()}
        return [text for text, g in zip(self.guards, self._guards) if not bool(g.xreplace(values))]


def torch_symbolic(
    module: torch.nn.Module,
    input_shape: Sequence[object],
    sample: dict[sp.Symbol, int],
    copy_module: bool = True,
    probe: str | None = None,
) -> TorchSymbolic:
    """Run ``module`` on a fake input whose symbolic dims are dynamic, sized by ``sample``.

    ``input_shape`` holds ints and symbols (each symbol one whole dim); ``sample`` gives
    each symbol's value. The module is deep-copied first unless ``copy_module=False``
    (fake-mode forwards must not touch the caller's buffers). Expressions come back as text
    in torch's notation (``//`` for floor division) with torch's symbols renamed.
    """
    net = copy.deepcopy(module) if copy_module else module
    env = ShapeEnv()
    x, names = _fake_input(net, env, input_shape, sample)
    captured: list[Any] = []
    if probe is not None:
        net.get_submodule(probe).register_forward_hook(
            lambda m, args, out: captured.append(tuple(out.shape))
        )
    with FakeTensorMode(shape_env=env, allow_non_fake_inputs=True):
        y = net(x)
    return _result(env, names, tuple(y.shape), captured[-1] if captured else None, x)


def _fake_input(net: torch.nn.Module, env: ShapeEnv, input_shape: Sequence[object],
                sample: dict[sp.Symbol, int]) -> tuple[Any, dict[Any, str]]:  # fmt: skip
    """A fake tensor of the sample's sizes, its symbolic dims dynamic; torch's symbol of each
    dim -> the caller's symbol name."""
    concrete = tuple(
        sample[d] if isinstance(d, sp.Symbol) else int(d)  # type: ignore[call-overload]
        for d in input_shape
    )
    dynamic = [
        DimDynamic.DYNAMIC if isinstance(d, sp.Symbol) else DimDynamic.STATIC for d in input_shape
    ]
    mode = FakeTensorMode(shape_env=env, allow_non_fake_inputs=True)
    context = StatelessSymbolicContext(dynamic_sizes=dynamic)
    device = next(net.parameters(), torch.empty(0)).device  # "meta" nets work too
    x = mode.from_tensor(torch.zeros(concrete, device=device), symbolic_context=context)
    names = {dim.node.expr: d.name for dim, d in zip(x.shape, input_shape)
             if isinstance(d, sp.Symbol)}  # fmt: skip
    return x, names


def _result(env: ShapeEnv, names: dict[Any, str], shape: tuple, probed: tuple | None,
            x: Any) -> TorchSymbolic:  # fmt: skip
    renamed = {s: sp.Symbol(name, integer=True, positive=True) for s, name in names.items()}

    def show(expr: Any) -> str:
        if isinstance(expr, torch.SymInt):
            expr = expr.node.expr
        if isinstance(expr, int):
            return str(expr)
        return str(expr.xreplace(renamed))

    ranges = tuple(
        f"{name}: [{env.var_to_range[s].lower}, {env.var_to_range[s].upper}]"
        for s, name in names.items()
        if s in env.var_to_range
    )
    lower = {
        name: int(env.var_to_range[s].lower) for s, name in names.items() if s in env.var_to_range
    }
    sample = tuple(int(d.node.hint) if isinstance(d, torch.SymInt) else int(d) for d in x.shape)
    return TorchSymbolic(
        sample, tuple(show(d) for d in shape), tuple(show(g.expr) for g in env.guards), ranges,
        None if probed is None else tuple(show(d) for d in probed), lower,
        tuple(g.expr for g in env.guards), {name: s for s, name in names.items()},
    )  # fmt: skip
