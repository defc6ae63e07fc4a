r"""Symbolic shapes through whole networks: what comes out, and which input sizes go in.

``derive.output_shape(module, (1, 3, H, W))`` runs the module's own ``forward`` on an input
whose sizes are SymPy symbols and returns the output shape as formulas that hold for
*every* size (no sample size, no guards). :func:`trace` gives the same per layer (each
application of a reused module is a row), :func:`admissible_sizes` solves the conditions the
layers impose into the exact set of accepted sizes (LeNet: $28 \le H, W \le 31$, and two
elongated cases; a 4-level U-Net: $H, W \equiv 0 \pmod{16}$), and :func:`export_spec` turns
that set into ``torch.export`` dynamic shapes.

This package imports torch only when one of these functions runs: ``import derive`` stays
free of it. Modules: :mod:`~derive.networks.quasi` (exact arithmetic on size formulas),
:mod:`~derive.networks.branches` (size-dependent control flow as cases), the pure rules
(:mod:`~derive.networks.rules`, :mod:`~derive.networks.rules_tensor`,
:mod:`~derive.networks.rules_resample`), the values a forward sees
(:mod:`~derive.networks.symbolic`), the handlers of torch's functions (``handlers_*``), the
run itself (:mod:`~derive.networks.execute`, :mod:`~derive.networks.trace`), solving
(:mod:`~derive.networks.admissible`), export (:mod:`~derive.networks.export`), and the
networks (:mod:`~derive.networks.classic`, :mod:`~derive.networks.zoo`).

The page writers use :func:`zoo_entries` and :func:`zoo_summary`.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

    from derive.networks.admissible import Admissible
    from derive.networks.export import ExportSpec
    from derive.networks.trace import Trace

__all__ = [
    "output_shape",
    "trace",
    "admissible_sizes",
    "export_spec",
    "zoo_entries",
    "zoo_summary",
    "ZooSummary",
]


def output_shape(module: nn.Module, input_shape: Sequence[object]) -> Any:
    r"""The shape ``module`` outputs for an input of ``input_shape``, exact for every size.

    ``input_shape`` holds ints and/or SymPy symbols (use :func:`derive.grammar.size_symbol`,
    integer and positive), or is a list of such shapes for a forward taking several tensors.
    The result is a tuple of SymPy expressions (a tuple of such tuples when ``forward``
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
    """Every layer's path, type and output shape, the output, the conditions on the sizes,
    and the cases of a forward that branches on sizes.

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


def export_spec(module: nn.Module, input_shape: Sequence[object],
                sample: Mapping[Any, int] | None = None) -> ExportSpec:  # fmt: skip
    """A ``torch.export`` ``dynamic_shapes`` specification derived from the accepted sizes
    (``.text()`` prints it, ``.dynamic_shapes()`` builds it); see
    :mod:`derive.networks.export`."""
    from derive.networks.export import export_spec as run

    return run(module, input_shape, sample)


@dataclass(frozen=True)
class ZooSummary:
    """What a page says about one zoo network: its trace, accepted sizes (exact set, text,
    formulas) and export specification."""

    name: str
    title: str
    input_shape: tuple
    trace: Any
    admissible: Any
    export: Any

    def accepted_text(self) -> list[str]:
        """One line per case of the accepted sizes (``H >= 16 with H = 0 mod 16, ...``)."""
        return [box.to_text() for box in self.admissible.boxes]

    def accepted_formulas(self) -> list[str]:
        """The same as formulas (``H = 16*k with k >= 1, ...``)."""
        return [", ".join(v.to_formula(s.name) for s, v in box.sizes.items())
                for box in self.admissible.boxes]  # fmt: skip


def zoo_entries() -> dict[str, Any]:
    """The zoo: name -> :class:`derive.networks.zoo.Entry` (factory, input shape, sample)."""
    from derive.networks.zoo import ZOO

    return dict(ZOO)


def zoo_summary(name: str) -> ZooSummary:
    """Trace, accepted sizes and export specification of the zoo network ``name``."""
    from derive.networks.admissible import solve_constraints
    from derive.networks.export import spec_from_trace
    from derive.networks.trace import trace as run
    from derive.networks.zoo import ZOO

    entry = ZOO[name]
    t = run(entry.factory(), entry.input_shape)
    adm = solve_constraints(t.constraints, t.symbols)
    return ZooSummary(name, entry.title, entry.input_shape, t, adm,
                      spec_from_trace(t, entry.sample, adm))  # fmt: skip


class _Package(types.ModuleType):
    """This package, whose public functions are never replaced by its submodules.

    Importing a submodule sets an attribute of the package named after it: importing
    ``derive.networks.trace`` would turn ``derive.networks.trace`` from the function into the
    module, and ``from derive.networks import trace`` would then return the module.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in __all__ and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
