r"""Proving identities with SymPy and our floor/ceiling lemmas.

An :class:`Identity` compares the engine's expression (built by a thunk at call time, so a
monkeypatched engine is what gets proved) with a reference formula, for every value of its
symbols that meets the stated conditions (``where``). Its proof runs over the *cases* of a
vetted split (:mod:`derive.verify.splits`), exhaustive by construction; free-form case
sets are refused. A case in which a stated condition is false is empty and skipped. In each
other case the difference must reduce to ``0``:

1. *directly*: SymPy's ``expand`` (floors expanded inside, sums combined term by term);
2. else *with lemmas*: :func:`derive.verify.lemmas.apply_lemmas` on the case's region.

The outcome records which was needed and which lemmas actually applied, so the report can
tell identities that reduce directly from those that need a case split or a lemma. A pair
whose reference side is ``True`` is a condition, decided in every case on its region. A
spot check then evaluates both sides, unreduced, at sample points of every case: it guards
the set-up, never replaces the proof.

>>> n, k = sp.symbols("n k", integer=True, positive=True)
>>> outcome = prove_identity(Identity(lambda: n - k + 1, lambda: n + 1 - k, (n, k)))
>>> outcome.status, outcome.detail
('proved', 'reduces to 0 directly')
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp
from sympy.core.relational import Relational
from sympy.logic.boolalg import BooleanAtom

from derive.errors import ShapeError
from derive.guards import decided
from derive.tensors import flatten
from derive.verify.elements import entries
from derive.verify.indexed import evaluate_sums, reduce_sums
from derive.verify.lemmas import apply_lemmas, decide_on_region, lemma_log, sample_points
from derive.verify.splits import Case, Split, SplitError, vetted

__all__ = [
    "Outcome",
    "Identity",
    "Elementwise",
    "Exact",
    "Counterexample",
    "prove_identity",
    "prove_elementwise",
    "run_exact",
    "run_counterexample",
    "PROVED",
    "CHECKED",
    "FAILED",
]

PROVED, CHECKED, FAILED = "proved", "checked", "FAILED"


@dataclass(frozen=True)
class Outcome:
    """How a claim came out: status, a line of detail, seconds, the range if only checked.

    ``cases``: cases of the split the proof went through; ``lemmas``: the lemmas and
    definitions the reduction applied (empty when it reduced directly).
    """

    status: str
    detail: str = ""
    seconds: float = 0.0
    range: str | None = None
    cases: int = 1
    lemmas: tuple[str, ...] = ()


@dataclass(frozen=True)
class Identity:
    """``lhs() == rhs()`` (expressions or tuples of them) for all values of ``symbols``
    meeting every condition in ``where``, proved over the cases of ``split``.

    ``rewrites`` are lemma rewrites applied to both sides first; ``sympy_only`` proves by
    SymPy's own evaluation alone (the definitional lemmas); ``shapes`` names the fixed
    shapes a claim about arrays holds for (general in the other symbols).
    """

    lhs: Callable[[], Any]
    rhs: Callable[[], Any]
    symbols: tuple[sp.Symbol, ...]
    split: Split | None = None
    where: tuple[sp.Basic, ...] = ()
    rewrites: tuple[Callable[[sp.Expr], sp.Expr], ...] = ()
    sympy_only: bool = False
    shapes: str = ""


@dataclass(frozen=True)
class Elementwise:
    """Pairs of SymPy arrays that must agree entry by entry (for the shapes they have)."""

    build: Callable[[], Sequence[tuple[Any, Any]]]


@dataclass(frozen=True)
class Exact:
    """A concrete computation evaluated exactly; ``run`` returns ``(ok, detail)``."""

    run: Callable[[], tuple[bool, str]]


@dataclass(frozen=True)
class Counterexample:
    """A universal statement refuted by a concrete instance found by ``search``."""

    search: Callable[[], str | None]


def _elapsed(start: float) -> float:
    return time.perf_counter() - start


def _expand_rounding_args(expr: sp.Expr) -> sp.Expr:
    """SymPy alone: expand inside floors (SymPy then pulls integer terms out) and ``Mod``."""
    expr = expr.rewrite(sp.floor) if expr.has(sp.Mod) else expr
    return expr.replace(
        lambda e: isinstance(e, (sp.floor, sp.ceiling)), lambda e: e.func(sp.expand(e.args[0]))
    )


def _substitute(expr: Any, case: Case, region: bool = True) -> sp.Expr:
    out = sp.sympify(expr)
    if case.subs:
        out = out.xreplace(dict(case.subs))
    if region and case.region:
        out = out.xreplace(dict(case.region))
    return out


def _direct(diff: sp.Expr) -> sp.Expr:
    """The difference reduced by SymPy alone (and sums combined term by term)."""
    diff = sp.expand(_expand_rounding_args(diff))
    if diff != 0 and diff.has(sp.Sum):
        diff = reduce_sums(diff)
    return diff


def _with_lemmas(diff: sp.Expr, case: Case) -> sp.Expr:
    diff = apply_lemmas(diff, case.region)
    if case.region:
        diff = apply_lemmas(diff.xreplace(dict(case.region)))
    if diff.has(sp.Sum):
        diff = reduce_sums(diff, case.region)
    diff = sp.expand(diff)
    if diff == 0 or diff.has(sp.Sum):  # sums left over are not simplified away (and slowly)
        return diff
    return sp.simplify(diff)


def _reduce_difference(diff: sp.Expr, case: Case, sympy_only: bool, used: set[str]) -> sp.Expr:
    """``0`` when the difference vanishes in the case; what is left otherwise."""
    diff = _substitute(diff, case, region=False)
    if case.subs and not sympy_only:  # a case of a split: lemmas first (the kind is by cases
        with lemma_log() as log:  # either way, and a failed direct attempt costs the most)
            left = _with_lemmas(diff, case)
        if left == 0:
            used |= log
            return left
    direct = _direct(diff)
    if direct == 0:
        return direct
    if sympy_only:
        return sp.simplify(direct)
    with lemma_log() as log:
        left = _with_lemmas(diff, case)
    used |= log
    return left


def _is_condition(value: Any) -> bool:
    """A relation or a truth value (SymPy symbols are Booleans too, so test narrowly)."""
    return isinstance(value, (Relational, BooleanAtom, bool, sp.And, sp.Or))


def _decide_in_case(cond: sp.Basic, case: Case, used: set[str]) -> bool | None:
    """Truth of a condition in a case: substitute, apply the lemmas, decide on the region."""
    cond = _substitute(cond, case, region=False)
    if isinstance(cond, (sp.And, sp.Or)):
        parts = [_decide_in_case(c, Case(), used) for c in cond.args]
        if isinstance(cond, sp.And):
            return True if all(p is True for p in parts) else (False if False in parts else None)
        return True if True in parts else (False if all(p is False for p in parts) else None)
    with lemma_log() as log:
        if isinstance(cond, Relational):
            cond = cond.func(
                apply_lemmas(cond.lhs, case.region), apply_lemmas(cond.rhs, case.region)
            )
        verdict = decide_on_region(cond, case.region)
    used |= log
    return verdict


def _excluded(case: Case, where: Sequence[sp.Basic]) -> bool:
    """A stated condition of the claim is false throughout the case: the case is empty."""
    return any(_decide_in_case(cond, case, set()) is False for cond in where)


def _admissible(sym: sp.Symbol, value: sp.Basic) -> bool:
    if not value.is_number:
        return True
    if sym.is_integer and not value.is_Integer:
        return False
    if sym.is_positive and not value > 0:
        return False
    return not (sym.is_nonnegative and value < 0)


def _value(expr: Any, values: dict) -> sp.Basic:
    out = sp.sympify(sp.sympify(expr).xreplace(values))
    return evaluate_sums(out) if out.has(sp.Sum) else out


def _agree(va: sp.Basic, vb: sp.Basic) -> bool:
    if _is_condition(va) or _is_condition(vb):
        return va == vb
    return sp.expand(va - vb) == 0 or sp.simplify(va - vb) == 0


def _spot_check(pairs: list[tuple[Any, Any]], case: Case, spec: Identity) -> str | None:
    """Both sides, unreduced, at sample points of the case's parameters."""
    images = {x: _substitute(x, case) for x in spec.symbols}
    params = sorted(set().union(*(e.free_symbols for e in images.values())), key=str)
    small = any(sp.sympify(a).has(sp.Sum) for pair in pairs for a in pair)
    for point in sample_points(params, count=6 if small else 12, small=small):
        values = {x: sp.sympify(e.xreplace(point)) for x, e in images.items()}
        if not all(_admissible(x, v) for x, v in values.items()):
            continue
        if any(sp.sympify(c).xreplace(values) is sp.false for c in spec.where):
            continue
        for a, b in pairs:
            va, vb = _value(a, values), _value(b, values)
            if not _agree(va, vb):
                shown = {str(x): v for x, v in values.items()}
                return f"spot check failed in case {case.name!r} at {shown}: {va} != {vb}"
    return None


