r"""Proving identities with SymPy and our floor/ceiling lemmas.

An :class:`Identity` compares the engine's expression (built by a thunk at call time, so a
monkeypatched engine is what gets proved) with a reference formula. Its proof runs over
*cases*: each :class:`Case` has a structural substitution (e.g. $n = qs + r$) and a *region*
(e.g. $s = r + u$, $u \ge 0$) that encodes the case's inequalities through signs of new
symbols. In each case the difference is rewritten by :func:`derive.verify.lemmas.apply_lemmas`
and must reduce to ``0``. That is the whole proof; two extra guards catch mistakes in the
case set-up itself, never replace the proof:

- the *cover check* confirms every point of the claim's domain in a box is reached by some
  case: the case's ``inverse`` (e.g. ``divmod``) gives parameters that respect their signs
  and map back to the point (the cases themselves rest on a stated fact such as division
  with remainder);
- the *spot check* evaluates both sides, unreduced, at sample points of every case.

>>> n, k = sp.symbols("n k", integer=True, positive=True)
>>> prove_identity(Identity(lambda: n - k + 1, lambda: n + 1 - k, (n, k))).status
'proved'
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy as sp
from sympy.core.relational import Relational
from sympy.logic.boolalg import Boolean, BooleanAtom

from derive.errors import ShapeError
from derive.verify.lemmas import apply_lemmas, decide, sample_points

__all__ = [
    "Outcome",
    "Case",
    "Identity",
    "Elementwise",
    "Exact",
    "Counterexample",
    "Raises",
    "prove_identity",
    "prove_elementwise",
    "run_exact",
    "run_counterexample",
    "run_raises",
]

PROVED, CHECKED, FAILED = "proved", "checked", "FAILED"


@dataclass(frozen=True)
class Outcome:
    """How a claim came out: status, a line of detail, seconds, the range if only checked."""

    status: str
    detail: str = ""
    seconds: float = 0.0
    range: str | None = None


@dataclass(frozen=True)
class Case:
    """One case of a proof: ``subs`` rewrites the claim's symbols, ``region`` encodes bounds.

    ``inverse`` computes the case's parameters from a point (e.g. ``divmod``); it is only
    used by the cover check, never by the proof.
    """

    name: str = "all values"
    subs: Mapping[sp.Symbol, sp.Expr] = field(default_factory=dict)
    region: Mapping[sp.Symbol, sp.Expr] = field(default_factory=dict)
    #: values of the claim's symbols (by name) -> this case's parameters, or None if outside
    inverse: Callable[[dict[str, int]], dict[str, int] | None] | None = None


@dataclass(frozen=True)
class Identity:
    """``lhs() == rhs()`` (expressions or tuples of them) for all values of ``symbols``.

    ``cover`` states why the cases exhaust the domain; ``domain`` (values by symbol name ->
    bool) restricts it; ``rewrites`` are lemma rewrites applied to both sides first.
    """

    lhs: Callable[[], Any]
    rhs: Callable[[], Any]
    symbols: tuple[sp.Symbol, ...]
    cases: tuple[Case, ...] = (Case(),)
    cover: str = ""
    domain: Callable[[dict[str, int]], bool] | None = None
    rewrites: tuple[Callable[[sp.Expr], sp.Expr], ...] = ()
    lemmas: tuple[str, ...] = ()
    sympy_only: bool = False


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


@dataclass(frozen=True)
class Raises:
    """Engine calls on symbolic families that must each raise :class:`derive.ShapeError`."""

    calls: tuple[Callable[[], Any], ...]


def _as_tuple(value: Any) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _flatten(value: Any) -> list:
    out = []
    for v in _as_tuple(value):
        out.extend(_flatten(v) if isinstance(v, (tuple, list)) else [v])
    return out


def _expand_rounding_args(expr: sp.Expr) -> sp.Expr:
    """SymPy alone: expand inside floors (SymPy then pulls integer terms out) and ``Mod``."""
    expr = expr.rewrite(sp.floor) if expr.has(sp.Mod) else expr
    return expr.replace(
        lambda e: isinstance(e, (sp.floor, sp.ceiling)), lambda e: e.func(sp.expand(e.args[0]))
    )


def _reduce_difference(diff: sp.Expr, case: Case, sympy_only: bool = False) -> sp.Expr:
    diff = sp.sympify(diff).xreplace(dict(case.subs)) if case.subs else sp.sympify(diff)
    if sympy_only:
        return sp.simplify(sp.expand(_expand_rounding_args(diff)))
    diff = apply_lemmas(diff, case.region)
    if case.region:
        diff = apply_lemmas(diff.xreplace(dict(case.region)))
    diff = sp.expand(diff)
    if diff != 0:
        diff = sp.simplify(diff)
    return diff


def _is_truth(value: Any) -> bool:
    """A relation or a truth value (SymPy symbols are Booleans too, so test narrowly)."""
    return isinstance(value, (Relational, BooleanAtom, bool))


def _decide_in_case(rel: Boolean, case: Case) -> bool | None:
    """Truth of a relation in a case: substitute, apply the lemmas, decide on the region."""
    rel = rel.xreplace(dict(case.subs)) if case.subs else rel
    if isinstance(rel, Relational):
        rel = rel.func(apply_lemmas(rel.lhs, case.region), apply_lemmas(rel.rhs, case.region))
    return decide(rel, case.region)


def _substitute(expr: sp.Expr, case: Case) -> sp.Expr:
    out = sp.sympify(expr)
    if case.subs:
        out = out.xreplace(dict(case.subs))
    if case.region:
        out = out.xreplace(dict(case.region))
    return out


def _spot_check(pairs: list[tuple[sp.Expr, sp.Expr]], case: Case, spec: Identity) -> str | None:
    """Both sides, unreduced, at sample points of the case's parameters."""
    images = {x: _substitute(x, case) for x in spec.symbols}
    params = sorted(set().union(*(e.free_symbols for e in images.values())), key=lambda x: x.name)
    for point in sample_points(params, count=12):
        values = {x: sp.sympify(e.xreplace(point)) for x, e in images.items()}
        if any(not v.is_Integer for v in values.values() if v.is_number) and spec.domain:
            continue
        if spec.domain is not None and not spec.domain({x.name: int(v) for x, v in values.items()}):
            continue
        for a, b in pairs:
            va = sp.sympify(sp.sympify(a).xreplace(values))
            vb = sp.sympify(sp.sympify(b).xreplace(values))
            same = (va == vb) if _is_truth(va) or _is_truth(vb) else sp.simplify(va - vb) == 0
            if not same:
                shown = {str(x): v for x, v in values.items()}
                return f"spot check failed in case {case.name!r} at {shown}: {va} != {vb}"
    return None


