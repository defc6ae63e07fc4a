r"""The sweep's configurations: integer grids, one per operation, read as torch arguments.

A :class:`Grid` holds one operation of the registry (:mod:`derive.ops`) and its
configurations as integer columns (one entry per configuration). The columns are

- ``n``, ``k``, ``s``, ``d``: size, kernel size, stride, dilation;
- ``mode``, ``lo``, ``hi`` (convolution): padding given as an int, a ``(before, after)`` pair,
  ``'same'`` or ``'valid'``, and its zeros before and after;
- ``p`` (pooling, transposed convolution): padding on each side;
- ``auto`` (pooling): 1 where ``stride=None`` (the window), ``ceil`` (pooling): ``ceil_mode``;
- ``op`` (transposed convolution): output padding.

:func:`build_grids` gives the main grids (every value valid on its own; their sizes below);
:func:`edge_grids` gives small grids that cross the sign boundaries (zero and
negative values), every configuration of which the sweep also runs through the engine.

>>> [(g.label, len(g)) for g in build_grids()]
[('conv1d', 60480), ('max_pool1d', 23040), ('avg_pool1d', 7680), ('conv_transpose1d', 27648)]
>>> build_grids()[3].config(0)
{'size': 1, 'kernel_size': 1, 'stride': 1, 'padding': 0, 'output_padding': 0, 'dilation': 1}
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from derive.ops import AVG_POOL, CONV, CONV_TRANSPOSE, MAX_POOL, Op

__all__ = ["Grid", "build_grids", "edge_grids", "arguments", "INT", "PAIR", "SAME", "VALID"]

#: padding modes of a convolution grid (column ``mode``)
INT, PAIR, SAME, VALID = 0, 1, 2, 3

#: columns that select a formula (discrete arguments), as opposed to values of a formula
DISCRETE = ("mode", "auto", "ceil")


def _padding(c: dict[str, Any]) -> Any:
    if "mode" not in c:
        return c["p"]
    mode = c["mode"]
    if mode == INT:
        return c["lo"]
    if mode == PAIR:
        return (c["lo"], c["hi"])
    return "same" if mode == SAME else "valid"


def arguments(op: Op, c: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``op``'s size function (torch's names) from column values.

    Values may be ints or SymPy symbols; discrete columns must be ints.

    >>> arguments(MAX_POOL, {"n": 5, "k": 2, "s": 0, "auto": 1, "p": 1, "d": 1, "ceil": 0})
    {'size': 5, 'kernel_size': 2, 'stride': None, 'padding': 1, 'dilation': 1, 'ceil_mode': False}
    """
    values = {
        "kernel_size": c["k"],
        "stride": None if c.get("auto") else c.get("s"),
        "padding": _padding(c),
        "dilation": c.get("d"),
        "output_padding": c.get("op"),
        "ceil_mode": bool(c.get("ceil")),
    }
    return {"size": c["n"], **{p.name: values[p.name] for p in op.shape_params}}


@dataclass(frozen=True)
class Grid:
    """One operation's configurations as integer columns.

    ``edge``: a grid crossing the sign boundaries, run through the engine in full.
    """

    op: Op
    columns: dict[str, np.ndarray]
    edge: bool = False

    def __len__(self) -> int:
        return len(next(iter(self.columns.values())))

    @property
    def label(self) -> str:
        """The one-dimensional torch function, e.g. ``conv1d``."""
        return self.op.torch_function(1)

    def values(self, idx: int) -> dict[str, int]:
        """Column values of configuration ``idx``."""
        return {name: int(col[idx]) for name, col in self.columns.items()}

    def config(self, idx: int) -> dict[str, Any]:
        """Configuration ``idx`` as the keyword arguments of the operation's size function."""
        return self.configs[idx]

    @functools.cached_property
    def configs(self) -> list[dict[str, Any]]:
        """Every configuration in order, as keyword arguments (built once)."""
        names = list(self.columns)
        rows = zip(*(col.tolist() for col in self.columns.values()))
        return [arguments(self.op, dict(zip(names, row))) for row in rows]

    def subset(self, idx: np.ndarray) -> Grid:
        return Grid(self.op, {name: col[idx] for name, col in self.columns.items()}, self.edge)


