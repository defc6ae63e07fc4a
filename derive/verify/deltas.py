r"""Kronecker deltas in indexed sums: the two facts the gradient proofs rest on.

Differentiating a layer's sum with respect to one entry, say $X_{c',r',q'}$, gives Kronecker
deltas: $\partial X_{c,R,Q} / \partial X_{c',r',q'} = [c = c']\,[R = r']\,[Q = q']$ (SymPy's
``Indexed.diff``). Two facts about finite sums reduce them, each applied only when its side
condition is decided on the proof case's region (:func:`derive.verify.lemmas.decide_on_region`),
never assumed:

*collapse*
    $\sum_{v=l}^{h} [v = x]\, f(v) = f(x)$ when $l \le x \le h$ and $x$ is free of the sum's
    variables. It applies when the summand vanishes wherever the delta does (every branch of
    the summand carries the delta as a factor).
*restated indicator*
    $[A = B]\, f \cdot [\varphi(A)] = [A = B]\, f \cdot [\varphi(B)]$: in a summand
    ``Piecewise((f, cond), (0, True))`` whose value carries the factor $[A = B]$, a relation
    $E \ge 0$ of ``cond`` may be written $E \pm (A - B) \ge 0$; it is, when that is free of
    the sum's variables (the padding test $0 \le R < H$ at $R = r'$ becomes $0 \le r' < H$).

Deltas are put in one order first (:func:`canonical`), so equal deltas compare equal.

>>> v = sp.Symbol("v", integer=True)
>>> x = sp.Symbol("x", integer=True, nonnegative=True)
>>> n = sp.Symbol("n", integer=True, positive=True)
>>> u = sp.Symbol("u", integer=True, nonnegative=True)
>>> F = sp.IndexedBase("F")
>>> collapse(sp.KroneckerDelta(v, x) * F[v], ((v, 0, n - 1),), {n: x + 1 + u})
(F[x], ())
>>> collapse(sp.KroneckerDelta(v, x) * F[v], ((v, 0, n - 1),), {})  # x < n not shown
(KroneckerDelta(v, x)*F[v], ((v, 0, n - 1),))
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp
from sympy.core.relational import Relational

from derive.verify.lemmas import Region, decide_on_region

__all__ = ["canonical", "collapse", "restate_indicators"]

Limits = Sequence[tuple[sp.Symbol, sp.Expr, sp.Expr]]


def canonical(expr: sp.Basic) -> sp.Basic:
    """Every Kronecker delta with its two sides in SymPy's sort order.

    >>> a, b = sp.symbols("a b", integer=True)
    >>> canonical(sp.KroneckerDelta(b, a)) == canonical(sp.KroneckerDelta(a, b))
    True
    """

    def ordered(delta: sp.KroneckerDelta) -> sp.Basic:
        first, second = sorted(delta.args[:2], key=sp.default_sort_key)
        return sp.KroneckerDelta(first, second, evaluate=False)

    return expr.replace(lambda e: isinstance(e, sp.KroneckerDelta), ordered)


def _carries(expr: sp.Expr, delta: sp.KroneckerDelta) -> bool:
    """Whether ``expr`` vanishes wherever ``delta`` does: each of its terms or branches has
    ``delta`` as a factor (or is 0)."""
    if expr == 0:
        return True
    if isinstance(expr, sp.Piecewise):
        return all(_carries(value, delta) for value, _ in expr.args)
    if isinstance(expr, sp.Add):
        return all(_carries(term, delta) for term in expr.args)
    return delta in sp.Mul.make_args(expr)


def _other_side(delta: sp.KroneckerDelta, v: sp.Symbol) -> sp.Expr | None:
    first, second = delta.args[:2]
    if first == v:
        return second
    if second == v:
        return first
    return None


def _collapsible(body: sp.Expr, limits: list, index: int, region: Region) -> sp.Expr | None:
    """The value ``x`` the variable of ``limits[index]`` collapses to, or None."""
    v, lo, hi = limits[index]
    names = {lim[0] for lim in limits}
    if any(v in (a.free_symbols | b.free_symbols) for _, a, b in limits):
        return None  # another limit depends on v
    for delta in sorted(body.atoms(sp.KroneckerDelta), key=sp.default_sort_key):
        x = _other_side(delta, v)
        if x is None or x.free_symbols & names or not _carries(body, delta):
            continue
        inside = (decide_on_region(sp.Le(lo, x), region), decide_on_region(sp.Le(x, hi), region))
        if inside == (True, True):
            return x
    return None


def collapse(body: sp.Expr, limits: Limits, region: Region) -> tuple[sp.Expr, tuple]:
    r"""$\sum_v [v = x] f(v) \to f(x)$ for every summation variable it applies to."""
    limits = [tuple(sp.sympify(part) for part in lim) for lim in limits]
    index = 0
    while index < len(limits):
        x = _collapsible(body, limits, index, region)
        if x is None:
            index += 1
            continue
        body = body.xreplace({limits[index][0]: x})
        del limits[index]
        index = 0
    return body, tuple(limits)


def _restate(rel: Relational, deltas: list[sp.KroneckerDelta], names: set) -> Relational:
    """``rel`` as an equivalent relation free of ``names`` under the deltas, if one is."""
    diff = sp.expand(rel.lhs - rel.rhs)
    for delta in deltas:
        a, b = delta.args[:2]
        for sign in (1, -1):
            shifted = sp.expand(diff + sign * (a - b))
            if not shifted.free_symbols & names:
                return rel.func(shifted, 0)
    return rel


def _verdict(cond: sp.Basic, region: Region) -> bool | None:
    parts = cond.args if isinstance(cond, sp.And) else (cond,)
    verdicts = [decide_on_region(part, region) for part in parts]
    if all(v is True for v in verdicts):
        return True
    return False if False in verdicts else None


def restate_indicators(body: sp.Expr, names: set, region: Region) -> sp.Expr:
    """``Piecewise((f, cond), (0, True))`` with deltas in ``f``: ``cond`` restated through them
    and, when decided on the region, removed (``f``) or the summand dropped (0)."""
    if not (isinstance(body, sp.Piecewise) and len(body.args) == 2 and body.args[1] == (0, True)):
        return body
    (value, cond), _ = body.args
    deltas = [f for f in sp.Mul.make_args(value) if isinstance(f, sp.KroneckerDelta)]
    if not deltas:
        return body
    restated = cond.xreplace({rel: _restate(rel, deltas, names) for rel in cond.atoms(Relational)})
    verdict = _verdict(restated, region)
    if verdict is None:
        return body
    return value if verdict else sp.Integer(0)
