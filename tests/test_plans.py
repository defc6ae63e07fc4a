"""Window plans, channel guards and the engine's one path to the size rules (no torch here).

Each accessor of :mod:`derive.windows` is compared with a brute-force restatement of its
definition written here (padded coordinates, where each tap falls, the count_include_pad
extent, the transposed scatter); the plans the element functions build are compared with
their outputs; and patching a size function in :mod:`derive.shapes` must change what
``conv2d``, ``max_pool2d`` and ``conv_transpose2d`` compute.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import derive
from derive import ShapeError, shapes
from derive.channels import channel_guards, read_groups
from derive.conv import plan_conv2d
from derive.guards import decided, enforce
from derive.ops import CONV_TRANSPOSE, op_named
from derive.pool import plan_pool2d, pool2d_windows
from derive.transpose import plan_conv_transpose2d
from derive.windows import AxisWindows, Place, Windows2d

axes = st.builds(
    AxisWindows,
    size=st.integers(0, 12),
    kernel=st.integers(1, 5),
    stride=st.integers(1, 4),
    dilation=st.integers(1, 3),
    before=st.integers(0, 3),
    after=st.integers(0, 3),
    out=st.integers(0, 8),
)


def brute_place(axis: AxisWindows, padded: int) -> Place:
    """Where padded coordinate ``padded`` falls, from the layout of the padded line."""
    line = ["pad"] * axis.before + ["in"] * axis.size + ["pad"] * axis.after
    if padded >= len(line):
        return Place.PAST
    return Place.INPUT if line[padded] == "in" else Place.PADDING


@settings(max_examples=300)
@given(axes)
def test_axis_windows_match_their_definition(axis):
    k, s, d = axis.kernel, axis.stride, axis.dilation
    reach = 0
    for i in range(axis.out):
        padded = [i * s + a * d for a in range(k)]
        assert list(axis.padded(i)) == padded
        assert list(axis.coords(i)) == [c - axis.before for c in padded]
        places = [brute_place(axis, c) for c in padded]
        assert list(axis.places(i)) == places
        assert list(axis.taps(i)) == [
            (a, c - axis.before) for a, c in enumerate(padded) if places[a] is Place.INPUT
        ]
        assert axis.padding_count(i) == places.count(Place.PADDING)
        assert axis.past_count(i) == places.count(Place.PAST)
        cells = range(padded[0], padded[-1] + 1)  # the window's cells, dilation gaps included
        assert axis.extent(i) == sum(1 for c in cells if c < axis.padded_size)
        reach = max(reach, padded[-1] + 1)
    assert axis.overhang == max(0, reach - axis.padded_size)


@settings(max_examples=200)
@given(axes)
def test_gather_inverts_the_scatter(axis):
    """Window ``i``'s tap ``a`` lands on coordinate ``i s - before + a d``: gather lists them."""
    landed: dict[int, list[tuple[int, int]]] = {r: [] for r in range(axis.size)}
    for i in range(axis.out):
        for a in range(axis.kernel):
            r = i * axis.stride - axis.before + a * axis.dilation
            if 0 <= r < axis.size:
                landed[r].append((i, a))
    assert {r: list(axis.gather(r)) for r in range(axis.size)} == landed


@settings(max_examples=200)
@given(axes, axes, st.data())
def test_2d_counts_classify_every_tap(rows, cols, data):
    """As a renderer counts them: off the input, a tap is padding unless past either edge."""
    plan = Windows2d(rows, cols)
    if not (rows.out and cols.out):
        return
    i, j = data.draw(st.integers(0, rows.out - 1)), data.draw(st.integers(0, cols.out - 1))
    (top, bottom), (left, right) = plan.padding
    height, width = plan.in_shape
    padded = outside = 0
    for r, q in plan.padded(i, j):
        ri, qi = r - top, q - left
        if not (0 <= ri < height and 0 <= qi < width):
            if ri < height + bottom and qi < width + right:
                padded += 1
            else:
                outside += 1
    assert (plan.padding_count(i, j), plan.past_count(i, j)) == (padded, outside)
    places = plan.places(i, j)
    assert places.count(Place.PADDING) == padded and places.count(Place.PAST) == outside
    assert len(plan.taps(i, j)) == places.count(Place.INPUT) == len(places) - padded - outside
    assert plan.divisor(i, j) == rows.extent(i) * cols.extent(j)