def _range_of(sym: sp.Symbol, bound: int) -> range:
    if sym.is_positive:
        return range(1, bound + 1)
    if sym.is_nonnegative:
        return range(0, bound + 1)
    return range(-bound, bound + 1)


def _admissible(sym: sp.Symbol, value: Any) -> bool:
    if not isinstance(value, int):
        return False
    if sym.is_positive:
        return value >= 1
    if sym.is_nonnegative:
        return value >= 0
    return True


def _cover_check(spec: Identity) -> str | None:
    """Every domain point of a box is reached by some case, through that case's ``inverse``.

    For each point, a case's ``inverse`` proposes parameters; they must respect their own
    assumptions (integer, sign) and map back, through the case's substitutions, to the point.
    """
    if all(not c.subs and not c.region for c in spec.cases):
        return None
    if any(c.inverse is None for c in spec.cases):
        return "a case has no inverse, so its cover cannot be checked"
    names = [x.name for x in spec.symbols]
    maps = []
    for case in spec.cases:
        images = [_substitute(x, case) for x in spec.symbols]
        params = sorted(set().union(*(e.free_symbols for e in images)), key=lambda x: x.name)
        maps.append((case, params, sp.lambdify(params, images, modules="math")))
    box = 3
    while box < 12 and math.prod(len(_range_of(x, box + 1)) for x in spec.symbols) <= 30000:
        box += 1
    for values in itertools.product(*(_range_of(x, box) for x in spec.symbols)):
        point = dict(zip(names, values))
        if spec.domain is not None and not spec.domain(point):
            continue
        for case, params, fn in maps:
            proposed = case.inverse(point)  # type: ignore[misc]
            if proposed is None:
                continue
            found = {**point, **proposed}  # symbols the case leaves alone keep their value
            if any(not _admissible(x, found.get(x.name)) for x in params):
                continue
            if tuple(int(v) for v in fn(*(found[x.name] for x in params))) == values:
                break
        else:
            return f"no case reaches {point}"
    return None


