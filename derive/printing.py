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

:func:`text` and :func:`latex` print the proved form (plain text and LaTeX); :func:`unicode`
prints it with the reader's symbols ($\lfloor\,\rfloor$, ``·``, ``−``) and :func:`source` in
derive's own input grammar (:func:`derive.grammar.parse_size` reads it back), where the
grammar can express it. They are **the one printer** of derive's formulas: ``derive shape``
prints :func:`text` (and :func:`latex` with ``--latex``), the explorer's engine carries
:func:`latex` and :func:`unicode` of every size formula, and a page that shows a formula
should print it with them. A refused form falls back to SymPy's own printing
(``str``/``sympy.latex``), so what is shown is always the engine's expression.

**Order.** SymPy forgets the order in which a formula was written. Give ``order``, a sequence
of symbols, to put terms in the book's order: a term goes by the first of its symbols in
``order`` (the size, then the padding, then kernel and dilation, ...), numbers last, so the
padded size reads $n + p_l + p_r$ and a transposed size
$s(n - 1) - p_l - p_r + d(k - 1) + p_\text{out} + 1$. Without ``order``, terms with a plus
sign come first, then those with a minus sign, then the number.

**Floor, not ceiling.** $\lfloor (H-1)/2 \rfloor + 1$ equals $\lceil H/2 \rceil$ for every
integer $H$, and the ceiling is shorter; derive keeps the floor form anyway, because it is
the general formula $\lfloor (n + 2p - d(k-1) - 1)/s \rfloor + 1$ with the numbers put in,
term for term, which is how the site and the explorer show it beside the symbols.

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
>>> text(d * k - d + n * s - 2 * p - s + 1, order=(n, p, k))
's*(n - 1) - 2*p + d*(k - 1) + 1'
>>> source(sp.floor(H / 2 - sp.Rational(1, 2)) + 1)
'(H - 1)//2 + 1'
>>> unicode(sp.floor(H / 2 - sp.Rational(1, 2)) + 1)
'⌊(H − 1)/2⌋ + 1'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sympy as sp
from sympy.core.relational import Relational
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from derive.grammar import parse_size

__all__ = [
    "reader_form",
    "proved_form",
    "proved_equal",
    "text",
    "latex",
    "unicode",
    "source",
    "ReaderStrPrinter",
    "ReaderLatexPrinter",
    "ReaderUnicodePrinter",
    "GrammarPrinter",
    "Inexpressible",
]

Order = Sequence[sp.Symbol]


def _ordered_terms(expr: sp.Expr) -> list[sp.Expr]:
    return list(expr.as_ordered_terms())


def _negative(term: sp.Expr) -> bool:
    return term.could_extract_minus_sign()


def _sorted_terms(terms: list[sp.Expr], order: Order = ()) -> list[sp.Expr]:
    """The terms of a sum in the reader's order (see the module docstring).

    Without ``order``: plus terms, then minus terms, then the number (each group in SymPy's
    order). With ``order``: by the first of a term's symbols in ``order`` (a plus term with
    none of them first, a minus term with none of them last), numbers last.
    """
    number = [t for t in terms if t.is_number]
    rest = [t for t in terms if not t.is_number]
    plus = [t for t in rest if not _negative(t)]
    minus = [t for t in rest if _negative(t)]
    if order:
        rank = {x: i for i, x in enumerate(order)}

        def key(t: sp.Expr) -> int:
            unlisted = len(rank) if _negative(t) else -1
            return min((rank[x] for x in t.free_symbols if x in rank), default=unlisted)

        return sorted(plus + minus, key=key) + number
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


def _shared(terms: list[sp.Expr]) -> sp.Symbol | None:
    """The symbol that is a plain factor of the most terms (at least two), if any."""
    counts: dict[sp.Symbol, int] = {}
    for t in terms:
        for x in t.free_symbols:
            if _factor_of(t, x) is not None:
                counts[x] = counts.get(x, 0) + 1
    shared = sorted((x for x, c in counts.items() if c >= 2), key=lambda x: (-counts[x], x.name))
    return shared[0] if shared else None


def _group(expr: sp.Expr, order: Order = ()) -> sp.Expr:
    """A sum with the terms sharing a symbol gathered under it (unevaluated)."""
    terms = _ordered_terms(sp.expand(expr))
    groups: list[sp.Expr] = []
    while (x := _shared(terms)) is not None:
        inside = [t for t in terms if _factor_of(t, x) is not None]
        cofactor = sp.Add(*(_factor_of(t, x) for t in inside))
        terms = [t for t in terms if t not in inside]
        if cofactor != 0:
            groups.append(_product(x, cofactor, order))
    parts = _sorted_terms(groups + terms, order)
    if not parts:
        return sp.Integer(0)
    if len(parts) == 1:
        return parts[0]
    return sp.Add(*parts, evaluate=False)


