"""Normalisation and validation of layer arguments (int, pair, padding forms).

Everything here is pure SymPy. Values are Python ints or SymPy expressions;
they come back as SymPy expressions (``Integer`` for numbers).
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from derive.errors import ShapeError

__all__ = [
    "Dim",
    "Padding1d",
    "as_dim",
    "pair",
    "int_pair",
    "pool_stride",
    "integer_valued",
    "padding_pair",
    "padding_2d",
]

Dim = int | sp.Expr
Padding1d = Dim | tuple[Dim, Dim] | str


def as_dim(value: object, name: str) -> sp.Expr:
    """Read one size-like argument: an int or an integer-valued SymPy expression.

    >>> as_dim(3, "stride")
    3
    >>> as_dim(2.5, "size")
    Traceback (most recent call last):
        ...
    derive.errors.ShapeError: size must be an integer or a SymPy expression, got size=2.5
    """
    if isinstance(value, bool):
        raise ShapeError(f"{name} must be an integer, got {name}={value!r}")
    if isinstance(value, int):
        return sp.Integer(value)
    if isinstance(value, sp.Expr):
        if value.is_number and not value.is_integer:
            raise ShapeError(f"{name} must be an integer, got {name}={value}")
        if value.is_integer is False:
            raise ShapeError(f"{name} must be integer-valued, got {name}={value}")
        return value
    # numpy / torch integer scalars
    if hasattr(value, "__index__") and not isinstance(value, float):
        try:
            return sp.Integer(value.__index__())  # type: ignore[attr-defined]
        except TypeError:
            pass
    raise ShapeError(f"{name} must be an integer or a SymPy expression, got {name}={value!r}")


def _show(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def pair(value: object, name: str) -> tuple[sp.Expr, sp.Expr]:
    """An int (used for both axes) or a ``(height, width)`` pair, as torch's ``_pair``.

    Like torch, a one-element sequence ``(k,)`` means ``k`` for both axes.

    >>> pair(3, "kernel_size")
    (3, 3)
    >>> pair((3, 5), "kernel_size")
    (3, 5)
    >>> pair((2,), "stride")
    (2, 2)
    """
    if isinstance(value, (tuple, list)):
        if len(value) == 1:
            d = as_dim(value[0], name)
            return d, d
        if len(value) != 2:
            raise ShapeError(f"{name} must be an int or a pair, got {name}={tuple(value)}")
        return as_dim(value[0], name), as_dim(value[1], name)
    d = as_dim(value, name)
    return d, d


def int_pair(value: object, name: str) -> tuple[int, int]:
    """A :func:`pair` of Python ints, for element computations (no symbols there).

    >>> int_pair((2, 3), "stride")
    (2, 3)
    >>> int_pair(sp.Symbol("s"), "stride")
    Traceback (most recent call last):
        ...
    derive.errors.ShapeError: stride must be integers for element computations, got stride=(s, s)
    """
    h, w = pair(value, name)
    if not (h.is_Integer and w.is_Integer):
        raise ShapeError(f"{name} must be integers for element computations, got {name}={(h, w)}")
    return int(h), int(w)


def pool_stride(stride: object, kernel_size: object) -> object:
    """torch's pooling default: ``stride=None`` (or an empty sequence) means ``kernel_size``.

    >>> pool_stride(None, 3), pool_stride((), (2, 2)), pool_stride(1, 3)
    (3, (2, 2), 1)
    """
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        return kernel_size
    return stride


def integer_valued(expr: sp.Basic) -> bool:
    """Whether ``expr`` is an integer at every integer value of its symbols (decided, not guessed).

    True for SymPy-known integers, for a ``Piecewise`` of integer-valued pieces, and for a
    polynomial with integer coefficients in integer symbols; False when not decided.

    >>> n = sp.Symbol("n", integer=True)
    >>> integer_valued(3 * n + 1), integer_valued(n / 2)
    (True, False)
    """
    if getattr(expr, "is_integer", False):
        return True
    if isinstance(expr, sp.Piecewise):
        return all(integer_valued(value) for value, _ in expr.args)
    if not isinstance(expr, sp.Expr):
        return False
    try:
        poly = sp.Poly(expr, *sorted(expr.free_symbols, key=lambda x: x.name))
    except sp.PolynomialError:
        return False
    return all(c.is_integer for c in poly.coeffs()) and all(x.is_integer for x in poly.gens)


def padding_pair(
    padding: object, name: str = "padding"
) -> tuple[sp.Expr, sp.Expr] | str:
    """One axis of padding: an int (both sides), a ``(before, after)`` pair, or 'same'/'valid'.

    Strings are returned for the caller to resolve (they need the kernel); like torch, only
    the lower-case spellings are accepted. A one-element sequence ``(p,)`` pads ``p`` on both
    sides, as torch reads ``padding=(p,)`` of a 1-D layer. Signs are not checked here: each
    operation's acceptance guards (:mod:`derive.shapes`) reject negative padding.

    >>> padding_pair(1)
    (1, 1)
    >>> padding_pair((2, 1))
    (2, 1)
    """
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ShapeError(
                f"{name} must be an int, a pair, 'same' or 'valid', got {name}={padding!r}"
            )
        return padding
    if isinstance(padding, (tuple, list)) and len(padding) == 1:
        padding = padding[0]
        if isinstance(padding, (tuple, list, str)):
            raise ShapeError(
                f"{name} must be an int or a (before, after) pair, got {name}={(padding,)}"
            )
    if isinstance(padding, (tuple, list)):
        if len(padding) != 2:
            raise ShapeError(
                f"{name} must be an int or a (before, after) pair, got {name}={tuple(padding)}"
            )
        return as_dim(padding[0], name), as_dim(padding[1], name)
    lo = as_dim(padding, name)
    return lo, lo


_PADDING_2D_FORMS = "padding must be an int, a pair or ((top, bottom), (left, right))"


def padding_2d(padding: object) -> tuple[tuple[sp.Expr, sp.Expr], tuple[sp.Expr, sp.Expr]] | str:
    """2-D padding in torch's forms, plus asymmetric ``((top, bottom), (left, right))``.

    An int (or torch's one-element ``(p,)``) pads every side; ``(ph, pw)`` pads ``ph`` above
    and below and ``pw`` left and right.

    >>> padding_2d((2, 1))
    ((2, 2), (1, 1))
    >>> padding_2d(((0, 1), (1, 0)))
    ((0, 1), (1, 0))
    """
    if isinstance(padding, str):
        return padding_pair(padding)
    if isinstance(padding, Sequence) and len(padding) == 1:  # torch reads (p,) as p
        if isinstance(padding[0], (Sequence, str)):
            raise ShapeError(
                f"{_PADDING_2D_FORMS}, got padding={_show(tuple(padding))}"
            )
        padding = padding[0]
    if isinstance(padding, Sequence):
        if len(padding) != 2:
            raise ShapeError(
                f"{_PADDING_2D_FORMS}, got padding={_show(padding)}"
            )
        out = []
        for p in padding:
            if isinstance(p, str):
                raise ShapeError(
                    f"padding strings apply to both axes, got padding={_show(tuple(padding))}"
                )
            out.append(padding_pair(p))
        return out[0], out[1]  # type: ignore[return-value]
    p = padding_pair(padding)
    return p, p  # type: ignore[return-value]
