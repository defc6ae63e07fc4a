r"""Receptive fields, cost and memory of a whole network, row by row, as formulas.

The network is traced once (:func:`derive.networks.trace`: its own ``forward``, reused
modules applied as often as it applies them, size-dependent branches as cases) and each
accepted case becomes a graph of rows and the tensors they read
(:mod:`derive.calculus.graph`). The three analyses walk it in the order the forward ran:

- **receptive field**: a tensor carries one :class:`~derive.receptive.Field` per spatial
  axis of the network's input (axes 2 onwards of its first input) and says on which of its
  own axes each input axis lives (its *layout*: a permute moves it, a flatten that merges
  it with another axis, a global mean or a fully connected layer reads it whole). Each row
  composes its rule's windows (:mod:`derive.calculus.axes`) onto its operands' fields; a row
  reading several tensors (an addition, a concatenation) takes the union (hull). Where a
  tensor no longer carries an input axis, its field along that axis is the union over all
  its entries. The convention is that of inference (batch norm with fixed statistics).
- **cost**: :mod:`derive.layer_cost` per row; the total counts a module applied twice once
  for its parameters (as ``sum(p.numel() for p in net.parameters())`` does) and twice for
  its arithmetic, and the parameters a forward uses directly (a class token, a scale) once.
- **memory**: :mod:`derive.layer_memory` per row, and the distinct storages kept for
  backward (a view or an in-place row shares its operand's storage).

A forward that branches on sizes has one graph per case: every row belongs to one case,
and the totals are piecewise, one formula per case with the case's assumptions.

This module imports torch (through the trace).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy as sp
from torch import nn

from derive.calculus import rules
from derive.calculus.graph import Graph, Node, Refused, Tensor, graphs
from derive.layer_cost import LayerCost, numel
from derive.layer_memory import dtype_bytes
from derive.receptive import INDEX, Field

__all__ = [
    "State",
    "LayerField",
    "ReceptiveField",
    "LayerCostRow",
    "Cost",
    "LayerMemory",
    "Memory",
    "Analysis",
    "analyse",
    "analyse_trace",
]

Shape = tuple[sp.Expr, ...]


@dataclass(frozen=True)
class State:
    """A tensor's receptive field: on which of its axes each input spatial axis lives
    (``layout``, ``None`` for axes carrying none), and one field per input spatial axis
    (``fields``; ``None`` when the tensor depends on no input entry)."""

    layout: tuple[int | None, ...]
    fields: tuple[Field, ...] | None


@dataclass(frozen=True)
class LayerField:
    """The receptive field of one row's output, one :class:`Field` per input spatial axis.

    ``carried[a]``: whether input axis ``a`` lives on one of the output's axes (then output
    index $i$ along that axis sees ``fields[a].interval(i)``); otherwise ``fields[a]`` is the
    union over all the output's entries. ``spatial``: every input axis is carried. A tensor
    that depends on no input entry (a parameter expanded, ``torch.zeros``) has no fields
    (``fields == ()``, ``depends`` false).
    """

    path: str
    kind: str
    shape: Shape
    fields: tuple[Field, ...]
    carried: tuple[bool, ...]
    case: int = 0
    layout: tuple[int | None, ...] = ()

    @property
    def spatial(self) -> bool:
        return self.depends and all(self.carried)

    @property
    def depends(self) -> bool:
        """Whether the output depends on some input entry at all."""
        return bool(self.fields) or not self.carried

    @property
    def size(self) -> tuple[sp.Expr, ...]:
        """$R$ per axis (``hi - lo + 1``; a number when it is proved the same for every
        output index, as after a nearest upsampling joined with its input)."""
        return tuple(_constant_in_index(f.size) for f in self.fields)

    @property
    def jump(self) -> tuple[sp.Expr | None, ...]:
        """$J$ per axis (``None`` where the field is not affine in $i$, not carried, or
        carried on an axis of one entry, where no next index exists)."""
        out = []
        for a, (f, c) in enumerate(zip(self.fields, self.carried)):
            one = c and self.layout and self.shape[self.layout.index(a)] == 1
            out.append(f.jump if c and not one else None)
        return tuple(out)

    @property
    def start(self) -> tuple[sp.Expr, ...]:
        r"""$\ell(0)$ per axis."""
        return tuple(f.start for f in self.fields)

    def interval(self, index: Sequence[Any] | None = None) -> tuple[tuple[sp.Expr, sp.Expr], ...]:
        """``(lo, hi)`` per axis for the output position ``index`` (default: symbolic $i$)."""
        index = index if index is not None else (INDEX,) * len(self.fields)
        return tuple(f.interval(i) for f, i in zip(self.fields, index))


def _constant_in_index(expr: sp.Expr) -> sp.Expr:
    """``expr`` as its value at $i = 0$ when that is proved for every $i \\ge 0$."""
    if not expr.has(INDEX):
        return expr
    from derive.networks.quasi import for_all_sizes

    at_zero = expr.xreplace({INDEX: 0})
    shifted = sp.Dummy("j", integer=True, positive=True)
    try:
        same = for_all_sizes(sp.Eq(expr.xreplace({INDEX: shifted - 1}), at_zero))
    except (TypeError, ValueError):  # a form the prover does not read
        same = None
    return at_zero if same is True else expr


@dataclass(frozen=True)
class ReceptiveField:
    """Every row's :class:`LayerField` (rows of every case); ``outputs``: per accepted case,
    its assumptions and the fields of the tensors the forward returns."""

    input_shape: Shape
    layers: tuple[LayerField | None, ...]
    outputs: tuple[tuple[tuple[sp.Basic, ...], tuple[LayerField, ...]], ...]

    @property
    def output(self) -> LayerField:
        """The field of the forward's output (one case, one tensor)."""
        if len(self.outputs) != 1 or len(self.outputs[0][1]) != 1:
            raise Refused("the forward has several cases or outputs: see .outputs")
        return self.outputs[0][1][0]


