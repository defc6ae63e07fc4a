"""Receptive fields along one axis (pure SymPy): layer windows, composition, holes, refusals."""

from __future__ import annotations

import itertools

import pytest
import sympy as sp

from derive.errors import ShapeError
from derive.receptive import (
    DENSE,
    INDEX,
    Field,
    adaptive_window,
    conv_transpose_window,
    conv_window,
    pool_window,
)

k1, k2, s1, s2, d1, d2 = sp.symbols("k_1 k_2 s_1 s_2 d_1 d_2", integer=True, positive=True)
p1, p2 = sp.symbols("p_1 p_2", integer=True, nonnegative=True)


def test_two_symbolic_convolutions_follow_the_recurrence() -> None:
    """R = R1 + d2 (k2 - 1) J1, J = s1 s2, start = -p1 - p2 s1, for symbolic layers."""
    f = Field.identity(100).through(conv_window(k1, s1, p1, d1))
    f = f.through(conv_window(k2, s2, p2, d2))
    r1 = d1 * (k1 - 1) + 1
    assert sp.expand(f.size - (r1 + d2 * (k2 - 1) * s1)) == 0
    assert sp.expand(f.jump - s1 * s2) == 0
    assert sp.expand(f.start - (-p1 - p2 * s1)) == 0
    lo, hi = f.interval(INDEX)
    assert sp.expand(lo - (s1 * s2 * INDEX - p2 * s1 - p1)) == 0


def _brute(layers: list[tuple[int, int, int, int]], i: int) -> set[int]:
    """The input coordinates output ``i`` reads through conv layers (k, s, p, d), no clipping."""
    seen = {i}
    for k, s, p, d in reversed(layers):
        seen = {j * s - p + a * d for j in seen for a in range(k)}
    return seen


@pytest.mark.parametrize("layers", [
    [(3, 1, 1, 1), (3, 2, 0, 2)],
    [(2, 2, 0, 1), (3, 1, 0, 3)],
    [(1, 3, 0, 1), (3, 1, 1, 1)],
    [(3, 1, 0, 4), (2, 1, 0, 1), (3, 2, 1, 1)],
    [(5, 2, 2, 1), (3, 2, 1, 1), (3, 2, 1, 2)],
])  # fmt: skip
def test_interval_and_holes_match_brute_force(layers: list[tuple[int, int, int, int]]) -> None:
    f = Field.identity(1000)
    for k, s, p, d in layers:
        f = f.through(conv_window(k, s, p, d))
    for i in range(6):
        seen = _brute(layers, i)
        lo, hi = (int(v) for v in f.interval(i))
        assert (lo, hi) == (min(seen), max(seen))
        mask = (1 << (hi - lo + 1)) - 1 if f.offsets == DENSE else f.offsets
        assert {lo + b for b in range(hi - lo + 1) if mask >> b & 1} == seen
        assert f.dense == (len(seen) == hi - lo + 1)


def test_union_of_branches_is_the_hull() -> None:
    base = Field.identity(50)
    a = base.through(conv_window(3, padding=1))
    b = base.through(conv_window(3, padding=2, dilation=2))
    u = a.union(b)
    assert u.interval(INDEX) == (INDEX - 2, INDEX + 2)
    assert u.dense is True  # {i-1, i, i+1} and {i-2, i, i+2} fill [i-2, i+2]


def test_transposed_gather_and_its_refusal() -> None:
    w = conv_transpose_window(3, stride=2, padding=1)
    for r in range(8):
        lo, hi = (int(v) for v in w.at(r))
        gathered = {i for i in range(-3, 8) for a in range(3) if 2 * i - 1 + a == r}
        assert (lo, hi) == (min(gathered), max(gathered))
    with pytest.raises(ShapeError, match="stride=2 and dilation=3"):
        conv_transpose_window(3, stride=2, dilation=3)


def test_adaptive_bins_are_torchs() -> None:
    for n, o in itertools.product(range(1, 9), range(1, 6)):
        bins = adaptive_window(n, o).taps(n, o)
        torch_bins = tuple(tuple(range(i * n // o, -(-(i + 1) * n // o))) for i in range(o))
        assert bins == torch_bins


def test_interior_condition_is_the_input_range() -> None:
    f = Field.identity(10).through(pool_window(3, stride=2, padding=1))
    inside = [i for i in range(6) if f.interior(i) == sp.true]
    # output 0 reads [-1, 1] (the padding in front); 5 would read [9, 11], past the input
    assert inside == [1, 2, 3, 4]