def test_windows_reject_impossible_geometry():
    with pytest.raises(ShapeError, match="stride must be an int of at least 1, got stride=0"):
        AxisWindows(5, 3, 0, 1, 0, 0, 3)
    with pytest.raises(ShapeError, match="before=-1"):
        AxisWindows(5, 3, 1, 1, -1, 0, 3)
    with pytest.raises(ShapeError, match="kernel=True"):
        AxisWindows(5, True, 1, 1, 0, 0, 3)


# --- the plans of the element functions --------------------------------------------------


@settings(max_examples=150)
@given(
    size=st.tuples(st.integers(1, 8), st.integers(1, 8)),
    kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    stride=st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))),
    padding=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    ceil_mode=st.booleans(),
)
def test_pool_plan_is_what_pool2d_windows_and_the_size_rule_say(
    size, kernel, stride, padding, dilation, ceil_mode
):
    shape = (1, *size)
    try:
        plan = plan_pool2d(shape, kernel, stride, padding, dilation, ceil_mode)
    except ShapeError:
        with pytest.raises(ShapeError):
            pool2d_windows(shape, kernel, stride, padding, dilation, ceil_mode)
        return
    (oh, ow), windows = pool2d_windows(shape, kernel, stride, padding, dilation, ceil_mode)
    assert plan.out_shape == (oh, ow)
    for a in range(2):
        step = kernel[a] if stride is None else stride[a]
        expected = shapes.pool_output_size(
            size[a], kernel[a], step, padding[a], dilation[a], ceil_mode
        )
        assert plan.out_shape[a] == expected
        assert plan.overhang[a] == 0 or ceil_mode  # only ceil_mode reaches past the padding
    for i in range(oh):
        for j in range(ow):
            rows, cols, area = windows[i * ow + j]
            cells = [(r, q) for r in rows for q in cols]
            assert [(r, q) for _, _, r, q in plan.taps(i, j)] == cells
            assert area == plan.divisor(i, j)


def test_conv_plan_accessors():
    plan = plan_conv2d((2, 4, 5), (3, 2, 3, 2), stride=(2, 1), padding=((1, 0), (0, 2)))
    assert plan.out_shape == (2, 6) and plan.in_shape == (4, 5)
    assert plan.padding == ((1, 0), (0, 2)) and plan.overhang == (0, 0)
    assert plan.padded(0, 4) == ((0, 4), (0, 5), (1, 4), (1, 5), (2, 4), (2, 5))
    assert plan.places(0, 4).count(Place.PADDING) == plan.padding_count(0, 4) == 4
    assert plan.padding_count(0, 5) == 6 and plan.window(0, 5) == []  # all on the padding
    assert plan.window(0, 4) == [(c, r, 4, a, 0) for c in range(2) for a, r in ((1, 0), (2, 1))]


def test_transposed_plan_gathers_what_the_elements_sum():
    x = derive.symbol_array("x", (1, 3, 2))
    w = derive.symbol_array("w", (1, 1, 3, 2))
    y = derive.conv_transpose2d(x, w, stride=(2, 1), padding=(1, 0), output_padding=(1, 0))
    plan = plan_conv_transpose2d((1, 3, 2), (1, 1, 3, 2), (2, 1), (1, 0), (1, 0))
    assert plan.out_shape == tuple(y.shape[1:]) and plan.in_shape == (3, 2)
    for r in range(y.shape[1]):
        for q in range(y.shape[2]):
            products = [x[0, i, j] * w[0, 0, a, e] for i, a, j, e in plan.gather(r, q)]
            assert y[0, r, q] == sp.Add(*products)


# --- channel guards ------------------------------------------------------------------------


def test_channel_guards_with_symbols_stay_undecided_and_agree_at_numbers():
    c, o, g = sp.symbols("c o g", integer=True, positive=True)
    guards = channel_guards((c, 5, 5), (o, 2, 3, 3), g)
    assert [decided(x.rejects) for x in guards] == [False, None, None, None]
    for values in ({c: 4, o: 6, g: 2}, {c: 3, o: 2, g: 2}, {c: 4, o: 3, g: 2}, {c: 6, o: 4, g: 2}):
        at = [x.at(values) for x in guards]
        numeric = channel_guards((values[c], 5, 5), (values[o], 2, 3, 3), values[g])
        assert [decided(x.rejects) for x in at] == [decided(x.rejects) for x in numeric]
        assert [x.message() for x in at] == [x.message() for x in numeric]


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: plan_conv_transpose2d((3, 2, 2), (3, 1, 1, 1), groups=2),
            "in_channels must be divisible by groups, got in_channels=3 (input of shape "
            "(3, 2, 2)) and groups=2",
        ),
        (
            lambda: plan_conv_transpose2d((2, 2, 2), (3, 1, 1, 1)),
            "input has 2 channels but weight of shape (3, 1, 1, 1) expects 3",
        ),
        (
            lambda: plan_conv_transpose2d((2, 2, 2), (2, 1, 1, 1), groups=2, bias_shape=(1,)),
            "bias must have shape (2,), got shape (1,)",
        ),
        (lambda: read_groups(sp.Symbol("g")), "groups must be a positive integer, got groups=g"),
        (lambda: enforce(channel_guards((2, 2, 2), (2, 1, 1, 1), -1)), "got groups=-1"),
    ],
)
def test_channel_messages(call, message):
    with pytest.raises(ShapeError) as info:
        call()
    assert message in str(info.value)


