"""Mutants of the engine's acceptance rules and size formulas, for the mutation tests.

A :class:`Mutant` replaces functions of :mod:`derive.shapes` (where the registry, the size
functions and ``derive verify`` look them up) by broken versions:

- :func:`source_mutant` edits the source of :mod:`derive.shapes` (one exact piece of text,
  e.g. ``side > half`` to ``side > half + 1``) and installs every function of the edited
  module, as a mutation testing tool would;
- :func:`numeric_mutant` wraps a size function so that, on numbers only, it rejects what it
  accepted or accepts what it rejected (a symbolic call - every proof - sees the original);
- :func:`generic_mutants` lists, for every comparison in the rules and size helpers of
  :mod:`derive.shapes`, its right side moved one step either way (on integers this also
  covers swapping ``<`` and ``<=``, ``>`` and ``>=``).

``mutant.apply(monkeypatch)`` installs it for one test.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy as sp

import derive.shapes
from derive.errors import ShapeError
from derive.ops import AVG_POOL, CONV, CONV_TRANSPOSE, MAX_POOL, Op
from derive.params import padding_pair

__all__ = ["Mutant", "source_mutant", "numeric_mutant", "generic_mutants", "NAMED"]

POOLS = (MAX_POOL, AVG_POOL)

#: the functions of derive.shapes a source mutation may touch, and the operations each serves
FUNCTIONS: dict[str, tuple[Op, ...]] = {
    "_positive": (CONV, MAX_POOL, AVG_POOL, CONV_TRANSPOSE),
    "_nonnegative": (CONV, MAX_POOL, AVG_POOL, CONV_TRANSPOSE),
    "same_stride_guard": (CONV,),
    "conv_rule": (CONV,),
    "pool_size_formula": POOLS,
    "pool_rule": POOLS,
    "conv_transpose_rule": (CONV_TRANSPOSE,),
}


@dataclass(frozen=True)
class Mutant:
    """A broken engine: ``install(setattr)`` puts it in place; ``ops``: where the sweep must
    see it."""

    name: str
    install: Callable[[Callable[[Any, str, Any], None]], None]
    ops: tuple[Op, ...]

    def apply(self, monkeypatch) -> None:
        self.install(monkeypatch.setattr)

    def __str__(self) -> str:
        return self.name


def _mutated_module(source: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "derive.shapes"}
    exec(compile(source, derive.shapes.__file__, "exec"), namespace)  # our own source, edited
    return namespace


def _install_source(source: str) -> Callable[[Callable[[Any, str, Any], None]], None]:
    def install(set_attribute):
        namespace = _mutated_module(source)
        for name, value in vars(derive.shapes).items():
            if inspect.isfunction(value) and value.__module__ == "derive.shapes":
                set_attribute(derive.shapes, name, namespace[name])

    return install


def source_mutant(name: str, old: str, new: str, ops: tuple[Op, ...]) -> Mutant:
    """derive.shapes with the one occurrence of ``old`` replaced by ``new``."""
    source = inspect.getsource(derive.shapes)
    if source.count(old) != 1:
        raise ValueError(f"{old!r} occurs {source.count(old)} times in derive.shapes")
    return Mutant(name, _install_source(source.replace(old, new)), ops)


def numeric_mutant(
    name: str, attribute: str, ops: tuple[Op, ...], when: Callable[[dict], bool], action: str
) -> Mutant:
    """``attribute`` (a size function) rejecting (``action="reject"``) where it accepted, or
    accepting with size 1 (``"accept"``) where it rejected, at numeric arguments meeting
    ``when`` only."""

    def install(set_attribute):
        original = getattr(derive.shapes, attribute)
        signature = inspect.signature(original)

        def mutated(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            hit = _numeric(bound.arguments) and when(dict(bound.arguments))
            try:
                out = original(*args, **kwargs)
            except ShapeError:
                if hit and action == "accept":
                    return sp.Integer(1)
                raise
            if hit and action == "reject":
                raise ShapeError(f"rejected by the mutant {name}")
            return out

        set_attribute(derive.shapes, attribute, mutated)

    return Mutant(name, install, ops)


def _numeric(values: dict[str, Any]) -> bool:
    def number(v: Any) -> bool:
        if isinstance(v, (tuple, list)):
            return all(number(x) for x in v)
        if isinstance(v, sp.Basic):
            return bool(v.is_Integer)
        return v is None or isinstance(v, (int, str, bool))

    return all(number(v) for v in values.values())


def _pads(values: dict[str, Any]) -> tuple[int, int] | None:
    p = padding_pair(values["padding"])
    return None if isinstance(p, str) else (int(p[0]), int(p[1]))


def _exact_fit(values: dict[str, Any]) -> bool:
    """conv1d with kernel 3, stride 4, dilation 3 whose padded input is exactly the span."""
    pads = _pads(values)
    k, s, d = (int(values[x]) for x in ("kernel_size", "stride", "dilation"))
    return (k, s, d) == (3, 4, 3) and pads is not None and int(values["size"]) + sum(pads) == 7


def _half_plus_one(values: dict[str, Any]) -> bool:
    pads = _pads(values)
    return pads is not None and max(pads) == int(values["kernel_size"]) // 2 + 1


def _op_is_stride(values: dict[str, Any]) -> bool:
    return int(values["output_padding"]) == int(values["stride"]) >= int(values["dilation"])


def _same_stride_2(values: dict[str, Any]) -> bool:
    return values["padding"] == "same" and int(values["stride"]) == 2


_EXACT_FIT = (
    "sp.Or(padded < span, sp.And(sp.Eq(padded, span), sp.Eq(k, 3), sp.Eq(s, 4), sp.Eq(d, 3))),"
)

#: the mutants the issue names, each as a source edit and as a numeric-only wrapper
NAMED: tuple[Mutant, ...] = (
    source_mutant("exact fit k=3 s=4 d=3 rejected (source)", "padded < span,", _EXACT_FIT,
                  (CONV,)),
    numeric_mutant("exact fit k=3 s=4 d=3 rejected (numbers)", "conv_output_size", (CONV,),
                   _exact_fit, "reject"),
    source_mutant("pool padding floor(k/2)+1 accepted (source)", "side > half,",
                  "side > half + 1,", POOLS),
    numeric_mutant("pool padding floor(k/2)+1 accepted (numbers)", "pool_output_size", POOLS,
                   _half_plus_one, "accept"),
    source_mutant("output_padding = stride accepted (source)", "sp.And(op >= s, op >= d)",
                  "sp.And(op > s, op >= d)", (CONV_TRANSPOSE,)),
    numeric_mutant("output_padding = stride accepted (numbers)", "conv_transpose_output_size",
                   (CONV_TRANSPOSE,), _op_is_stride, "accept"),
    source_mutant("'same' accepted with stride 2 (source)", "(sp.Ne(s, 1) for s in strides)",
                  "(sp.And(sp.Ne(s, 1), sp.Ne(s, 2)) for s in strides)", (CONV,)),
    numeric_mutant("'same' accepted with stride 2 (numbers)", "conv_output_size", (CONV,),
                   _same_stride_2, "accept"),
)  # fmt: skip


_COMPARISONS = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)


class _Edit(ast.NodeTransformer):
    """Applies one change to the ``index``-th numeric comparison of the chosen functions."""

    def __init__(self, index: int, change: str) -> None:
        self.index, self.change, self.seen, self.where = index, change, -1, ""
        self.function = ""

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        if node.name not in FUNCTIONS:
            return node
        self.function = node.name
        return self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        if len(node.ops) != 1 or type(node.ops[0]) not in _COMPARISONS:
            return self.generic_visit(node)
        self.seen += 1
        if self.seen != self.index:
            return node
        self.where = f"{self.function}: {ast.unparse(node)}"
        step = ast.Constant(1 if self.change == "+1" else -1)
        node.comparators = [ast.BinOp(node.comparators[0], ast.Add(), step)]
        return node


def generic_mutants() -> list[Mutant]:
    """Every numeric comparison in the rules and size helpers of derive.shapes, its right side
    moved by +1 and by -1."""
    source = inspect.getsource(derive.shapes)
    out = []
    index = 0
    while True:
        edits = []
        for change in ("+1", "-1"):
            edit = _Edit(index, change)
            tree = ast.fix_missing_locations(edit.visit(ast.parse(source)))
            if not edit.where:
                return out
            edits.append((change, edit.where, ast.unparse(tree)))
        for change, where, mutated in edits:
            ops = FUNCTIONS[where.split(":")[0]]
            out.append(Mutant(f"{where} [{change}]", _install_source(mutated), ops))
        index += 1
