"""A strict little grammar for size expressions typed by people (CLI arguments, spec files).

Accepted: integers, symbol names, ``+ - * //``, unary minus and parentheses, e.g. ``2*H+1``
or ``(n - k)//s + 1``. Nothing is ever passed to ``eval``, ``sympify`` or ``parse_expr``:
text is tokenised by a regular expression and built into SymPy objects directly. Names
become integer, positive symbols, as sizes are.

    expr   := term (('+' | '-') term)*
    term   := unary (('*' | '//') unary)*
    unary  := '-' unary | atom
    atom   := INT | NAME | '(' expr ')'
"""

from __future__ import annotations

import re

import sympy as sp

from derive.errors import ShapeError

__all__ = ["parse_size", "size_symbol"]

_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z0-9_]*)|(//|[-+*()]))")
_MAX_LENGTH = 200


def size_symbol(name: str) -> sp.Symbol:
    """The symbol derive uses for a size named ``name`` (integer and positive)."""
    return sp.Symbol(name, integer=True, positive=True)


def _tokens(text: str, what: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    stripped = text.rstrip()
    while pos < len(stripped):
        m = _TOKEN.match(stripped, pos)
        if not m:
            raise ShapeError(
                f"{what}={text!r}: unexpected {stripped[pos:].lstrip()[:1]!r} at position {pos}; "
                "use integers, names, + - * // and parentheses"
            )
        number, name, op = m.groups()
        out.append(("int", number) if number else ("name", name) if name else ("op", op))
        pos = m.end()
    return out


def parse_size(text: str, what: str = "size") -> sp.Expr:
    """Parse ``text`` into a SymPy expression with derive's own grammar.

    >>> parse_size("2*H+1")
    2*H + 1
    >>> parse_size("(n - 3)//2 + 1")
    floor(n/2 - 3/2) + 1
    >>> parse_size("__import__('os')")
    Traceback (most recent call last):
        ...
    derive.errors.ShapeError: size="__import__('os')": unexpected "'" at position 11; ...
    """
    if not isinstance(text, str):
        raise ShapeError(f"{what} must be text, got {what}={text!r}")
    if len(text) > _MAX_LENGTH:
        raise ShapeError(f"{what} is longer than {_MAX_LENGTH} characters")
    tokens = _tokens(text, what)
    if not tokens:
        raise ShapeError(f"{what} is empty")
    pos = 0

    def peek() -> tuple[str, str] | None:
        return tokens[pos] if pos < len(tokens) else None

    def fail(message: str) -> ShapeError:
        return ShapeError(f"{what}={text!r}: {message}")

    def take() -> tuple[str, str]:
        nonlocal pos
        if pos >= len(tokens):
            raise fail("ends too early")
        tok = tokens[pos]
        pos += 1
        return tok

    def expr(depth: int) -> sp.Expr:
        if depth > 50:
            raise fail("is nested too deeply")
        value = term(depth)
        while peek() in (("op", "+"), ("op", "-")):
            op = take()[1]
            rhs = term(depth)
            value = value + rhs if op == "+" else value - rhs
        return value

    def term(depth: int) -> sp.Expr:
        value = unary(depth)
        while peek() in (("op", "*"), ("op", "//")):
            op = take()[1]
            rhs = unary(depth)
            if op == "*":
                value = value * rhs
            else:
                if rhs == 0:
                    raise fail("divides by zero")
                value = sp.floor(value / rhs)
        return value

    def unary(depth: int) -> sp.Expr:
        if peek() == ("op", "-"):
            take()
            return -unary(depth + 1)
        return atom(depth)

    def atom(depth: int) -> sp.Expr:
        kind, val = take()
        if kind == "int":
            return sp.Integer(int(val))
        if kind == "name":
            return size_symbol(val)
        if val == "(":
            inner = expr(depth + 1)
            if take() != ("op", ")"):
                raise fail("has an unclosed '('")
            return inner
        raise fail(f"unexpected {val!r}")

    result = expr(0)
    if pos != len(tokens):
        raise fail(f"unexpected {tokens[pos][1]!r} after a complete expression")
    return result