def prove_identity(spec: Identity) -> Outcome:
    """Prove ``spec`` case by case; ``FAILED`` with the residual when a case does not reduce."""
    start = time.perf_counter()
    try:
        lhs, rhs = _flatten(spec.lhs()), _flatten(spec.rhs())
    except ShapeError as exc:
        return Outcome(FAILED, f"the engine raised: {exc}", time.perf_counter() - start)
    if len(lhs) != len(rhs):
        return Outcome(FAILED, f"{len(lhs)} values against {len(rhs)}", time.perf_counter() - start)
    undeclared = set().union(*(sp.sympify(e).free_symbols for e in lhs + rhs)) - set(spec.symbols)
    if undeclared:
        names = ", ".join(sorted(str(x) for x in undeclared))
        return Outcome(FAILED, f"undeclared symbols {names}", time.perf_counter() - start)
    for rewrite in spec.rewrites:
        lhs = [rewrite(sp.sympify(e)) for e in lhs]
        rhs = [rewrite(sp.sympify(e)) for e in rhs]
    pairs = list(zip(lhs, rhs))
    for case in spec.cases:
        for a, b in pairs:
            if _is_truth(a) or _is_truth(b):
                if b is not sp.true or _decide_in_case(a, case) is not True:
                    return Outcome(
                        FAILED,
                        f"case {case.name!r}: {a} is not shown to be {b}",
                        time.perf_counter() - start,
                    )
                continue
            residual = _reduce_difference(a - b, case, spec.sympy_only)
            if residual != 0:
                return Outcome(
                    FAILED,
                    f"case {case.name!r}: {a} - ({b}) reduces to {residual}, not 0",
                    time.perf_counter() - start,
                )
    for case in spec.cases:
        problem = _spot_check(pairs, case, spec)
        if problem:
            return Outcome(FAILED, problem, time.perf_counter() - start)
    problem = _cover_check(spec)
    if problem:
        return Outcome(FAILED, problem, time.perf_counter() - start)
    cases = "" if len(spec.cases) == 1 else f" in {len(spec.cases)} cases ({spec.cover})"
    lemmas = f"; lemmas: {', '.join(spec.lemmas)}" if spec.lemmas else ""
    return Outcome(PROVED, f"reduces to 0{cases}{lemmas}", time.perf_counter() - start)


def prove_elementwise(spec: Elementwise) -> Outcome:
    """Every entry of every pair expands to the same polynomial (shapes must match)."""
    start = time.perf_counter()
    try:
        pairs = spec.build()
    except ShapeError as exc:
        return Outcome(FAILED, f"the engine raised: {exc}", time.perf_counter() - start)
    entries = 0
    for a, b in pairs:
        A, B = sp.Array(a), sp.Array(b)
        if A.shape != B.shape:
            return Outcome(
                FAILED, f"shapes {A.shape} and {B.shape} differ", time.perf_counter() - start
            )
        for x, y in zip(sp.flatten(A), sp.flatten(B)):
            if sp.expand(x - y) != 0:
                return Outcome(FAILED, f"entry {x} != {y}", time.perf_counter() - start)
            entries += 1
    return Outcome(PROVED, f"{entries} entries equal as polynomials", time.perf_counter() - start)


def run_exact(spec: Exact) -> Outcome:
    """Evaluate a concrete instance exactly."""
    start = time.perf_counter()
    try:
        ok, detail = spec.run()
    except ShapeError as exc:
        ok, detail = False, f"the engine raised: {exc}"
    return Outcome(PROVED if ok else FAILED, detail, time.perf_counter() - start)


def run_counterexample(spec: Counterexample) -> Outcome:
    """A found counterexample proves the negated statement."""
    start = time.perf_counter()
    found = spec.search()
    if found is None:
        return Outcome(FAILED, "no counterexample found", time.perf_counter() - start)
    return Outcome(PROVED, found, time.perf_counter() - start)


def run_raises(spec: Raises) -> Outcome:
    """Each symbolic family must be rejected: SymPy decides the engine's condition for all of it."""
    start = time.perf_counter()
    messages = []
    for i, call in enumerate(spec.calls):
        try:
            value = call()
        except ShapeError as exc:
            messages.append(str(exc))
            continue
        return Outcome(
            FAILED, f"family {i + 1} was accepted, giving {value}", time.perf_counter() - start
        )
    count = f"{len(spec.calls)} {'family' if len(spec.calls) == 1 else 'families'}"
    detail = f"{count} rejected, e.g. ShapeError: {messages[0]}"
    return Outcome(PROVED, detail, time.perf_counter() - start)