def _undeclared(exprs: list[Any], symbols: Sequence[sp.Symbol]) -> set[sp.Symbol]:
    free: set[sp.Basic] = set()
    for e in exprs:
        e = sp.sympify(e)
        labels = {i.base.label for i in e.atoms(sp.Indexed)}
        free |= {x for x in e.free_symbols if isinstance(x, sp.Symbol) and x not in labels}
    return free - set(symbols)


def _sides(spec: Identity) -> tuple[list[tuple[Any, Any]], str | None]:
    lhs, rhs = flatten(spec.lhs()), flatten(spec.rhs())
    if len(lhs) != len(rhs):
        return [], f"{len(lhs)} values against {len(rhs)}"
    undeclared = _undeclared(lhs + rhs, spec.symbols)
    if undeclared:
        return [], f"undeclared symbols {', '.join(sorted(str(x) for x in undeclared))}"
    return list(dict.fromkeys(zip(lhs, rhs))), None  # a pair stated twice is proved once


def _rewritten(pairs: list[tuple[Any, Any]], spec: Identity, used: set[str]) -> list:
    """Both sides through the claim's lemma rewrites (recorded as lemmas used)."""
    with lemma_log() as log:
        for rewrite in spec.rewrites:
            pairs = [(rewrite(sp.sympify(a)), rewrite(sp.sympify(b))) for a, b in pairs]
    used |= log
    return pairs