# --- one engine: the element functions reach the size rules when called --------------------


def smaller(real):
    """A mutant of a size function: one output entry fewer."""
    return lambda *args, **kwargs: real(*args, **kwargs) - 1


@pytest.mark.parametrize(
    "name, call, normal_shape",
    [
        ("conv_output_size", lambda: derive.conv2d([[[1] * 4] * 4], [[[[1, 1], [1, 1]]]]),
         (1, 3, 3)),
        ("pool_output_size", lambda: derive.max_pool2d([[[1] * 4] * 4], 2, stride=1), (1, 3, 3)),
        ("pool_output_size", lambda: derive.avg_pool2d([[[1] * 4] * 4], 2, stride=1), (1, 3, 3)),
        ("conv_transpose_output_size",
         lambda: derive.conv_transpose2d([[[1] * 2] * 2], [[[[1, 1], [1, 1]]]]), (1, 3, 3)),
    ],
)  # fmt: skip
def test_element_functions_see_a_patched_size_function(monkeypatch, name, call, normal_shape):
    assert call().shape == normal_shape
    monkeypatch.setattr(shapes, name, smaller(getattr(shapes, name)))
    assert call().shape == (1, normal_shape[1] - 1, normal_shape[2] - 1)


def test_the_registry_sees_a_patched_size_function(monkeypatch):
    monkeypatch.setattr(shapes, "conv_transpose_output_size", lambda *a, **k: 99)
    assert CONV_TRANSPOSE.size(2, 2) == op_named("conv-transpose").size(2, 2) == 99


@pytest.mark.parametrize("convention", ["torch", "jax", "onnx"])
def test_conventions_with_explicit_pads_see_a_patched_engine_rule(monkeypatch, convention):
    """Explicit pads go through derive.shapes' rule, looked up when called (not bound at import).
    (SAME, VALID, causal and full have their frameworks' own formulas, proved equal to the
    engine's in derive verify's framework claims.)"""
    from derive.conventions.layer import conv_padding

    padding = {"torch": 0, "jax": (0, 0), "onnx": (0, 0)}
    before = conv_padding(8, 3, padding=padding[convention], convention=convention).size
    real = shapes.conv_rule

    def shifted(*args, **kwargs):
        rule = real(*args, **kwargs)
        return type(rule)(rule.guards, rule.size + 1)

    monkeypatch.setattr(shapes, "conv_rule", shifted)
    monkeypatch.setattr(shapes, "conv_output_size", lambda *a, **k: shifted(*a, **k).output_size())
    after = conv_padding(8, 3, padding=padding[convention], convention=convention).size
    assert (before, after) == (6, 7)


# --- layering -------------------------------------------------------------------------------


CORE = ("conv", "pool", "transpose", "shapes", "guards", "ops", "params", "tensors", "grammar",
        "windows", "channels", "sympy_private", "errors")  # fmt: skip


def test_core_modules_import_neither_torch_nor_the_torch_bridge():
    code = (
        "import sys, importlib\n"
        f"for name in {CORE!r}:\n"
        "    importlib.import_module('derive.' + name)\n"
        "loaded = [m for m in ('torch', 'derive.torch_check') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_every_registry_entry_names_its_window_plan():
    from derive.ops import AVG_POOL, CONV, CORR2D, MAX_POOL
    from derive.transpose import TransposePlan

    assert CONV.plan((1, 4, 4), (1, 1, 3, 3), padding=1).out_shape == (4, 4)
    assert CORR2D.plan((1, 4, 4), (1, 1, 3, 3)).out_shape == (2, 2)
    for pool in (MAX_POOL, AVG_POOL):
        assert isinstance(pool.plan((1, 5, 5), 2, ceil_mode=True), Windows2d)
    assert isinstance(CONV_TRANSPOSE.plan((1, 2, 2), (1, 1, 2, 2)), TransposePlan)
