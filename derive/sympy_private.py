"""The only door to SymPy's private API: presorted constructors and an array's flat entries.

The symbolic fast path of :func:`derive.conv2d` builds sums of products whose terms it has
already put in SymPy's canonical order, so it skips SymPy's sorting and combining through
``Mul._from_args`` and ``Add._from_args``; it reads an array's entries from ``._array``. These
names are private to SymPy and may change in any release, so nothing else in derive uses
them, and :func:`self_check` (run by the test suite) fails with a clear message as soon as
they stop building what the public constructors build.

>>> a, b, c = sp.symbols("a b c")
>>> sorted_product((a, b)) == a * b, sorted_sum([a, b * c]) == sp.Add(a, b * c)
(True, True)
>>> entries(sp.Array([[1, 2], [3, 4]]))
[1, 2, 3, 4]
>>> self_check()
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import sympy as sp
from sympy.core.add import Add
from sympy.core.mul import Mul

__all__ = [
    "sorted_product",
    "sorted_sum",
    "entries",
    "SYMBOL_BEFORE_MUL",
    "self_check",
    "SymPyChanged",
]

_MUL = Mul._from_args
_ADD = Add._from_args


def sorted_product(factors: tuple[sp.Basic, ...]) -> sp.Basic:
    """``Mul(*factors)`` for commutative factors already in SymPy's canonical order."""
    return _MUL(factors, True)


def sorted_sum(terms: Sequence[sp.Basic]) -> sp.Basic:
    """``Add(*terms)`` for two or more distinct terms in canonical order, none combining."""
    return _ADD(terms, True)


def entries(array: sp.NDimArray) -> list[sp.Basic]:
    """The flat row-major entries of a SymPy N-dim array (``._array`` when it has one)."""
    flat = getattr(array, "_array", None)
    if flat is not None:
        return list(flat)
    return [array[index] for index in itertools.product(*(range(n) for n in array.shape))]


_PROBE_A, _PROBE_B = sp.symbols("a b")
#: SymPy orders a lone Symbol before a product of symbols (class order): read, not assumed
SYMBOL_BEFORE_MUL: bool = sp.Basic.compare(_PROBE_A, _PROBE_A * _PROBE_B) < 0


class SymPyChanged(RuntimeError):
    """SymPy's private API no longer behaves as derive's fast path relies on."""


def self_check() -> None:
    """Raise :class:`SymPyChanged` unless the private API builds what the public one does.

    Given the arguments of ``Mul(x, w)`` and ``Add(b, x*w, y*v)`` in the order SymPy itself
    keeps them, the presorted constructors must rebuild equal expressions with the same
    argument order; ``._array`` must be the flat list of an array's entries.
    """
    x, w, b, y, v = sp.symbols("x w b y v")
    problems = []
    if not (hasattr(Mul, "_from_args") and hasattr(Add, "_from_args")):
        problems.append("Mul._from_args / Add._from_args are gone")
    else:
        for public, rebuild in ((Mul(x, w), sorted_product), (Add(b, x * w, y * v), sorted_sum)):
            built = rebuild(public.args)
            if built != public or built.args != public.args or not built.is_commutative:
                problems.append(f"{type(public).__name__}._from_args({public.args}, True) "
                                f"built {sp.srepr(built)}, not {sp.srepr(public)}")
    array = sp.ImmutableDenseNDimArray([x, w, b, y], (2, 2))
    if list(getattr(array, "_array", ())) != [x, w, b, y]:
        problems.append("ImmutableDenseNDimArray._array is no longer the flat list of entries")
    if problems:
        raise SymPyChanged(
            f"SymPy {sp.__version__} changed private API that derive.conv2d's fast path uses: "
            + "; ".join(problems)
            + " (fix derive/sympy_private.py)"
        )
