"""What the build derives for one step of an example, as plain data for the renderers.

:mod:`derive.render.compute` fills these in; :mod:`derive.render.pages.examples`,
:mod:`derive.render.notebook` and :mod:`derive.render.svg` only read them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from derive.ops import Op
from derive.specs import BuildError, ExampleSpec, StepSpec, TensorSpec
from derive.windows import Windows2d

__all__ = [
    "AxisShape",
    "Element",
    "Geometry",
    "Check",
    "StepResult",
    "format_params",
    "step_error",
    "probe_value",
    "subs_all",
    "free_symbols",
    "index_ok",
]


@dataclass
class AxisShape:
    """One axis of the output size: the formula, the values put in, the result."""

    label: str
    formula: sp.Expr
    given: list[tuple[sp.Symbol, sp.Expr]]
    value: sp.Expr
    #: the derive call that gives ``formula``, as Python (for the notebook)
    code: str = ""


@dataclass
class Element:
    """One highlighted output element, spelled out."""

    index: tuple[int, ...]
    full_index: tuple[int, int, int]
    symbolic: str
    numeric: str
    value: sp.Expr
    padded: int = 0
    outside: int = 0
    note: str = ""
    #: input cells the element reads: (channel, row, col) in padded coordinates
    cells: list[tuple[int, int, int]] = field(default_factory=list)
    #: kernel cells used: (channel, a, e) of the output channel's kernel
    kernel_cells: list[tuple[int, int, int]] = field(default_factory=list)
    #: (input entry, kernel entry) of every product, padding zeros included (conv only)
    pairs: list[tuple[sp.Basic, sp.Basic]] = field(default_factory=list)


@dataclass
class Geometry:
    """What a figure needs: values and the engine's window plan (see :mod:`derive.render.svg`).

    Padding, kernel, stride, dilation and overhang are read from :attr:`plan`, the
    :class:`derive.windows.Windows2d` the operation's registry entry builds (a transposed
    convolution's: the convolution whose shape map it inverts); nothing re-derives them.
    """

    op: Op  # the operation run (a cross-correlation as the convolution it is)
    input: list  # (C, H, W)
    weight: list | None  # conv: (C_out, C_in/groups, kH, kW); transpose: (C_in, C_out/g, kH, kW)
    output: list  # (C_out, H_out, W_out)
    plan: Windows2d
    groups: int = 1


@dataclass
class Check:
    """The torch comparison, as the page reports it."""

    ok: bool
    max_abs_diff: float
    count: int
    call: str


@dataclass
class StepResult:
    """Everything derived for one step of an example."""

    step: StepSpec
    shapes: list[AxisShape]
    output_shape: tuple[int, ...] = ()
    output: Any = None  # nested list as displayed (a matrix for corr2d)
    symbolic_output: Any = None  # nested list of LaTeX strings, when asked for
    elements: list[Element] = field(default_factory=list)
    torch_line: str = ""
    check: Check | None = None
    book: list[str] = field(default_factory=list)
    geometry: Geometry | None = None
    tensors: dict[str, TensorSpec] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def step_error(spec: ExampleSpec, step: StepSpec, what: str, message: str) -> BuildError:
    """The error of a step: names the file, the example and the field."""
    where = f"{step.where}.{what}" if what else step.where
    return BuildError(f"{spec.path}: example {spec.slug!r}, field {where}: {message}")


def probe_value(symbol: sp.Symbol) -> int:
    """A deterministic small integer standing in for a symbol in torch checks."""
    return 1 + int(hashlib.sha256(symbol.name.encode()).hexdigest(), 16) % 5


def subs_all(values: Any, subs: dict) -> Any:
    """Substitute into every entry of nested lists (None stays None)."""
    if values is None:
        return None
    if isinstance(values, list):
        return [subs_all(v, subs) for v in values]
    return values.subs(subs) if subs else values


def free_symbols(values: Any) -> set:
    """The symbols in nested lists of SymPy entries."""
    if isinstance(values, list):
        return set().union(*(free_symbols(v) for v in values)) if values else set()
    return set(values.free_symbols)


def index_ok(index: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    """Whether ``index`` names an entry of an array of ``shape``.

    >>> index_ok((0, 2), (1, 3)), index_ok((0, 3), (1, 3)), index_ok((0,), (1, 3))
    (True, False, False)
    """
    return len(index) == len(shape) and all(0 <= i < n for i, n in zip(index, shape))


def format_params(params: dict[str, Any]) -> str:
    """``stride=(3, 2), padding=1`` in torch's spelling (tuples, True/False)."""

    def show(v: Any) -> str:
        if isinstance(v, tuple):
            return "(" + ", ".join(show(x) for x in v) + ")"
        if isinstance(v, sp.Basic):
            return str(v)
        return repr(v)

    return ", ".join(f"{k}={show(v)}" for k, v in params.items())
