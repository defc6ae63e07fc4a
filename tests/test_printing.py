"""The reader's printer (derive.printing) over the engine's own formulas.

For every operation of the registry, hypothesis draws layers whose size, kernel, stride,
padding, dilation, ceil_mode and output_padding are each a symbol or a number, asks the engine
for the output size, and checks what the printer makes of it:

- the printer does not refuse an engine formula, and its form is proved equal to it
  (:func:`derive.printing.proved_equal`) and evaluates equal at sample points, read back from
  the printed text;
- the grammar form (:func:`derive.printing.source`) exists wherever derive's grammar can write
  the formula (no ceiling, no case split) and :func:`derive.grammar.parse_size` reads it back
  as the engine's expression;
- every floor is one fraction over the stride, and the book's grouping and order hold;
- a refused form falls back to SymPy's own printing.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
import sympy as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from derive import printing
from derive.errors import ShapeError
from derive.grammar import parse_size, size_symbol
from derive.ops import OPS, Op

NAMES = ("n", "lo", "hi", "p", "k", "d", "q", "s", "H")
SYM = {name: size_symbol(name) for name in NAMES}
#: the book's order: size, padding, kernel and dilation, output padding, stride
ORDER = tuple(SYM[x] for x in ("H", "n", "lo", "hi", "p", "k", "d", "q", "s"))


def _sized(draw: Any, name: str, low: int, high: int) -> sp.Expr | int:
    return SYM[name] if draw(st.booleans()) else draw(st.integers(low, high))


@st.composite
def layers(draw: Any, op: Op) -> dict[str, object]:
    """Keyword arguments of ``op.size`` (torch's names), each a symbol or a number."""
    size = draw(st.sampled_from(["symbol", "number", "expression"]))
    args: dict[str, object] = {
        "size": {"symbol": SYM["n"], "number": draw(st.integers(1, 40)),
                 "expression": draw(st.integers(1, 3)) * SYM["H"] + draw(st.integers(0, 5))}[size]
    }  # fmt: skip
    for param in op.shape_params:
        name = param.name
        if name == "kernel_size":
            args[name] = _sized(draw, "k", 1, 7)
        elif name == "stride":
            args[name] = None if param.default is None and draw(st.booleans()) else (
                _sized(draw, "s", 1, 4))
        elif name == "dilation":
            args[name] = _sized(draw, "d", 1, 3)
        elif name == "output_padding":
            args[name] = _sized(draw, "q", 0, 1)
        elif name == "ceil_mode":
            args[name] = draw(st.booleans())
        elif name == "padding":
            forms = ["one", "pair"] + (["same", "valid"] if op.name == "conv" else [])
            form = draw(st.sampled_from(forms))
            args[name] = {"one": lambda: _sized(draw, "p", 0, 3),
                          "pair": lambda: (_sized(draw, "lo", 0, 3), _sized(draw, "hi", 0, 3)),
                          "same": lambda: "same", "valid": lambda: "valid"}[form]()  # fmt: skip
    return args


def _engine(op: Op, args: dict[str, object]) -> sp.Expr:
    try:
        return op.size(**args)
    except ShapeError:
        assume(False)  # torch rejects, or derive cannot decide: nothing to print
        raise


def _read_back(text: str) -> sp.Expr:
    """The printed text read back as SymPy (test code reading derive's own output, never
    user text; the product itself reads text with derive.grammar only)."""
    names: dict[str, object] = {"floor": sp.floor, "ceiling": sp.ceiling,
                                "Piecewise": sp.Piecewise, **SYM}  # fmt: skip
    return sp.parse_expr(text, local_dict=names)


def _at(expr: sp.Basic, values: dict[sp.Symbol, int]) -> sp.Basic:
    return sp.sympify(expr).xreplace({k: sp.Integer(v) for k, v in values.items()})


def _floors(form: sp.Basic) -> list[sp.Basic]:
    return [f for f in sp.preorder_traversal(form) if isinstance(f, (sp.floor, sp.ceiling))]


def _stride(op: Op, args: dict[str, object]) -> sp.Expr:
    """The stride the engine divides by (pooling's default: the kernel)."""
    stride = args.get("stride")
    return sp.sympify(args["kernel_size"] if stride is None and op.takes("stride", True) else
                      stride if stride is not None else 1)  # fmt: skip


def _check(expr: sp.Expr, stride: sp.Expr, seed: int) -> None:
    form = printing.proved_form(expr, ORDER)
    assert form is not None, f"the printer refused the engine's {expr}"
    assert printing.proved_equal(form, expr)
    text = printing.text(expr, ORDER)
    back = _read_back(text)
    rng = random.Random(seed)
    for _ in range(6):  # sample points: the printed text evaluates to the engine's value
        values = {x: rng.randint(1, 60) for x in SYM.values()}
        assert _at(back, values) == _at(expr, values), (text, values)
    for f in _floors(form):  # one fraction: a polynomial over the stride, integer coefficients
        num, den = sp.fraction(f.args[0])
        assert den == stride, (text, f)
        coeffs = sp.Poly(num, *num.free_symbols).coeffs() if num.free_symbols else [num]
        assert all(c.is_Integer for c in coeffs), (text, f)
    source = printing.source(expr, ORDER)
    writable = not any(isinstance(x, (sp.ceiling, sp.Piecewise, sp.Min, sp.Max))
                       for x in sp.preorder_traversal(expr))  # fmt: skip
    assert (source is not None) == writable, (expr, source)
    if source is not None:
        assert printing.proved_equal(parse_size(source), expr), (source, expr)
    assert printing.latex(expr, ORDER) == printing.ReaderLatexPrinter().doprint(form)
    assert "@" not in printing.unicode(expr, ORDER)


@pytest.mark.parametrize("name", list(OPS))
def test_the_printed_form_is_the_engines_formula(name: str) -> None:
    op = OPS[name]

    @settings(max_examples=40)
    @given(layers(op), st.integers(0, 10**6))
    def check(args: dict[str, object], seed: int) -> None:
        _check(_engine(op, args), _stride(op, args), seed)

    check()


def _conv(**kwargs: object) -> sp.Expr:
    return OPS["conv"].size(**kwargs)


@pytest.mark.parametrize("expr, text, source", [
    (_conv(size=SYM["n"], kernel_size=SYM["k"], stride=SYM["s"], padding=SYM["p"]),
     "floor((n + 2*p - k)/s) + 1", "(n + 2*p - k)//s + 1"),
    (_conv(size=SYM["n"], kernel_size=SYM["k"], stride=SYM["s"], padding=(SYM["lo"], SYM["hi"]),
           dilation=SYM["d"]),
     "floor((n + lo + hi - d*(k - 1) - 1)/s) + 1", "(n + lo + hi - d*(k - 1) - 1)//s + 1"),
    (_conv(size=SYM["H"], kernel_size=3, stride=2, padding=1), "floor((H - 1)/2) + 1",
     "(H - 1)//2 + 1"),
    (OPS["conv_transpose"].size(SYM["n"], SYM["k"], SYM["s"], SYM["p"], SYM["q"], SYM["d"]),
     "s*(n - 1) - 2*p + d*(k - 1) + q + 1", "s*(n - 1) - 2*p + d*(k - 1) + q + 1"),
    (OPS["max_pool"].size(SYM["n"], SYM["k"], SYM["s"], (SYM["lo"], SYM["hi"])),
     "floor((n + lo + hi - k)/s) + 1", "(n + lo + hi - k)//s + 1"),
])  # fmt: skip
def test_the_books_grouping_and_order(expr: sp.Expr, text: str, source: str) -> None:
    assert printing.text(expr, ORDER) == text
    assert printing.source(expr, ORDER) == source


def test_without_an_order_plus_terms_come_first() -> None:
    n, p, k, s = SYM["n"], SYM["p"], SYM["k"], SYM["s"]
    assert printing.text(sp.floor((n + 2 * p - k) / s) + 1) == "floor((n + 2*p - k)/s) + 1"
    assert printing.text(1 - n) == "1 - n"


def test_a_refused_form_prints_as_sympy_does(monkeypatch: pytest.MonkeyPatch) -> None:
    expr = _conv(size=SYM["H"], kernel_size=3, stride=2, padding=1)
    monkeypatch.setattr(printing, "_form", lambda e, order=(): e + 1)  # a wrong form
    assert printing.proved_form(expr) is None
    assert printing.text(expr) == str(expr)
    assert printing.latex(expr) == sp.latex(expr)
    assert printing.source(expr) is None
    assert printing.reader_form(expr) == expr


def test_source_is_refused_where_the_grammar_cannot_write_it() -> None:
    H = SYM["H"]
    assert printing.source(sp.ceiling(H / 2)) is None
    assert printing.source(H / 2) is None  # a fraction outside a floor
    assert printing.source(OPS["max_pool"].size(SYM["n"], 2, ceil_mode=True, padding=1)) is None
    assert printing.source(H - 2 * sp.floor(H / 2)) == "H - 2*(H//2)"
    assert parse_size("H - 2*(H//2)") == H - 2 * sp.floor(H / 2)
