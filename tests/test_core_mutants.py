"""Tests found by mutation testing the pure core (``derive/{shapes,params,windows,...}.py``).

Each test kills a mutant that survived the fast core tests: one operator, constant or branch
of the core changed. Values are compared with torch where torch decides them.
"""

from __future__ import annotations

import random

import pytest
import sympy as sp

from derive import (
    ShapeError,
    conv2d,
    conv_transpose2d,
    conv_transpose2d_terms,
    conv_transpose_output_size,
    max_pool2d,
)
from derive.guards import rejection
from derive.params import int_pair
from derive.shapes import conv_rule, pool_rule
from derive.windows import AxisWindows

torch = pytest.importorskip("torch")


def _nested(rng: random.Random, shape: tuple[int, ...]):
    if not shape:
        return rng.randint(-4, 4)
    return [_nested(rng, shape[1:]) for _ in range(shape[0])]


def _to_list(t) -> list:
    return t.detach().to(torch.int64).tolist()


@pytest.mark.parametrize(
    "c_in, height, width, groups, per_out, kernel, target",
    [(2, 3, 4, 1, 3, (3, 3), (6, 8)), (4, 2, 3, 2, 1, (3, 3), (4, 6)),
     (1, 3, 2, 1, 2, (3, 3), (6, 4)), (1, 3, 3, 1, 1, (2, 4), (5, 7))],
)  # fmt: skip
def test_conv_transpose2d_output_size_matches_torch(
    c_in, height, width, groups, per_out, kernel, target
):
    """``output_size`` takes its own path: channels from the input's first axis, both
    kernel axes (a non-square kernel), as ``ConvTranspose2d.forward(output_size=...)``."""
    rng = random.Random(c_in * 100 + height)
    x = _nested(rng, (c_in, height, width))
    w = _nested(rng, (c_in, per_out, *kernel))
    layer = torch.nn.ConvTranspose2d(
        c_in, per_out * groups, kernel, stride=2, padding=1, groups=groups, bias=False
    ).to(torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(w, dtype=torch.float64))
        expected = layer(torch.tensor(x, dtype=torch.float64), output_size=list(target))
    got = conv_transpose2d(x, w, stride=2, padding=1, groups=groups, output_size=target)
    assert got.tolist() == _to_list(expected)


@pytest.mark.parametrize(
    "field, value",
    [("size", -1), ("kernel", 0), ("stride", 0), ("dilation", 0), ("before", -1),
     ("after", -1), ("out", -1)],
)  # fmt: skip
def test_axis_windows_refuses_values_below_their_least(field, value):
    """Each field of :class:`AxisWindows` has its own least value; one below it is refused."""
    fields = dict(size=5, kernel=2, stride=1, dilation=1, before=0, after=0, out=4)
    AxisWindows(**fields)  # the valid base
    with pytest.raises(ShapeError, match=f"{field} must be an int of at least {value + 1}"):
        AxisWindows(**{**fields, field: value})
    AxisWindows(**{**fields, field: value + 1})  # the least itself is accepted


def test_sympy_integers_are_not_window_fields():
    with pytest.raises(ShapeError, match="kernel must be an int"):
        AxisWindows(5, sp.Integer(2), 1, 1, 0, 0, 4)


def test_rejection_is_the_disjunction_of_the_guards():
    """``rejection`` holds exactly where torch rejects; with no guards it never holds."""
    assert rejection([]) is sp.false
    n = sp.Symbol("n", integer=True)
    condition = rejection(conv_rule(n, 3).guards)
    for size in range(-1, 6):
        try:
            torch.nn.functional.conv1d(torch.zeros(1, 1, size), torch.zeros(1, 1, 3))
            torch_rejects = False
        except RuntimeError:
            torch_rejects = True
        assert bool(condition.subs(n, size)) is torch_rejects, size
    assert rejection(pool_rule(5, 2).guards) is sp.false


@pytest.mark.parametrize("size, kernel", [(3, 2), (4, 3), (2, 1)])
def test_conv_transpose_output_size_defaults_match_torch(size, kernel):
    """Only size and kernel given: torch's defaults (stride 1, no padding, dilation 1)."""
    out = torch.nn.functional.conv_transpose1d(torch.zeros(1, 1, size), torch.zeros(1, 1, kernel))
    assert conv_transpose_output_size(size, kernel) == out.shape[-1]


@pytest.mark.parametrize("convention", ["torch", None])
def test_max_pool2d_with_a_convention_keeps_both_axes(convention):
    """A non-square input and kernel: rows and columns are planned separately."""
    rng = random.Random(5)
    x = _nested(rng, (1, 3, 6))
    expected = torch.nn.functional.max_pool2d(
        torch.tensor(x, dtype=torch.float64), (2, 3), stride=(1, 2)
    )
    got = max_pool2d(x, (2, 3), stride=(1, 2), convention=convention)
    assert got.tolist() == _to_list(expected)


def test_int_pair_refuses_a_symbol_in_either_axis():
    s = sp.Symbol("s", integer=True, positive=True)
    for value in ((2, s), (s, 2), s):
        with pytest.raises(ShapeError, match="stride must be integers for element computations"):
            int_pair(value, "stride")
    assert int_pair((2, 3), "stride") == (2, 3)


@pytest.mark.parametrize("groups", [1, 2])
def test_batched_conv2d_matches_torch(groups):
    """A 4-D input: every batch entry is computed, each from its own input."""
    rng = random.Random(11 + groups)
    x = _nested(rng, (3, 2, 4, 3))
    w = _nested(rng, (4, 2 // groups, 2, 2))
    b = _nested(rng, (4,))
    expected = torch.nn.functional.conv2d(
        torch.tensor(x, dtype=torch.float64),
        torch.tensor(w, dtype=torch.float64),
        torch.tensor(b, dtype=torch.float64),
        padding=1,
        groups=groups,
    )
    got = conv2d(x, w, b, padding=1, groups=groups)
    assert got.shape == tuple(expected.shape)
    assert got.tolist() == _to_list(expected)


def test_conv_transpose2d_terms_refuses_an_index_at_each_bound():
    """The last index of every axis is accepted (its terms sum to torch's element); the
    size itself is refused with a ShapeError naming the index."""
    rng = random.Random(3)
    x, w = _nested(rng, (2, 2, 3)), _nested(rng, (2, 3, 2, 2))
    expected = _to_list(
        torch.nn.functional.conv_transpose2d(
            torch.tensor(x, dtype=torch.float64), torch.tensor(w, dtype=torch.float64), stride=2
        )
    )
    shape = (3, 4, 6)
    assert (len(expected), len(expected[0]), len(expected[0][0])) == shape
    last = tuple(n - 1 for n in shape)
    terms = conv_transpose2d_terms(x, w, last, stride=2)
    assert sum(xv * wv for _, xv, _, wv in terms) == expected[last[0]][last[1]][last[2]]
    for axis, n in enumerate(shape):
        index = tuple(n if k == axis else 0 for k in range(3))
        with pytest.raises(ShapeError, match="index must lie in the output of shape"):
            conv_transpose2d_terms(x, w, index, stride=2)
