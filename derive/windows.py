r"""Window plans: which entries each window of a layer touches, as plain Python ints.

A convolution or pooling layer slides ``out`` windows along each axis of an input of
``size`` entries padded with ``before`` zeros in front and ``after`` behind. Window $i$ has
``kernel`` taps $a = 0, \dots, k-1$; in *padded* coordinates (0 is the first padding entry)
tap $a$ sits at

$$
i s + a d ,
$$

which is the *input* coordinate $i s - p_\text{before} + a d$. A tap is on the input when that
coordinate lies in $[0, n)$, on the padding when it lies in $[-p_\text{before}, 0)$ or
$[n, n + p_\text{after})$, and past the padded input otherwise (only ``ceil_mode`` pooling has
such taps). The axis *overhang* is how far the last window reaches past the padded input,

$$
\max\bigl(0,\ (n_\text{out} - 1)s + d(k-1) + 1 - (n + p_\text{before} + p_\text{after})\bigr),
$$

and ``count_include_pad`` divides by the window clipped to the padded input,
$\min(i s + d(k-1) + 1,\ n + p_\text{before} + p_\text{after}) - i s$ along each axis.

A transposed convolution is the same geometry read backwards (it scatters where a
convolution gathers): its *input* entry $i$ times tap $a$ lands on *output* entry
$r = i s - p + a d$. Describe it by the convolution whose shape map it inverts (an
:class:`AxisWindows` with ``size`` the transposed output, ``out`` the transposed input,
``before = after = p``) and read :meth:`AxisWindows.gather`.

:class:`AxisWindows` is one axis; :class:`Windows2d` pairs two of them (rows, columns) and
is the plan that :func:`derive.conv.plan_conv2d` (a :class:`derive.conv.ConvPlan`),
:func:`derive.pool.plan_pool2d` and :func:`derive.transpose.plan_conv_transpose2d` return,
so renderers read padded coordinates, padded/past counts and overhangs instead of
re-deriving them. Everything here is pure Python ints: no SymPy, no torch.

The 2-D API (``plan`` a :class:`Windows2d`, ``(i, j)`` an output position, taps in row-major
order of ``(a, e)``):

======================================  ====================================================
``plan.out_shape``, ``plan.in_shape``   ``(H_out, W_out)``, ``(H, W)``
``plan.kernel/stride/dilation``         ``(h, w)`` pairs; ``plan.padding`` is
                                        ``((top, bottom), (left, right))``
``plan.overhang``                       ``(rows, cols)`` axis overhangs (``ceil_mode``)
``plan.padded(i, j)``                   ``(r, q)`` padded coordinates of every tap
``plan.places(i, j)``                   :class:`Place` of every tap (``PAST`` if either
                                        axis is past, else ``PADDING`` if either is padding)
``plan.taps(i, j)``                     ``(a, e, r, q)`` of the taps on the input
                                        (``r, q`` input coordinates)
``plan.padding_count(i, j)``            taps on the padding
``plan.past_count(i, j)``               taps past the padded input
``plan.divisor(i, j)``                  ``count_include_pad`` divisor (clipped window area)
``plan.rows``, ``plan.cols``            the two :class:`AxisWindows`
======================================  ====================================================

>>> rows = AxisWindows(size=5, kernel=2, stride=2, dilation=1, before=0, after=0, out=3)
>>> rows.padded(2), rows.coords(2), rows.places(2)
((4, 5), (4, 5), (<Place.INPUT: 'input'>, <Place.PAST: 'past'>))
>>> rows.taps(2), rows.padding_count(2), rows.past_count(2), rows.overhang, rows.extent(2)
(((0, 4),), 0, 1, 1, 1)
>>> plan = Windows2d(rows, AxisWindows(3, 3, 1, 1, 1, 1, 3))
>>> plan.out_shape, plan.overhang, plan.padding
((3, 3), (1, 0), ((0, 0), (1, 1)))
>>> plan.padded(2, 0)[:3], plan.padding_count(2, 0), plan.past_count(2, 0), plan.divisor(2, 0)
(((4, 0), (4, 1), (4, 2)), 1, 3, 3)
>>> plan.taps(2, 0)
((0, 1, 4, 0), (0, 2, 4, 1))

Transposed: ``conv_transpose1d`` of 2 entries with kernel 3, stride 2 has 5 outputs;
output 2 gathers input 0's tap 2 and input 1's tap 0:

>>> t = AxisWindows(size=5, kernel=3, stride=2, dilation=1, before=0, after=0, out=2)
>>> t.gather(2), t.gather(4)
(((0, 2), (1, 0)), ((1, 2),))
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cached_property

from derive.errors import ShapeError

__all__ = ["Place", "AxisWindows", "Windows2d"]


class Place(enum.Enum):
    """Where one tap of a window falls."""

    INPUT = "input"
    PADDING = "padding"
    PAST = "past"  # beyond the padded input: only a ceil_mode window reaches there


def _check_int(value: object, name: str, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ShapeError(f"{name} must be an int of at least {least}, got {name}={value!r}")


@dataclass(frozen=True)
class AxisWindows:
    """``out`` windows of ``kernel`` taps along one axis of ``size`` padded entries.

    Every accessor takes a window index ``i`` in ``range(out)``; a tap ``a`` is in
    ``range(kernel)``. All values are Python ints.
    """

    size: int
    kernel: int
    stride: int
    dilation: int
    before: int
    after: int
    out: int

    def __post_init__(self) -> None:
        for name, least in (("size", 0), ("kernel", 1), ("stride", 1), ("dilation", 1),
                            ("before", 0), ("after", 0), ("out", 0)):  # fmt: skip
            _check_int(getattr(self, name), name, least)

    @property
    def span(self) -> int:
        """Entries a window covers, $d(k-1)+1$."""
        return self.dilation * (self.kernel - 1) + 1

    @property
    def padded_size(self) -> int:
        """Length of the padded input, $n + p_\\text{before} + p_\\text{after}$."""
        return self.before + self.size + self.after

    @property
    def overhang(self) -> int:
        """How far the last window reaches past the padded input (0 unless ``ceil_mode``)."""
        if self.out == 0:
            return 0
        return max(0, (self.out - 1) * self.stride + self.span - self.padded_size)

    def start(self, i: int) -> int:
        """Padded coordinate of window ``i``'s first tap, $i s$."""
        return i * self.stride

    def padded(self, i: int) -> tuple[int, ...]:
        """Padded coordinate of every tap, $i s + a d$."""
        return tuple(i * self.stride + a * self.dilation for a in range(self.kernel))

    def coords(self, i: int) -> tuple[int, ...]:
        """Input coordinate of every tap, $i s - p_\\text{before} + a d$ (may lie outside)."""
        return tuple(c - self.before for c in self.padded(i))

    def place(self, coord: int) -> Place:
        """Where input coordinate ``coord`` falls."""
        if 0 <= coord < self.size:
            return Place.INPUT
        if -self.before <= coord < self.size + self.after:
            return Place.PADDING
        return Place.PAST

    def places(self, i: int) -> tuple[Place, ...]:
        """:class:`Place` of every tap of window ``i``."""
        return tuple(self.place(c) for c in self.coords(i))

    @cached_property
    def _taps(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        return tuple(
            tuple((a, c) for a, c in enumerate(self.coords(i)) if 0 <= c < self.size)
            for i in range(self.out)
        )

    def taps(self, i: int) -> tuple[tuple[int, int], ...]:
        """``(a, r)`` for the taps of window ``i`` on the input, ``r`` the input coordinate."""
        return self._taps[i]

    def padding_count(self, i: int) -> int:
        """How many taps of window ``i`` fall on the padding."""
        return self.places(i).count(Place.PADDING)

    def past_count(self, i: int) -> int:
        """How many taps of window ``i`` fall past the padded input (the ceil_mode overhang)."""
        return self.places(i).count(Place.PAST)

    def extent(self, i: int) -> int:
        """Window ``i`` clipped to the padded input: its ``count_include_pad`` divisor extent."""
        start = self.start(i)
        return max(0, min(start + self.span, self.padded_size) - start)

    @cached_property
    def _gathers(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        lists: list[list[tuple[int, int]]] = [[] for _ in range(self.size)]
        for i in range(self.out):
            for a, c in self.taps(i):
                lists[c].append((i, a))
        return tuple(tuple(g) for g in lists)

    def gather(self, r: int) -> tuple[tuple[int, int], ...]:
        """``(i, a)`` of every window tap that lands on input coordinate ``r`` (transposed).

        In a transposed convolution ``i`` is the input entry and ``a`` the kernel tap that
        add into output entry ``r = i s - p + a d``; ordered by ``i``, then ``a``.
        """
        return self._gathers[r]


@dataclass(frozen=True)
class Windows2d:
    """The windows of a 2-D layer: ``rows`` (height) and ``cols`` (width) axes."""

    rows: AxisWindows
    cols: AxisWindows

    @property
    def out_shape(self) -> tuple[int, int]:
        """``(H_out, W_out)``: the number of windows along each axis."""
        return self.rows.out, self.cols.out

    @property
    def in_shape(self) -> tuple[int, int]:
        """``(H, W)``: the unpadded input."""
        return self.rows.size, self.cols.size

    @property
    def kernel(self) -> tuple[int, int]:
        return self.rows.kernel, self.cols.kernel

    @property
    def stride(self) -> tuple[int, int]:
        return self.rows.stride, self.cols.stride

    @property
    def dilation(self) -> tuple[int, int]:
        return self.rows.dilation, self.cols.dilation

    @property
    def padding(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """``((top, bottom), (left, right))``."""
        return (self.rows.before, self.rows.after), (self.cols.before, self.cols.after)

    @property
    def overhang(self) -> tuple[int, int]:
        """The axis overhangs ``(rows, cols)`` (see the module docstring)."""
        return self.rows.overhang, self.cols.overhang

    def padded(self, i: int, j: int) -> tuple[tuple[int, int], ...]:
        """``(r, q)`` padded coordinates of every tap ``(a, e)``, row-major."""
        return tuple((r, q) for r in self.rows.padded(i) for q in self.cols.padded(j))

    def places(self, i: int, j: int) -> tuple[Place, ...]:
        """:class:`Place` of every tap ``(a, e)``, row-major; the worse axis decides."""
        order = (Place.INPUT, Place.PADDING, Place.PAST)
        return tuple(
            max(pr, pc, key=order.index)
            for pr in self.rows.places(i)
            for pc in self.cols.places(j)
        )

    def taps(self, i: int, j: int) -> tuple[tuple[int, int, int, int], ...]:
        """``(a, e, r, q)`` of every tap on the input, ``(r, q)`` input coordinates."""
        return tuple(
            (a, e, r, q) for a, r in self.rows.taps(i) for e, q in self.cols.taps(j)
        )

    def past_count(self, i: int, j: int) -> int:
        """Taps past the padded input along either axis (ceil_mode)."""
        rows, cols = self.rows, self.cols
        kept = (rows.kernel - rows.past_count(i)) * (cols.kernel - cols.past_count(j))
        return rows.kernel * cols.kernel - kept

    def padding_count(self, i: int, j: int) -> int:
        """Taps on the padding (and past neither axis's padded input)."""
        inside = len(self.rows.taps(i)) * len(self.cols.taps(j))
        return self.rows.kernel * self.cols.kernel - inside - self.past_count(i, j)

    def divisor(self, i: int, j: int) -> int:
        """``count_include_pad``'s divisor: the window's area clipped to the padded input."""
        return self.rows.extent(i) * self.cols.extent(j)
