r"""Receptive fields, cost and memory of a whole network, layer by layer, as formulas.

One graph (:mod:`derive.calculus.graph`) is built per network and input shape; the three
analyses walk it in the order the forward runs:

- **receptive field**: each tensor carries one :class:`~derive.receptive.Field` per spatial
  axis of the network's input; a layer's windows compose onto its input's fields, and a node
  reading several tensors (an addition, a concatenation) takes their union. The convention is
  that of inference: batch norm uses fixed statistics (in training its batch statistics tie
  every position to every other). A tensor that has lost its spatial axes (after flattening
  or a global mean) carries, for each axis, the union over all its entries, the same for
  every entry.
- **cost**: :mod:`derive.layer_cost` per layer; the total counts the parameters of a module called
  twice once, as ``sum(p.numel() for p in net.parameters())`` does.
- **memory**: :mod:`derive.layer_memory` per layer, and the distinct tensors kept for backward.

This module imports torch (through the graph).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy as sp
from torch import nn

from derive.calculus import rules
from derive.calculus.graph import Graph, Node, build_graph
from derive.layer_cost import LayerCost, numel
from derive.layer_memory import dtype_bytes
from derive.receptive import INDEX, Field, global_window

__all__ = [
    "LayerField",
    "ReceptiveField",
    "LayerCostRow",
    "Cost",
    "LayerMemory",
    "Memory",
    "Analysis",
    "analyse",
]

Shape = tuple[sp.Expr, ...]


@dataclass(frozen=True)
class LayerField:
    """The receptive field of one layer's output, one :class:`Field` per input spatial axis.

    ``spatial``: whether output index $i$ along axis ``a`` is the field's index (otherwise
    every entry sees the same, the union).
    """

    path: str
    kind: str
    shape: Shape
    fields: tuple[Field, ...]
    spatial: bool

    @property
    def size(self) -> tuple[sp.Expr, ...]:
        """$R$ per axis (``hi - lo + 1``)."""
        return tuple(f.size for f in self.fields)

    @property
    def jump(self) -> tuple[sp.Expr | None, ...]:
        """$J$ per axis (``None`` where the field is not affine in $i$)."""
        return tuple(f.jump if self.spatial else None for f in self.fields)

    @property
    def start(self) -> tuple[sp.Expr, ...]:
        r"""$\ell(0)$ per axis."""
        return tuple(f.start for f in self.fields)

    def interval(self, index: Sequence[Any] | None = None) -> tuple[tuple[sp.Expr, sp.Expr], ...]:
        """``(lo, hi)`` per axis for the output position ``index`` (default: symbolic $i$)."""
        index = index if index is not None else (INDEX,) * len(self.fields)
        return tuple(f.interval(i) for f, i in zip(self.fields, index))


@dataclass(frozen=True)
class ReceptiveField:
    """Every layer's :class:`LayerField`; ``output`` is the network output's."""

    input_shape: Shape
    layers: tuple[LayerField, ...]
    output: LayerField


@dataclass(frozen=True)
class LayerCostRow:
    path: str
    kind: str
    shape: Shape
    cost: LayerCost


@dataclass(frozen=True)
class Cost:
    """Per-layer costs and the total (parameters of a module called twice counted once)."""

    input_shape: Shape
    layers: tuple[LayerCostRow, ...]
    total: LayerCost

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
    """One layer's activation (its output) and what it keeps for backward.

    ``allocated``: false for views and in-place layers (their output is their input's
    storage). ``kept``: ``(what, elements, dtype)`` of the tensors this layer keeps that no
    earlier layer kept already, so the column sums to the total.
    """

    path: str
    kind: str
    shape: Shape
    elements: sp.Expr
    allocated: bool
    kept: tuple[tuple[str, sp.Expr, str], ...]

    def kept_bytes(self) -> sp.Expr:
        return sp.Add(*(n * dtype_bytes(d) for _, n, d in self.kept))


@dataclass(frozen=True)
class Memory:
    """Activations per layer and the memory kept for backward (distinct tensors, in bytes)."""

    input_shape: Shape
    dtype: str
    layers: tuple[LayerMemory, ...]

    @property
    def activation_bytes(self) -> sp.Expr:
        """Bytes of every newly allocated layer output (views and in-place ones excluded)."""
        per = dtype_bytes(self.dtype)
        return sp.Add(*(m.elements * per for m in self.layers if m.allocated))

    @property
    def saved_bytes(self) -> sp.Expr:
        """Bytes of the distinct tensors kept for backward (parameters excluded)."""
        return sp.Add(*(m.kept_bytes() for m in self.layers))


@dataclass
class Analysis:
    """One network at one input shape: the graph, and each analysis computed when asked."""

    graph: Graph
    module: nn.Module
    _fields: list[tuple[tuple[Field, ...], bool]] | None = field(default=None, repr=False)

    @property
    def nodes(self) -> list[Node]:
        return self.graph.nodes[1:]

    def receptive_field(self) -> ReceptiveField:
        fields = self._node_fields()
        rows = tuple(LayerField(n.path, n.kind, n.shape, *fields[n.index]) for n in self.nodes)
        out = rows[self.graph.output - 1] if self.graph.output else LayerField(
            "(input)", "input", self.graph.input.shape, *fields[0])  # fmt: skip
        return ReceptiveField(self.graph.input.shape, rows, out)

    def _node_fields(self) -> list[tuple[tuple[Field, ...], bool]]:
        if self._fields is None:
            nodes = self.graph.nodes
            out = [(tuple(Field.identity(n) for n in nodes[0].shape[2:]), True)]
            for node in nodes[1:]:
                out.append(_field_of(node, nodes, out))
            self._fields = out
        return self._fields

    def cost(self) -> Cost:
        nodes, rows, seen = self.graph.nodes, [], set()
        grads = _needs_grad(self.graph, False)
        params = []
        for node in nodes[1:]:
            c = rules.cost(node, [nodes[i].shape for i in node.inputs], node.shape)
            c = c.with_backward(any(grads[i] for i in node.inputs))
            rows.append(LayerCostRow(node.path, node.kind, node.shape, c))
            if node.module is None or id(node.module) not in seen:
                params.append(c.params)
            seen.add(id(node.module))
        total = LayerCost(
            sp.Add(*params), *(sp.Add(*(getattr(r.cost, name) for r in rows))
                               for name in ("macs", "other", "backward_macs"))
        )  # fmt: skip
        return Cost(nodes[0].shape, tuple(rows), total)

    def memory(self, dtype: str = "float32", input_requires_grad: bool = False) -> Memory:
        dtype_bytes(dtype)
        nodes = self.graph.nodes
        owner = [0] * len(nodes)
        grads = _needs_grad(self.graph, input_requires_grad)
        kept: set[tuple] = set()
        rows = []
        for node in nodes[1:]:
            owner[node.index] = owner[node.inputs[0]] if node.alias else node.index
            new: list[tuple[str, sp.Expr, str]] = []
            x = nodes[node.inputs[0]].shape
            keeps = rules.saves(node, x, [grads[i] for i in node.inputs]) \
                if grads[node.index] else ()  # fmt: skip
            for s in keeps:
                key, what, n, d = _saved_key(node, s, owner, nodes, dtype)
                if key not in kept:
                    kept.add(key)
                    new.append((what, n, d))
            rows.append(LayerMemory(node.path, node.kind, node.shape, numel(node.shape),
                                    not node.alias, tuple(new)))  # fmt: skip
        return Memory(nodes[0].shape, str(dtype).removeprefix("torch."), tuple(rows))


def _saved_key(node: Node, s: Any, owner: list[int], nodes: list[Node], dtype: str) -> tuple:
    dtype = str(dtype).removeprefix("torch.")
    if s.role in ("input", "input0", "input1", "output"):
        source = node.index if s.role == "output" else node.inputs[int(s.role[5:] or 0)]
        tensor = owner[source]
        what = f"{s.role} ({nodes[tensor].path})"
        return ("tensor", tensor), what, numel(nodes[tensor].shape), dtype
    return ("own", node.index, s.role), s.role, s.elements, s.dtype or dtype


def _needs_grad(graph: Graph, input_requires_grad: bool) -> list[bool]:
    out = [input_requires_grad]
    for node in graph.nodes[1:]:
        params = node.module is not None and any(
            p is not None and p.requires_grad for p in node.module._parameters.values()
        )
        out.append(params or any(out[i] for i in node.inputs))
    return out


def _collapsed(fields: tuple[Field, ...], sizes: Shape) -> tuple[Field, ...]:
    return tuple(f.through(global_window(n)) for f, n in zip(fields, sizes))


def _broadcast(fields: tuple[Field, ...], sizes: Shape, out: Shape) -> tuple[Field, ...]:
    """A size-1 axis broadcast over a longer one: every index sees what index 0 sees."""
    return tuple(f if n == m or sp.expand(n - m) == 0 else f.at_index(0)
                 for f, n, m in zip(fields, sizes, out))  # fmt: skip


def _field_of(node: Node, nodes: list[Node], done: list) -> tuple[tuple[Field, ...], bool]:
    """The fields of ``node``'s output from its inputs' (already computed)."""
    parts = [(done[i][0], done[i][1], nodes[i].shape) for i in node.inputs]
    fields, spatial, x = parts[0]
    if len(parts) > 1:
        # a tensor without spatial axes (a squeeze-and-excitation gate, say) sees the same
        # for every entry: its constant fields join every position's
        spatial = any(p[1] for p in parts)
        if spatial:
            parts = [(_broadcast(f, s[2:], node.shape[2:]) if sp_ else f, sp_, s)
                     for f, sp_, s in parts]  # fmt: skip
            x = next(s for _, sp_, s in parts if sp_)
        fields = tuple(Field.union_all([p[0][a] for p in parts]) for a in range(len(fields)))
    if not spatial or not fields:
        return fields, spatial
    ws = rules.windows(node, x, node.shape)
    if ws == rules.COLLAPSE:
        return _collapsed(fields, x[2:]), False
    out = tuple(
        f if w is None else f.through(w, node.shape[2 + a] if w.kind == "transpose" else None)
        for a, (f, w) in enumerate(zip(fields, ws))
    )
    return out, True


def analyse(module: nn.Module, input_shape: Sequence[object]) -> Analysis:
    """Build the graph of ``module`` on ``input_shape``; analyses run when asked."""
    return Analysis(build_graph(module, input_shape), module)
