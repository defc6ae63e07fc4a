"""The calculus's rule of each row: how it moves axes, what it costs, what it keeps.

A :class:`Rule` has ``flow`` (:mod:`derive.calculus.axes`: receptive fields and exact
dependency sets), ``cost`` (a :class:`~derive.layer_cost.LayerCost`), ``saves`` (what it
keeps for backward, :func:`derive.layer_memory.saved`) and ``view`` (whether its output is
its first operand's storage). Rows of torch layers find theirs along the layer class's MRO
(:mod:`derive.calculus.layers`); rows of torch functions and tensor methods by the
function object (:mod:`derive.calculus.functions`). A row without a rule, or whose rule
lacks the part asked for, is refused by name (:class:`~derive.calculus.graph.Refused`).

This module imports torch (through the rule tables).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from derive.calculus.graph import Graph, Node, Refused

__all__ = ["Rule", "rule_of", "row_of", "view_of", "flow", "cost", "saves"]


@dataclass(frozen=True)
class Rule:
    """How one kind of row maps axes, costs and keeps (``None``: derive has no rule for it)."""

    flow: Callable[[Any], tuple] | None
    cost: Callable[[Any], Any] | None
    saves: Callable[[Any], tuple] | None
    #: ``False`` (a new tensor), ``"same"`` (a view laid out like its first operand),
    #: ``"strided"`` (a view that is not contiguous), or a function of the row giving one
    view: Callable[[Any], Any] | bool | str = False


def rule_of(node: Node) -> Rule:
    """The rule of ``node`` (refused when derive has none)."""
    from derive.calculus.functions import function_rule
    from derive.calculus.layers import module_rule

    module = node.module
    rule = module_rule(module) if module is not None else function_rule(node.target)
    if rule is None:
        what = type(module).__name__ if module is not None else node.kind
        raise Refused(f"{node.label()}: derive has no receptive-field, cost and memory rule "
                      f"for {what}")  # fmt: skip
    return rule


def row_of(graph: Graph, node: Node) -> Any:
    """The :class:`~derive.calculus.axes.Row` of ``node`` in ``graph``."""
    from derive.calculus.axes import Row

    return Row(node, [graph.shape_of(t) for t in node.operands])


def view_of(graph: Graph, node: Node) -> Any:
    """:attr:`Rule.view` of the row (``False`` for a row without a rule: refused later)."""
    try:
        view = rule_of(node).view
    except Refused:
        return False
    return view(row_of(graph, node)) if callable(view) else view


def _part(node: Node, name: str, what: str) -> Callable[[Any], Any]:
    part = getattr(rule_of(node), name)
    if part is None:
        raise Refused(f"{node.label()}: derive has no {what} rule for this row")
    return part


def flow(graph: Graph, node: Node) -> tuple:
    """The row's :class:`~derive.calculus.axes.Out` per output tensor."""
    return _part(node, "flow", "receptive-field")(row_of(graph, node))


def cost(graph: Graph, node: Node) -> Any:
    """The row's :class:`~derive.layer_cost.LayerCost`."""
    return _part(node, "cost", "cost")(row_of(graph, node))


def saves(graph: Graph, node: Node) -> tuple:
    """What the row keeps for backward (roles ``input``/``inputK``/``output``, or its own)."""
    return _part(node, "saves", "memory")(row_of(graph, node))