def _prove_case(pairs, case: Case, spec: Identity, used: set[str]) -> str | None:
    """What fails in one case, or None."""
    for a, b in pairs:
        if _is_condition(a) or _is_condition(b):
            verdict = decided(a) if spec.sympy_only else _decide_in_case(a, case, used)
            if b is not sp.true or verdict is not True:
                return f"case {case.name!r}: {a} is not shown to be {b}"
            continue
        residual = _reduce_difference(sp.sympify(a) - sp.sympify(b), case, spec.sympy_only, used)
        if residual != 0:
            return f"case {case.name!r}: {a} - ({b}) reduces to {residual}, not 0"
    return None


def _proved(spec: Identity, cases: list[Case], kept: int, used: set[str], start: float):
    if len(cases) == 1 and cases[0].subs == {}:
        how = "reduces to 0 directly" if not used else "reduces to 0"
    else:
        empty = len(cases) - kept
        cases_word = "case" if kept == 1 else "cases"
        how = f"reduces to 0 in {kept} {cases_word} ({spec.split.describe()})"  # type: ignore[union-attr]
        if empty:
            how += f"; {empty} empty by the stated conditions"
    if used:
        how += f"; lemmas used: {', '.join(sorted(used))}"
    return Outcome(PROVED, how, _elapsed(start), cases=kept, lemmas=tuple(sorted(used)))


def prove_identity(spec: Identity) -> Outcome:
    """Prove ``spec`` case by case; ``FAILED`` with the residual when a case does not reduce."""
    start = time.perf_counter()
    try:
        pairs, problem = _sides(spec)
        cases = vetted(spec.split, spec.symbols, spec.where)
    except (ShapeError, SplitError) as exc:
        return Outcome(FAILED, f"{type(exc).__name__}: {exc}", _elapsed(start))
    if problem:
        return Outcome(FAILED, problem, _elapsed(start))
    used: set[str] = set()
    pairs = _rewritten(pairs, spec, used)
    kept = [c for c in cases if not _excluded(c, spec.where)]
    for case in kept:
        problem = _prove_case(pairs, case, spec, used) or _spot_check(pairs, case, spec)
        if problem:
            return Outcome(FAILED, problem, _elapsed(start))
    return _proved(spec, cases, len(kept), used, start)


def prove_elementwise(spec: Elementwise) -> Outcome:
    """Every entry of every pair expands to the same polynomial (shapes must match)."""
    start = time.perf_counter()
    try:
        pairs = spec.build()
    except ShapeError as exc:
        return Outcome(FAILED, f"the engine raised: {exc}", _elapsed(start))
    count = 0
    for a, b in pairs:
        A, B = sp.Array(a), sp.Array(b)
        if A.shape != B.shape:
            return Outcome(FAILED, f"shapes {A.shape} and {B.shape} differ", _elapsed(start))
        for x, y in zip(entries(A), entries(B)):
            if sp.expand(x - y) != 0:
                return Outcome(FAILED, f"entry {x} != {y}", _elapsed(start))
            count += 1
    return Outcome(PROVED, f"{count} entries equal as polynomials", _elapsed(start))


def run_exact(spec: Exact) -> Outcome:
    """Evaluate a concrete instance exactly."""
    start = time.perf_counter()
    try:
        ok, detail = spec.run()
    except ShapeError as exc:
        ok, detail = False, f"the engine raised: {exc}"
    return Outcome(PROVED if ok else FAILED, detail, _elapsed(start))


def run_counterexample(spec: Counterexample) -> Outcome:
    """A found counterexample proves the negated statement."""
    start = time.perf_counter()
    found = spec.search()
    if found is None:
        return Outcome(FAILED, "no counterexample found", _elapsed(start))
    return Outcome(PROVED, found, _elapsed(start))
