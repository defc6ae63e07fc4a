r"""Receptive fields composed over a graph: each tensor's :class:`~derive.calculus.analysis.State`.

The network's first input carries input axis $a$ on its axis $a + 2$, each entry seeing
itself (:meth:`derive.receptive.Field.identity`). A row's rule says, per output axis, which
operand axes it is made from and through which window (:mod:`derive.calculus.axes`); the
output's field along input axis $a$ is the union of what reaches it:

- from an operand axis carrying $a$: the operand's field seen through the window (entry by
  entry; index 0 for a broadcast axis of size 1);
- from an operand axis carrying $a$ that the row drops (a reduction, a merge, an index):
  the field through the drop's window, the same for every output entry;
- from an operand that does not carry $a$ at all: its field as it is.

An input axis reaching two output axes, a concatenation along an axis carrying one, or an
operand axis the rule forgot are refused: a wrong layout would give wrong fields.
Other inputs of a forward taking several tensors are constants here (fields are those of
the first input).
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from derive.calculus import rules
from derive.calculus.analysis import State
from derive.calculus.axes import EQUAL, JOINED, Out
from derive.calculus.graph import Graph, Node, Refused, Tensor
from derive.receptive import Field

__all__ = ["states", "input_state"]


def input_state(shape: tuple) -> State:
    """The network input's state: axis ``a + 2`` carries input axis ``a``."""
    spatial = max(len(shape) - 2, 0)
    layout = tuple(None if t < 2 else t - 2 for t in range(len(shape)))
    return State(layout, tuple(Field.identity(n) for n in shape[2:2 + spatial]))


def states(graph: Graph) -> dict[Tensor, State]:
    """Every tensor's state, the rows in the order the forward ran them."""
    out: dict[Tensor, State] = {}
    first = graph.nodes[0].shape
    count = max(len(first) - 2, 0)
    out[Tensor(0)] = input_state(first)
    for j in range(1, graph.inputs):
        out[Tensor(j)] = State((None,) * len(graph.nodes[j].shape), None)
    for node in graph.rows:
        flows = rules.flow(graph, node)
        if len(flows) != len(node.shapes):
            raise Refused(f"{node.label()}: the rule describes {len(flows)} outputs, the row "
                          f"has {len(node.shapes)}")  # fmt: skip
        for k, flow in enumerate(flows):
            out[Tensor(node.index, k)] = _through(graph, node, flow, k, out, count)
    return out


def _same(a: sp.Expr, b: sp.Expr) -> bool:
    return a == b or sp.expand(a - b) == 0


def _carried(graph: Graph, node: Node, flow: Out, k: int, known: dict, count: int
             ) -> tuple[list[list[Field]], dict[int, int], dict[int, set[int]]]:  # fmt: skip
    """What reaches each input axis along the output's axes (fields, and the output axis
    carrying it), and which axes of which operands were read."""
    parts: list[list[Field]] = [[] for _ in range(count)]
    where: dict[int, int] = {}
    used: dict[int, set[int]] = {}
    y = node.shapes[k]
    for u, sources in enumerate(flow.axes):
        for ax in sources:
            state, shape = _operand(graph, node, ax.operand, known)
            if state is None:
                continue
            t = ax.axis % len(shape) if shape else 0
            used.setdefault(ax.operand, set()).add(t)
            a = state.layout[t] if state.layout else None
            if a is None or state.fields is None:
                continue
            if where.get(a, u) != u:
                raise Refused(f"{node.label()}: one input axis reaches two output axes")
            where[a] = u
            parts[a].append(_seen(node, state.fields[a], ax.window, shape[t], y[u]))
    return parts, where, used


def _through(graph: Graph, node: Node, flow: Out, k: int, known: dict, count: int) -> State:
    parts, where, used = _carried(graph, node, flow, k, known, count)
    for d in flow.drops:
        state, shape = _operand(graph, node, d.operand, known)
        if state is None:
            continue
        t = d.axis % len(shape)
        used.setdefault(d.operand, set()).add(t)
        a = state.layout[t]
        if a is not None and state.fields is not None:
            parts[a].append(state.fields[a].through(d.window))
    for o, axes in used.items():
        state, _ = _operand(graph, node, o, known)
        if state is None or state.fields is None:
            continue
        for t, a in enumerate(state.layout):
            if a is not None and t not in axes:
                raise Refused(f"{node.label()}: the rule does not say where operand {o}'s "
                              f"axis {t} goes")  # fmt: skip
        for a in range(count):
            if a not in state.layout:
                parts[a].append(state.fields[a])
    layout = tuple(next((a for a, u2 in where.items() if u2 == u), None)
                   for u in range(len(node.shapes[k])))  # fmt: skip
    if not any(parts):
        return State(layout, None)
    if not all(parts):  # pragma: no cover - every read operand reaches every axis
        raise Refused(f"{node.label()}: some input axes reach the output, others not")
    return State(layout, tuple(Field.union_all(p) for p in parts))


def _operand(graph: Graph, node: Node, o: int, known: dict) -> tuple[State | None, tuple]:
    """The state and shape of operand ``o`` (``None`` for a constant)."""
    t = node.operands[o]
    if not isinstance(t, Tensor):
        return None, tuple(t.shape)
    return known[t], graph.nodes[t.node].shapes[t.k]


def _seen(node: Node, f: Field, window: Any, n_in: sp.Expr, n_out: sp.Expr) -> Field:
    """``f`` seen through one axis of a row: a window, entry by entry, or broadcast."""
    if window == JOINED:
        raise Refused(f"{node.label()}: concatenating along a spatial axis; derive has "
                      "receptive fields for concatenations along other axes only")  # fmt: skip
    if window == EQUAL or window is None and _same(n_in, n_out):
        return f
    if window is None:
        # torch accepted: the sizes are equal, or this one is 1 and broadcast
        return f.at_index(0) if n_in == 1 else f.at_index(0).choose(sp.Eq(n_in, 1), f)
    return f.through(window, n_out if window.kind == "scatter" else None)
