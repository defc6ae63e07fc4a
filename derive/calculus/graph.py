r"""A traced forward as a graph: every row of the trace, and the tensors it read.

:func:`derive.networks.trace` runs the network's own ``forward`` on tensors known by their
shapes and records, per row, what it applied and which tensors it read
(:mod:`derive.networks.flow`). This module turns one case of that trace into a
:class:`Graph`: node ``j`` for the forward's ``j``-th input, then one node per row, in the
order the forward ran them. A module applied twice is two nodes; a forward that branches
on sizes gives one graph per case (:func:`graphs`).

Each node also knows where its output lives: its own new storage, or its first operand's
(a view such as ``permute`` or ``view``, or a row that wrote in place such as
``nn.ReLU(inplace=True)`` or ``y += x``). A row that reads a tensor whose storage was
changed in place *after* that tensor was made (through another view of it) is refused:
derive would compose over values torch no longer has.

This module imports torch (through :mod:`derive.networks`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from derive.errors import ShapeError
from derive.networks.flow import Call, Const, Written

__all__ = ["Tensor", "Node", "Graph", "graphs", "flat_shapes", "Refused"]

Shape = tuple[sp.Expr, ...]


class Refused(ShapeError):
    """derive has no rule for this row (receptive field, cost or memory), or cannot follow
    the data flow of this forward: a refusal naming the row, never a wrong answer."""


@dataclass(frozen=True)
class Tensor:
    """Output ``k`` of node ``node``."""

    node: int
    k: int = 0


def flat_shapes(shape: Any) -> tuple[Shape, ...]:
    """A row's shape (or nested tuple of shapes) as the list of its tensors' shapes."""
    if isinstance(shape, tuple) and shape and all(isinstance(s, tuple) for s in shape):
        return tuple(s for inner in shape for s in flat_shapes(inner))
    return (tuple(shape),)


@dataclass
class Node:
    """One input or row: where it is (``path``), what it is (``kind``), its output shapes,
    the operands it read (:class:`Tensor` of an earlier node, or
    :class:`~derive.networks.flow.Const`) and the :class:`~derive.networks.flow.Call`."""

    index: int
    path: str
    kind: str
    shapes: tuple[Shape, ...]
    operands: tuple[Tensor | Const, ...] = ()
    call: Call | None = None
    case: int = 0
    #: the storage of each output: the tensor that owns it (itself, or what it is a view of)
    owners: list[Tensor] = field(default_factory=list)
    #: whether each output is laid out contiguously, and each operand
    contiguous: list[bool] = field(default_factory=list)
    contiguous_in: tuple[bool, ...] = ()

    @property
    def shape(self) -> Shape:
        """The output shape (the first output's for a row returning several tensors)."""
        return self.shapes[0]

    @property
    def module(self) -> Any:
        return None if self.call is None else self.call.module

    @property
    def target(self) -> Any:
        return None if self.call is None else self.call.target

    def label(self) -> str:
        return f"{self.path} ({self.kind})" if self.path else self.kind


@dataclass
class Graph:
    """The inputs and rows of one case of a forward, and the tensors it returned."""

    nodes: list[Node]
    inputs: int
    outputs: tuple[Tensor, ...]
    assumptions: tuple[sp.Basic, ...] = ()
    case: int = 0

    @property
    def rows(self) -> list[Node]:
        """The nodes of rows (the inputs left out)."""
        return self.nodes[self.inputs :]

    @property
    def output(self) -> Tensor:
        """The one tensor the forward returned (refused when it returned several)."""
        if len(self.outputs) != 1:
            raise Refused(f"the forward returns {len(self.outputs)} tensors: see .outputs")
        return self.outputs[0]

    def shape_of(self, t: Tensor | Const) -> Shape:
        if isinstance(t, Const):
            return tuple(sp.Integer(d) if isinstance(d, int) else d for d in t.shape)
        return self.nodes[t.node].shapes[t.k]


def _operand(node: str, ref: Any, inputs: int, rows: int) -> Tensor | Const:
    if isinstance(ref, Written):
        raise Refused(f"{node}: reads a tensor that {ref.what}; derive does not follow the "
                      "data flow through such writes")  # fmt: skip
    if isinstance(ref, Const):
        return ref
    if ref.row < 0:
        j = -1 - ref.row
        if j >= inputs:  # pragma: no cover - the tracer numbers inputs itself
            raise Refused(f"{node}: reads an input the forward was not given")
        return Tensor(j, ref.k)
    if ref.row >= rows:  # pragma: no cover - rows only read earlier rows
        raise Refused(f"{node}: reads a later row")
    return Tensor(inputs + ref.row, ref.k)


def _graph(inputs: Sequence[Shape], layers: Sequence[Any], sources: Sequence[Any],
           assumptions: tuple, case: int, views: Any) -> Graph:  # fmt: skip
    nodes = [Node(j, "(input)" if len(inputs) == 1 else f"(input {j})", "input", (tuple(s),))
             for j, s in enumerate(inputs)]  # fmt: skip
    for node in nodes:
        node.owners = [Tensor(node.index)]
    for r, layer in enumerate(layers):
        label = f"{layer.path} ({layer.kind})" if layer.path else layer.kind
        if layer.call is None:
            raise Refused(f"{label}: the trace has no data flow for this row")
        operands = tuple(_operand(label, o, len(inputs), r) for o in layer.call.operands)
        nodes.append(Node(len(nodes), layer.path, layer.kind, flat_shapes(layer.shape),
                          operands, layer.call, case))  # fmt: skip
    outputs = tuple(_operand("the forward's output", o, len(inputs), len(layers))
                    for o in sources)  # fmt: skip
    if any(isinstance(o, Const) for o in outputs):
        raise Refused("the forward returns a tensor it did not compute (a parameter or a "
                      "constant)")  # fmt: skip
    graph = Graph(nodes, len(inputs), outputs, assumptions, case)  # type: ignore[arg-type]
    _storages(graph, views)
    return graph


def _storages(graph: Graph, views: Any) -> None:
    """Each output's owning storage and layout; refuses reads made stale by in-place writes.

    ``views(graph, node)``: ``False`` for a new tensor, ``"same"`` for a view laid out as its
    first operand, ``"strided"`` for a view that is not contiguous (``permute``, a slice).
    """
    version: dict[Tensor, int] = {}
    made: dict[Tensor, int] = {}
    for node in graph.nodes[: graph.inputs]:
        node.owners, node.contiguous = [Tensor(node.index)], [True]
    for node in graph.nodes[graph.inputs :]:
        flags = []
        for t in node.operands:
            if isinstance(t, Tensor):
                owner = graph.nodes[t.node].owners[t.k]
                if version.get(owner, -1) != made.get(t, -1):
                    raise Refused(f"{node.label()}: reads a tensor whose storage was changed in "
                                  "place after it was made (through another view of it)")
                flags.append(graph.nodes[t.node].contiguous[t.k])
            else:
                flags.append(True)
        node.contiguous_in = tuple(flags)
        first = node.operands[0] if node.operands else None
        view = views(graph, node) if isinstance(first, Tensor) else False
        inplace = node.call.inplace and isinstance(first, Tensor)
        for k in range(len(node.shapes)):
            if inplace or view:
                node.owners.append(graph.nodes[first.node].owners[first.k])  # type: ignore[union-attr]
                node.contiguous.append(view != "strided" and flags[0])
            else:
                node.owners.append(Tensor(node.index, k))
                node.contiguous.append(True)
        if inplace:
            version[node.owners[0]] = node.index
        for k in range(len(node.shapes)):
            made[Tensor(node.index, k)] = version.get(node.owners[k], -1)


def graphs(trace: Any, views: Any) -> list[Graph]:
    """One :class:`Graph` per case of ``trace`` that torch accepts (``views``: see
    :func:`_storages`)."""
    out = []
    for case_index, case in enumerate(trace.cases):
        if case.rejection is not None:
            continue
        out.append(_graph(trace.inputs or (trace.input_shape,), case.layers, case.sources,
                          case.assumptions, case_index, views))  # fmt: skip
    return out