def _product(x: sp.Symbol, cofactor: sp.Expr, order: Order = ()) -> sp.Expr:
    """``x * cofactor`` written with the sign outside: ``-d*(k - 1)``, not ``d*(1 - k)``."""
    terms = _ordered_terms(cofactor)
    symbolic = [t for t in terms if not t.is_number] or terms
    sign = -1 if all(_negative(t) for t in symbolic) else 1
    inner = _group(sign * cofactor, order)
    if inner == 1:
        body: sp.Expr = x
    elif inner.is_Number:
        body = sp.Mul(inner, x, evaluate=False)
    else:
        body = sp.Mul(x, inner, evaluate=False)
    return sp.Mul(-1, body, evaluate=False) if sign < 0 else body


def _over(arg: sp.Expr, order: Order = ()) -> sp.Expr:
    """``arg`` as one fraction ``a/b`` (unevaluated), ``b`` a positive-looking denominator."""
    num, den = sp.fraction(sp.together(arg))
    if den.could_extract_minus_sign():
        num, den = -num, -den
    top = _group(num, order)
    if den == 1:
        return top
    return sp.Mul(top, sp.Pow(den, -1, evaluate=False), evaluate=False)


def _form(expr: sp.Basic, order: Order = ()) -> sp.Basic:
    if isinstance(expr, (sp.floor, sp.ceiling)):
        return type(expr)(_over(expr.args[0], order), evaluate=False)
    if isinstance(expr, sp.Piecewise):
        pieces = ((_form(e, order), _form(c, order)) for e, c in expr.args)
        return sp.Piecewise(*pieces, evaluate=False)
    if isinstance(expr, sp.Add):
        if not expr.has(sp.floor, sp.ceiling, sp.Piecewise):
            return _group(expr, order)
        args = list(expr.args)
        inner = [_form(t, order) for t in args]
        ranked = _sorted_terms(args, order)  # the floor keeps its place, the number last
        return sp.Add(*(inner[args.index(t)] for t in ranked), evaluate=False)
    if isinstance(expr, Relational):
        return type(expr)(_form(expr.lhs, order), _form(expr.rhs, order), evaluate=False)
    if isinstance(expr, sp.Mul):
        return sp.Mul(*(_form(a, order) for a in expr.args), evaluate=False)
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


def proved_form(expr: sp.Basic, order: Order = ()) -> sp.Basic | None:
    """The form a reader writes, as an unevaluated tree proved equal to ``expr``; ``None``
    when it cannot be proved (the form is then refused).

    >>> H = sp.Symbol("H", integer=True)
    >>> proved_form(sp.floor(H / 2 - sp.Rational(1, 2)) + 1).args[0]
    floor((H - 1)/2)
    """
    expr = sp.sympify(expr)
    try:
        form = _form(expr, tuple(order))
    except (TypeError, ValueError):  # pragma: no cover - refuse, do not guess
        return None
    return form if proved_equal(form, expr) else None


def reader_form(expr: sp.Basic, order: Order = ()) -> sp.Basic:
    """:func:`proved_form`, or ``expr`` itself when the form is refused.

    >>> H = sp.Symbol("H", integer=True)
    >>> reader_form(sp.floor(H / 2 - sp.Rational(1, 2)) + 1).args[0]
    floor((H - 1)/2)
    """
    form = proved_form(expr, order)
    return sp.sympify(expr) if form is None else form


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


class ReaderUnicodePrinter(ReaderStrPrinter):
    """The reader's form in plain Unicode: ``⌊(H − 1)/2⌋ + 1``, ``2·p``, ``n ≤ 3``.

    The setting ``symbol_names`` (a dict) writes symbols under other names, as SymPy's
    LaTeX printer does.
    """

    _default_settings = {**ReaderStrPrinter._default_settings, "symbol_names": {}}
    _SIGNS = {"<=": "≤", ">=": "≥", "!=": "≠", "==": "="}

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return self._settings["symbol_names"].get(expr, expr.name)

    def _print_floor(self, expr: sp.floor) -> str:
        return "⌊" + self._print(expr.args[0]) + "⌋"

    def _print_ceiling(self, expr: sp.ceiling) -> str:
        return "⌈" + self._print(expr.args[0]) + "⌉"

    def _print_Relational(self, expr: sp.Basic) -> str:
        op = self._SIGNS.get(expr.rel_op, expr.rel_op)
        return f"{self._print(expr.lhs)} {op} {self._print(expr.rhs)}"

    def _print_Piecewise(self, expr: sp.Piecewise) -> str:
        parts = [self._print(e) + ("" if c is sp.true else " if " + self._print(c))
                 for e, c in expr.args]  # fmt: skip
        return "{" + "; otherwise ".join(parts) + "}"

    def doprint(self, expr: object) -> str:
        out = super().doprint(expr).replace("*", "·").replace(" - ", " − ")
        return "−" + out[1:] if out.startswith("-") else out.replace("(-", "(−")


