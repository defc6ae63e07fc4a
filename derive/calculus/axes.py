r"""How a row moves its operands' axes into its output: the language of the calculus's rules.

A row's output axis $u$ is made from axes of its operands (:class:`Axis`): entry by entry
(``window=None``, or a broadcast when the operand's axis has size 1), or through a
:class:`~derive.receptive.Window` (a convolution's kernel along a spatial axis, the whole
axis for a channel mix). An operand axis that does not reach the output is a :class:`Drop`
(a reduction over it, a reshape merging it into another, an integer index). Per output
tensor this is an :class:`Out`; a rule's ``flow`` returns one per output.

Receptive fields (:mod:`derive.calculus.analysis`) and exact dependency sets
(:mod:`derive.calculus.seen`) both read these, so a window is stated once.

The helpers build the common cases: :func:`same` (entry by entry), :func:`windowed`,
:func:`broadcast` (torch's broadcasting, right-aligned), :func:`reduced`,
:func:`permuted` and :func:`reshaped` (axes grouped by equal products of sizes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp

from derive.calculus.graph import Node, Refused
from derive.receptive import Window, global_window

__all__ = [
    "Axis", "Drop", "Out", "Flow", "Row", "same", "windowed", "broadcast", "reduced",
    "permuted", "reshaped", "whole", "bound", "JOINED", "EQUAL",
]  # fmt: skip

Shape = tuple[sp.Expr, ...]


@dataclass(frozen=True)
class Axis:
    """Output axis from axis ``axis`` of operand ``operand``, through ``window`` (``None``:
    entry by entry, or every entry reads entry 0 when the operand's axis has size 1)."""

    operand: int
    axis: int
    window: Window | None = None


@dataclass(frozen=True)
class Drop:
    """Axis ``axis`` of operand ``operand`` does not reach the output; every output entry
    reads it through ``window`` (whose ends do not depend on the output index)."""

    operand: int
    axis: int
    window: Window


@dataclass(frozen=True)
class Out:
    """One output tensor: per axis, the operand axes it is made from; the dropped axes."""

    axes: tuple[tuple[Axis, ...], ...]
    drops: tuple[Drop, ...] = ()


Flow = tuple[Out, ...]

#: the "window" of a concatenation axis: entries come from one operand or another (refused
#: along an axis that carries the input's spatial coordinates)
JOINED = "joined"
#: the "window" of an axis torch requires to have the same size in operand and output
#: (concatenation off its axis): entry by entry, whatever the formulas look like
EQUAL = "equal"


class Row:
    """A row as its rules read it: the node, its operands' shapes and its output shapes."""

    __slots__ = ("node", "ins", "outs", "_layer", "_module", "grads")

    def __init__(self, node: Node, ins: list[Shape]) -> None:
        self.node, self.ins, self.outs = node, ins, node.shapes
        self._layer: Any = None
        self._module: Any = None
        #: whether each operand needs a gradient (set when memory is analysed)
        self.grads: list[bool] = []

    @property
    def module(self) -> Any:
        """The layer applied (for a functional call: the layer it equals)."""
        return self._module if self._module is not None else self.node.module

    def with_module(self, module: Any) -> Row:
        """This row read as an application of ``module``."""
        out = Row(self.node, self.ins)
        out._module, out.grads = module, self.grads
        return out

    @property
    def x(self) -> Shape:
        """The first operand's shape."""
        return self.ins[0]

    @property
    def y(self) -> Shape:
        """The (first) output's shape."""
        return self.outs[0]

    @property
    def args(self) -> tuple:
        return self.node.call.args  # type: ignore[union-attr]

    @property
    def kwargs(self) -> dict:
        return self.node.call.kwargs  # type: ignore[union-attr]

    def contiguous(self, k: int) -> bool:
        """Whether operand ``k`` is laid out contiguously (not a strided view)."""
        return self.node.contiguous_in[k]

    def refuse(self, reason: str) -> Refused:
        return Refused(f"{self.node.label()}: {reason}")

    def layer(self, build: Callable[[Row], Any]) -> Any:
        """A layer built once from this row's arguments (a functional call as its layer)."""
        if self._layer is None:
            self._layer = build(self)
        return self._layer


def bound(row: Row, names: Sequence[str], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The row's call arguments by name (positional, then keyword, then ``defaults``)."""
    out = dict(defaults)
    out.update(zip(names, row.args))
    out.update(row.kwargs)
    missing = [n for n in names if n not in out]
    if missing:
        raise row.refuse(f"missing argument {missing[0]!r}")
    return out


def _norm(axis: int, rank: int) -> int:
    return axis % rank if rank else 0


def same(rank: int, operand: int = 0) -> Out:
    """Entry by entry from one operand of ``rank`` axes."""
    return Out(tuple((Axis(operand, t),) for t in range(rank)))


def windowed(rank: int, windows: Mapping[int, Window], operand: int = 0) -> Out:
    """Entry by entry, except the axes in ``windows`` (negative axes count from the end)."""
    by_axis = {_norm(t, rank): w for t, w in windows.items()}
    return Out(tuple((Axis(operand, t, by_axis.get(t)),) for t in range(rank)))


def whole(n: sp.Expr) -> Window:
    """Every output entry reads all ``n`` entries of the axis."""
    return global_window(n)


def broadcast(shapes: Sequence[Shape | None], out: Shape) -> Out:
    """torch's broadcasting: operands aligned on their last axes (``None``: not a tensor)."""
    rank = len(out)
    axes: list[list[Axis]] = [[] for _ in range(rank)]
    for k, shape in enumerate(shapes):
        if shape is None:
            continue
        for t in range(len(shape)):
            axes[rank - len(shape) + t].append(Axis(k, t))
    return Out(tuple(tuple(a) for a in axes))


def reduced(x: Shape, dims: Sequence[int], keepdim: bool, operand: int = 0) -> Out:
    """A reduction over ``dims`` (every output entry reads the whole of those axes)."""
    rank = len(x)
    dims = {_norm(d, rank) for d in dims}
    axes, drops = [], []
    for t in range(rank):
        if t not in dims:
            axes.append((Axis(operand, t),))
        elif keepdim:
            axes.append((Axis(operand, t, whole(x[t])),))
        else:
            drops.append(Drop(operand, t, whole(x[t])))
    return Out(tuple(axes), tuple(drops))


def permuted(order: Sequence[int], operand: int = 0) -> Out:
    """Output axis ``u`` is operand axis ``order[u]``."""
    rank = len(order)
    return Out(tuple((Axis(operand, _norm(t, rank)),) for t in order))


def _equal(a: sp.Expr, b: sp.Expr) -> bool:
    return a == b or sp.expand(a - b) == 0


def reshaped(x: Shape, y: Shape, operand: int = 0) -> Out:
    """A reshape: axes of size 1 set aside, the others grouped where the products of sizes
    meet. A group of one input and one output axis keeps its axis; in any other group each
    entry mixes positions, and its input axes are dropped (read whole).

    >>> H, W = sp.symbols("H W", integer=True, positive=True)
    >>> out = reshaped((2, 3, H, W), (2, 3, H * W))
    >>> [[a.axis for a in axis] for axis in out.axes], [d.axis for d in out.drops]
    ([[0], [1], []], [2, 3])
    """
    axes: list[tuple[Axis, ...]] = [() for _ in y]
    drops = [Drop(operand, t, whole(x[t])) for t in range(len(x)) if x[t] == 1]
    for ins, outs in _groups([t for t in range(len(x)) if x[t] != 1], x,
                             [u for u in range(len(y)) if y[u] != 1], y):  # fmt: skip
        if len(ins) == 1 and len(outs) == 1:
            axes[outs[0]] = (Axis(operand, ins[0]),)
        else:
            drops += [Drop(operand, t, whole(x[t])) for t in ins]
    return Out(tuple(axes), tuple(drops))


def _groups(xs: list[int], x: Shape, ys: list[int], y: Shape) -> list[tuple[list, list]]:
    """Runs of axes ``xs`` of ``x`` and ``ys`` of ``y`` with equal products of sizes."""
    out: list[tuple[list, list]] = []
    i = j = 0
    while i < len(xs) and j < len(ys):
        ins, outs = [xs[i]], [ys[j]]
        p, q = x[xs[i]], y[ys[j]]
        i, j = i + 1, j + 1
        while not _equal(p, q):
            if _divides(p, q) and i < len(xs):
                p, ins, i = p * x[xs[i]], [*ins, xs[i]], i + 1
            elif j < len(ys):
                q, outs, j = q * y[ys[j]], [*outs, ys[j]], j + 1
            elif i < len(xs):
                p, ins, i = p * x[xs[i]], [*ins, xs[i]], i + 1
            else:
                break
        out.append((ins, outs))
    if i < len(xs) or j < len(ys):
        out.append((xs[i:], ys[j:]))
    return out


def _divides(p: sp.Expr, q: sp.Expr) -> bool:
    """Whether ``q / p`` is a product without a denominator (``p`` is the smaller side)."""
    ratio = sp.cancel(q / p)
    return ratio.as_numer_denom()[1] == 1 and not (ratio.is_number and ratio < 1)