def _product(**axes: Any) -> dict[str, np.ndarray]:
    names = list(axes)
    mesh = np.meshgrid(*(np.asarray(v, dtype=np.int64) for v in axes.values()), indexing="ij")
    return {name: m.reshape(-1) for name, m in zip(names, mesh)}


def _conv_columns(pads: list[tuple[int, int, int]], **axes: Any) -> dict[str, np.ndarray]:
    columns = _product(**axes, pad=range(len(pads)))
    table = np.array(pads, dtype=np.int64)
    columns["mode"], columns["lo"], columns["hi"] = (table[columns["pad"], c] for c in range(3))
    del columns["pad"]
    return columns


def _pool_columns(**axes: Any) -> dict[str, np.ndarray]:
    """Pooling axes with ``s`` from 0: stride 0 stands for ``stride=None`` (column ``auto``)."""
    columns = _product(**axes)
    columns["auto"] = (columns["s"] == 0).astype(np.int64)
    columns["s"] = np.where(columns["auto"] == 1, columns["k"], columns["s"])
    return columns


def build_grids() -> list[Grid]:
    """The main grids, one per operation (counts in the module docstring)."""
    pads = [(INT, p, p) for p in range(4)]
    pads += [(PAIR, a, b) for a in range(4) for b in range(4) if a != b]
    pads += [(SAME, 0, 0), (VALID, 0, 0)]
    conv = _conv_columns(pads, n=range(1, 41), k=range(1, 8), s=range(1, 5), d=range(1, 4))
    maxp = _pool_columns(
        n=range(1, 33), k=range(1, 7), s=range(0, 5), p=range(4), d=range(1, 4), ceil=range(2)
    )
    # average pooling has no dilation: its column is all ones
    avgp = _pool_columns(
        n=range(1, 33), k=range(1, 7), s=range(0, 5), p=range(4), d=[1], ceil=range(2)
    )
    convt = _product(
        n=range(1, 25), k=range(1, 7), s=range(1, 5), p=range(4), op=range(4), d=range(1, 4)
    )
    return [
        Grid(CONV, conv),
        Grid(MAX_POOL, maxp),
        Grid(AVG_POOL, avgp),
        Grid(CONV_TRANSPOSE, convt),
    ]


def edge_grids() -> list[Grid]:
    """Small grids across the sign boundaries: kernels, strides, dilations 0, 1, 2, sizes 0, 1,
    2 and 5 (room for a negative padding to matter) and paddings -1, 0, 1 (no pair: torch's
    1-d layers take none, and padding a tensor explicitly would accept what the layer itself
    rejects)."""
    pads = [(INT, p, p) for p in (-1, 0, 1)] + [(SAME, 0, 0), (VALID, 0, 0)]
    small, sizes = range(3), [0, 1, 2, 5]
    conv = _conv_columns(pads, n=sizes, k=small, s=small, d=small)
    stride = _product(n=sizes, k=small, s=small, p=range(-1, 2), d=small, ceil=range(2))
    maxp = {**stride, "auto": np.zeros_like(stride["n"])}
    # stride=None: the window (also of size 0)
    auto = _product(n=sizes, k=small, p=range(-1, 2), d=small, ceil=range(2))
    auto = {**auto, "s": auto["k"].copy(), "auto": np.ones_like(auto["n"])}
    maxp = {name: np.concatenate([maxp[name], auto[name]]) for name in maxp}
    avgp = {name: col[maxp["d"] == 1] for name, col in maxp.items()}
    convt = _product(n=sizes, k=small, s=small, p=range(-1, 2), op=range(-1, 2), d=small)
    return [
        Grid(CONV, conv, edge=True),
        Grid(MAX_POOL, maxp, edge=True),
        Grid(AVG_POOL, avgp, edge=True),
        Grid(CONV_TRANSPOSE, convt, edge=True),
    ]