class GrammarPrinter(ReaderStrPrinter):
    """The reader's form in derive's input grammar (:mod:`derive.grammar`): ``(H - 1)//2 + 1``.

    The grammar has integers, names, ``+ - * //`` and parentheses; anything else (a ceiling,
    a case split, a fraction outside a floor) raises :class:`Inexpressible`.
    """

    _WRITABLE = (sp.Add, sp.Mul, sp.Pow, sp.Rational, sp.Symbol, sp.floor)

    def doprint(self, expr: object) -> str:
        for node in sp.preorder_traversal(expr):
            if not isinstance(node, self._WRITABLE):
                raise Inexpressible(f"derive's grammar cannot write {type(node).__name__}")
        return super().doprint(expr)

    def _print_floor(self, expr: sp.floor) -> str:
        num, den = (self.parenthesize(x, PRECEDENCE["Mul"]) for x in sp.fraction(expr.args[0]))
        return f"{num}//{den}" if den != "1" else num

    def parenthesize(self, item: sp.Basic, level: int, strict: bool = False) -> str:
        # a//b is a product-level term of its own: inside a product (whose level is Add's when
        # its coefficient is negative) it needs its parentheses
        if isinstance(item, sp.floor) and level >= PRECEDENCE["Add"]:
            return f"({self._print(item)})"
        return super().parenthesize(item, level, strict)

    def _print_Rational(self, expr: sp.Rational) -> str:
        if expr.q != 1:
            raise Inexpressible(f"a fraction outside a floor: {expr}")
        return super()._print_Rational(expr)

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        if not (expr.exp.is_Integer and expr.exp > 0):
            raise Inexpressible(f"a power the grammar has no way to write: {expr}")
        return "*".join([self.parenthesize(expr.base, PRECEDENCE["Mul"])] * int(expr.exp))


class Inexpressible(ValueError):
    """A formula that derive's input grammar cannot write."""


def _printed(printer: Callable[[sp.Basic], str], fallback: Callable[[sp.Basic], str],
             expr: sp.Basic, order: Order) -> str:  # fmt: skip
    form = proved_form(expr, order)
    return fallback(sp.sympify(expr)) if form is None else printer(form)


def text(expr: sp.Basic, order: Order = ()) -> str:
    """``expr`` as plain text in the reader's form (SymPy's ``str`` if the form is refused)."""
    return _printed(ReaderStrPrinter().doprint, sp.sstr, expr, order)


def latex(expr: sp.Basic, order: Order = (), **settings: object) -> str:
    """``expr`` as LaTeX in the reader's form (``sympy.latex`` if the form is refused);
    ``settings`` go to the printer (``symbol_names``, ``mul_symbol``)."""
    return _printed(ReaderLatexPrinter(settings).doprint,
                    lambda e: sp.latex(e, **settings), expr, order)  # fmt: skip


def unicode(expr: sp.Basic, order: Order = (), **settings: object) -> str:
    """``expr`` in the reader's form with the reader's symbols (see the module docstring);
    ``settings`` go to the printer (``symbol_names``)."""
    fallback = ReaderUnicodePrinter({**settings, "order": None}).doprint  # SymPy's order
    return _printed(ReaderUnicodePrinter(settings).doprint, fallback, expr, order)


def source(expr: sp.Basic, order: Order = ()) -> str | None:
    """``expr`` in derive's input grammar, or ``None`` where the grammar cannot write it.

    >>> H = sp.Symbol("H", integer=True, positive=True)
    >>> source(sp.ceiling(H / 2)) is None
    True
    """
    form = proved_form(expr, order)
    if form is None:
        return None
    try:
        out = GrammarPrinter().doprint(form)
    except Inexpressible:
        return None
    return out if _reads_back(out, sp.sympify(expr)) else None


def _reads_back(text: str, expr: sp.Basic) -> bool:
    """Whether derive's grammar reads ``text`` back as ``expr`` (symbols matched by name)."""
    try:
        parsed = parse_size(text, "formula")
    except ValueError:
        return False
    names = {x.name: x for x in expr.free_symbols}  # type: ignore[attr-defined]
    parsed = parsed.xreplace({x: names.get(x.name, x) for x in parsed.free_symbols})
    return proved_equal(parsed, expr)