@dataclass(frozen=True)
class LayerCostRow:
    path: str
    kind: str
    shape: Shape
    cost: LayerCost
    case: int = 0


def _piecewise(values: Sequence[sp.Expr], graphs_: Sequence[Graph]) -> sp.Expr:
    if len(values) == 1:
        return values[0]
    pieces = [(v, sp.And(*g.assumptions)) for v, g in zip(values, graphs_)]
    return sp.Piecewise(*pieces[:-1], (pieces[-1][0], True))


@dataclass(frozen=True)
class Cost:
    """Per-row costs and the total (parameters of a module applied twice counted once);
    piecewise over the cases of a forward that branches on sizes."""

    input_shape: Shape
    layers: tuple[LayerCostRow, ...]
    total: LayerCost
    #: the total of each case (one for a forward without size branches)
    cases: tuple[LayerCost, ...] = ()

    @property
    def params(self) -> sp.Expr:
        return self.total.params

    @property
    def macs(self) -> sp.Expr:
        return self.total.macs

    @property
    def flops(self) -> sp.Expr:
        """torch's ``FlopCounterMode`` count of the forward pass."""
        return self.total.flops


@dataclass(frozen=True)
class LayerMemory:
    """One row's activation (its output) and what it keeps for backward.

    ``allocated``: false for views and in-place rows (their output is their operand's
    storage). ``kept``: ``(what, elements, dtype)`` of the tensors this row keeps that no
    earlier row kept already, so the column sums to the total.
    """

    path: str
    kind: str
    shape: Shape
    elements: sp.Expr
    allocated: bool
    kept: tuple[tuple[str, sp.Expr, str], ...]
    case: int = 0

    def kept_bytes(self) -> sp.Expr:
        return sp.Add(*(n * dtype_bytes(d) for _, n, d in self.kept))


@dataclass(frozen=True)
class Memory:
    """Activations per row and the memory kept for backward (distinct storages, in bytes)."""

    input_shape: Shape
    dtype: str
    layers: tuple[LayerMemory, ...]
    cases: tuple[Graph, ...] = field(default=(), repr=False)

    def per_case(self, what: str) -> list[sp.Expr]:
        """``"activation_bytes"`` or ``"saved_bytes"`` of each case."""
        per = dtype_bytes(self.dtype)
        value = (lambda m: m.elements * per if m.allocated else 0) if what == "activation_bytes" \
            else (lambda m: m.kept_bytes())  # fmt: skip
        return [sp.Add(*(value(m) for m in self.layers if m.case == g.case))
                for g in self.cases] or [sp.Add(*(value(m) for m in self.layers))]  # fmt: skip

    @property
    def activation_bytes(self) -> sp.Expr:
        """Bytes of every newly allocated row output (views and in-place ones excluded)."""
        return _piecewise(self.per_case("activation_bytes"), self.cases)

    @property
    def saved_bytes(self) -> sp.Expr:
        """Bytes of the distinct storages kept for backward (parameters excluded)."""
        return _piecewise(self.per_case("saved_bytes"), self.cases)


