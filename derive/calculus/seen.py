r"""Exactly which input entries one output position depends on, at concrete sizes.

The receptive-field formulas count padding as input coordinates; near the border (and with
dilated kernels, which leave holes) an output depends on fewer entries. This module computes
the exact set: going backwards from one output position, each layer maps the set of its
output positions to the input positions its windows read *on the input* (the taps of the
engine's window plans, :meth:`derive.receptive.Window.taps`), an addition or concatenation
sends the set to every operand, and a flattened tensor depends on all of its input. This is
what a gradient sees when every weight and every input is positive (no cancellation), which
is how :mod:`derive.calculus.check` compares it with torch.

Sets are bit masks: for a 2-D input, one Python int per input row (bit ``q`` = column
``q``); a 1-D input is one row. Networks with more spatial axes are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from derive.calculus import rules
from derive.calculus.analysis import Analysis
from derive.calculus.graph import Graph
from derive.errors import ShapeError

__all__ = ["Mask", "Dependencies", "dependency", "hull", "spatial_flags"]

#: one int per row (bit q = column q); ``True`` for a whole flattened tensor
Mask = list[int]


@dataclass(frozen=True)
class _Sizes:
    rows: int
    cols: int


def _sizes(shape: tuple) -> _Sizes:
    spatial = [int(d) for d in shape[2:]]
    if len(spatial) == 1:
        return _Sizes(1, spatial[0])
    if len(spatial) == 2:
        return _Sizes(*spatial)
    raise ShapeError(f"exact dependency sets need 1 or 2 spatial axes, got shape {shape}")


def spatial_flags(graph: Graph) -> list[bool]:
    """Whether each node's output still has the input's spatial axes."""
    flags = [True]
    for node in graph.nodes[1:]:
        x = graph.nodes[node.inputs[0]].shape
        ok = any(flags[i] for i in node.inputs) if len(node.inputs) > 1 else flags[node.inputs[0]]
        flags.append(ok and rules.windows(node, x, node.shape) != rules.COLLAPSE)
    return flags


def _bits(taps: tuple[int, ...]) -> int:
    out = 0
    for t in taps:
        out |= 1 << t
    return out


def _taps(windows: tuple, x: tuple, y: tuple) -> tuple[tuple, list[int]]:
    """Row taps and column bit masks of one layer (``windows`` on input ``x``, output ``y``)."""
    sx, sy = _sizes(x), _sizes(y)
    axes = [(sx.rows, sy.rows), (sx.cols, sy.cols)]
    windows = ((None,) * (2 - len(windows))) + tuple(windows)  # a 1-D layer acts on columns
    taps = []
    for (n_in, n_out), w in zip(axes, windows):
        if w is not None:
            taps.append(w.taps(n_in, n_out))
        elif n_in == n_out:
            taps.append(tuple((i,) for i in range(n_out)))
        elif n_in == 1:  # broadcast: every output position reads entry 0
            taps.append(tuple((0,) for _ in range(n_out)))
        else:
            raise ShapeError(f"cannot map {n_out} positions onto {n_in}")
    return taps[0], [_bits(t) for t in taps[1]]


def _pull(mask: Mask, rows: int, row_taps: tuple, col_bits: list[int]) -> Mask:
    """The input positions (``rows`` rows) that the output positions in ``mask`` read."""
    out, cache = [0] * rows, {}
    for i, bits in enumerate(mask):
        if not bits:
            continue
        cols = cache.get(bits)
        if cols is None:
            cols, j, rest = 0, 0, bits
            while rest:
                if rest & 1:
                    cols |= col_bits[j]
                rest >>= 1
                j += 1
            cache[bits] = cols
        if cols:
            for r in row_taps[i]:
                out[r] |= cols
    return out


def _full(shape: tuple) -> Mask:
    s = _sizes(shape)
    return [(1 << s.cols) - 1] * s.rows


def _merge(a: Mask | bool | None, b: Mask | bool) -> Mask | bool:
    if a is None:
        return b
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) or bool(b)
    return [p | q for p, q in zip(a, b)]


class Dependencies:
    """The backward map of a graph at concrete sizes, built once, queried per position.

    >>> from torch import nn
    >>> from derive.calculus import analyse
    >>> a = analyse(nn.Sequential(nn.Conv2d(1, 1, 3, padding=1, dilation=2)), (1, 1, 5, 5))
    >>> [bin(row) for row in Dependencies(a).of((0, 0))]
    ['0b0', '0b1010', '0b0', '0b1010', '0b0']
    """

    def __init__(self, analysis: Analysis) -> None:
        self.graph = graph = analysis.graph
        self.flags = spatial_flags(graph)
        self.edges: dict[tuple[int, int], object] = {}
        for node in graph.nodes[1:]:
            ws = rules.windows(node, graph.nodes[node.inputs[0]].shape, node.shape)
            for i in node.inputs:
                x = graph.nodes[i].shape
                if not self.flags[i]:
                    self.edges[node.index, i] = True
                elif ws == rules.COLLAPSE or not self.flags[node.index]:
                    self.edges[node.index, i] = _full(x)
                else:
                    self.edges[node.index, i] = (_sizes(x).rows, *_taps(ws, x, node.shape))

    def _start(self, position: tuple[int, ...] | None) -> Mask | bool:
        out = self.graph.output
        if not self.flags[out]:
            return True
        shape = self.graph.nodes[out].shape
        if position is None or len(position) != len(shape) - 2:
            raise ShapeError(f"position must index the output's spatial axes, got {position}")
        s = _sizes(shape)
        row, col = (0, *position) if len(position) == 1 else position
        if not (0 <= row < s.rows and 0 <= col < s.cols):
            raise ShapeError(f"position {position} lies outside the output")
        return [(1 << col) if r == row else 0 for r in range(s.rows)]

    def of(self, position: tuple[int, ...] | None = None) -> Mask:
        """The network-input positions the output at ``position`` depends on (all channels).

        ``position`` indexes the output's spatial axes (``None`` for an output without them).
        """
        graph = self.graph
        masks: list[Mask | bool | None] = [None] * len(graph.nodes)
        masks[graph.output] = self._start(position)
        for node in reversed(graph.nodes[1:]):
            m = masks[node.index]
            if not m or (isinstance(m, list) and not any(m)):
                continue
            for i in node.inputs:
                edge = self.edges[node.index, i]
                if edge is True or isinstance(edge, list):
                    masks[i] = _merge(masks[i], edge)  # type: ignore[arg-type]
                else:
                    masks[i] = _merge(masks[i], _pull(m, *edge))  # type: ignore[arg-type,misc]
        found = masks[0]
        return found if isinstance(found, list) else [0] * _sizes(graph.nodes[0].shape).rows


def dependency(analysis: Analysis, position: tuple[int, ...] | None = None) -> Mask:
    """The network-input positions the output at ``position`` depends on (all channels).

    ``position`` indexes the output's spatial axes (``None`` for an output without them: its
    whole output). Every size in the graph must be a number.

    >>> from torch import nn
    >>> from derive.calculus import analyse
    >>> a = analyse(nn.Sequential(nn.Conv2d(1, 1, 3, stride=2), nn.ReLU()), (1, 1, 5, 5))
    >>> [bin(row) for row in dependency(a, (1, 0))]
    ['0b0', '0b0', '0b111', '0b111', '0b111']
    """
    return Dependencies(analysis).of(position)


def hull(mask: Mask) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """``((first row, last row), (first column, last column))`` of a mask, None if empty.

    >>> hull([0, 0b0110, 0b0010])
    ((1, 2), (1, 2))
    """
    rows = [r for r, bits in enumerate(mask) if bits]
    if not rows:
        return None
    cols = 0
    for bits in mask:
        cols |= bits
    return (rows[0], rows[-1]), ((cols & -cols).bit_length() - 1, cols.bit_length() - 1)
