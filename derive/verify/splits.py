r"""Case splits from a few vetted splitters, each exhaustive by a lemma proved once.

A proof by cases is only as good as its cases: if they miss part of the domain, a false
claim "holds". So cases are never written by hand. They come from three splitters, each of
which covers every integer point by a fact proved once in the catalogue:

:class:`Division` (``lemma.split-division``)
    $E = qD + r$ with $0 \le r < D$: for a positive symbol $D$ one case, $D = r + 1 + u$
    with $u \ge 0$; for a number $D$ one case per remainder ($D = 2$ is parity).
:class:`Compare` (``lemma.split-compare``)
    $a \ge b$, i.e. $a - b = t$, or $a < b$, i.e. $b - a = 1 + t$, with $t \ge 0$.
:class:`Chain`
    splitters applied one after the other, each to every case of the one before.

Each case *solves* the split's equation for one symbol, which must occur linearly with
coefficient $\pm 1$: the map between that symbol and the new parameters is then a bijection
of the integers, so every point of the domain is the image of parameters that respect their
signs (the lemma), and nothing else is needed to trust the cover. Any other case set is
refused (:func:`vetted`).

>>> n, s = sp.symbols("n s", integer=True, positive=True)
>>> q = sp.Symbol("q", integer=True)
>>> r, u = sp.symbols("r u", integer=True, nonnegative=True)
>>> [c.subs for c in Division(n, s, solve=n, quotient=q, remainder=r, slack=u).cases()]
[{n: q*s + r}]
>>> [c.region for c in Division(n, s, solve=n, quotient=q, remainder=r, slack=u).cases()]
[{s: r + u + 1}]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import sympy as sp

from derive.verify.lemmas import decide_on_region

__all__ = [
    "Case",
    "Split",
    "Division",
    "Compare",
    "Chain",
    "SplitError",
    "vetted",
    "vetted_split",
    "ALL",
]


class SplitError(ValueError):
    """A splitter that cannot be applied soundly (refused, never guessed)."""


_TOKEN = object()


@dataclass(frozen=True)
class Case:
    """One case: ``subs`` rewrites the claim's symbols, ``region`` encodes bounds of the new
    parameters through signs (``s -> r + 1 + u``). Built by splitters only."""

    name: str = "all values"
    subs: Mapping[sp.Symbol, sp.Expr] = field(default_factory=dict)
    region: Mapping[sp.Symbol, sp.Expr] = field(default_factory=dict)
    token: object = field(default=None, repr=False, compare=False)
    #: the parameters the splitters introduced (every other symbol is the claim's)
    introduced: frozenset[sp.Symbol] = frozenset()

    def params(self) -> set[sp.Symbol]:
        """The symbols a case's expressions are written in."""
        exprs = list(self.subs.values()) + list(self.region.values())
        return set().union(*(sp.sympify(e).free_symbols for e in exprs)) if exprs else set()


ALL = Case(token=_TOKEN)


def _solve(expr: sp.Expr, symbol: sp.Symbol, value: sp.Expr) -> sp.Expr:
    """``symbol`` from ``expr = value``; ``expr`` must be linear in it with coefficient +-1."""
    if not isinstance(symbol, sp.Symbol):
        raise SplitError(f"can only solve for a symbol, got {symbol}")
    poly = sp.Poly(sp.expand(expr), symbol)
    coeff = poly.coeff_monomial(symbol)
    if poly.degree() != 1 or coeff not in (1, -1):
        raise SplitError(f"{symbol} must occur in {expr} with coefficient 1 or -1")
    rest = sp.expand(expr - coeff * symbol)
    solution = sp.expand((value - rest) / coeff)
    if symbol in solution.free_symbols:
        raise SplitError(f"{symbol} occurs on both sides of {expr} = {value}")
    return solution


