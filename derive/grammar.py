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


class _Parser:
    """Recursive descent over the tokens of one size expression."""

    def __init__(self, text: str, what: str) -> None:
        self.text, self.what = text, what
        self.tokens = _tokens(text, what)
        self.pos = 0

    def fail(self, message: str) -> ShapeError:
        return ShapeError(f"{self.what}={self.text!r}: {message}")

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise self.fail("ends too early")
        self.pos += 1
        return self.tokens[self.pos - 1]

    def expr(self, depth: int) -> sp.Expr:
        if depth > 50:
            raise self.fail("is nested too deeply")
        value = self.term(depth)
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.take()[1]
            rhs = self.term(depth)
            value = value + rhs if op == "+" else value - rhs
        return value

    def term(self, depth: int) -> sp.Expr:
        value = self.unary(depth)
        while self.peek() in (("op", "*"), ("op", "//")):
            op = self.take()[1]
            rhs = self.unary(depth)
            if op == "*":
                value = value * rhs
            elif rhs == 0:
                raise self.fail("divides by zero")
            else:
                value = sp.floor(value / rhs)
        return value

    def unary(self, depth: int) -> sp.Expr:
        if self.peek() == ("op", "-"):
            self.take()
            return -self.unary(depth + 1)
        return self.atom(depth)

    def atom(self, depth: int) -> sp.Expr:
        kind, val = self.take()
        if kind == "int":
            return sp.Integer(int(val))
        if kind == "name":
            return size_symbol(val)
        if val == "(":
            inner = self.expr(depth + 1)
            if self.take() != ("op", ")"):
                raise self.fail("has an unclosed '('")
            return inner
        raise self.fail(f"unexpected {val!r}")

    def parse(self) -> sp.Expr:
        if not self.tokens:
            raise ShapeError(f"{self.what} is empty")
        result = self.expr(0)
        if self.pos != len(self.tokens):
            raise self.fail(f"unexpected {self.tokens[self.pos][1]!r} after a complete expression")
        return result


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
    return _Parser(text, what).parse()
