"""derive.grammar: the strict size grammar used for CLI arguments and spec files."""

from __future__ import annotations

import builtins

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from derive import ShapeError
from derive.grammar import parse_size, size_symbol

NAMES = ["H", "W", "n", "k_1", "size"]


@st.composite
def expressions(draw, depth=0):
    """Random expression trees as (text, SymPy value built without parsing)."""
    if depth > 3 or draw(st.booleans()):
        if draw(st.booleans()):
            v = draw(st.integers(0, 50))
            return str(v), sp.Integer(v)
        name = draw(st.sampled_from(NAMES))
        return name, size_symbol(name)
    op = draw(st.sampled_from(["+", "-", "*", "//", "neg"]))
    lt, lv = draw(expressions(depth + 1))
    if op == "neg":
        return f"-({lt})", -lv
    rt, rv = draw(expressions(depth + 1))
    if op == "//":
        if rv == 0:
            rt, rv = "7", sp.Integer(7)
        return f"({lt})//({rt})", sp.floor(lv / rv)
    value = {"+": lv + rv, "-": lv - rv, "*": lv * rv}[op]
    return f"({lt}) {op} ({rt})", value


@settings(max_examples=200, deadline=None)
@given(expressions())
def test_parse_matches_the_expression_built_directly(pair):
    text, value = pair
    assert parse_size(text) == value


def test_precedence_and_associativity():
    H = size_symbol("H")
    assert parse_size("2*H+1") == 2 * H + 1
    assert parse_size("10-3-2") == 5
    assert parse_size("17//3//2") == 2
    assert parse_size("-2*3") == -6
    assert parse_size("(H-3)//2+1") == sp.floor((H - 3) / 2) + 1


def test_names_are_integer_positive_symbols():
    H = parse_size("H")
    assert H.is_integer and H.is_positive


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "H.conjugate()",
        "2**10",
        "1e3",
        "2.5",
        "H/2",
        "lambda: 0",
        "H; 1",
        "[1]",
        "",
        "   ",
        "(H",
        "H)",
        "2 3",
        "*2",
        "4//0",
        "x" * 300,
    ],
)
def test_rejects_anything_outside_the_grammar(text):
    with pytest.raises(ShapeError) as info:
        parse_size(text)
    assert isinstance(info.value, ValueError)
    assert "\n" not in str(info.value)


def test_never_evaluates(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("user text reached an evaluator")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(sp, "sympify", forbidden)
    monkeypatch.setattr(sp, "parse_expr", forbidden, raising=False)
    assert parse_size("(2*H + 1)//3 - W") == sp.floor((2 * size_symbol("H") + 1) / 3) - size_symbol(
        "W"
    )