def _refine(
    case: Case, name: str, symbol: sp.Symbol, value: sp.Expr, new: set, region=None
) -> Case:
    """``case`` with ``symbol := value`` everywhere, plus new region entries; ``new``: the
    parameters this step introduces."""
    for bound in region or {}:
        if bound in case.region:
            raise SplitError(f"{bound} is bounded by the case region already")
    if symbol in case.region:
        raise SplitError(f"{symbol} is bounded by the case region; solve for another symbol")
    if symbol in case.subs:
        raise SplitError(f"{symbol} is already split; solve for one of the case's parameters")
    put = {symbol: value}
    subs = {k: sp.expand(sp.sympify(v).xreplace(put)) for k, v in case.subs.items()}
    if symbol not in case.introduced:  # a symbol of the claim (else a parameter, now replaced)
        subs[symbol] = value
    bounds = {k: sp.expand(sp.sympify(v).xreplace(put)) for k, v in case.region.items()}
    if region:  # earlier bounds in the new parameters too (s = ad + b + 1 + u, d = b + 1 + v)
        bounds = {k: sp.expand(v.xreplace(dict(region))) for k, v in bounds.items()}
        bounds.update(region)
    label = name if case.name == ALL.name else f"{case.name}; {name}"
    return Case(label, subs, bounds, _TOKEN, (case.introduced | set(new)) - {symbol})


def _signed(symbol: sp.Symbol, value: sp.Expr, slack: sp.Symbol) -> sp.Expr | None:
    """A solution ``c - slack`` for a symbol bounded below by its sign (``L`` = 0 or 1):
    ``None`` (no point: the case is empty) when ``c < L``, the bound itself when ``c = L``
    (the slack must be 0), else the solution unchanged."""
    low = 1 if symbol.is_positive else (0 if symbol.is_nonnegative else None)
    c = sp.expand(value + slack)
    if low is None or not c.is_Integer:
        return value
    if c < low:
        return None
    return sp.Integer(low) if c == low else value


def _in_frame(expr: sp.Expr, case: Case) -> sp.Expr:
    """``expr`` (in the claim's symbols or earlier parameters) in the case's parameters."""
    return sp.expand(sp.sympify(expr).xreplace(dict(case.subs)))


Where = Sequence[sp.Basic]


def _implied_nonnegative(expr: sp.Expr, case: Case, where: Where) -> bool:
    """``expr >= 0`` (in the case's parameters) on the case's region, or a stated condition
    of the claim (``where``) says so."""
    if decide_on_region(sp.Ge(expr, 0), case.region) is True:
        return True
    for cond in where:
        c = sp.sympify(cond).xreplace(dict(case.subs))
        if isinstance(c, (sp.GreaterThan, sp.StrictGreaterThan)):
            if sp.expand(c.lhs - c.rhs - expr) == 0:
                return True
        if isinstance(c, (sp.LessThan, sp.StrictLessThan)):
            if sp.expand(c.rhs - c.lhs - expr) == 0:
                return True
    return False


def _fresh(split: Split, case: Case) -> None:
    """A splitter's new parameters must be new to the case (one symbol, one meaning)."""
    taken = case.params() | set(case.subs) | set(case.region) | case.introduced
    clash = split.introduces() & taken
    if clash:
        raise SplitError(f"parameters {sorted(map(str, clash))} are in use in the case already")


class Split:
    """A vetted splitter: :meth:`refine` splits one case into cases covering it."""

    def refine(self, case: Case, where: Where = ()) -> list[Case]:  # pragma: no cover
        raise NotImplementedError

    def cases(self, where: Where = ()) -> list[Case]:
        """The cases; ``where``: the claim's stated conditions (for a non-negative quotient)."""
        return self.refine(ALL, where)

    def introduces(self) -> set[sp.Symbol]:  # pragma: no cover - every splitter overrides
        """The new parameters (they must be none of the claim's symbols)."""
        raise NotImplementedError

    def then(self, *more: Split) -> Chain:
        return Chain((self, *more))

    def describe(self) -> str:  # pragma: no cover - every splitter overrides
        raise NotImplementedError


