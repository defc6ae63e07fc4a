"""Shared checks of derive.networks against torch forward passes (imported by the tests).

``agree(module, shapes)`` runs torch's forward on zero tensors and derive at the same
concrete sizes, then derive again with some sizes made symbols: derive must raise
ShapeError (naming the module path) exactly when torch raises, give torch's shapes
otherwise, and its symbolic conditions, evaluated at the point, must hold exactly when torch
accepts, its formulas giving torch's sizes. A refusal (derive.networks.symbolic.Unsupported)
always fails: every layer and op tested here is claimed to be supported.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Sequence

import pytest
import torch

from derive import ShapeError
from derive.grammar import size_symbol
from derive.networks.admissible import solve_constraints
from derive.networks.quasi import evaluate
from derive.networks.symbolic import Unsupported
from derive.networks.trace import trace

TORCH_ERRORS = (RuntimeError, ValueError, IndexError, TypeError, NotImplementedError,
                AssertionError, ZeroDivisionError)  # fmt: skip


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors: threads only add overhead (and contention on a shared machine).

    Test modules import it (``from networks_check import one_thread``) to use it."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _many(shapes):
    return bool(shapes) and all(isinstance(s, (tuple, list)) for s in shapes)


def torch_shapes(module, shapes, dtype=None, grad=False):
    """The shape(s) torch's forward returns on zero inputs, or None if it raises."""
    shapes = shapes if _many(shapes) else [shapes]
    xs = [torch.zeros(tuple(s), dtype=dtype or torch.float32, requires_grad=grad and
                      (dtype is None or dtype.is_floating_point)) for s in shapes]  # fmt: skip
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if grad:
                y = module(*xs)
            else:
                with torch.no_grad():
                    y = module(*xs)
    except TORCH_ERRORS:
        return None
    return _shapes_of(y)


def _shapes_of(y):
    if isinstance(y, torch.Tensor):
        return tuple(y.shape)
    if isinstance(y, (tuple, list)):
        return tuple(_shapes_of(v) for v in y)
    raise TypeError(f"unexpected output {type(y)}")


def ints(shape):
    if isinstance(shape, tuple) and shape and isinstance(shape[0], tuple):
        return tuple(ints(s) for s in shape)
    return tuple(int(d) for d in shape)


def evaluated(shape, point):
    if isinstance(shape, tuple) and shape and isinstance(shape[0], tuple):
        return tuple(evaluated(s, point) for s in shape)
    return tuple(int(evaluate(d, point)) for d in shape)


def derive_shapes(module, shapes, dtype=None):
    """derive's output shape(s) at concrete sizes, or the ShapeError (never Unsupported)."""
    try:
        return ints(trace(module, shapes, dtype).output), None
    except Unsupported:
        raise
    except ShapeError as exc:
        return None, exc


def agree(module, shapes, symbolic=None, dtype=None, grad=False, solve=False, path=None):
    """Assert derive and torch agree at ``shapes`` (one shape or a list of shapes).

    ``symbolic``: the (input, axis) positions made symbols, or axes of input 0 (default: the
    spatial axes of input 0, from 2 on); ``path``: the module path rejections must name.
    """
    many = _many(shapes)
    expected = torch_shapes(module, shapes, dtype, grad)
    got, error = derive_shapes(module, shapes, dtype)
    if error is not None:
        assert expected is None, f"derive rejected {shapes} ({error}) but torch gives {expected}"
        if path is not None:
            assert str(error).startswith(path), (str(error), path)
    else:
        assert expected is not None, f"derive gives {got} for {shapes} but torch rejects"
        assert got == expected, (shapes, got, expected)
    listed = [list(s) for s in (shapes if many else [shapes])]
    if symbolic is None:
        symbolic = range(2, len(listed[0]))
    symbolic = [p if isinstance(p, tuple) else (0, p) for p in symbolic]
    if not symbolic:
        return expected
    symbols = {pos: size_symbol(f"n{pos[0]}_{pos[1]}") for pos in symbolic}
    point = {symbols[pos]: listed[pos[0]][pos[1]] for pos in symbolic}
    for (i, a), s in symbols.items():
        listed[i][a] = s
    sym_shapes = [tuple(s) for s in listed] if many else tuple(listed[0])
    try:
        t = trace(module, sym_shapes, dtype)
    except Unsupported:
        raise
    except ShapeError as exc:
        assert expected is None, f"symbolic trace rejects ({exc}) but torch accepts {shapes}"
        return expected
    accepted = all(evaluate(c.condition, point) for c in t.constraints)
    assert accepted == (expected is not None), (shapes, [str(c) for c in t.constraints])
    if expected is not None:
        assert evaluated(output_at(t, point), point) == expected, (shapes, t.output)
    if solve:
        adm = solve_constraints(t.constraints, t.symbols)
        assert adm.exact, [str(c) for c in adm.unresolved]
        assert (point in adm) == (expected is not None), (shapes, adm.to_text())
    return expected


def output_at(t, point):
    """The output formula of the case holding at ``point`` (cases may differ in rank)."""
    if t.output is not None:
        return t.output
    for case in t.cases:
        if case.rejection is None and all(evaluate(a, point) for a in case.assumptions):
            return case.output
    raise AssertionError(f"no case holds at {point}")


def build(factory, *args, **kwargs):
    """The module, or None when torch's constructor refuses the configuration."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return factory(*args, **kwargs)
    except TORCH_ERRORS:
        return None


class Lambda(torch.nn.Module):
    """A module whose forward applies ``fn`` (for testing single operations)."""

    def __init__(self, fn, name="op"):
        super().__init__()
        self.fn, self.name = fn, name

    def forward(self, *xs):
        return self.fn(*xs)


def positions(shapes: Sequence, inputs=None):
    """Every (input, axis) position of ``shapes`` (a list of shapes), or of some inputs."""
    chosen = range(len(shapes)) if inputs is None else inputs
    return [(i, a) for i in chosen for a in range(len(shapes[i]))]


def candidate_points(adm, symbols, sample, top, count=30, seed=""):
    """Sizes near every edge of the accepted set ``adm`` (and 1, 2, the sample's), then
    random ones up to ``top``; the sample first."""
    edges = {s: {1, 2, sample[s]} for s in symbols}
    for box in adm.boxes:
        for s, values in box.sizes.items():
            for run in values.runs:
                for edge in (run.lo, run.hi):
                    if edge is not None:
                        edges[s] |= {edge - 1, edge, edge + 1, edge + run.period}
    rng = random.Random(seed)
    points = [dict(sample)]
    while len(points) < count:
        point = {}
        for s in symbols:
            pool = sorted(v for v in edges[s] if 1 <= v <= top)
            point[s] = rng.choice(pool) if rng.random() < 0.7 else rng.randint(1, top)
        if point not in points:
            points.append(point)
    return points
