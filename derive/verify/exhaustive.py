"""Claims established only by evaluation at every point of a stated finite range.

Such a claim is reported as **checked**, with its range, and never as proved: nothing is
said about points outside the range. The engine's formulas are built once with symbols and
compiled (:mod:`derive.verify.fast`), so the whole grid is evaluated exactly in a few
vectorised integer operations.

>>> spec = Exhaustive({"n": range(1, 11)}, lambda g: (g["n"] > 0, g["n"] * 2 % 2 == 0))
>>> run_exhaustive(spec).status, run_exhaustive(spec).range
('checked', '1 <= n <= 10 (10 points)')
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from derive.errors import ShapeError
from derive.verify.proofs import CHECKED, FAILED, Outcome

__all__ = ["Exhaustive", "run_exhaustive", "describe_range"]

Grid = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class Exhaustive:
    """``check(grid) -> (applies, holds)``: boolean arrays over the full product of ``ranges``.

    The claim must hold at every point where it ``applies``.
    """

    ranges: Mapping[str, range]
    check: Callable[[Grid], tuple[np.ndarray, np.ndarray]]


def describe_range(ranges: Mapping[str, range], points: int | None = None) -> str:
    """``1 <= n <= 64, 1 <= k <= 9 (N points)``."""
    parts = [f"{r.start} <= {name} <= {r.stop - 1}" for name, r in ranges.items()]
    total = points if points is not None else int(np.prod([len(r) for r in ranges.values()]))
    return f"{', '.join(parts)} ({total} points)"


def run_exhaustive(spec: Exhaustive) -> Outcome:
    """Evaluate the claim at every grid point; ``checked`` with the range, or the first failure."""
    start = time.perf_counter()
    names = list(spec.ranges)
    axes = np.meshgrid(
        *(np.arange(r.start, r.stop, dtype=np.int64) for r in spec.ranges.values()), indexing="ij"
    )
    grid = {name: axis.reshape(-1) for name, axis in zip(names, axes)}
    try:
        applies, holds = spec.check(grid)
    except ShapeError as exc:
        return Outcome(FAILED, f"the engine raised: {exc}", time.perf_counter() - start)
    applies = np.broadcast_to(np.asarray(applies, dtype=bool), grid[names[0]].shape)
    holds = np.broadcast_to(np.asarray(holds, dtype=bool), grid[names[0]].shape)
    bad = np.flatnonzero(applies & ~holds)
    seconds = time.perf_counter() - start
    text = describe_range(spec.ranges)
    if bad.size:
        point = {name: int(grid[name][bad[0]]) for name in names}
        return Outcome(FAILED, f"fails at {point} ({bad.size} points)", seconds, text)
    return Outcome(CHECKED, f"holds at all {int(applies.sum())} applicable points", seconds, text)