@dataclass(frozen=True)
class Division(Split):
    """``expr = quotient*divisor + remainder``, ``0 <= remainder < divisor``, solved for
    ``solve``. A symbolic divisor must be a positive symbol; it is bounded through
    ``divisor = remainder + 1 + slack``. A quotient declared non-negative needs ``expr >= 0``,
    shown when the split is applied (see :class:`derive.verify.proofs.Identity`)."""

    expr: sp.Expr
    divisor: sp.Expr
    solve: sp.Symbol
    quotient: sp.Symbol
    remainder: sp.Symbol | None = None
    slack: sp.Symbol | None = None

    def introduces(self) -> set[sp.Symbol]:
        return {x for x in (self.quotient, self.remainder, self.slack) if x is not None}

    def refine(self, case: Case, where: Where = ()) -> list[Case]:
        _fresh(self, case)
        expr, q = _in_frame(self.expr, case), self.quotient
        if not q.is_integer:
            raise SplitError(f"the quotient {q} must be an integer symbol")
        if q.is_nonnegative and not _implied_nonnegative(expr, case, where):
            raise SplitError(f"a non-negative quotient {q} needs {self.expr} >= 0, not shown")
        divisor = sp.sympify(self.divisor)
        if divisor.is_Integer and divisor > 0:
            return [
                _refine(case, f"{self.expr} = {divisor}{q} + {rest}", self.solve,
                        _solve(expr, self.solve, q * divisor + rest), {q})
                for rest in range(int(divisor))
            ]  # fmt: skip
        r, u = self.remainder, self.slack
        if not (divisor.is_Symbol and divisor.is_integer and divisor.is_positive):
            raise SplitError(f"the divisor {divisor} must be a positive integer symbol or a number")
        if r is None or u is None or not (r.is_nonnegative and u.is_nonnegative):
            raise SplitError("the remainder and slack must be non-negative integer symbols")
        value = _solve(expr, self.solve, q * divisor + r)
        name = f"{self.expr} = {q}{divisor} + {r}, 0 <= {r} < {divisor}"
        return [_refine(case, name, self.solve, value, {q, r, u}, {divisor: r + 1 + u})]

    def describe(self) -> str:
        return f"division with remainder of {self.expr} by {self.divisor}"


@dataclass(frozen=True)
class Compare(Split):
    """``lhs >= rhs`` (solved for ``solve_ge`` as ``lhs - rhs = slack``) or ``lhs < rhs``
    (solved for ``solve_lt`` as ``rhs - lhs = 1 + slack``), ``slack >= 0``."""

    lhs: sp.Expr
    rhs: sp.Expr
    solve_ge: sp.Symbol
    solve_lt: sp.Symbol
    slack: sp.Symbol

    def introduces(self) -> set[sp.Symbol]:
        return {self.slack}

    def refine(self, case: Case, where: Where = ()) -> list[Case]:
        _fresh(self, case)
        t = self.slack
        if not (t.is_integer and t.is_nonnegative):
            raise SplitError(f"the slack {t} must be a non-negative integer symbol")
        diff = _in_frame(self.lhs - self.rhs, case)
        sides = (
            (f"{self.lhs} >= {self.rhs}", self.solve_ge, _solve(diff, self.solve_ge, t)),
            (f"{self.lhs} < {self.rhs}", self.solve_lt, _solve(-diff, self.solve_lt, 1 + t)),
        )
        out = []
        for name, symbol, value in sides:
            value = _signed(symbol, value, t)
            if value is not None:
                out.append(_refine(case, name, symbol, value, {t}))
        return out

    def describe(self) -> str:
        return f"{self.lhs} >= {self.rhs} or {self.lhs} < {self.rhs}"


@dataclass(frozen=True)
class Chain(Split):
    """Splitters one after the other, each refining every case of the one before."""

    steps: tuple[Split, ...]

    def introduces(self) -> set[sp.Symbol]:
        return set().union(*(vetted_split(step).introduces() for step in self.steps))

    def refine(self, case: Case, where: Where = ()) -> list[Case]:
        cases = [case]
        for step in self.steps:
            cases = [c for before in cases for c in vetted_split(step).refine(before, where)]
        return cases

    def describe(self) -> str:
        return "; then ".join(step.describe() for step in self.steps)


_VETTED = (Division, Compare, Chain)


def vetted_split(split: object) -> Split:
    """``split`` itself when it is one of the vetted splitters, else :class:`SplitError`."""
    if type(split) not in _VETTED:
        raise SplitError(
            f"free-form case split refused: {split!r} is none of the vetted splitters "
            "(Division, Compare, Chain)"
        )
    return split  # type: ignore[return-value]


def vetted(
    split: object | None, symbols: Sequence[sp.Symbol] = (), where: Where = ()
) -> list[Case]:
    """The cases of a vetted split (one case, all values, for ``None``) of a claim in
    ``symbols``; refuses anything else, and parameters that clash with the claim's symbols."""
    if split is None:
        return [ALL]
    chosen = vetted_split(split)
    clash = chosen.introduces() & set(symbols)
    if clash:
        raise SplitError(f"parameters {sorted(map(str, clash))} clash with the claim's symbols")
    cases = chosen.cases(where)
    if any(c.token is not _TOKEN for c in cases):  # pragma: no cover - splitters set it
        raise SplitError("a case that no splitter produced")
    return cases
