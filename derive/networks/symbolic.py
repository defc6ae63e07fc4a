r"""The values a forward sees while derive runs it: sizes and tensors known by formulas.

derive runs a network's own ``forward`` (Python control flow included) on tensors whose
sizes are SymPy expressions. Three kinds of value stand in for torch's:

- :class:`SymSize`, what ``x.shape[2]`` returns when the size is a formula: an ``int``
  subclass (so torch's argument parsers take it wherever they take an int) whose arithmetic
  builds formulas, $\lfloor H/2 \rfloor$ for ``H // 2``;
- :class:`SymBool`, what comparing sizes returns; ``if`` asks the running
  :class:`~derive.networks.branches.Explorer` which way to go (decided, or a case split);
- :class:`SymTensor`, a ``torch.Tensor`` subclass holding no data, only a shape: the
  ``isinstance(x, torch.Tensor)`` tests of user code see a tensor, as they should.

A :class:`SymSize` never lets its placeholder ``int`` value be read: every integer
operation it does not define raises :class:`Unsupported`, so a size cannot silently become
a wrong number.

This module imports torch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy as sp
import torch

from derive.errors import ShapeError
from derive.networks.branches import TooManyCases, Unsupported, branch, pinned
from derive.networks.quasi import exact_scale

__all__ = [
    "Unsupported",
    "SymSize",
    "SymBool",
    "SymShape",
    "SymTensor",
    "new_tensor",
    "to_expr",
    "unwrap",
    "size_value",
    "shape_value",
]


#: what a SymSize holds as an int: negative and huge, so that C code reading it fails loudly
_PLACEHOLDER = -(1 << 53) - 7


def _decide(condition: sp.Basic) -> bool:
    try:
        return branch(condition)
    except TooManyCases:
        raise
    except ShapeError as exc:
        raise Unsupported(str(exc)) from None


def _exact_number(value: Any) -> sp.Expr:
    """A Python number as an exact SymPy number; floats only when exact in binary and small."""
    if isinstance(value, bool):
        return sp.Integer(int(value))
    if isinstance(value, int) and not isinstance(value, SymSize):
        return sp.Integer(value)
    if isinstance(value, float):
        f = exact_scale(value)
        if f is None:
            raise Unsupported(
                f"float arithmetic on a symbolic size with {value!r}: derive only follows "
                "floats that are small dyadic fractions (0.5, 1.5, 0.25...), where it is exact"
            )
        return sp.Rational(f.numerator, f.denominator)
    raise Unsupported(f"arithmetic on a symbolic size with {type(value).__name__} {value!r}")


def to_expr(value: Any) -> sp.Expr:
    """A size as a SymPy expression (a :class:`SymSize`'s formula, an int, an exact float)."""
    if isinstance(value, SymSize):
        return value.expr
    if isinstance(value, sp.Expr):
        return value
    return _exact_number(value)


def size_value(expr: sp.Expr) -> Any:
    """What a forward sees for a size: a Python int when it is a number, else a SymSize."""
    expr = sp.sympify(expr)
    if expr.is_Integer:
        return int(expr)
    if expr.is_Rational:
        return float(expr)
    return SymSize(expr)


def shape_value(shape: tuple[sp.Expr, ...]) -> Any:
    """``x.shape``: a ``torch.Size`` when every size is a number, else a :class:`SymShape`."""
    values = tuple(size_value(d) for d in shape)
    if all(type(v) is int for v in values):
        return torch.Size(values)
    return SymShape(values)


def _refuse(name: str) -> Callable[..., Any]:
    def method(self: SymSize, *args: Any, **kwargs: Any) -> Any:
        value = pinned(self.expr)
        if value is not None and value.is_Integer:
            return getattr(int(value), name)(*args, **kwargs)
        raise Unsupported(
            f"{name} of the symbolic size {self.expr} (derive follows + - * // % / and "
            "comparisons of sizes; this one needs a number)"
        )

    method.__name__ = name
    return method


class SymSize(int):
    """A size given by a formula; arithmetic and comparisons make new formulas.

    >>> H = SymSize(sp.Symbol("H", integer=True, positive=True))
    >>> H // 2 + 1, 2 * H - 1, (H + 1) % 4
    (floor(H/2) + 1, 2*H - 1, Mod(H + 1, 4))
    >>> int(H)
    Traceback (most recent call last):
        ...
    derive.networks.branches.Unsupported: __int__ of the symbolic size H...
    """

    expr: sp.Expr

    def __new__(cls, expr: sp.Expr) -> SymSize:
        obj = super().__new__(cls, _PLACEHOLDER)
        obj.expr = expr
        return obj

    # -- formulas ----------------------------------------------------------------------

    def _op(self, other: Any, fn: Callable[[sp.Expr, sp.Expr], sp.Expr], swap: bool) -> Any:
        if isinstance(other, (SymTensor, torch.Tensor)):
            return NotImplemented
        b = to_expr(other)
        return size_value(fn(b, self.expr) if swap else fn(self.expr, b))

    def __add__(self, o: Any) -> Any:
        return self._op(o, lambda a, b: a + b, False)

    def __radd__(self, o: Any) -> Any:
        return self._op(o, lambda a, b: a + b, True)

    def __sub__(self, o: Any) -> Any:
        return self._op(o, lambda a, b: a - b, False)

    def __rsub__(self, o: Any) -> Any:
        return self._op(o, lambda a, b: a - b, True)

    def __mul__(self, o: Any) -> Any:
        return self._op(o, lambda a, b: a * b, False)

    def __rmul__(self, o: Any) -> Any:
        return self._op(o, lambda a, b: a * b, True)

    def __floordiv__(self, o: Any) -> Any:
        return self._op(o, _floordiv, False)

    def __rfloordiv__(self, o: Any) -> Any:
        return self._op(o, _floordiv, True)

    def __mod__(self, o: Any) -> Any:
        return self._op(o, _mod, False)

    def __rmod__(self, o: Any) -> Any:
        return self._op(o, _mod, True)

    def __truediv__(self, o: Any) -> Any:
        return self._op(o, _truediv, False)

    def __rtruediv__(self, o: Any) -> Any:
        return self._op(o, _truediv, True)

    def __pow__(self, o: Any, modulo: Any = None) -> Any:
        if modulo is not None or not (type(o) is int and o >= 0):
            raise Unsupported(f"power {o!r} of the symbolic size {self.expr}")
        return size_value(self.expr**o)

    def __neg__(self) -> Any:
        return size_value(-self.expr)

    def __pos__(self) -> Any:
        return self

    def __abs__(self) -> Any:
        return size_value(sp.Abs(self.expr))

    def __floor__(self) -> Any:
        return size_value(sp.floor(self.expr))

    def __ceil__(self) -> Any:
        return size_value(sp.ceiling(self.expr))

    def __trunc__(self) -> Any:
        return self._truncated()

    def _truncated(self) -> Any:
        if self.expr.is_integer:
            return self
        if (self.expr >= 0) is sp.true:
            return size_value(sp.floor(self.expr))
        raise Unsupported(f"int() of {self.expr}, whose sign derive does not know")

    # -- comparisons -------------------------------------------------------------------

    def _cmp(self, other: Any, relation: type) -> Any:
        if isinstance(other, (SymTensor, torch.Tensor)):
            return NotImplemented
        if other is None or isinstance(other, (str, tuple, list)):
            return relation is sp.Ne
        return SymBool(relation(self.expr, to_expr(other)))

    def __eq__(self, o: object) -> Any:  # type: ignore[override]
        return self._cmp(o, sp.Eq)

    def __ne__(self, o: object) -> Any:  # type: ignore[override]
        return self._cmp(o, sp.Ne)

    def __lt__(self, o: Any) -> Any:
        return self._cmp(o, sp.Lt)

    def __le__(self, o: Any) -> Any:
        return self._cmp(o, sp.Le)

    def __gt__(self, o: Any) -> Any:
        return self._cmp(o, sp.Gt)

    def __ge__(self, o: Any) -> Any:
        return self._cmp(o, sp.Ge)

    def __bool__(self) -> bool:
        return _decide(sp.Ne(self.expr, 0))

    def __hash__(self) -> int:
        return hash(self.expr)

    # -- conversions -------------------------------------------------------------------

    def __index__(self) -> int:
        value = pinned(self.expr)
        if value is not None and value.is_Integer:
            return int(value)
        raise Unsupported(
            f"the symbolic size {self.expr} used where Python needs a number "
            "(range(), a loop count, a list index...)"
        )

    def __int__(self) -> int:
        # Python turns whatever __int__ returns into a plain int: a formula cannot pass
        value = pinned(self.expr)
        if value is not None and value.is_Integer:
            return int(value)
        raise Unsupported(
            f"__int__ of the symbolic size {self.expr}: int() must give a number (use // "
            "for a floor division of sizes)"
        )

    def __repr__(self) -> str:
        return str(self.expr)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return format(str(self.expr), spec)

    def __reduce__(self) -> Any:
        raise Unsupported(f"copying or pickling the symbolic size {self.expr}")


def _floordiv(a: sp.Expr, b: sp.Expr) -> sp.Expr:
    if b == 0:
        raise ZeroDivisionError("integer division or modulo by zero")
    return sp.floor(a / b)


def _mod(a: sp.Expr, b: sp.Expr) -> sp.Expr:
    if b == 0:
        raise ZeroDivisionError("integer division or modulo by zero")
    return sp.Mod(a, b)


def _truediv(a: sp.Expr, b: sp.Expr) -> sp.Expr:
    if b == 0:
        raise ZeroDivisionError("division by zero")
    return a / b


_DEFINED = set(vars(SymSize)) | {"__new__", "__init__", "__getattribute__", "__setattr__",
                                 "__delattr__", "__init_subclass__", "__subclasshook__",
                                 "__dir__", "__sizeof__", "__getnewargs__", "__class__",
                                 "__doc__", "__getstate__", "__reduce_ex__"}  # fmt: skip
for _name in dir(int):
    if _name not in _DEFINED and callable(getattr(int, _name)):
        setattr(SymSize, _name, _refuse(_name))
for _name in ("real", "imag", "numerator", "denominator"):
    setattr(SymSize, _name, property(_refuse(_name)))


class SymBool:
    """A condition on sizes; ``bool()`` of it is decided by the running forward's explorer.

    ``==`` on sizes returns one, so ``if x.shape[-1] % 2:`` and ``assert h == w`` work.
    """

    __slots__ = ("condition",)

    def __init__(self, condition: sp.Basic) -> None:
        self.condition = condition

    def __bool__(self) -> bool:
        return _decide(self.condition)

    def __and__(self, other: Any) -> SymBool:
        return SymBool(sp.And(self.condition, _as_condition(other)))

    __rand__ = __and__

    def __or__(self, other: Any) -> SymBool:
        return SymBool(sp.Or(self.condition, _as_condition(other)))

    __ror__ = __or__

    def __invert__(self) -> SymBool:
        return SymBool(sp.Not(self.condition))

    def __repr__(self) -> str:
        return str(self.condition)


def _as_condition(value: Any) -> sp.Basic:
    if isinstance(value, SymBool):
        return value.condition
    if isinstance(value, bool):
        return sp.true if value else sp.false
    raise Unsupported(f"combining a size condition with {value!r}")


class SymShape(tuple):
    """``x.shape`` when some size is a formula: a tuple of ints and :class:`SymSize`."""

    def numel(self) -> Any:
        out: Any = 1
        for d in self:
            out = out * d
        return out


class SymTensor(torch.Tensor):
    """A tensor known only by its shape (``derive_shape``), holding no data.

    Only derive's :class:`torch.overrides.TorchFunctionMode` gives it meaning; outside a
    traced forward it is an empty tensor on the meta device.
    """

    __torch_function__ = torch._C._disabled_torch_function_impl  # the mode dispatches
    derive_shape: tuple[sp.Expr, ...]


_STORAGE: list[torch.Tensor] = []


def new_tensor(shape: tuple[sp.Expr, ...]) -> SymTensor:
    """A :class:`SymTensor` of ``shape`` (a tuple of SymPy expressions)."""
    if not _STORAGE:
        _STORAGE.append(torch.empty(0, device="meta"))
    t = torch.Tensor._make_subclass(SymTensor, _STORAGE[0], False)
    t.derive_shape = tuple(shape)
    return t


def unwrap(value: Any) -> Any:
    """Arguments as rules read them: sizes as SymPy expressions, conditions as SymPy booleans.

    Tensors are kept; tuples, lists and dicts are converted item by item.
    """
    if isinstance(value, SymSize):
        return value.expr
    if isinstance(value, SymBool):
        return value.condition
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, tuple):
        items = tuple(unwrap(v) for v in value)
        return items if type(value) in (tuple, SymShape, torch.Size) else type(value)(items)
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, slice):
        return slice(unwrap(value.start), unwrap(value.stop), unwrap(value.step))
    return value