@dataclass
class Analysis:
    """One network at one input shape: its trace, one graph per accepted case, and each
    analysis computed when asked."""

    trace: Any
    module: nn.Module
    graphs: list[Graph]
    _states: list[dict[Tensor, State]] | None = field(default=None, repr=False)

    @property
    def nodes(self) -> list[Node]:
        """Every row of every accepted case, in the trace's order."""
        return [n for g in self.graphs for n in g.rows]

    @property
    def input_shape(self) -> Shape:
        return self.graphs[0].nodes[0].shape

    def states(self) -> list[dict[Tensor, State]]:
        """Each case's tensor states (computed once)."""
        if self._states is None:
            from derive.calculus.fields import states

            self._states = [states(g) for g in self.graphs]
        return self._states

    def receptive_field(self) -> ReceptiveField:
        rows: list[LayerField] = []
        outputs = []
        count = max(len(self.input_shape) - 2, 0)
        for g, known in zip(self.graphs, self.states()):
            rows += [_layer_field(n.path, n.kind, n.shape, known[Tensor(n.index)], n.case, count)
                     for n in g.rows]  # fmt: skip
            returned = tuple(_layer_field(g.nodes[t.node].path, g.nodes[t.node].kind,
                                          g.shape_of(t), known[t], g.case, count)
                             for t in g.outputs)  # fmt: skip
            outputs.append((g.assumptions, returned))
        return ReceptiveField(self.input_shape, tuple(rows), tuple(outputs))

    def cost(self) -> Cost:
        rows: list[LayerCostRow] = []
        totals = []
        for g in self.graphs:
            grads = _needs_grad(g, False)
            case_rows = []
            for node in g.rows:
                c = rules.cost(g, node)
                c = c.with_backward(any(_operand_grad(g, grads, t) for t in node.operands))
                case_rows.append(LayerCostRow(node.path, node.kind, node.shape, c, g.case))
            totals.append(_total(g, case_rows))
            rows += case_rows
        total = LayerCost(*(_piecewise([getattr(t, name) for t in totals], self.graphs)
                            for name in ("params", "macs", "other", "backward_macs")))  # fmt: skip
        return Cost(self.input_shape, tuple(rows), total, tuple(totals))

    def memory(self, dtype: str = "float32", input_requires_grad: bool = False) -> Memory:
        from derive.calculus.kept import memory_rows

        dtype_bytes(dtype)
        rows: list[LayerMemory] = []
        for g in self.graphs:
            rows += memory_rows(g, str(dtype).removeprefix("torch."), input_requires_grad)
        return Memory(self.input_shape, str(dtype).removeprefix("torch."), tuple(rows),
                      tuple(self.graphs))  # fmt: skip


def _layer_field(path: str, kind: str, shape: Shape, state: State, case: int,
                 count: int) -> LayerField:  # fmt: skip
    if state.fields is None:
        return LayerField(path, kind, shape, (), (False,) * count, case, state.layout)
    carried = tuple(a in state.layout for a in range(count))
    return LayerField(path, kind, shape, state.fields, carried, case, state.layout)


def _total(graph: Graph, rows: Sequence[LayerCostRow]) -> LayerCost:
    """The sum of a case's rows, each module's and each used parameter's count once."""
    seen: set[int] = set()
    params = []
    for node, row in zip(graph.rows, rows):
        if node.module is not None:
            if id(node.module) not in seen:
                params.append(row.cost.params)
            seen.add(id(node.module))
        for t in node.operands:
            if not isinstance(t, Tensor) and t.parameter and id(t.tensor) not in seen:
                seen.add(id(t.tensor))
                params.append(numel(t.shape))
    return LayerCost(sp.Add(*params), *(sp.Add(*(getattr(r.cost, name) for r in rows))
                                        for name in ("macs", "other", "backward_macs")))


def _needs_grad(graph: Graph, input_requires_grad: bool) -> dict[Tensor, bool]:
    """Whether each tensor needs a gradient (it depends on a parameter or a graded input)."""
    out = {Tensor(j): input_requires_grad for j in range(graph.inputs)}
    for node in graph.rows:
        module = node.module
        params = module is not None and any(p.requires_grad for p in module.parameters())
        grad = params or any(_operand_grad(graph, out, t) for t in node.operands)
        for k in range(len(node.shapes)):
            out[Tensor(node.index, k)] = grad
    return out


def _operand_grad(graph: Graph, grads: dict[Tensor, bool], t: Any) -> bool:
    return grads[t] if isinstance(t, Tensor) else bool(t.requires_grad)


def analyse_trace(trace: Any, module: nn.Module) -> Analysis:
    """The analysis of an existing trace of ``module`` (no second run of the forward)."""
    return Analysis(trace, module, graphs(trace, rules.view_of))


def analyse(module: nn.Module, input_shape: Sequence[object]) -> Analysis:
    """Trace ``module`` on ``input_shape``; the analyses run when asked."""
    from derive.networks.trace import trace

    return analyse_trace(trace(module, input_shape), module)
