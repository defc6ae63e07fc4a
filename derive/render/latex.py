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

__all__ = [
    "as_basic",
    "number",
    "factor",
    "expr",
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


class _Printer(LatexPrinter):
    """SymPy's LaTeX printer, with sums ordered as people write size formulas.

    ``n_h + 2 p_h - k_h + 1`` rather than SymPy's ``- k_{h} + n_{h} + 2 p_{h} + 1``.
    """

    def _print_Add(self, expr: sp.Add, order: str | None = None) -> str:
        tex = ""
        for i, term in enumerate(sorted(expr.args, key=_term_key)):
            if i == 0:
                pass
            elif term.could_extract_minus_sign():
                tex += " - "
                term = -term
            else:
                tex += " + "
            term_tex = self._print(term)
            if self._needs_add_brackets(term):
                term_tex = f"\\left({term_tex}\\right)"
            tex += term_tex
        return tex


_PRINTER = _Printer()


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
