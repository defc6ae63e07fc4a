r"""Two-sided rejection claims: what torch refuses, the engine refuses, and one step back it
accepts.

A :class:`Boundary` claim names an operation of the registry, the argument the rejection
names, and symbolic *families* of configurations (keyword arguments of the operation's
rule, in symbols with sign assumptions):

- each **rejected** family lies just past the boundary: the first guard of the engine's rule
  that holds for the whole family is a guard on the named argument, every guard before it is
  shown false, and the size function raises that guard's message;
- each **accepted** family lies on the boundary: every guard of the rule is shown false and
  the size function returns a size (the stated one, where given);
- each **undecided** family leaves a ``settle`` guard undecided: the size function refuses
  with a ShapeError saying what it cannot decide, never a guess.

A guard is *shown* true or false by SymPy's own evaluation (:func:`derive.guards.decided`) or,
after the floor lemmas, on the signs of the family's symbols
(:func:`derive.verify.lemmas.decide_on_region`); a guard that is exactly the negation of a
condition the claim assumes (``n >= 1`` for a size written as a difference) is false by that
assumption. A numeric spot check then runs sample members through the engine.

>>> from derive.ops import CONV
>>> n, k = sp.symbols("n k", integer=True, positive=True)
>>> t = sp.Symbol("t", integer=True, nonnegative=True)
>>> same = lambda stride: Family(lambda: {"size": n, "kernel_size": k, "stride": stride,
...                                       "padding": "same", "dilation": 1})
>>> run_boundary(Boundary(CONV, "stride", (same(2 + t),), (same(1),))).detail
'families: 1 rejected (naming stride), 1 accepted'
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp
from sympy.core.relational import Relational

from derive.errors import ShapeError
from derive.guards import Guard, decided, first_rejection
from derive.ops import Op
from derive.verify.lemmas import apply_lemmas, decide_on_region, sample_points
from derive.verify.proofs import FAILED, PROVED, Outcome

__all__ = ["Family", "Boundary", "run_boundary"]


@dataclass(frozen=True)
class Family:
    """A symbolic family: ``args()`` gives the operation's keyword arguments; ``assumed`` are
    conditions stated for the family; ``size`` (accepted families) the size it must have."""

    args: Callable[[], dict[str, Any]]
    assumed: tuple[sp.Basic, ...] = ()
    size: Callable[[], sp.Expr] | None = None
    #: the operation, when not the claim's own
    op: Op | None = None


@dataclass(frozen=True)
class Boundary:
    """Rejected and accepted families on either side of one boundary of ``op``'s rule."""

    op: Op
    argument: str
    rejected: tuple[Family, ...]
    accepted: tuple[Family, ...]
    undecided: tuple[Family, ...] = ()


def _shown(cond: sp.Basic, assumed: Sequence[sp.Basic]) -> bool | None:
    """``True``/``False`` when the condition is shown for the whole family, else None."""
    verdict = decided(cond)
    if verdict is not None:
        return verdict
    if isinstance(cond, (sp.And, sp.Or)):
        parts = [_shown(c, assumed) for c in cond.args]
        if isinstance(cond, sp.And):
            return False if False in parts else (True if all(parts) else None)
        return True if True in parts else (False if all(p is False for p in parts) else None)
    if not isinstance(cond, Relational):
        return None
    if any(sp.Not(a) == cond for a in assumed):
        return False
    reduced = cond.func(apply_lemmas(cond.lhs), apply_lemmas(cond.rhs))
    return decided(reduced) if decided(reduced) is not None else decide_on_region(reduced)


def _check_rejected(op: Op, family: Family, argument: str) -> str | None:
    args = family.args()
    guards = op.rule(**args).guards
    for guard in guards:
        verdict = _shown(guard.rejects, family.assumed)
        if verdict is True:
            if guard.argument != argument:
                return f"the first guard that holds names {guard.argument}, not {argument}"
            return _raises(op, args, guard)
        if verdict is None:
            return f"guard on {guard.argument} ({guard.rejects}) is not shown false before it"
    return f"no guard holds for {args}: the family is accepted"


