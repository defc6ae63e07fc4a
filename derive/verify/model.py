r"""The engine's answer over a grid, compiled from its own acceptance rule and size formula.

For each *mode* of a grid (a combination of its discrete arguments: a padding string,
``ceil_mode``, ``stride=None``) the operation's rule is built once with integer symbols,
``op.rule(size=n, kernel_size=k, ...)``, and compiled (:mod:`derive.verify.fast`):

- its **rejection** $g_1 \lor \dots \lor g_m$ (:func:`derive.guards.rejection`), compiled
  exactly as the size formula is: every relation of the guards becomes an integer *margin*
  $\delta = \text{lhs} - \text{rhs}$ over the grid, and the rejection a Boolean function of
  those relations;
- its **size**, taken from the size function itself (``op.size``) so that a patched size
  function is what is compiled; a mode whose size the engine refuses to give for symbols (a
  ``settle`` guard such as ``'same'`` with a symbolic stride) is sized at the one value that
  guard accepts;
- every guard on its own, with its message as a pattern, to tell which arguments a rejection
  names.

A configuration is on a **boundary** when one relation of the rule is at its flip (the last
value on either side) and flipping it alone would change acceptance, or when the size
formula's own case split (``ceil_mode``'s last window) is at its flip for an accepted
configuration. The sweep calls the engine numerically on every boundary configuration.

>>> import numpy as np
>>> from derive.verify.grids import build_grids
>>> grid = build_grids()[0]
>>> few = grid.subset(np.flatnonzero((grid.columns["s"] == 1) & (grid.columns["d"] == 1)
...                                  & (grid.columns["mode"] == 3) & (grid.columns["n"] == 3)))
>>> [c["kernel_size"] for c in few.configs], compile_model(few).sizes.tolist()
([1, 2, 3, 4, 5, 6, 7], [3, 2, 1, -1, -1, -1, -1])
>>> compile_model(few).boundary.tolist()  # the exact fit (k = 3) and one short (k = 4)
[False, False, True, True, False, False, False]
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
from sympy.core.relational import Relational

from derive.errors import ShapeError
from derive.guards import Guard, decided, rejection
from derive.ops import Op
from derive.verify.fast import compile_formula
from derive.verify.grids import DISCRETE, Grid, arguments

__all__ = [
    "Model",
    "compile_model",
    "engine_call",
    "GuardColumn",
    "REJECT",
    "ERROR",
    "REACH",
]

REJECT = -1  # the engine raised ShapeError
ERROR = -2  # the engine raised something else, or gave no integer

#: a configuration is "on or next to" a relation's boundary when its margin is within this
#: many unit steps of the flip: 0 gives the last value on each side of it
REACH = 0

_SYMBOLS = {
    name: sp.Symbol(name, integer=True) for name in ("n", "k", "s", "d", "lo", "hi", "p", "op")
}


@dataclass(frozen=True)
class GuardColumn:
    """One guard over a grid: its argument, its message as a pattern, where it holds."""

    argument: str
    pattern: re.Pattern[str]
    holds: np.ndarray


@dataclass
class Model:
    """The engine's compiled answer for every configuration of one grid."""

    sizes: np.ndarray  # output length, REJECT where the rule rejects
    guards: list[GuardColumn] = field(default_factory=list)
    boundary: np.ndarray | None = None  # on or next to a guard's boundary
    numeric: np.ndarray | None = None  # answered by numeric engine calls (no compiled rule)
    notes: list[str] = field(default_factory=list)

    def arguments(self, idx: int) -> set[str]:
        """The arguments of the guards that hold at configuration ``idx``."""
        return {g.argument for g in self.guards if g.holds[idx]}

    def named(self, idx: int, message: str) -> set[str] | None:
        """The arguments of the guards that hold at ``idx`` and whose message ``message`` is
        (None when no such guard: the message is no guard's)."""
        found = {g.argument for g in self.guards if g.holds[idx] and g.pattern.fullmatch(message)}
        return found or None


def _pattern(template: str) -> re.Pattern[str]:
    """A guard's message template as a pattern: its text, any value in each field."""
    parts = [re.escape(text) + ("(.+?)" if name is not None else "")
             for text, name, _, _ in string.Formatter().parse(template)]  # fmt: skip
    return re.compile("".join(parts), re.DOTALL)


