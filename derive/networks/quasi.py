r"""Exact arithmetic on size formulas: evaluation, and their shift-periodic structure.

Every size a chain of convolutions and poolings computes from an input size $n$ is built
from $+$, multiplication by rationals, $\lfloor\cdot\rfloor$, $\lceil\cdot\rceil$ and
pooling's ``ceil_mode`` case split. Such an expression $f$ is *quasi-linear*: there are a
rational slope $r$ and a period $P$ with

$$
f(n + P) = f(n) + r P \qquad \text{for every integer } n,
$$

because $\lfloor x + m \rfloor = \lfloor x \rfloor + m$ for integers $m$: shifting $n$ by $P$
shifts every floor's argument by an integer once $P$ clears all the denominators. For
example $\lfloor n/4 \rfloor - 2$ has $r = 1/4$ and $P = 4$.

This module finds $(r, P)$ (:func:`quasi`), evaluates formulas exactly with
:class:`fractions.Fraction` (:func:`evaluate`), and uses both to *prove* identities
(:func:`identically_equal`): a difference with slope 0 is periodic, so checking one
period decides it for every size.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction
from itertools import product

import sympy as sp
from sympy.core.relational import Relational

__all__ = [
    "Quasi",
    "quasi",
    "evaluate",
    "identically_equal",
    "for_all_sizes",
    "tidy",
    "compose",
    "cases",
    "lift",
    "exact_scale",
    "EXACT_SIZES",
]

#: the largest grid of points :func:`identically_equal` is willing to check
MAX_GRID = 1 << 14
#: the largest grid :func:`for_all_sizes` evaluates to bound an inequality (it runs at every
#: condition a layer meets, so it stays small; beyond it the condition is left undecided)
BOUNDS_GRID = 1 << 10


#: sizes below this bound are what derive claims float arithmetic on sizes for
EXACT_SIZES = 1 << 43


def exact_scale(value: float) -> Fraction | None:
    r"""``value`` as a fraction when torch's double product $n \cdot s$ is exact.

    Every double is a dyadic fraction $p / 2^e$; the product with an integer size $n$ is
    exact in double (so its floor is $\lfloor n p / 2^e \rfloor$) when $|n p| < 2^{53}$.
    Accepted: $|p| \cdot$ :data:`EXACT_SIZES` $\le 2^{53}$, i.e. exact for every size below
    $2^{43}$ (more elements than any machine holds); otherwise ``None`` (0.29 is
    $5224175567749775 / 2^{54}$: ``100 * 0.29`` rounds).

    >>> exact_scale(1.5), exact_scale(0.29)
    (Fraction(3, 2), None)
    """
    f = Fraction(value)
    return f if abs(f.numerator) * EXACT_SIZES <= 1 << 53 else None


@dataclass(frozen=True)
class Quasi:
    """``f(n + k*period) == f(n) + slope * k * period`` for every integer ``n`` and ``k``."""

    slope: Fraction
    period: int


_CONSTANT = Quasi(Fraction(0), 1)


def quasi(expr: sp.Basic, symbol: sp.Symbol) -> Quasi | None:
    r"""The slope and period of ``expr`` in ``symbol``, or ``None`` if it is not quasi-linear.

    Other symbols are held fixed (they may appear as additive terms or inside floors, but
    never multiplying ``symbol``).

    >>> n = sp.Symbol("n", integer=True, positive=True)
    >>> quasi(sp.floor(n / 4) - 2, n)
    Quasi(slope=Fraction(1, 4), period=4)
    >>> quasi(sp.floor((sp.floor(n / 2) + 1) / 3), n)
    Quasi(slope=Fraction(1, 6), period=6)
    >>> quasi(n * sp.floor(n / 2), n) is None
    True
    """
    if not expr.has(symbol):
        return _CONSTANT
    if expr == symbol:
        return Quasi(Fraction(1), 1)
    rule = _RULES.get(type(expr))
    if rule is None:
        for kind, candidate in _RULES.items():
            if isinstance(expr, kind):
                rule = candidate
                break
    return None if rule is None else rule(expr, symbol)


def _sum(expr: sp.Basic, symbol: sp.Symbol) -> Quasi | None:
    slope, period = Fraction(0), 1
    for arg in expr.args:
        q = quasi(arg, symbol)
        if q is None:
            return None
        slope += q.slope
        period = math.lcm(period, q.period)
    return Quasi(slope, period)


def _product(expr: sp.Basic, symbol: sp.Symbol) -> Quasi | None:
    dependent = [a for a in expr.args if a.has(symbol)]
    constant = sp.Mul(*[a for a in expr.args if not a.has(symbol)])
    if len(dependent) != 1 or not constant.is_Rational:
        return None
    q = quasi(dependent[0], symbol)
    if q is None:
        return None
    return Quasi(q.slope * Fraction(int(constant.p), int(constant.q)), q.period)


def _rounding(expr: sp.Basic, symbol: sp.Symbol) -> Quasi | None:
    q = quasi(expr.args[0], symbol)
    if q is None:
        return None
    return Quasi(q.slope, math.lcm(q.period, q.slope.denominator))


def _modulo(expr: sp.Basic, symbol: sp.Symbol) -> Quasi | None:
    a, m = expr.args
    if not m.is_Integer or m == 0:
        return None
    q = quasi(a, symbol)
    if q is None:
        return None
    inner = q.slope / int(m)
    return Quasi(Fraction(0), math.lcm(q.period, inner.denominator))


def _branches(expr: sp.Basic, symbol: sp.Symbol) -> Quasi | None:
    """``Max``/``Min``/``Piecewise``: pieces of one slope, conditions periodic."""
    piecewise = isinstance(expr, sp.Piecewise)
    pieces = [e for e, _ in expr.args] if piecewise else list(expr.args)
    slope: Fraction | None = None
    period = 1
    for piece in pieces:
        q = quasi(piece, symbol)
        if q is None or (slope is not None and q.slope != slope):
            return None
        slope = q.slope
        period = math.lcm(period, q.period)
    for _, condition in expr.args if piecewise else ():
        p = _boolean_period(condition, symbol)
        if p is None:
            return None
        period = math.lcm(period, p)
    return Quasi(slope or Fraction(0), period)


_RULES = {
    sp.Add: _sum,
    sp.Mul: _product,
    sp.floor: _rounding,
    sp.ceiling: _rounding,
    sp.Mod: _modulo,
    sp.Max: _branches,
    sp.Min: _branches,
    sp.Piecewise: _branches,
}


def _boolean_period(condition: sp.Basic, symbol: sp.Symbol) -> int | None:
    """The period of a condition whose truth is periodic in ``symbol`` (else ``None``)."""
    if condition in (sp.true, sp.false) or not condition.has(symbol):
        return 1
    if isinstance(condition, Relational):
        q = quasi(condition.lhs - condition.rhs, symbol)
        if q is None or q.slope != 0:
            return None
        return q.period
    if isinstance(condition, (sp.And, sp.Or, sp.Not, sp.ITE)):
        period = 1
        for arg in condition.args:
            p = _boolean_period(arg, symbol)
            if p is None:
                return None
            period = math.lcm(period, p)
        return period
    return None


_RELATIONS = {
    sp.Eq: lambda a, b: a == b,
    sp.Ne: lambda a, b: a != b,
    sp.Lt: lambda a, b: a < b,
    sp.Le: lambda a, b: a <= b,
    sp.Gt: lambda a, b: a > b,
    sp.Ge: lambda a, b: a >= b,
}


def evaluate(expr: sp.Basic, env: dict[sp.Symbol, int]) -> Fraction | bool:
    """Evaluate a size formula or condition exactly at integer values of its symbols.

    >>> n = sp.Symbol("n", integer=True, positive=True)
    >>> evaluate(sp.floor((n - 1) / 2) + 1, {n: 7})
    Fraction(4, 1)
    >>> evaluate(sp.Ge(sp.floor(n / 4), 7), {n: 27})
    False
    """
    if expr is sp.true or expr is True:
        return True
    if expr is sp.false or expr is False:
        return False
    if isinstance(expr, sp.Symbol):
        return Fraction(env[expr])
    if expr.is_Rational:
        return Fraction(int(expr.p), int(expr.q))
    if isinstance(expr, sp.Add):
        return sum((evaluate(a, env) for a in expr.args), Fraction(0))
    if isinstance(expr, sp.Mul):
        out = Fraction(1)
        for a in expr.args:
            out *= evaluate(a, env)
        return out
    if isinstance(expr, sp.Pow) and expr.exp.is_Integer:
        return evaluate(expr.base, env) ** int(expr.exp)
    if isinstance(expr, sp.floor):
        return Fraction(math.floor(evaluate(expr.args[0], env)))
    if isinstance(expr, sp.ceiling):
        return Fraction(math.ceil(evaluate(expr.args[0], env)))
    if isinstance(expr, sp.Mod):
        return evaluate(expr.args[0], env) % evaluate(expr.args[1], env)
    if isinstance(expr, sp.Max):
        return max(evaluate(a, env) for a in expr.args)
    if isinstance(expr, sp.Min):
        return min(evaluate(a, env) for a in expr.args)
    if isinstance(expr, sp.Piecewise):
        for value, condition in expr.args:
            if evaluate(condition, env):
                return evaluate(value, env)
        raise ValueError(f"no branch of {expr} applies at {env}")
    if isinstance(expr, Relational):
        return _RELATIONS[type(expr)](evaluate(expr.lhs, env), evaluate(expr.rhs, env))
    if isinstance(expr, (sp.And, sp.Or)):
        return _connective(expr, env)
    if isinstance(expr, sp.Not):
        return not evaluate(expr.args[0], env)
    if isinstance(expr, sp.ITE):
        test, then, otherwise = expr.args
        return evaluate(then if evaluate(test, env) else otherwise, env)
    raise ValueError(f"cannot evaluate {type(expr).__name__} in {expr}")


def _connective(expr: sp.Basic, env: dict[sp.Symbol, int]) -> bool:
    """``And``/``Or`` at a point: one argument that decides it decides it, even where another
    is undefined there (a division by a size formula that is 0 at this point, in a case
    that does not apply); undefined only if nothing decides it.

    >>> n = sp.Symbol("n", integer=True, positive=True)
    >>> evaluate(sp.Or(sp.Ge(n, 4), sp.Eq(sp.ceiling(8 / (n - 3)), 2)), {n: 3})
    Traceback (most recent call last):
        ...
    ZeroDivisionError: Fraction(1, 0)
    >>> evaluate(sp.Or(sp.Le(n, 3), sp.Eq(sp.ceiling(8 / (n - 3)), 2)), {n: 3})
    True
    """
    decides = isinstance(expr, sp.Or)  # the value of one argument that decides the whole
    undefined: ZeroDivisionError | None = None
    for a in expr.args:
        try:
            if bool(evaluate(a, env)) is decides:
                return decides
        except ZeroDivisionError as exc:
            undefined = exc
    if undefined is not None:
        raise undefined
    return not decides


def identically_equal(a: sp.Basic, b: sp.Basic) -> bool:
    """True when ``a == b`` at every integer value of their symbols, proved by periodicity.

    A difference that is quasi-linear with slope 0 in each symbol is periodic in each, so
    checking one period per symbol (a finite grid) proves it zero everywhere. ``False``
    means "not proved" (it may still hold for some sizes).

    >>> n = sp.Symbol("n", integer=True, positive=True)
    >>> identically_equal(sp.floor((n + 1) / 2), n - sp.floor(n / 2))
    True
    >>> identically_equal(sp.floor(n / 2), sp.floor((n + 1) / 2))
    False
    """
    difference = sp.sympify(a) - sp.sympify(b)
    if difference == 0:
        return True
    symbols = sorted(difference.free_symbols, key=lambda s: s.name)
    if not symbols:
        return False
    periods = []
    for s in symbols:
        q = quasi(difference, s)
        if q is None or q.slope != 0:
            return False
        periods.append(q.period)
    if math.prod(periods) > MAX_GRID:
        return False
    try:
        for point in product(*(range(1, p + 1) for p in periods)):
            if evaluate(difference, dict(zip(symbols, point))) != 0:
                return False
    except (ValueError, KeyError, ZeroDivisionError):
        return False
    return True


@functools.lru_cache(maxsize=8192)
def for_all_sizes(condition: sp.Basic) -> bool | None:
    r"""``True`` when ``condition`` holds at every size, ``False`` when it fails at every
    size, ``None`` when it depends on the sizes (or derive cannot prove either).

    A relation compares the difference $D$ of its sides with 0. When $D$ is quasi-linear in
    each size (slope $r_s$, period $P_s$) and the sizes are positive integers, its values over
    the first period of every size bound it everywhere: $D(n + kP) = D(n) + r k P$, so with
    every $r_s \ge 0$ the smallest value is met in the first period, with every $r_s \le 0$
    the largest. Anything else must already be decided by SymPy.

    >>> n = sp.Symbol("n", integer=True, positive=True)
    >>> for_all_sizes(sp.Eq(sp.floor((n + 1) / 2), n - sp.floor(n / 2))), for_all_sizes(n > 3)
    (True, None)
    >>> for_all_sizes(2 * sp.floor(n / 2) + 2 >= n), for_all_sizes(sp.Eq(sp.Mod(2 * n, 2), 1))
    (True, False)
    """
    if condition is True or condition is sp.true:
        return True
    if condition is False or condition is sp.false:
        return False
    if isinstance(condition, (sp.And, sp.Or)):
        verdicts = [for_all_sizes(a) for a in condition.args]
        wanted = isinstance(condition, sp.And)
        if all(v is wanted for v in verdicts):
            return wanted
        return (not wanted) if any(v is (not wanted) for v in verdicts) else None
    if isinstance(condition, sp.Not):
        inner = for_all_sizes(condition.args[0])
        return None if inner is None else not inner
    if not isinstance(condition, Relational):
        return None
    difference = condition.lhs - condition.rhs
    if isinstance(condition, (sp.Eq, sp.Ne)) and identically_equal(condition.lhs, condition.rhs):
        return isinstance(condition, sp.Eq)
    bounds = _bounds(difference)
    if bounds is None:
        return None
    return _verdict(type(condition), *bounds)


def _verdict(kind: type, lo: Fraction | None, hi: Fraction | None, zero: bool) -> bool | None:
    """Whether ``D <kind> 0`` always (True), never (False) or sometimes (None), from bounds
    ``lo <= D <= hi`` (``None``: unbounded) and whether ``D`` can be 0."""
    if kind is sp.Eq:
        return True if lo == hi == 0 else (False if not zero else None)
    if kind is sp.Ne:
        return False if lo == hi == 0 else (True if not zero else None)
    if kind in (sp.Le, sp.Lt):
        lo, hi = (None if hi is None else -hi), (None if lo is None else -lo)
        kind = sp.Ge if kind is sp.Le else sp.Gt
    if kind is sp.Ge:
        if lo is not None and lo >= 0:
            return True
        return False if hi is not None and hi < 0 else None
    if lo is not None and lo > 0:
        return True
    return False if hi is not None and hi <= 0 else None


def _bounds(d: sp.Basic) -> tuple[Fraction | None, Fraction | None, bool] | None:
    """``(lo, hi, zero)``: bounds of ``d`` over all sizes and whether it can be 0, from its
    first periods; None when ``d`` is not quasi-linear in positive integer sizes."""
    symbols = sorted(d.free_symbols, key=lambda s: s.name)
    if not symbols:
        return None
    ranges, slopes = [], []
    for s in symbols:
        start = 1 if s.is_positive else (0 if s.is_nonnegative else None)
        q = quasi(d, s)
        if start is None or not s.is_integer or q is None or q.period > BOUNDS_GRID:
            return None
        ranges.append(range(start, start + q.period))
        slopes.append(q.slope)
    if math.prod(q_range.stop - q_range.start for q_range in ranges) > BOUNDS_GRID:
        return None
    try:
        values = [evaluate(d, dict(zip(symbols, p))) for p in product(*ranges)]
    except (ValueError, KeyError, ZeroDivisionError):
        return None
    lo = min(values) if all(r >= 0 for r in slopes) else None
    hi = max(values) if all(r <= 0 for r in slopes) else None
    periodic = all(r == 0 for r in slopes)
    zero = 0 in values if periodic else not (lo is not None and lo > 0 or
                                             hi is not None and hi < 0)  # fmt: skip
    return lo, hi, zero


def tidy(expr: sp.Basic) -> sp.Basic:
    r"""Merge nested floors: $\lfloor (\lfloor u \rfloor + b)/c \rfloor = \lfloor (u+b)/c \rfloor$.

    The identity holds for every real $u$, integer $b$ and positive integer $c$ (and the
    same for ceilings), so the result equals ``expr`` at every size; it is only shorter.

    >>> n = sp.Symbol("n", integer=True, positive=True)
    >>> tidy(sp.floor((sp.floor(n / 2) - 4) / 2) + 1)
    floor(n/4) - 1
    """
    if not expr.args or not expr.has(sp.floor, sp.ceiling):
        return expr
    args = [tidy(a) for a in expr.args]
    if isinstance(expr, (sp.floor, sp.ceiling)):
        merged = _merge_rounding(type(expr), args[0])
        if merged is not None:
            return merged
    if isinstance(expr, sp.Piecewise):
        return sp.Piecewise(*[(tidy(e), tidy(c)) for e, c in expr.args])
    if isinstance(expr, Relational):
        return type(expr)(*args)
    return expr.func(*args)


def _merge_rounding(kind: type, argument: sp.Expr) -> sp.Expr | None:
    """``kind((kind(u) + c*rest)/c)`` written as ``kind(u/c + rest)`` when that is exact."""
    terms = sp.Add.make_args(sp.expand(argument))
    for i, term in enumerate(terms):
        coefficient, inner = term.as_coeff_Mul()
        if not isinstance(inner, kind) or not coefficient.is_Rational or coefficient.p != 1:
            continue
        c = coefficient.q
        if c < 1:
            continue
        rest = sp.Add(*(terms[:i] + terms[i + 1 :]))
        if (rest * c).is_integer is not True:
            continue
        # one nesting level fewer each time, so this recursion ends
        return tidy(kind(sp.expand(inner.args[0] / c + rest)))
    return None


def cases(pairs: list[tuple[sp.Expr, sp.Basic]]) -> sp.Expr:
    r"""``Piecewise(*pairs)``, with values that are themselves ``Piecewise`` flattened into it.

    Branch values stay free of case splits and conditions never contain one. (SymPy
    rewrites a condition holding a ``Piecewise`` into ``ITE`` through ``as_set``, which
    takes seconds for stacked ``ceil_mode`` poolings.) Every ``Piecewise`` here ends with a
    ``True`` branch, so flattening keeps the first-match meaning: inner branch $j$ of outer
    branch $i$ applies when $c_i \wedge c'_j$ and no earlier entry does.
    """
    flat: list[tuple[sp.Expr, sp.Basic]] = []
    for value, condition in pairs:
        if isinstance(value, sp.Piecewise):
            for inner, inner_condition in value.args:
                flat.append((inner, sp.And(condition, inner_condition)))
        else:
            flat.append((value, condition))
        if condition is sp.true:
            break
    if len(flat) == 1:
        return flat[0][0]
    return sp.Piecewise(*flat)


def compose(outer: sp.Expr, placeholder: sp.Symbol, inner: sp.Expr) -> sp.Expr:
    """``outer`` with ``placeholder`` replaced by ``inner``, case splits kept at the top.

    >>> u, n = sp.Dummy("u", integer=True, positive=True), sp.Symbol("n", integer=True)
    >>> compose(sp.floor(u / 2), u, sp.Piecewise((n, n > 3), (n + 1, True)))
    Piecewise((floor(n/2), n > 3), (floor(n/2 + 1/2), True))
    """
    if not isinstance(inner, sp.Piecewise):
        return outer.xreplace({placeholder: inner})
    return cases([(compose(outer, placeholder, value), c) for value, c in inner.args])


def lift(expr: sp.Expr) -> sp.Expr:
    """``expr`` with every case split moved to the top (a ``Piecewise`` of split-free values).

    >>> n = sp.Symbol("n", integer=True)
    >>> lift(2 * sp.Piecewise((n, n > 3), (n + 1, True)) + 1)
    Piecewise((2*n + 1, n > 3), (2*n + 3, True))
    """
    if not expr.has(sp.Piecewise):
        return expr
    if isinstance(expr, sp.Piecewise):
        return cases([(lift(value), condition) for value, condition in expr.args])
    args = list(expr.args)
    for i, arg in enumerate(args):
        if arg.has(sp.Piecewise):
            inner = lift(arg)
            # an integer placeholder only for an integer argument: SymPy would otherwise
            # simplify floor(u) to u before the case split is substituted back
            values = [v for v, _ in inner.args] if isinstance(inner, sp.Piecewise) else [inner]
            integer = all(getattr(v, "is_integer", False) for v in values)
            placeholder = sp.Dummy("u", integer=True) if integer else sp.Dummy("u", real=True)
            outer = lift(expr.func(*args[:i], placeholder, *args[i + 1 :]))
            return compose(outer, placeholder, inner)
    return expr  # pragma: no cover - has() found a split in some argument