def _raises(op: Op, args: dict[str, Any], guard: Guard) -> str | None:
    try:
        value = op.size(**args)
    except ShapeError as exc:
        if str(exc) != guard.message():
            return f"raised {exc}, not the guard's message {guard.message()}"
        return None
    return f"the size function accepted the family, giving {value}"


def _check_accepted(op: Op, family: Family) -> str | None:
    args = family.args()
    for guard in op.rule(**args).guards:
        if _shown(guard.rejects, family.assumed) is not False:
            return f"guard on {guard.argument} ({guard.rejects}) is not shown false"
    try:
        value = op.size(**args)
    except ShapeError as exc:
        return f"the size function raised: {exc}"
    if family.size is not None and sp.expand(apply_lemmas(value - family.size())) != 0:
        return f"size {value}, not {family.size()}"
    return None


def _check_undecided(op: Op, family: Family, argument: str) -> str | None:
    try:
        value = op.size(**family.args())
    except ShapeError as exc:
        if str(exc).startswith(f"cannot decide whether {argument}"):
            return None
        return f"raised {exc}, not a refusal to decide {argument}"
    return f"the size function decided, giving {value}"


def _spot_check(op: Op, family: Family, argument: str | None) -> str | None:
    """Sample members numerically: rejected naming ``argument``, or accepted (None)."""
    args = family.args()
    free = set().union(*(sp.sympify(v).free_symbols for v in _values(args)))
    for point in sample_points(sorted(free, key=str), count=8):
        if not all(sp.sympify(a).xreplace(point) is sp.true for a in family.assumed):
            continue
        numeric = {k: _at(v, point) for k, v in args.items()}
        if any(isinstance(v, sp.Basic) and not v.is_Integer for v in _values(numeric)):
            continue
        guard = first_rejection(op.rule(**numeric).guards)
        named = None if guard is None else guard.argument
        if named != argument:
            return f"at {numeric} the engine {'accepts' if named is None else 'names ' + named}"
    return None


def _values(args: dict[str, Any]) -> list[Any]:
    out = []
    for v in args.values():
        out.extend(v if isinstance(v, tuple) else [v])
    return [v for v in out if isinstance(v, (sp.Basic, int))]


def _at(value: Any, point: dict) -> Any:
    if isinstance(value, tuple):
        return tuple(_at(v, point) for v in value)
    return sp.sympify(value).xreplace(point) if isinstance(value, sp.Basic) else value


def _problems(spec: Boundary) -> list[str]:
    problems = []

    def op(f: Family) -> Op:
        return f.op or spec.op

    for kind, families, check in (
        ("rejected", spec.rejected, lambda f: _check_rejected(op(f), f, spec.argument)
         or _spot_check(op(f), f, spec.argument)),
        ("accepted", spec.accepted, lambda f: _check_accepted(op(f), f)
         or _spot_check(op(f), f, None)),
        ("undecided", spec.undecided, lambda f: _check_undecided(op(f), f, spec.argument)),
    ):  # fmt: skip
        for index, family in enumerate(families):
            problem = check(family)
            if problem:
                problems.append(f"{kind} family {index + 1}: {problem}")
    return problems


def run_boundary(spec: Boundary) -> Outcome:
    """Both sides of the boundary (and any undecided family), each for its whole family."""
    start = time.perf_counter()
    try:
        problems = _problems(spec)
    except ShapeError as exc:
        problems = [f"the engine raised: {exc}"]
    seconds = time.perf_counter() - start
    if problems:
        return Outcome(FAILED, "; ".join(problems), seconds)
    counts = [f"{len(spec.rejected)} rejected (naming {spec.argument})",
              f"{len(spec.accepted)} accepted"]  # fmt: skip
    if spec.undecided:
        counts.append(f"{len(spec.undecided)} refused as undecidable")
    return Outcome(PROVED, "families: " + ", ".join(counts), seconds)
