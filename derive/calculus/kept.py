r"""Memory of a graph: each row's activation, and the distinct storages kept for backward.

A row's output is new storage unless the row is a view (``permute``, ``view``, a slice, an
evaluation-mode dropout returning its input) or writes in place (``nn.ReLU(inplace=True)``,
``y += x``): then it is its first operand's storage (:mod:`derive.calculus.graph`). In
training, a row whose output needs a gradient keeps what its rule says
(:func:`derive.layer_memory.saved`): operands or its output, which are counted once per
storage (the whole storage, as autograd keeps it), and tensors of its own. Parameters,
buffers and other tensors the forward did not compute are never counted.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from derive.calculus import rules
from derive.calculus.analysis import LayerMemory, _needs_grad, _operand_grad
from derive.calculus.graph import Graph, Node, Refused, Tensor
from derive.layer_cost import numel

__all__ = ["memory_rows"]


def _kept_tensor(graph: Graph, node: Node, role: str) -> Tensor | None:
    """The tensor a role names (``None``: a parameter or constant, not counted)."""
    if role == "output":
        return Tensor(node.index)
    k = 0 if role == "input" else int(role[5:])
    if k >= len(node.operands):
        raise Refused(f"{node.label()}: keeps operand {k}, which it does not have")
    t = node.operands[k]
    return t if isinstance(t, Tensor) else None


def _row(graph: Graph, node: Node, grads: dict, kept: set, dtype: str) -> LayerMemory:
    new: list[tuple[str, sp.Expr, str]] = []
    if grads[Tensor(node.index)]:
        row = rules.row_of(graph, node)
        row.grads = [_operand_grad(graph, grads, t) for t in node.operands]
        part = rules.rule_of(node).saves
        if part is None:
            raise Refused(f"{node.label()}: derive does not know what this row keeps for "
                          "backward")  # fmt: skip
        for s in part(row):
            if s.elements is not None:
                key: Any = ("own", node.index, s.role)
                what, n, d = s.role, s.elements, s.dtype or dtype
            else:
                t = _kept_tensor(graph, node, s.role)
                if t is None:
                    continue
                owner = graph.nodes[t.node].owners[t.k]
                key = ("tensor", owner)
                shape = graph.nodes[owner.node].shapes[owner.k]
                what, n, d = f"{s.role} ({graph.nodes[owner.node].path})", numel(shape), dtype
            if key not in kept:
                kept.add(key)
                new.append((what, n, d))
    allocated = graph.nodes[node.index].owners[0] == Tensor(node.index)
    if allocated and node.operands and not isinstance(node.operands[0], Tensor):
        allocated = not rules.view_of(graph, node)  # a view of a parameter (an expand)
    elements = sp.Add(*(numel(s) for s in node.shapes))
    return LayerMemory(node.path, node.kind, node.shape, elements, allocated, tuple(new),
                       node.case)  # fmt: skip


def memory_rows(graph: Graph, dtype: str, input_requires_grad: bool) -> list[LayerMemory]:
    """One :class:`~derive.calculus.analysis.LayerMemory` per row of ``graph``."""
    grads = _needs_grad(graph, input_requires_grad)
    kept: set = set()
    return [_row(graph, node, grads, kept, dtype) for node in graph.rows]
