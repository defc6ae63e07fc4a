r"""Small LaTeX writers for numbers, matrices, tensors and written-out sums of products.

Everything returns a string for KaTeX/MathJax (``pymdownx.arithmatex`` on the pages); the
markup stays in the subset both engines share (``bmatrix``, ``aligned``, ``\times``,
``\frac``, ``\max``).

>>> import sympy as sp
>>> number(sp.Rational(-1, 4))
'-\\frac{1}{4}'
>>> matrix([[1, -2], [3, 4]])
'\\begin{bmatrix} 1 & -2 \\\\ 3 & 4 \\end{bmatrix}'
>>> product_sum([(3, 0), (-1, 2)])
'3 \\times 0 + (-1) \\times 2'
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import sympy as sp
from sympy.printing.latex import LatexPrinter

from derive.printing import ReaderLatexPrinter, reader_form

__all__ = [
    "as_basic",
    "number",
    "factor",
    "expr",
    "formula",
    "matrix",
    "tensor",
    "product_sum",
    "grouped_sum",
    "index",
]


#: terms of a sum are written in this order of their symbols' first letter, numbers last
_ORDER = {"n": 0, "p": 1, "k": 2, "d": 3, "s": 4, "o": 5}


def _term_key(term: sp.Basic) -> tuple:
    if not term.free_symbols:
        return (99, "")
    rank = min(_ORDER.get(s.name[:1], 50) for s in term.free_symbols)
    return (rank, sp.default_sort_key(term))


class _PageOrder:
    """Sums printed in the page's order (:func:`_term_key`), whatever order SymPy keeps."""

    def _as_ordered_terms(self, expr: sp.Basic, order: str | None = None) -> list[sp.Basic]:
        return sorted(expr.args, key=_term_key)


class _Printer(_PageOrder, LatexPrinter):
    """SymPy's LaTeX printer, with sums ordered as people write size formulas.

    ``n_h + 2 p_h - k_h + 1`` rather than SymPy's ``- k_{h} + n_{h} + 2 p_{h} + 1``.
    """


class _FormulaPrinter(_PageOrder, ReaderLatexPrinter):
    """The reader's form (:mod:`derive.printing`) with the page's order of terms: reordering
    the terms of a sum leaves the proved form's value as it is."""

    def _print_Add(self, expr: sp.Add, order: str | None = None) -> str:
        tex = ""
        for i, term in enumerate(self._as_ordered_terms(expr)):
            negative = i > 0 and term.could_extract_minus_sign()
            if negative:
                term = _negated(term)
            term_tex = self._print(term)
            if self._needs_add_brackets(term):
                term_tex = f"\\left({term_tex}\\right)"
            tex += (" - " if negative else " + " if i else "") + term_tex
        return tex


def _negated(term: sp.Basic) -> sp.Basic:
    """``-term`` keeping an unevaluated product's grouping: ``-d (k - 1)`` gives ``d (k - 1)``
    and ``-2 (k - 1)`` gives ``2 (k - 1)``, where SymPy would distribute the 2."""
    if isinstance(term, sp.Mul) and term.args[0].is_Number:
        coeff, rest = -term.args[0], term.args[1:]
        if coeff == 1:
            return rest[0] if len(rest) == 1 else sp.Mul(*rest, evaluate=False)
        return sp.Mul(coeff, *rest, evaluate=False)
    return -term


_PRINTER = _Printer()
_FORMULA = _FormulaPrinter()


def as_basic(value: Any) -> sp.Basic:
    """A SymPy object from one already parsed (an int or a SymPy object; never text)."""
    if isinstance(value, sp.Basic):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return sp.Integer(value)
    if isinstance(value, Fraction):
        return sp.Rational(value.numerator, value.denominator)
    raise TypeError(f"expected an int or a SymPy object, got {value!r}")


def number(value: Any) -> str:
    """A number (or any SymPy expression) as LaTeX; integers stay plain digits."""
    v = as_basic(value)
    if v.is_Integer:
        return str(int(v))
    if v.is_Rational:
        sign = "-" if v < 0 else ""
        return f"{sign}\\frac{{{abs(v.p)}}}{{{v.q}}}"
    if v is sp.oo:
        return "\\infty"
    if v is -sp.oo:
        return "-\\infty"
    return _PRINTER.doprint(v)


def factor(value: Any) -> str:
    """A factor of a product: negative numbers and sums get parentheses."""
    text = number(value)
    v = as_basic(value)
    if text.startswith("-") or (isinstance(v, sp.Add)):
        return f"({text})"
    return text


def expr(value: Any) -> str:
    """A SymPy expression as LaTeX (numbers as :func:`number`)."""
    return number(value)


def formula(value: Any) -> str:
    r"""A size formula as people write it: :func:`derive.printing.reader_form` (the floor over
    the stride, shared symbols grouped; proved equal to ``value``, else ``value`` itself), its
    terms in the page's order.

    >>> n, k, s = (sp.Symbol(f"{c}_h", integer=True, positive=True) for c in "nks")
    >>> formula(n * s + k - s)
    's_{h} \\left(n_{h} - 1\\right) + k_{h}'
    >>> formula(sp.floor((n - k) / s) + 1)
    '\\left\\lfloor \\frac{n_{h} - k_{h}}{s_{h}} \\right\\rfloor + 1'
    """
    v = as_basic(value)
    if v.is_number:
        return number(v)
    return _FORMULA.doprint(reader_form(v))


def index(name: str, idx: Sequence[int]) -> str:
    """``Y_{0,1}``."""
    return f"{name}_{{{','.join(str(i) for i in idx)}}}"


def matrix(rows: Sequence[Sequence[Any]], cell=number) -> str:
    """A ``bmatrix`` of the given rows."""
    body = " \\\\ ".join(" & ".join(cell(v) for v in row) for row in rows)
    return f"\\begin{{bmatrix}} {body} \\end{{bmatrix}}"


def tensor(name: str, values: Any, cell=number) -> str:
    r"""A named matrix, or a 3-/4-D tensor as its named matrices (``X_{c}``, ``W_{o,c}``).

    >>> print(tensor("X", [[[1]], [[2]]]))
    X_{0} = \begin{bmatrix} 1 \end{bmatrix},\quad X_{1} = \begin{bmatrix} 2 \end{bmatrix}
    """
    depth = 0
    probe = values
    while isinstance(probe, (list, tuple)):
        depth += 1
        probe = probe[0]
    if depth == 1:
        return f"{name} = {matrix([values], cell)}"
    if depth == 2:
        return f"{name} = {matrix(values, cell)}"
    parts = []

    def walk(v: Any, idx: tuple[int, ...]) -> None:
        if len(idx) == depth - 2:
            parts.append(f"{index(name, idx)} = {matrix(v, cell)}")
            return
        for i, item in enumerate(v):
            walk(item, idx + (i,))

    walk(values, ())
    return ",\\quad ".join(parts)


def product_sum(pairs: Sequence[tuple[Any, Any]], times: str = " \\times ") -> str:
    """``a_1 \\times b_1 + a_2 \\times b_2 + ...`` (``0`` for no pairs)."""
    if not pairs:
        return "0"
    return " + ".join(f"{factor(a)}{times}{factor(b)}" for a, b in pairs)


def grouped_sum(groups: Sequence[Sequence[tuple[Any, Any]]], times: str = " \\times ") -> str:
    """Sums of products, each group in parentheses when there is more than one."""
    groups = [g for g in groups if g]
    if len(groups) <= 1:
        return product_sum(groups[0] if groups else [], times)
    return " + ".join(f"\\left({product_sum(g, times)}\\right)" for g in groups)