def _modes(grid: Grid) -> list[tuple[dict[str, int], np.ndarray]]:
    """Each combination of the grid's discrete columns, with the configurations it selects."""
    names = [name for name in DISCRETE if name in grid.columns]
    if not names:
        return [({}, np.ones(len(grid), dtype=bool))]
    table = np.stack([grid.columns[name] for name in names], axis=1)
    out = []
    for row in np.unique(table, axis=0).tolist():
        out.append((dict(zip(names, row)), np.all(table == np.array(row), axis=1)))
    return out


def _flip(rel: Relational) -> int:
    r"""The margin $\delta$ just before a relation's truth flips as $\delta$ grows: ``Lt``
    holds up to $\delta = -1$, ``Ge`` from $\delta = 0$ (flip between -1 and 0); ``Le`` and
    ``Gt`` flip between 0 and 1; ``Eq``/``Ne`` flip at 0 from either side."""
    return 0 if isinstance(rel, (sp.LessThan, sp.StrictGreaterThan)) else -1


def _near(rel: Relational, margin: np.ndarray) -> np.ndarray:
    """The configurations within :data:`REACH` steps of the relation's flip."""
    if isinstance(rel, (sp.Equality, sp.Unequality)):
        return np.abs(margin) <= REACH + 1
    flip = _flip(rel)
    return (margin >= flip - REACH) & (margin <= flip + 1 + REACH)


_TRUTH = {
    sp.StrictLessThan: np.less,
    sp.LessThan: np.less_equal,
    sp.StrictGreaterThan: np.greater,
    sp.GreaterThan: np.greater_equal,
    sp.Equality: np.equal,
    sp.Unequality: np.not_equal,
}


@functools.lru_cache(maxsize=1024)
def _boolean(body: sp.Basic, flags: tuple[sp.Symbol, ...]) -> Callable[..., object]:
    return sp.lambdify(flags, body, "numpy", docstring_limit=0)


class _Skeleton:
    """A condition as a Boolean function of its relations, whose truth arrays come from their
    compiled margins: ``holds(cond)`` evaluates any condition built from those relations."""

    def __init__(self, guards: tuple[Guard, ...], syms: list[sp.Symbol], values: list) -> None:
        rels = sorted(set().union(*(g.rejects.atoms(Relational) for g in guards)), key=str)
        self.rels = rels
        self.flags = sp.symbols(f"b0:{len(rels)}")
        self.margins = [compile_formula(r.lhs - r.rhs, syms)(*values) for r in rels]
        self.truth = [_TRUTH[type(r)](m, 0) for r, m in zip(rels, self.margins)]
        self.count = len(values[0]) if values else 0

    def function(self, cond: sp.Basic) -> Callable[..., np.ndarray]:
        body = cond.xreplace(dict(zip(self.rels, self.flags)))
        if body in (sp.true, sp.false):
            constant = np.full(self.count, body is sp.true)
            return lambda *truth: constant
        run = _boolean(body, self.flags)
        return lambda *truth: np.asarray(run(*truth), dtype=bool)

    def holds(self, cond: sp.Basic) -> np.ndarray:
        return self.function(cond)(*self.truth)

    def pivotal(self, fn: Callable[..., np.ndarray], i: int) -> np.ndarray:
        """Where flipping relation ``i`` alone changes ``fn``."""
        yes, no = list(self.truth), list(self.truth)
        yes[i], no[i] = np.ones(self.count, dtype=bool), np.zeros(self.count, dtype=bool)
        return fn(*yes) != fn(*no)


def _size_arguments(op: Op, symbolic: dict[str, Any], rule_guards: tuple[Guard, ...]):
    """The size function's arguments: a settle guard undecided for symbols is settled at the
    one value it accepts (``Ne(s, 1)`` -> ``s = 1``)."""
    values: dict[sp.Symbol, int] = {}
    for guard in rule_guards:
        if guard.settle and decided(guard.rejects) is None:
            rel = guard.rejects
            if not (isinstance(rel, sp.Unequality) and rel.lhs.is_Symbol and rel.rhs.is_Integer):
                raise ValueError(f"cannot settle {rel} to size the formula")
            values[rel.lhs] = int(rel.rhs)
    return {
        name: (v.xreplace(values) if isinstance(v, sp.Basic) else v) for name, v in symbolic.items()
    }


