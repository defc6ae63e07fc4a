r"""Compile the engine's symbolic formulas and conditions into exact, vectorised functions.

The sweep and the exhaustive checks evaluate a formula at up to hundreds of thousands of
points. Calling the engine numerically costs a fraction of a millisecond a point, so instead
the engine is called *once* with symbols and its expression is compiled: every
$\lfloor a/b \rfloor$ becomes ``numpy.floor_divide(a, b)`` on integers (no floating point
anywhere), $\lceil a/b \rceil$ becomes $-\lfloor -a/b \rfloor$ and ``Mod`` is rewritten by
the ``mod`` lemma first. A monkeypatched engine therefore yields a patched compiled formula.

Conditions (an acceptance rule's guards, :mod:`derive.guards`) compile the same way into
boolean arrays: relations, ``And``/``Or``/``Not`` and ``Piecewise`` of integer expressions.

>>> import numpy as np
>>> n, s = sp.symbols("n s", integer=True, positive=True)
>>> f = compile_formula(sp.floor((n - 1) / s) + 1, (n, s))
>>> f(np.array([1, 5, 8]), np.array([2, 2, 3])).tolist()
[1, 3, 3]
>>> g = compile_condition(sp.Or(sp.Lt(n, 3), sp.Ne(s, 1)), (n, s))
>>> g(np.array([1, 5, 5]), np.array([1, 1, 2])).tolist()
[True, False, True]
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np
import sympy as sp

from derive.verify.lemmas import mod_as_floor

__all__ = ["compile_formula", "compile_condition", "ceil_div"]


class _FDiv(sp.Function):
    """Integer floor division, printed as ``numpy.floor_divide``."""

    nargs = 2


def ceil_div(a, b):
    """Exact integer ceiling division, vectorised: ``-((-a) // b)``."""
    return -np.floor_divide(-a, b)


def _integer_division(expr: sp.Basic) -> sp.Basic:
    def rule(e: sp.Expr) -> sp.Expr:
        num, den = sp.fraction(sp.together(e.args[0]))
        if den.could_extract_minus_sign():
            num, den = -num, -den
        if isinstance(e, sp.floor):
            return _FDiv(num, den)
        return -_FDiv(-num, den)

    return expr.replace(lambda e: isinstance(e, (sp.floor, sp.ceiling)), rule)


@functools.lru_cache(maxsize=1024)
def _lambdify(expr: sp.Basic, symbols: tuple[sp.Symbol, ...]) -> Callable[..., object]:
    """The compiled function (kept per expression: an engine patched to give another
    expression gives another function)."""
    body = _integer_division(mod_as_floor(sp.sympify(expr)))
    outside = [a for a in body.atoms(sp.Rational) if not a.is_Integer] + [
        p for p in body.atoms(sp.Pow) if p.exp.is_negative
    ]
    if outside:
        raise ValueError(f"non-integer operation {outside[0]} outside a floor in {expr}")
    return sp.lambdify(
        list(symbols), body, modules=[{"_FDiv": np.floor_divide}, "numpy"], docstring_limit=0
    )


def _vectorised(fn: Callable[..., object], dtype: type) -> Callable[..., np.ndarray]:
    def run(*args):
        # one common shape, so that And/Or reduce arrays of equal length
        arrays = np.broadcast_arrays(*(np.asarray(a, dtype=np.int64) for a in args))
        # a zero divisor only occurs where a guard already rejects: its value is never read
        with np.errstate(divide="ignore", invalid="ignore"):
            out = fn(*arrays)
        return np.broadcast_to(np.asarray(out, dtype=dtype), np.broadcast(*arrays).shape)

    return run


def compile_formula(expr: sp.Expr, symbols: Sequence[sp.Symbol]) -> Callable[..., np.ndarray]:
    """A function of ``symbols`` (numpy integer arrays or ints) computing ``expr`` exactly.

    Raises ``ValueError`` if a division would survive outside a floor or ceiling.
    """
    return _vectorised(_lambdify(sp.sympify(expr), tuple(symbols)), np.int64)


def compile_condition(cond: sp.Basic, symbols: Sequence[sp.Symbol]) -> Callable[..., np.ndarray]:
    """A function of ``symbols`` computing the truth of ``cond`` at every point (bool array).

    Raises ``ValueError`` if a division would survive outside a floor or ceiling.
    """
    if cond is sp.true or cond is True:
        return _vectorised(lambda *a: True, np.bool_)
    if cond is sp.false or cond is False:
        return _vectorised(lambda *a: False, np.bool_)
    return _vectorised(_lambdify(cond, tuple(symbols)), np.bool_)
