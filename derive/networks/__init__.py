r"""Symbolic shapes through whole networks: what comes out, and which input sizes go in.

``derive.output_shape(module, (1, 3, H, W))`` pushes an input whose sizes are SymPy
symbols through a ``torch.nn.Module`` and returns the output shape as formulas that hold
for *every* size (no sample size, no guards). :func:`trace` gives the same per layer, and
:func:`admissible_sizes` solves the conditions the layers impose into the exact set of
accepted sizes (LeNet: $28 \le H, W \le 31$, and two elongated cases).

This package imports torch only when one of these functions runs: ``import derive`` stays
free of it. Modules: :mod:`~derive.networks.quasi` (exact arithmetic on size formulas),
:mod:`~derive.networks.rules` (per-layer rules, pure SymPy), :mod:`~derive.networks.layers`
(``torch.nn`` classes to rules), :mod:`~derive.networks.trace` (the walk over
``nn.Sequential`` and ``torch.fx`` graphs), :mod:`~derive.networks.admissible` (solving),
:mod:`~derive.networks.classic` (LeNet ... ResNet-18) and :mod:`~derive.render.pages.networks`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

    from derive.networks.admissible import Admissible
    from derive.networks.trace import Trace

__all__ = ["output_shape", "trace", "admissible_sizes"]


def output_shape(module: nn.Module, input_shape: Sequence[object]) -> Any:
    r"""The shape ``module`` outputs for an input of ``input_shape``, exact for every size.

    ``input_shape`` holds ints and/or SymPy symbols (use :func:`derive.grammar.size_symbol`,
    integer and positive). The result is a tuple of SymPy expressions built from
    :func:`derive.conv_output_size`, :func:`derive.pool_output_size` and
    :func:`derive.conv_transpose_output_size` (a tuple of such tuples when ``forward``
    returns several tensors). With concrete sizes, :class:`derive.ShapeError` is raised
    exactly when torch's forward would fail, naming the layer by its path and type.

    >>> from torch import nn
    >>> from derive.grammar import size_symbol
    >>> H, W = size_symbol("H"), size_symbol("W")
    >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(),
    ...                     nn.MaxPool2d(2, ceil_mode=True))
    >>> output_shape(net, (1, 3, H, 32))
    (1, 8, floor(H/4 - 1/4) + 1, 8)
    >>> output_shape(net, (1, 4, 32, 32))
    Traceback (most recent call last):
        ...
    derive.errors.ShapeError: 0 (Conv2d): expected input with 3 channels (in_channels=3), got 4 ...
    """
    from derive.networks.trace import output_shape as run

    return run(module, input_shape)


def trace(module: nn.Module, input_shape: Sequence[object]) -> Trace:
    """Every layer's path, type and output shape, the output, and the conditions on the sizes.

    See :class:`derive.networks.trace.Trace`.
    """
    from derive.networks.trace import trace as run

    return run(module, input_shape)


def admissible_sizes(module: nn.Module, input_shape: Sequence[object]) -> Admissible:
    r"""The input sizes ``module`` accepts, for the symbols in ``input_shape``.

    The result is a union of boxes (one exact integer set per symbol); with adaptive
    pooling and no Linear constraint it is typically "H at least some minimum".

    >>> from derive.grammar import size_symbol
    >>> from derive.networks.classic import lenet
    >>> H, W = size_symbol("H"), size_symbol("W")
    >>> print(admissible_sizes(lenet(), (1, 1, H, W)).to_text())
    12 <= H <= 15, 108 <= W <= 111
    28 <= H <= 31, 28 <= W <= 31
    108 <= H <= 111, 12 <= W <= 15
    """
    from derive.networks.admissible import solve_constraints
    from derive.networks.trace import trace as run

    t = run(module, input_shape)
    return solve_constraints(t.constraints, t.symbols)
