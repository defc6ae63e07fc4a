r"""Compile the engine's symbolic formulas into exact, vectorised integer functions.

The sweep and the exhaustive checks evaluate a formula at up to hundreds of thousands of
points. Calling the engine numerically costs about half a millisecond a point, so instead
the engine is called *once* with symbols and its expression is compiled: every
$\lfloor a/b \rfloor$ becomes ``numpy.floor_divide(a, b)`` on integers (no floating point
anywhere), $\lceil a/b \rceil$ becomes $-\lfloor -a/b \rfloor$ and ``Mod`` is rewritten by
the ``mod`` lemma first. A monkeypatched engine therefore yields a patched compiled formula.

>>> import numpy as np
>>> n, s = sp.symbols("n s", integer=True, positive=True)
>>> f = compile_formula(sp.floor((n - 1) / s) + 1, (n, s))
>>> f(np.array([1, 5, 8]), np.array([2, 2, 3])).tolist()
[1, 3, 3]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import sympy as sp

from derive.verify.lemmas import mod_as_floor

__all__ = ["compile_formula", "ceil_div"]


class _FDiv(sp.Function):
    """Integer floor division, printed as ``numpy.floor_divide``."""

    nargs = 2


def ceil_div(a, b):
    """Exact integer ceiling division, vectorised: ``-((-a) // b)``."""
    return -np.floor_divide(-a, b)


def _integer_division(expr: sp.Expr) -> sp.Expr:
    def rule(e: sp.Expr) -> sp.Expr:
        num, den = sp.fraction(sp.together(e.args[0]))
        if den.could_extract_minus_sign():
            num, den = -num, -den
        if isinstance(e, sp.floor):
            return _FDiv(num, den)
        return -_FDiv(-num, den)

    return expr.replace(lambda e: isinstance(e, (sp.floor, sp.ceiling)), rule)


def compile_formula(expr: sp.Expr, symbols: Sequence[sp.Symbol]) -> Callable[..., np.ndarray]:
    """A function of ``symbols`` (numpy integer arrays or ints) computing ``expr`` exactly.

    Raises ``ValueError`` if a division would survive outside a floor or ceiling.
    """
    body = _integer_division(mod_as_floor(sp.sympify(expr)))
    outside = [a for a in body.atoms(sp.Rational) if not a.is_Integer] + [
        p for p in body.atoms(sp.Pow) if p.exp.is_negative
    ]
    if outside:
        raise ValueError(f"non-integer operation {outside[0]} outside a floor in {expr}")
    fn = sp.lambdify(
        list(symbols), body, modules=[{"_FDiv": np.floor_divide}, "numpy"], docstring_limit=0
    )

    def run(*args):
        arrays = [np.asarray(a, dtype=np.int64) for a in args]
        out = fn(*arrays)
        return np.broadcast_to(np.asarray(out, dtype=np.int64), np.broadcast(*arrays).shape)

    return run
