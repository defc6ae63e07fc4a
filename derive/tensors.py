"""Reading tensors (nested lists, SymPy arrays/matrices, torch or NumPy arrays); symbolic tensors.

Internally a tensor is a flat list of SymPy objects in row-major order plus its shape;
:func:`read_tensor` produces that pair and :func:`to_array` turns it back into a SymPy Array.
torch is never imported here: a torch tensor is read through its ``tolist`` method.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import sympy as sp

from derive.errors import ShapeError
from derive.sympy_private import entries

__all__ = ["symbol_array", "read_tensor", "to_array", "flatten", "check_layout", "Flat"]

Flat = tuple[list[sp.Basic], tuple[int, ...]]


def symbol_array(name: str, shape: Sequence[int] | int, **assumptions: Any) -> sp.Array:
    r"""A SymPy Array of distinct symbols named by their (0-based) index, e.g. $x_{c,i,j}$.

    Extra keyword arguments are SymPy assumptions for every symbol (``real=True``, ...).

    >>> X = symbol_array("x", (2, 3))
    >>> X
    [[x_{0,0}, x_{0,1}, x_{0,2}], [x_{1,0}, x_{1,1}, x_{1,2}]]
    >>> X.shape
    (2, 3)
    """
    if isinstance(shape, int):
        shape = (shape,)
    shape = tuple(int(s) for s in shape)
    if any(s < 1 for s in shape) or not shape:
        raise ShapeError(f"shape must be a non-empty tuple of positive ints, got shape={shape}")
    if not name.isidentifier():
        raise ShapeError(f"name must be an identifier, got name={name!r}")
    flat = [
        sp.Symbol(f"{name}_{{{','.join(map(str, idx))}}}", **assumptions)
        for idx in itertools.product(*(range(s) for s in shape))
    ]
    return sp.ImmutableDenseNDimArray(flat, shape)


def _entry(value: Any, name: str) -> sp.Basic:
    if isinstance(value, sp.Basic):
        return value
    if isinstance(value, bool):
        return sp.Integer(int(value))
    if isinstance(value, int):
        return sp.Integer(value)
    if isinstance(value, float):
        if math.isnan(value):
            return sp.nan
        if math.isinf(value):
            return sp.oo if value > 0 else -sp.oo
        return sp.Float(value)
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        return _entry(value.item(), name)
    raise ShapeError(f"{name} entries must be numbers or SymPy expressions, got {value!r}")


def _nested(value: Any, name: str) -> Flat:
    flat: list[sp.Basic] = []

    def shape_of(v: Any) -> tuple[int, ...]:
        if isinstance(v, (list, tuple)):
            if not v:
                raise ShapeError(f"{name} has an empty axis")
            inner = [shape_of(e) for e in v]
            if any(s != inner[0] for s in inner):
                raise ShapeError(f"{name} is ragged: sub-lists of shapes {sorted(set(inner))}")
            return (len(v),) + inner[0]
        flat.append(_entry(v, name))
        return ()

    shape = shape_of(value)
    return flat, shape


def read_tensor(value: Any, name: str = "input") -> Flat:
    """Read a tensor-like ``value`` into ``(flat entries, shape)``.

    >>> read_tensor([[1, 2], [3, 4]])
    ([1, 2, 3, 4], (2, 2))
    """
    if isinstance(value, sp.NDimArray):
        shape = tuple(int(s) for s in value.shape)
        return [_entry(v, name) for v in entries(value)], shape
    if isinstance(value, sp.MatrixBase):
        return [_entry(v, name) for v in value], (value.rows, value.cols)
    tolist = getattr(value, "tolist", None)
    if callable(tolist) and not isinstance(value, (list, tuple)):
        detach = getattr(value, "detach", None)
        if callable(detach):
            value = detach()
        return _nested(value.tolist(), name)
    if isinstance(value, (list, tuple)):
        return _nested(value, name)
    raise ShapeError(
        f"{name} must be a nested list, a SymPy Array/Matrix or a tensor, "
        f"got {type(value).__name__}"
    )


def to_array(flat: list[sp.Basic], shape: tuple[int, ...]) -> sp.Array:
    """A SymPy Array from row-major entries."""
    return sp.ImmutableDenseNDimArray(flat, shape)


def flatten(values: Any) -> list:
    """The entries of nested lists or tuples, in row-major order (a scalar gives ``[scalar]``).

    >>> flatten([[1, 2], [3, (4, 5)]])
    [1, 2, 3, 4, 5]
    """
    if isinstance(values, (list, tuple)):
        return [v for item in values for v in flatten(item)]
    return [values]


_LAYOUTS = {3: "(C, H, W)", 4: "(N, C, H, W)"}


def check_layout(shape: tuple[int, ...], batched: bool = True) -> None:
    """An input of a 2-D layer is (C, H, W), or also (N, C, H, W) when ``batched``.

    >>> check_layout((2, 3))
    Traceback (most recent call last):
        ...
    derive.errors.ShapeError: input must be (C, H, W) or (N, C, H, W), got a tensor of shape (2, 3)
    """
    ranks = (3, 4) if batched else (3,)
    if len(shape) not in ranks:
        forms = " or ".join(_LAYOUTS[r] for r in ranks)
        raise ShapeError(f"input must be {forms}, got a tensor of shape {shape}")
