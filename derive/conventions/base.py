r"""What a padding convention returns: the size, the zeros it chose and its acceptance guards.

A :class:`Padded` is a :class:`derive.shapes.Rule` (ordered :class:`derive.guards.Guard`\ s and
the output size) that also names the zeros the framework adds along the axis:

- for convolution and pooling, ``before`` and ``after`` are the zeros padded in front of and
  behind the input;
- for a transposed convolution, ``before`` and ``after`` are the entries *cropped* from the
  front and the back of the full scatter $(n-1)s + d(k-1) + 1$ (torch's ``padding``), and
  ``output_padding`` the zeros appended at the back (torch's ``output_padding``), so

$$
n_\text{out} = (n-1)s + d(k-1) + 1 - p_\text{before} - p_\text{after} + p_\text{out} .
$$

Symbolic pads are SymPy expressions: a ``Max`` or ``Mod`` where the choice depends on
$n \bmod s$. :meth:`Padded.checked` enforces the guards and returns the same object.

>>> import sympy as sp
>>> r = Padded((), sp.Integer(4), sp.Integer(1), sp.Integer(2))
>>> r.pads, r.checked().size
((1, 2), 4)
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from derive.errors import ShapeError
from derive.guards import Guard, first_rejection
from derive.params import Dim, as_dim
from derive.shapes import Rule

__all__ = [
    "Padded",
    "positive_guards",
    "read_axis",
    "span_of",
    "stop_early",
    "strided_dilation_guard",
]


@dataclass(frozen=True)
class Padded(Rule):
    """One layer axis under a framework's convention: guards, size and the zeros chosen."""

    before: sp.Expr | None = None
    after: sp.Expr | None = None
    output_padding: sp.Expr = sp.Integer(0)

    @property
    def pads(self) -> tuple[sp.Expr, sp.Expr]:
        """``(before, after)``: padded zeros, or for a transposed layer the crops."""
        if self.before is None or self.after is None:
            raise ShapeError("no pads: the configuration breaks one of the framework's checks")
        return self.before, self.after

    def checked(self) -> Padded:
        """Enforce the guards (:class:`derive.ShapeError` for the first that holds); ``self``."""
        self.output_size()
        return self


def span_of(kernel: sp.Expr, dilation: sp.Expr) -> sp.Expr:
    r"""Entries a dilated kernel spans, $d(k-1)+1$."""
    return dilation * (kernel - 1) + 1


def positive_guards(values: dict[str, sp.Expr]) -> tuple[Guard, ...]:
    """``name must be positive`` for each value (the checks every framework makes first)."""
    return tuple(
        Guard(name, sp.Lt(v, 1), f"{name} must be positive, got {name}={{v}}", (("v", v),))
        for name, v in values.items()
    )


def read_axis(
    size: Dim, kernel_size: Dim, stride: Dim, dilation: Dim
) -> tuple[tuple[sp.Expr, sp.Expr, sp.Expr, sp.Expr], tuple[Guard, ...]]:
    """``(n, k, s, d)`` read as size arguments, and their positivity guards."""
    values = {
        "size": as_dim(size, "size"),
        "kernel_size": as_dim(kernel_size, "kernel_size"),
        "stride": as_dim(stride, "stride"),
        "dilation": as_dim(dilation, "dilation"),
    }
    n, k, s, d = values.values()
    return (n, k, s, d), positive_guards(values)


def stop_early(guards: tuple[Guard, ...]) -> Padded | None:
    """A rule with no size when a guard already decidedly holds (a zero stride, say)."""
    if first_rejection(guards):
        return Padded(guards, None)
    return None


def strided_dilation_guard(stride: object, dilation: object) -> Guard:
    """TensorFlow's and Keras's rule: a stride above 1 and a dilation above 1 never combine.

    ``stride`` and ``dilation`` may be one axis's values or tuples (any axis counts, as Keras
    checks the whole layer).

    >>> strided_dilation_guard((1, 2), (2, 1)).message()
    '`strides > 1` not supported in conjunction with `dilation_rate > 1`, got strides=(1, 2) and dilation_rate=(2, 1)'
    """  # noqa: E501
    strides = stride if isinstance(stride, tuple) else (stride,)
    dilations = dilation if isinstance(dilation, tuple) else (dilation,)
    return Guard(
        "dilation",
        sp.And(sp.Or(*(sp.Gt(s, 1) for s in strides)), sp.Or(*(sp.Gt(d, 1) for d in dilations))),
        "`strides > 1` not supported in conjunction with `dilation_rate > 1`, got strides={s} "
        "and dilation_rate={d}",
        (("s", stride), ("d", dilation)),
    )
