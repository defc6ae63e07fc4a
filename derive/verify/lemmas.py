r"""Floor, ceiling and remainder lemmas of our own, and the rewriting that applies them.

SymPy pulls integer terms out of a floor, $\lfloor x + m \rfloor = \lfloor x \rfloor + m$,
but it cannot see that $\lfloor (qs + r)/s \rfloor = q$ when $0 \le r < s$. The lemmas
below close that gap; each is itself a claim of the catalogue (group ``lemma``), proved
there, except the two definitions it rests on.

``lemma.floor-window`` (definition of floor)
    $\lfloor x \rfloor = c$ for the integer $c$ with $c \le x < c + 1$.
``lemma.ceil-window`` (definition of ceiling)
    $\lceil x \rceil = c$ for the integer $c$ with $c - 1 < x \le c$.
``lemma.floor-division``
    $\lfloor (QD + R)/D \rfloor = Q + \lfloor R/D \rfloor$ for an integer $Q$ (and the same
    for ceiling): the quotient of a polynomial division leaves the floor.
``lemma.mod``
    $x \bmod s = x - s \lfloor x/s \rfloor$ for $s > 0$ (floored remainder, Python's ``%``).
``lemma.ceil-as-floor``
    $\lceil x/s \rceil = \lfloor (x + s - 1)/s \rfloor$ for integers $x$ and $s \ge 1$.
``lemma.half-split``
    $\lfloor x/2 \rfloor + \lceil x/2 \rceil = x$ for an integer $x$.

The window lemmas need inequalities such as $0 \le r/s < 1$. They are decided by
:func:`nonnegative` / :func:`positive` on the *region* of a proof case: a substitution such
as $s = r + 1 + u$ with $u \ge 0$ that turns the case's constraints into signs of symbols,
after which a polynomial with non-negative coefficients in non-negative symbols is
non-negative. Nothing is assumed about a sign that cannot be read off that way.

>>> import sympy as sp
>>> q = sp.Symbol("q", integer=True)
>>> r = sp.Symbol("r", integer=True, nonnegative=True)
>>> s = sp.Symbol("s", integer=True, positive=True)
>>> u = sp.Symbol("u", integer=True, nonnegative=True)
>>> apply_lemmas(sp.floor((q * s + r) / s), {s: r + 1 + u})
q
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import sympy as sp
from sympy.core.relational import Relational

from derive.params import integer_valued

__all__ = [
    "Region",
    "lemma_log",
    "nonnegative",
    "positive",
    "decide_on_region",
    "split_quotient",
    "apply_lemmas",
    "ceil_as_floor",
    "half_split",
    "mod_as_floor",
    "sample_points",
]

#: A substitution expressing a proof case's constraints through signs of new symbols.
Region = Mapping[sp.Symbol, sp.Expr]

_LOGS: list[set[str]] = []


@contextmanager
def lemma_log() -> Iterator[set[str]]:
    """Collect the names of the lemmas (and definitions) the rewriting applies meanwhile.

    >>> q, s = sp.Symbol("q", integer=True), sp.Symbol("s", integer=True, positive=True)
    >>> r, u = sp.symbols("r u", integer=True, nonnegative=True)
    >>> with lemma_log() as used:
    ...     _ = apply_lemmas(sp.floor((q * s + r) / s), {s: r + 1 + u})
    >>> sorted(used)
    ['floor-division', 'floor-window']
    """
    used: set[str] = set()
    _LOGS.append(used)
    try:
        yield used
    finally:
        _LOGS.remove(used)


def _used(name: str) -> None:
    for log in _LOGS:
        log.add(name)


def _shift_positive(expr: sp.Expr) -> sp.Expr:
    """Write each positive integer symbol ``x`` as ``x' + 1`` with ``x' >= 0``."""
    subs = {}
    for sym in expr.free_symbols:
        if sym.is_integer and sym.is_positive:
            subs[sym] = sp.Dummy(f"{sym.name}_", integer=True, nonnegative=True) + 1
    return expr.xreplace(subs) if subs else expr


def _poly_sign(expr: sp.Expr) -> tuple[bool, bool]:
    """``(surely >= 0, surely > 0)`` for a polynomial in symbols of known sign."""
    expr = sp.expand(_shift_positive(expr))
    if expr.is_number:
        return bool(expr >= 0), bool(expr > 0)
    syms = sorted(expr.free_symbols, key=lambda x: x.name)
    if all(x.is_nonnegative for x in syms):
        try:
            poly = sp.Poly(expr, *syms)
        except sp.PolynomialError:
            poly = None
        if poly is not None and all(c.is_number for c in poly.coeffs()):
            if all(c >= 0 for c in poly.coeffs()):
                const = poly.coeff_monomial(1)
                return True, bool(const > 0)
    return bool(expr.is_nonnegative), bool(expr.is_positive)


def _key(region: Region) -> tuple:
    """A region as a hashable key (the memo of these pure functions)."""
    return tuple(sorted(region.items(), key=lambda item: sp.default_sort_key(item[0])))


def _fraction_sign(expr: sp.Expr, region: Region) -> tuple[bool, bool, bool, bool]:
    """``(>= 0, > 0, <= 0, < 0)``, each True only when decided, on the region."""
    return _fraction_sign_of(sp.sympify(expr), _key(region))


@functools.lru_cache(maxsize=8192)
def _fraction_sign_of(expr: sp.Expr, region: tuple) -> tuple[bool, bool, bool, bool]:
    e = sp.together(expr.xreplace(dict(region)) if region else expr)
    num, den = sp.fraction(sp.cancel(e))
    n_nn, n_pos = _poly_sign(num)
    m_nn, m_pos = _poly_sign(-num)
    d_nn, d_pos = _poly_sign(den)
    e_nn, e_pos = _poly_sign(-den)
    ge = (n_nn and d_pos) or (m_nn and e_pos)
    gt = (n_pos and d_pos) or (m_pos and e_pos)
    le = (m_nn and d_pos) or (n_nn and e_pos)
    lt = (m_pos and d_pos) or (n_pos and e_pos)
    return ge, gt, le, lt


def nonnegative(expr: sp.Expr, region: Region = {}) -> bool:  # noqa: B006 - read only
    """True when ``expr >= 0`` is decided on the region.

    >>> s = sp.Symbol("s", integer=True, positive=True)
    >>> nonnegative((s - 1) / s), nonnegative(1 - 2 / s)
    (True, False)
    """
    return _fraction_sign(expr, region)[0]


def positive(expr: sp.Expr, region: Region = {}) -> bool:  # noqa: B006 - read only
    """True when ``expr > 0`` is decided on the region."""
    return _fraction_sign(expr, region)[1]


def _as_le(rel: Relational) -> sp.Expr | None:
    r"""An integer relation as $x \le 0$: the $x$ (``None`` for ``==``/``!=``)."""
    diff = sp.expand(rel.lhs - rel.rhs)
    if not integer_valued(diff):  # x < 0 as x + 1 <= 0 holds for integers only
        return None
    if isinstance(rel, sp.LessThan):
        return diff
    if isinstance(rel, sp.StrictLessThan):
        return diff + 1
    if isinstance(rel, sp.GreaterThan):
        return -diff
    if isinstance(rel, sp.StrictGreaterThan):
        return 1 - diff
    return None


def _by_hypothesis(rel: sp.Basic, region: Region, hypotheses: list[sp.Expr]) -> bool:
    r"""Whether a hypothesis $h \le 0$ implies ``rel`` ($x \le 0$), because $x \le h$ on the
    region (all integer-valued)."""
    x = _as_le(rel) if isinstance(rel, Relational) else None
    if x is None:
        return False
    return any(nonnegative(h - x, region) for h in hypotheses)


def _negation(cond: sp.Basic) -> sp.Expr | None:
    r"""$\neg (x \le 0)$ is $1 - x \le 0$ for integers: its $x$."""
    x = _as_le(cond) if isinstance(cond, Relational) else None
    return None if x is None else 1 - x


def _decide_piecewise(rel: sp.Basic, region: Region) -> bool | None:
    """A relation of ``Piecewise`` values: decided when it is decided in every branch, each
    branch under its own condition and the negations of the ones before (as hypotheses)."""
    folded = sp.piecewise_fold(rel)
    if folded in (sp.true, sp.false):
        return folded is sp.true
    if not isinstance(folded, sp.Piecewise):
        return _decide_relation(folded, region) if isinstance(folded, Relational) else None
    verdicts, before = [], []
    for value, cond in folded.args:
        truth = decide_on_region(cond, region)
        if truth is not False:
            hypotheses = [h for h in [_as_le(cond) if isinstance(cond, Relational) else None]
                          + [_negation(c) for c in before] if h is not None]  # fmt: skip
            verdict = decide_on_region(value, region)
            if verdict is None and _by_hypothesis(value, region, hypotheses):
                verdict = True
            verdicts.append(verdict)
        if truth is True:
            break
        before.append(cond)
    if verdicts and all(v is True for v in verdicts):
        return True
    if verdicts and all(v is False for v in verdicts):
        return False
    return None


def decide_on_region(rel: sp.Basic, region: Region = {}) -> bool | None:  # noqa: B006
    """Truth of a relation (``>=, >, <=, <, ==, !=``) on the region, decided by the signs of
    the region's symbols (and branch by branch for ``Piecewise`` values), or None.

    Unlike :func:`derive.guards.decided` (SymPy's own verdict only), this decides on a region
    of a proof case, with the lemmas' sign reasoning.

    >>> s = sp.Symbol("s", integer=True, positive=True)
    >>> u = sp.Symbol("u", integer=True, nonnegative=True)
    >>> decide_on_region(sp.Lt(s, 3)), decide_on_region(sp.Lt(s, 3), {s: 3 + u})
    (None, False)
    """
    if rel in (sp.true, True):
        return True
    if rel in (sp.false, False):
        return False
    if not isinstance(rel, Relational):
        return None
    if rel.has(sp.Piecewise):
        return _decide_piecewise(rel, region)
    return _decide_relation(rel, region)


def _decide_relation(rel: Relational, region: Region) -> bool | None:
    diff = rel.lhs - rel.rhs
    ge, gt, le, lt = _fraction_sign(diff, region)
    if isinstance(rel, sp.GreaterThan):
        return True if ge else (False if lt else None)
    if isinstance(rel, sp.StrictGreaterThan):
        return True if gt else (False if le else None)
    if isinstance(rel, sp.LessThan):
        return True if le else (False if gt else None)
    if isinstance(rel, sp.StrictLessThan):
        return True if lt else (False if ge else None)
    if isinstance(rel, (sp.Equality, sp.Unequality)):
        zero = sp.expand(diff.xreplace(dict(region))) == 0
        strict = gt or lt
        value = True if zero else (False if strict else None)
        if value is None or isinstance(rel, sp.Equality):
            return value
        return not value
    return None


def split_quotient(num: sp.Expr, den: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    r"""``(Q, R)`` with ``num = Q*den + R`` and ``Q`` integer-valued (lemma ``floor-division``).

    For a numeric ``den`` every coefficient is divided with remainder; for ``den = c*M``
    with ``M`` a monomial in positive integer symbols, the terms divisible by ``M`` go to
    the quotient (coefficients divided by ``c`` with remainder). Otherwise ``(0, num)``.

    >>> s, n = sp.symbols("s n", integer=True, positive=True)
    >>> split_quotient(n + 2 * s - 1, s)
    (2, n - 1)
    >>> split_quotient(2 * n + 3, sp.Integer(2))
    (n + 1, 1)
    >>> split_quotient(n * s**2 + 3 * s + 1, 2 * s)
    (1, n*s**2 + s + 1)
    """
    num = sp.expand(num)
    zero = (sp.Integer(0), num)
    if den == 1:
        return (num, sp.Integer(0)) if integer_valued(num) else zero
    gens = sorted(num.free_symbols, key=lambda x: x.name)
    # den = c * M: a positive integer times a monomial in positive integer symbols (maybe 1)
    c, M = den.as_coeff_Mul()
    factors = {} if M == 1 else M.as_powers_dict()
    if not (
        c.is_Integer
        and c > 0
        and all(f.is_Symbol and f.is_integer and f.is_positive for f in factors)
        and all(e.is_Integer and e > 0 for e in factors.values())
        and all(g.is_integer for g in gens)
    ):
        return zero
    if not gens:
        if not (num.is_Integer and not factors):
            return zero
        return sp.Integer(int(num) // int(c)), sp.Integer(int(num) % int(c))
    try:
        poly = sp.Poly(num, *gens)
    except sp.PolynomialError:
        return zero
    q_terms, r_terms = [], []
    for monom, coeff in poly.terms():
        powers = dict(zip(gens, monom))
        term = sp.Mul(*(g**e for g, e in powers.items()))
        if coeff.is_Integer and all(powers.get(f, 0) >= e for f, e in factors.items()):
            q_terms.append((int(coeff) // int(c)) * sp.expand(term / M))
            r_terms.append((int(coeff) % int(c)) * term)
        else:
            r_terms.append(coeff * term)
    Q, R = sp.Add(*q_terms), sp.Add(*r_terms)
    if not integer_valued(Q):
        return zero
    assert sp.expand(Q * den + R - num) == 0
    return Q, R


def sample_points(
    symbols: list[sp.Symbol], count: int = 16, small: bool = False
) -> list[dict[sp.Symbol, int]]:
    """Deterministic sample values respecting each symbol's sign assumptions (``small``:
    values up to 3, for expressions whose size grows with them, such as sums)."""

    def values(sym: sp.Symbol) -> list[int]:
        if sym.is_positive:
            return [1, 2, 3] if small else [1, 2, 3, 7, 12]
        if sym.is_nonnegative:
            return [0, 1, 2] if small else [0, 1, 2, 5, 11]
        if sym.is_negative:
            return [-1, -2, -5]
        return [0, 2, -1] if small else [0, 3, -1, -4, 9]

    syms = sorted(symbols, key=lambda x: x.name)
    if not syms:
        return [{}]
    pools = [values(x) for x in syms]
    points = []
    for i in range(count):
        points.append(
            {x: pool[(i * (j + 2) + j) % len(pool)] for j, (x, pool) in enumerate(zip(syms, pools))}
        )
    if len(syms) == 1:
        points = [{syms[0]: v} for v in pools[0]]
    return points


def _guess(value: sp.Expr, kind: Callable[[sp.Expr], sp.Expr], region: Region) -> int | None:
    """The constant value ``kind(value)`` takes at sample points of the region, if constant."""
    expr = value.xreplace(dict(region)) if region else value
    seen = set()
    for point in sample_points(list(expr.free_symbols)):
        v = expr.xreplace(point)
        if not v.is_number or v.is_infinite or v is sp.nan:
            continue
        seen.add(int(kind(v)))
        if len(seen) > 1:
            return None
    return seen.pop() if len(seen) == 1 else None


def _reduce_rounding(atom: sp.Expr, region: Region) -> sp.Expr:
    """Apply ``floor-division`` then the window lemma to one floor or ceiling."""
    is_floor = isinstance(atom, sp.floor)
    arg = atom.args[0]
    num, den = sp.fraction(sp.cancel(sp.together(arg)))
    if den.could_extract_minus_sign():
        num, den = -num, -den
    Q, R = split_quotient(num, den)
    if Q != 0:
        _used("floor-division")
    rest = R / den
    kind = sp.floor if is_floor else sp.ceiling
    c = _guess(rest, kind, region)
    if c is not None:
        if is_floor:  # c <= rest < c + 1
            ok = nonnegative(rest - c, region) and positive(c + 1 - rest, region)
        else:  # c - 1 < rest <= c
            ok = positive(rest - c + 1, region) and nonnegative(c - rest, region)
        if ok:
            _used("floor-window" if is_floor else "ceil-window")
            return Q + c
    return Q + kind(sp.expand(R) / den)


def _reduce_minmax(expr: sp.Expr, region: Region) -> sp.Expr:
    args = list(expr.args)
    if len(args) != 2:
        return expr
    a, b = args
    first = decide_on_region(sp.Ge(a, b, evaluate=False), region)
    if first is None:
        return expr
    _used("max-min")
    bigger, smaller = (a, b) if first else (b, a)
    return bigger if isinstance(expr, sp.Max) else smaller


def _reduce_piecewise(expr: sp.Piecewise, region: Region) -> sp.Expr:
    kept = []
    for value, cond in expr.args:
        truth = decide_on_region(cond, region)
        if truth is True and not kept:
            _used("piecewise")
            return value
        if truth is False:
            _used("piecewise")
            continue
        kept.append((value, cond))
    if len(kept) == 1 and kept[0][1] in (sp.true, True):
        return kept[0][0]
    return sp.Piecewise(*kept)


def mod_as_floor(expr: sp.Expr) -> sp.Expr:
    """Lemma ``mod``: rewrite every ``Mod(x, s)`` as ``x - s*floor(x/s)``.

    >>> x, s = sp.symbols("x s", integer=True, positive=True)
    >>> mod_as_floor(sp.Mod(x, s))
    -s*floor(x/s) + x
    """
    if expr.has(sp.Mod):
        _used("mod")
    return expr.replace(
        lambda e: isinstance(e, sp.Mod),
        lambda e: e.args[0] - e.args[1] * sp.floor(e.args[0] / e.args[1]),
    )


def ceil_as_floor(expr: sp.Expr) -> sp.Expr:
    r"""Lemma ``ceil-as-floor``: $\lceil x/s \rceil \to \lfloor (x + s - 1)/s \rfloor$.

    Applied to ceilings of an integer numerator over a positive integer denominator only.

    >>> x, s = sp.symbols("x s", integer=True, positive=True)
    >>> ceil_as_floor(sp.ceiling(x / s))
    floor((s + x - 1)/s)
    """

    def rule(e: sp.Expr) -> sp.Expr:
        num, den = sp.fraction(sp.together(e.args[0]))
        if not (num.is_integer and den.is_integer and den.is_positive):
            return e
        _used("ceil-as-floor")
        return sp.floor((num + den - 1) / den)

    return expr.replace(lambda e: isinstance(e, sp.ceiling), rule)


def half_split(expr: sp.Expr) -> sp.Expr:
    r"""Lemma ``half-split``: $\lfloor x/2 \rfloor \to x - \lceil x/2 \rceil$ for integer $x$.

    >>> x = sp.Symbol("x", integer=True)
    >>> half_split(x - sp.floor(x / 2))
    ceiling(x/2)
    """

    def rule(e: sp.Expr) -> sp.Expr:
        num, den = sp.fraction(sp.together(e.args[0]))
        if den != 2 or not num.is_integer:
            return e
        _used("half-split")
        return num - sp.ceiling(num / 2)

    return expr.replace(lambda e: isinstance(e, sp.floor), rule)


def apply_lemmas(expr: sp.Expr, region: Region = {}, rounds: int = 4) -> sp.Expr:  # noqa: B006
    """Rewrite floors, ceilings, remainders, ``Max``/``Min`` and ``Piecewise`` bottom-up.

    Each floor or ceiling is split by ``floor-division`` and then, when the rest provably
    lies in one unit window on the region, replaced by its value (``floor-window`` /
    ``ceil-window``). ``Mod`` is first rewritten by ``mod``. The result equals ``expr`` at
    every point of the region. A rewriting is a function of the expression and the region:
    it is remembered (with the lemmas it used, reported again on every use), so claims that
    share a subexpression reduce it once.
    """
    result, used = _rewritten(sp.sympify(expr), _key(region), rounds)
    for name in used:
        _used(name)
    return result


@functools.lru_cache(maxsize=4096)
def _rewritten(expr: sp.Expr, region_key: tuple, rounds: int) -> tuple[sp.Expr, frozenset[str]]:
    with lemma_log() as log:
        result = _apply(expr, dict(region_key), rounds)
    return result, frozenset(log)


def _apply(expr: sp.Expr, region: Region, rounds: int) -> sp.Expr:
    expr = mod_as_floor(expr)

    def walk(e: sp.Basic) -> sp.Basic:
        if e.is_Atom or not e.args:
            return e
        if isinstance(e, sp.Piecewise):
            pairs = [(walk(v), walk(c)) for v, c in e.args]
            rebuilt = sp.Piecewise(*pairs, evaluate=False)
            if isinstance(rebuilt, sp.Piecewise):
                rebuilt = _reduce_piecewise(rebuilt, region)
            return walk_result(rebuilt)
        new = e.func(*[walk(a) for a in e.args])
        return walk_result(new)

    def walk_result(e: sp.Basic) -> sp.Basic:
        if isinstance(e, (sp.floor, sp.ceiling)):
            return _reduce_rounding(e, region)
        if isinstance(e, (sp.Max, sp.Min)):
            return _reduce_minmax(e, region)
        return e

    for _ in range(rounds):
        new = walk(expr)
        if new == expr:
            break
        expr = new
    return expr
