r"""Exactly which input entries one output position depends on, at concrete sizes.

The receptive-field formulas count padding as input coordinates; near the border (and with
dilated kernels, which leave holes) an output depends on fewer entries. This module computes
the exact set: going backwards from one output position, each row maps the set of its
output positions to the positions of each operand it reads, through the same rules as the
formulas (:mod:`derive.calculus.axes`): a window's taps *on the input*
(:meth:`derive.receptive.Window.taps`, the engine's window plans), every entry of a dropped
axis, entry 0 of a broadcast one. This is what a gradient sees when every weight and every
input is positive (no cancellation), which is how :mod:`derive.calculus.check` compares it
with torch.

Positions are those of the network input's spatial axes as each tensor carries them
(:class:`~derive.calculus.analysis.State`): a tensor that does not carry an input axis has
one position along it. Sets are bit masks: one Python int per position of input axis 0
(bit ``q`` = position ``q`` of input axis 1); a 1-D input is one row. Inputs with more
spatial axes are refused.
"""

from __future__ import annotations

from typing import Any

from derive.calculus import rules
from derive.calculus.analysis import Analysis, State
from derive.calculus.axes import EQUAL
from derive.calculus.graph import Node, Refused, Tensor
from derive.errors import ShapeError

__all__ = ["Mask", "Dependencies", "dependency", "hull", "carried_sizes"]

#: one int per row (bit q = column q)
Mask = list[int]


def carried_sizes(state: State, shape: tuple, count: int) -> tuple[int, int]:
    """``(rows, cols)``: the sizes of the axes carrying input axes 0 and 1 (1 if none)."""
    sizes = [int(shape[state.layout.index(a)]) if a in state.layout else 1 for a in range(count)]
    if count == 1:
        return 1, sizes[0]
    if count == 2:
        return sizes[0], sizes[1]
    raise ShapeError(f"exact dependency sets need 1 or 2 spatial axes, got {count}")


def _bits(taps: tuple[int, ...]) -> int:
    out = 0
    for t in taps:
        out |= 1 << t
    return out


def _pull(mask: Mask, rows: int, row_taps: tuple, col_bits: list[int]) -> Mask:
    """The operand positions (``rows`` rows) that the output positions in ``mask`` read."""
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


class Dependencies:
    """The backward map of a graph at concrete sizes, built once, queried per position.

    >>> from torch import nn
    >>> from derive.calculus import analyse
    >>> a = analyse(nn.Sequential(nn.Conv2d(1, 1, 3, padding=1, dilation=2)), (1, 1, 5, 5))
    >>> [bin(row) for row in Dependencies(a).of((0, 0))]
    ['0b0', '0b1010', '0b0', '0b1010', '0b0']
    """

    def __init__(self, analysis: Analysis, output: int = 0, target: Tensor | None = None
                 ) -> None:  # fmt: skip
        if len(analysis.graphs) != 1:
            raise Refused("exact dependency sets need concrete sizes (one case)")
        self.graph = graph = analysis.graphs[0]
        self.target = target if target is not None else graph.outputs[output]
        self.states = analysis.states()[0]
        self.count = max(len(graph.nodes[0].shape) - 2, 0)
        self.edges: dict[Tensor, list[tuple[Tensor, int, tuple, list[int]]]] = {}
        for node in graph.rows:
            for k, flow in enumerate(rules.flow(graph, node)):
                self.edges[Tensor(node.index, k)] = self._edges(node, k, flow)

    def sizes(self, t: Tensor) -> tuple[int, int]:
        return carried_sizes(self.states[t], self.graph.nodes[t.node].shapes[t.k], self.count)

    def _edges(self, node: Node, k: int, flow: Any) -> list:
        operands = {ax.operand for axis in flow.axes for ax in axis} | {
            d.operand for d in flow.drops}  # fmt: skip
        edges = []
        for o in sorted(operands):
            t = node.operands[o]
            if not isinstance(t, Tensor) or self.states[t].fields is None:
                continue
            taps = [self._taps(node, k, flow, o, t, a) for a in range(self.count)]
            if self.count == 1:
                taps = [((0,),), taps[0]]
            rows = self.sizes(t)[0]
            edges.append((t, rows, taps[0], [_bits(c) for c in taps[1]]))
        return edges

    def _size(self, t: Tensor, a: int) -> int:
        """How many positions of input axis ``a`` tensor ``t`` has (1 when it carries none)."""
        layout = self.states[t].layout
        return int(self.graph.nodes[t.node].shapes[t.k][layout.index(a)]) if a in layout else 1

    def _taps(self, node: Node, k: int, flow: Any, o: int, t: Tensor, a: int) -> tuple:
        """Per output position along input axis ``a``: the operand positions it reads."""
        layout = self.states[t].layout
        n_out = self._size(Tensor(node.index, k), a)
        if a not in layout:
            return tuple((0,) for _ in range(n_out))
        axis = layout.index(a)
        n_in = self._size(t, a)
        for sources in flow.axes:
            for ax in sources:
                if ax.operand == o and ax.axis % len(layout) == axis:
                    return _window_taps(ax.window, n_in, n_out)
        for d in flow.drops:
            if d.operand == o and d.axis % len(layout) == axis:
                (taps,) = d.window.taps(n_in, 1)
                return tuple(taps for _ in range(n_out))
        raise Refused(f"{node.label()}: operand {o}'s axis {axis} goes nowhere")

    def of(self, position: tuple[int, ...] | None = None) -> Mask:
        """The network-input positions the output at ``position`` depends on.

        ``position``: a coordinate per input axis the output carries (``None``: the whole
        output).
        """
        graph = self.graph
        out = self.target
        rows, cols = self.sizes(out)
        if position is None:
            start = [(1 << cols) - 1] * rows
        else:
            row, col = (0, *position) if len(position) == 1 else position
            if not (0 <= row < rows and 0 <= col < cols):
                raise ShapeError(f"position {position} lies outside the output")
            start = [(1 << col) if r == row else 0 for r in range(rows)]
        masks: dict[Tensor, Mask] = {out: start}
        for node in reversed(graph.rows):
            for k in range(len(node.shapes)):
                m = masks.get(Tensor(node.index, k))
                if not m or not any(m):
                    continue
                for t, rows_in, row_taps, col_bits in self.edges[Tensor(node.index, k)]:
                    pulled = _pull(m, rows_in, row_taps, col_bits)
                    have = masks.get(t)
                    masks[t] = pulled if have is None else [p | q for p, q in zip(have, pulled)]
        return masks.get(Tensor(0), [0] * self.sizes(Tensor(0))[0])


def _window_taps(window: Any, n_in: int, n_out: int) -> tuple:
    if window is None or window == EQUAL:
        if n_in == n_out:
            return tuple((i,) for i in range(n_out))
        if n_in == 1:
            return tuple((0,) for _ in range(n_out))
        raise Refused(f"cannot map {n_out} positions onto {n_in}")
    return window.taps(n_in, n_out)


def dependency(analysis: Analysis, position: tuple[int, ...] | None = None) -> Mask:
    """The network-input positions the output at ``position`` depends on (all channels).

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
