r"""Formulas as people write them: the floor over the stride, the book's grouping, proved equal.

SymPy keeps expressions in a canonical, expanded form: the output size of a convolution with
kernel 3, stride 2 and padding 1 is stored as ``floor(H/2 - 1/2) + 1``, where a reader writes

$$
\left\lfloor \frac{H - 1}{2} \right\rfloor + 1 .
$$

:func:`reader_form` rewrites an expression into that shape as an *unevaluated* SymPy tree:

- the argument of every ``floor``/``ceiling`` is put over one denominator, $\lfloor a/b \rfloor$
  with $a$ a polynomial and $b$ the stride;
- in every sum, terms that share a symbol are gathered under it, the way the book writes
  $d(k-1)$ and $(n-1)s$ rather than $dk - d$ and $ns - s$, with the sign outside the group;
- terms are ordered: symbols with a plus sign, then those with a minus sign, then the number.

The form is then **proved** equal to the expression before it is used: re-evaluating the tree
must give back the engine's expression (SymPy's canonical form is unique, so equal canonical
forms are equal functions), or their difference must expand to zero. A form that cannot be
proved is refused and the expression is printed as SymPy prints it.

:func:`text` and :func:`latex` print the proved form (plain text and LaTeX); they are what
``derive shape`` prints and what the explorer shows.

>>> H = sp.Symbol("H", integer=True, positive=True)
>>> text(sp.floor(H / 2 - sp.Rational(1, 2)) + 1)
'floor((H - 1)/2) + 1'
>>> latex(sp.floor(H / 2 - sp.Rational(1, 2)) + 1)
'\\left\\lfloor \\frac{H - 1}{2} \\right\\rfloor + 1'
>>> n, k, s, d, p = sp.symbols("n k s d p", integer=True)
>>> text(d * k - d + n * s - 2 * p - s + 1)
'd*(k - 1) + s*(n - 1) - 2*p + 1'
>>> text(2 * sp.floor(H / 2 + sp.Rational(1, 2)) - 1)
'2*floor((H + 1)/2) - 1'
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp
from sympy.core.relational import Relational
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

__all__ = ["reader_form", "proved_equal", "text", "latex", "ReaderStrPrinter", "ReaderLatexPrinter"]


def _ordered_terms(expr: sp.Expr) -> list[sp.Expr]:
    return list(expr.as_ordered_terms())


def _negative(term: sp.Expr) -> bool:
    return term.could_extract_minus_sign()


def _sorted_terms(terms: list[sp.Expr]) -> list[sp.Expr]:
    """Plus terms, then minus terms, then the number (each group in SymPy's order)."""
    number = [t for t in terms if t.is_number]
    rest = [t for t in terms if not t.is_number]
    plus = [t for t in rest if not _negative(t)]
    minus = [t for t in rest if _negative(t)]
    if not plus and number and not _negative(number[0]):
        return number + minus  # 1 - H, not -H + 1
    return plus + minus + number


def _factor_of(term: sp.Expr, x: sp.Symbol) -> sp.Expr | None:
    """``term / x`` when ``x`` divides ``term`` as a plain factor (degree one), else None."""
    coeff, factors = term.as_coeff_mul()
    if factors.count(x) != 1:
        return None
    rest = list(factors)
    rest.remove(x)
    return sp.Mul(coeff, *rest)


def _group(expr: sp.Expr) -> sp.Expr:
    """A sum with the terms sharing a symbol gathered under it (unevaluated)."""
    terms = _ordered_terms(sp.expand(expr))
    groups: list[sp.Expr] = []
    while True:
        counts: dict[sp.Symbol, int] = {}
        for t in terms:
            for x in t.free_symbols:
                if _factor_of(t, x) is not None:
                    counts[x] = counts.get(x, 0) + 1
        shared = sorted(
            (x for x, c in counts.items() if c >= 2), key=lambda x: (-counts[x], x.name)
        )
        if not shared:
            break
        x = shared[0]
        inside = [t for t in terms if _factor_of(t, x) is not None]
        cofactor = sp.Add(*(_factor_of(t, x) for t in inside))
        terms = [t for t in terms if t not in inside]
        if cofactor == 0:
            continue
        groups.append(_product(x, cofactor))
    parts = _sorted_terms(groups + terms)
    if not parts:
        return sp.Integer(0)
    if len(parts) == 1:
        return parts[0]
    return sp.Add(*parts, evaluate=False)


def _product(x: sp.Symbol, cofactor: sp.Expr) -> sp.Expr:
    """``x * cofactor`` written with the sign outside: ``-d*(k - 1)``, not ``d*(1 - k)``."""
    terms = _ordered_terms(cofactor)
    symbolic = [t for t in terms if not t.is_number] or terms
    sign = -1 if all(_negative(t) for t in symbolic) else 1
    inner = _group(sign * cofactor)
    if inner == 1:
        body: sp.Expr = x
    elif inner.is_Number:
        body = sp.Mul(inner, x, evaluate=False)
    else:
        body = sp.Mul(x, inner, evaluate=False)
    return sp.Mul(-1, body, evaluate=False) if sign < 0 else body


def _over(arg: sp.Expr) -> sp.Expr:
    """``arg`` as one fraction ``a/b`` (unevaluated), ``b`` a positive-looking denominator."""
    num, den = sp.fraction(sp.together(arg))
    if den.could_extract_minus_sign():
        num, den = -num, -den
    top = _group(num)
    if den == 1:
        return top
    return sp.Mul(top, sp.Pow(den, -1, evaluate=False), evaluate=False)


def _form(expr: sp.Basic) -> sp.Basic:
    if isinstance(expr, (sp.floor, sp.ceiling)):
        return type(expr)(_over(expr.args[0]), evaluate=False)
    if isinstance(expr, sp.Piecewise):
        return sp.Piecewise(*((_form(e), _form(c)) for e, c in expr.args), evaluate=False)
    if isinstance(expr, sp.Add):
        inner = [_form(t) for t in expr.args]
        if not expr.has(sp.floor, sp.ceiling, sp.Piecewise):  # also 2*floor(...) in a sum
            return _group(expr)
        order = _sorted_terms(list(expr.args))  # the floor keeps its place, the number last
        return sp.Add(*(inner[list(expr.args).index(t)] for t in order), evaluate=False)
    if isinstance(expr, Relational):
        return type(expr)(_form(expr.lhs), _form(expr.rhs), evaluate=False)
    if isinstance(expr, sp.Mul):
        return sp.Mul(*(_form(a) for a in expr.args), evaluate=False)
    return expr


def _rebuild(expr: sp.Basic) -> sp.Basic:
    """The unevaluated tree evaluated again, bottom up (SymPy's canonical form)."""
    if not expr.args or isinstance(expr, sp.Atom):
        return expr
    return expr.func(*(_rebuild(a) for a in expr.args))


def proved_equal(form: sp.Basic, expr: sp.Basic) -> bool:
    """Whether the unevaluated ``form`` is provably the same function as ``expr``.

    Evaluated again, the form must give ``expr`` itself, or a difference that expands to 0.

    >>> n = sp.Symbol("n", integer=True)
    >>> proved_equal(sp.Mul(2, sp.Add(n, 1), evaluate=False), 2 * n + 2)
    True
    >>> proved_equal(sp.Mul(2, sp.Add(n, 1), evaluate=False), 2 * n + 1)
    False
    """
    rebuilt = _rebuild(form)
    if rebuilt == expr:
        return True
    if isinstance(rebuilt, sp.Expr) and isinstance(expr, sp.Expr):
        return sp.expand(rebuilt - expr) == 0
    return False


def reader_form(expr: sp.Basic) -> sp.Basic:
    """The form a reader writes, proved equal to ``expr``; ``expr`` itself if none is proved.

    >>> H = sp.Symbol("H", integer=True)
    >>> reader_form(sp.floor(H / 2 - sp.Rational(1, 2)) + 1).args[0]
    floor((H - 1)/2)
    """
    expr = sp.sympify(expr)
    try:
        form = _form(expr)
    except (TypeError, ValueError):  # pragma: no cover - refuse, do not guess
        return expr
    return form if proved_equal(form, expr) else expr


class ReaderStrPrinter(StrPrinter):
    """SymPy's string printer, keeping the order of an unevaluated sum."""

    _default_settings = {**StrPrinter._default_settings, "order": "none"}


class ReaderLatexPrinter(LatexPrinter):
    r"""SymPy's LaTeX printer, keeping a sum's order and writing $\lfloor a/b \rfloor$ plainly."""

    _default_settings = {**LatexPrinter._default_settings, "order": "none"}

    def _print_floor(self, expr: sp.floor, exp: object = None) -> str:
        return self._bracket(r"\left\lfloor ", r" \right\rfloor", expr, exp)

    def _print_ceiling(self, expr: sp.ceiling, exp: object = None) -> str:
        return self._bracket(r"\left\lceil ", r" \right\rceil", expr, exp)

    def _bracket(self, left: str, right: str, expr: sp.Basic, exp: object) -> str:
        tex = left + self._print(expr.args[0]) + right
        return f"{tex}^{{{exp}}}" if exp is not None else tex


def _printed(printer: Callable[[sp.Basic], str], expr: sp.Basic) -> str:
    return printer(reader_form(expr))


def text(expr: sp.Basic) -> str:
    """``expr`` as plain text in the reader's form (see the module docstring)."""
    return _printed(ReaderStrPrinter().doprint, expr)


def latex(expr: sp.Basic) -> str:
    """``expr`` as LaTeX in the reader's form (see the module docstring)."""
    return _printed(ReaderLatexPrinter().doprint, expr)
