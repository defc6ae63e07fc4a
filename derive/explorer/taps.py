r"""The window arithmetic of :mod:`derive.windows`, as SymPy expressions for the page's engine.

derive's element functions plan their windows with :class:`derive.windows.AxisWindows`, in
Python ints. The explorer needs the same arithmetic in JavaScript, for any layer the reader
types, so it is written here once symbolically, with the symbols standing for the fields of
an :class:`~derive.windows.AxisWindows` (:data:`AXIS_FIELDS`), and
:mod:`derive.explorer.jsgen` prints these expressions, not a hand-written copy.
``tests/test_explorer.py`` holds every one of them to the core's plans
(:func:`derive.conv.plan_conv2d`, :func:`derive.pool.plan_pool2d`,
:func:`derive.transpose.plan_conv_transpose2d`, and :class:`~derive.windows.AxisWindows` on
random fields): they are the definitions those plans satisfy.

Along one axis (size $n$, kernel $k$, stride $s$, dilation $d$, $p_l$ zeros before and
$p_r$ after), tap $a$ of window $i$ reads input coordinate

$$
r = i s - p_l + a d ,
$$

which lies on the input when $0 \le r < n$, on the padding when $-p_l \le r < n + p_r$ and
past the padded input otherwise (:data:`PLACE`, coded by the order of
:class:`derive.windows.Place`). ``count_include_pad`` divides by the window clipped to the
padded input, $\max(0, \min(i s + d(k-1) + 1,\ p_l + n + p_r) - i s)$ (:data:`EXTENT`). A
transposed convolution is the same windows read backwards: input entry $i$ times tap $a$ lands
on output coordinate $i s - p + a d$, the window index with $p_l = p$ (the core's plan is an
:class:`~derive.windows.AxisWindows` over the output, one window per input entry).

With $C_\text{in}$ input and $C_\text{out}$ output channels in $g$ groups, output channel $o$
reads input channels $c + \lfloor o / (C_\text{out}/g) \rfloor \, C_\text{in}/g$ for
$c < C_\text{in}/g$ (:data:`GROUP_CHANNEL`); a transposed convolution's weight holds output
channel $o$ at $o \bmod (C_\text{out}/g)$ (:data:`GROUP_OUTPUT`).

>>> WINDOW_INDEX
a*d + i*s - lo
>>> at = {TAP_SYMBOLS["r"]: -1, AXIS_SYMBOLS["n"]: 5, AXIS_SYMBOLS["lo"]: 1,
...       AXIS_SYMBOLS["hi"]: 0}
>>> PLACES[int(PLACE.xreplace(at))]
'padding'
"""

from __future__ import annotations

import functools

import sympy as sp

from derive.windows import Place

__all__ = [
    "AXIS_SYMBOLS",
    "CHANNEL_SYMBOLS",
    "TAP_SYMBOLS",
    "AXIS_FIELDS",
    "PLACES",
    "WINDOW_INDEX",
    "PLACE",
    "EXTENT",
    "GROUP_CHANNEL",
    "GROUP_OUTPUT",
    "TAPS",
]

_int = functools.partial(sp.Symbol, integer=True)
#: the symbols of one axis: size, kernel, stride, dilation, padding (one side / before / after),
#: output padding (integers of any sign, so that no guard is decided away)
AXIS_SYMBOLS: dict[str, sp.Symbol] = {
    name: _int(name) for name in ("n", "k", "s", "d", "p", "lo", "hi", "q")
}
#: channels and groups, per-axis sizes and kernels (``n0``, ``k0`` the first axis), the strides
CHANNEL_SYMBOLS: dict[str, sp.Symbol] = {
    name: _int(name) for name in ("cin", "cout", "g", "n0", "n1", "k0", "k1", "s0", "s1")
}
#: window (or transposed input entry), tap, channel within a group, output channel, coordinate
TAP_SYMBOLS: dict[str, sp.Symbol] = {x: _int(x) for x in ("i", "a", "c", "o", "r")}

#: which symbol stands for which field of :class:`derive.windows.AxisWindows`
AXIS_FIELDS: dict[str, sp.Symbol] = {
    field: AXIS_SYMBOLS[name]
    for field, name in (("size", "n"), ("kernel", "k"), ("stride", "s"), ("dilation", "d"),
                        ("before", "lo"), ("after", "hi"))
}  # fmt: skip
#: the names of :class:`derive.windows.Place`, in the order :data:`PLACE` codes them
PLACES: tuple[str, ...] = tuple(place.value for place in Place)

_n, _k, _s, _d, _lo, _hi = (AXIS_SYMBOLS[x] for x in ("n", "k", "s", "d", "lo", "hi"))
_i, _a, _c, _o, _r = (TAP_SYMBOLS[x] for x in ("i", "a", "c", "o", "r"))
_cin, _cout, _g = (CHANNEL_SYMBOLS[x] for x in ("cin", "cout", "g"))

#: the input coordinate tap ``a`` of window ``i`` reads (``AxisWindows.coords``)
WINDOW_INDEX: sp.Expr = _i * _s - _lo + _a * _d
#: where coordinate ``r`` lies, as the index of its :class:`~derive.windows.Place` in
#: :data:`PLACES` (``AxisWindows.place``)
PLACE: sp.Expr = sp.Piecewise(
    (PLACES.index(Place.INPUT.value), sp.And(_r >= 0, _r < _n)),
    (PLACES.index(Place.PADDING.value), sp.And(_r >= -_lo, _r < _n + _hi)),
    (PLACES.index(Place.PAST.value), True),
)
#: window ``i`` clipped to the padded input, ``count_include_pad``'s extent
#: (``AxisWindows.extent``)
EXTENT: sp.Expr = sp.Max(0, sp.Min(_i * _s + _d * (_k - 1) + 1, _lo + _n + _hi) - _i * _s)
#: the input channel of channel ``c`` (within the group) read by output channel ``o``
GROUP_CHANNEL: sp.Expr = _c + sp.floor(_o / sp.floor(_cout / _g)) * sp.floor(_cin / _g)
#: output channel ``o``'s place in its group: the transposed weight's second index
GROUP_OUTPUT: sp.Expr = sp.Mod(_o, sp.floor(_cout / _g))

#: by the name the page's engine calls them
TAPS: dict[str, sp.Expr] = {
    "window": WINDOW_INDEX,
    "place": PLACE,
    "extent": EXTENT,
    "channel": GROUP_CHANNEL,
    "groupOutput": GROUP_OUTPUT,
}