def _symbolic(grid: Grid, fixed: dict[str, int], mask: np.ndarray):
    """The mode's columns (as symbols and as values) and its arguments in symbols."""
    used = [name for name in grid.columns if name in _SYMBOLS]
    symbolic = arguments(grid.op, {**{name: _SYMBOLS[name] for name in used}, **fixed})
    return symbolic, [_SYMBOLS[name] for name in used], [grid.columns[n][mask] for n in used]


def _compile_mode(grid: Grid, fixed: dict[str, int], mask: np.ndarray, model: Model) -> None:
    symbolic, syms, values = _symbolic(grid, fixed, mask)
    rule = grid.op.rule(**symbolic)
    skeleton = _Skeleton(rule.guards, syms, values)
    rejects = skeleton.function(rejection(rule.guards))
    rejected = rejects(*skeleton.truth)
    sizes = np.full(len(rejected), REJECT, dtype=np.int64)
    if not rejected.all():  # a size formula is needed (and must exist) where one is accepted
        formula = grid.op.size(**_size_arguments(grid.op, symbolic, rule.guards))
        sizes = np.where(rejected, REJECT, compile_formula(formula, syms)(*values))
    model.sizes[mask] = sizes
    for guard in rule.guards:
        holds = np.zeros(len(grid), dtype=bool)
        holds[mask] = skeleton.holds(guard.rejects)
        model.guards.append(GuardColumn(guard.argument, _pattern(guard.template), holds))
    near = np.zeros(int(mask.sum()), dtype=bool)
    for i, rel in enumerate(skeleton.rels):
        if skeleton.truth[i].all() or not skeleton.truth[i].any():
            continue  # the grid does not cross this relation: its boundary lies outside
        near |= _near(rel, skeleton.margins[i]) & skeleton.pivotal(rejects, i)
    # the case split of the size formula itself (ceil_mode's last window): its flip, where
    # the configuration is accepted
    for rel in sp.sympify(rule.size).atoms(Relational) if rule.size is not None else ():
        margin = compile_formula(rel.lhs - rel.rhs, syms)(*values)
        truth = _TRUTH[type(rel)](margin, 0)
        if truth.any() and not truth.all():
            near |= _near(rel, margin) & ~rejected
    model.boundary[mask] = near  # type: ignore[index]


def _numeric_mode(grid: Grid, mask: np.ndarray, model: Model, exc: Exception) -> None:
    """A mode the engine's symbolic rule cannot give: every configuration asked numerically."""
    indices = np.flatnonzero(mask)
    mode = {n: int(grid.columns[n][indices[0]]) for n in DISCRETE if n in grid.columns}
    model.notes.append(
        f"{grid.label}: no compiled formula ({type(exc).__name__}: {exc}) for mode {mode}; "
        f"its {len(indices):,} configurations were run through the engine numerically"
    )
    model.sizes[indices] = [engine_call(grid.op, grid.config(i))[0] for i in indices.tolist()]
    model.numeric[indices] = True


def compile_model(grid: Grid) -> Model:
    """The engine's compiled answer over ``grid``; a mode whose rule or formula cannot be
    compiled (a broken engine) is answered by the engine numerically, with a note."""
    size = len(grid)
    model = Model(np.zeros(size, dtype=np.int64), boundary=np.zeros(size, dtype=bool))
    model.numeric = np.zeros(size, dtype=bool)
    for fixed, mask in _modes(grid):
        try:
            _compile_mode(grid, fixed, mask, model)
        except Exception as exc:  # a broken engine may break its symbolic form in any way
            _numeric_mode(grid, mask, model, exc)
    return model


def engine_call(op: Op, config: dict[str, Any]) -> tuple[int, str | None]:
    """The engine's size function called numerically: ``(length, None)``, ``(REJECT,
    message)`` on a ShapeError, ``(ERROR, what)`` on anything else."""
    try:
        value = op.size(**config)
    except ShapeError as exc:
        return REJECT, str(exc)
    except Exception as exc:  # a broken engine: anything but a size or a ShapeError
        return ERROR, f"{type(exc).__name__}: {exc}"
    try:
        return int(value), None
    except (TypeError, ValueError):
        return ERROR, f"not a size: {value}"
