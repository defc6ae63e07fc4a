r"""The window arithmetic of the explorer, written once as SymPy expressions.

Along one axis, with stride $s$, dilation $d$ and $p_l$ zeros before the input, tap $a$ of
the window of output $i$ reads input entry

$$
r = i s - p_l + a d ,
$$

which is padding when $r < 0$ or $r \ge n$. Average pooling with ``count_include_pad``
divides by the window's extent clipped to the padded input, $\min(i s - p_l + d(k-1) + 1,\;
n + p_r) - (i s - p_l)$ along each axis. A transposed convolution scatters input $i$ through
tap $a$ to output $i s - p + a d$. In a grouped convolution, channel $c$ of output channel $o$'s
group is input channel $c + \lfloor o / (C_\text{out}/g) \rfloor \, C_\text{in}/g$.

These expressions are what :mod:`derive.explorer.jsgen` prints into the page's engine; the
tests hold them to derive's element functions (:mod:`derive.conv`, :mod:`derive.pool`,
:mod:`derive.transpose`).

>>> WINDOW_INDEX
a*d + i*s - lo
"""

from __future__ import annotations

import sympy as sp

from derive.explorer.rules import AXIS_SYMBOLS, CHANNEL_SYMBOLS

__all__ = ["TAP_SYMBOLS", "WINDOW_INDEX", "PADDED_EXTENT", "SCATTER_INDEX", "GROUP_CHANNEL", "TAPS"]

#: output position, tap, channel within a group, output channel
TAP_SYMBOLS: dict[str, sp.Symbol] = {x: sp.Symbol(x, integer=True) for x in ("i", "a", "c", "o")}
_i, _a, _c, _o = (TAP_SYMBOLS[x] for x in ("i", "a", "c", "o"))
_n, _k, _s, _d, _p, _lo, _hi = (AXIS_SYMBOLS[x] for x in ("n", "k", "s", "d", "p", "lo", "hi"))
_cin, _cout, _g = (CHANNEL_SYMBOLS[x] for x in ("cin", "cout", "g"))

#: the input index tap ``a`` of output ``i`` reads (convolution and pooling)
WINDOW_INDEX: sp.Expr = _i * _s - _lo + _a * _d
#: the extent of window ``i`` clipped to the padded input (``count_include_pad``'s divisor)
PADDED_EXTENT: sp.Expr = sp.Min(WINDOW_INDEX.subs(_a, _k - 1) + 1, _n + _hi) - WINDOW_INDEX.subs(
    _a, 0
)
#: the output index input ``i`` reaches through tap ``a`` (transposed convolution)
SCATTER_INDEX: sp.Expr = _i * _s - _p + _a * _d
#: the input channel of channel ``c`` in output channel ``o``'s group
GROUP_CHANNEL: sp.Expr = _c + sp.floor(_o / sp.floor(_cout / _g)) * sp.floor(_cin / _g)

#: by the name the page's engine calls them
TAPS: dict[str, sp.Expr] = {
    "window": WINDOW_INDEX,
    "extent": PADDED_EXTENT,
    "scatter": SCATTER_INDEX,
    "channel": GROUP_CHANNEL,
}
