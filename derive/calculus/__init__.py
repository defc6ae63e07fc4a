r"""The design calculus of a network: receptive fields, cost and memory, as formulas in its sizes.

``derive.receptive_field(net, (1, 3, H, W))`` gives, for every layer, the input interval each
output entry sees, its size and jump; ``derive.cost(net, (N, 3, H, W))`` the parameters and
multiply-accumulates per layer and in total; ``derive.memory(net, (N, 3, H, W))`` the
activations and what training keeps for backward. Every answer is a SymPy formula in the
symbols of the input shape, valid for every size the network accepts.

The per-layer formulas are pure SymPy (:mod:`derive.receptive`, :mod:`derive.layer_cost`,
:mod:`derive.layer_memory`); this package composes them over a network traced by
:func:`derive.networks.trace` (the network's own ``forward``: reused modules applied as often
as it applies them, control flow on sizes as cases), which needs torch (imported only when
one of these functions runs). Modules: :mod:`~derive.calculus.graph` (one case of a trace
as a graph of rows and the tensors they read), :mod:`~derive.calculus.axes` (how a row moves
axes), :mod:`~derive.calculus.rules` with :mod:`~derive.calculus.layers`,
:mod:`~derive.calculus.functions` and :mod:`~derive.calculus.resample` (each row's rule),
:mod:`~derive.calculus.analysis`, :mod:`~derive.calculus.fields` and
:mod:`~derive.calculus.kept` (the three analyses), :mod:`~derive.calculus.seen` (exact
dependency sets at concrete sizes), :mod:`~derive.calculus.check` (the checks against torch).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

    from derive.calculus.analysis import Analysis, Cost, Memory, ReceptiveField

__all__ = ["analyse", "receptive_field", "cost", "memory"]


def analyse(module: nn.Module, input_shape: Sequence[object]) -> Analysis:
    """``module`` traced on an input of ``input_shape``, ready for the three analyses."""
    from derive.calculus.analysis import analyse as run

    return run(module, input_shape)


def receptive_field(module: nn.Module, input_shape: Sequence[object]) -> ReceptiveField:
    r"""Per layer, the interval of the input that output index $i$ sees, along each axis.

    Padding counts as input coordinates (the interval may start below 0); see
    :mod:`derive.receptive` for the formulas and for when they are exact.

    >>> from torch import nn
    >>> from derive.grammar import size_symbol
    >>> H, W = size_symbol("H"), size_symbol("W")
    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.MaxPool2d(2), nn.Conv2d(4, 4, 3))
    >>> rf = receptive_field(net, (1, 1, H, W))
    >>> for layer in rf.layers:
    ...     print(layer.path, layer.size, layer.jump, layer.start)
    0 (3, 3) (1, 1) (-1, -1)
    1 (4, 4) (2, 2) (-1, -1)
    2 (8, 8) (2, 2) (-1, -1)
    >>> rf.output.interval()
    ((2*i - 1, 2*i + 6), (2*i - 1, 2*i + 6))
    """
    return analyse(module, input_shape).receptive_field()


def cost(module: nn.Module, input_shape: Sequence[object]) -> Cost:
    """Parameters, multiply-accumulates (and torch's FLOPs, twice as many) per layer and in total.

    >>> from torch import nn
    >>> from derive.grammar import size_symbol
    >>> N, H = size_symbol("N"), size_symbol("H")
    >>> c = cost(nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU()), (N, 3, H, H))
    >>> c.params, c.macs, c.flops
    (224, 216*H**2*N, 432*H**2*N)
    """
    return analyse(module, input_shape).cost()


def memory(
    module: nn.Module, input_shape: Sequence[object], dtype: str = "float32"
) -> Memory:
    """Activation entries per layer and the bytes kept for backward (:mod:`derive.layer_memory`).

    >>> from torch import nn
    >>> from derive.grammar import size_symbol
    >>> N, H = size_symbol("N"), size_symbol("H")
    >>> m = memory(nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU()), (N, 3, H, H))
    >>> m.saved_bytes
    44*H**2*N
    """
    return analyse(module, input_shape).memory(dtype)
