"""The arithmetic under derive.networks, checked by brute force, and the explain command.

Size formulas are built from random chains of convolutions, poolings (ceil_mode too) and
transposed convolutions with the engine's own functions; every claim of
derive.networks.quasi (slope and period, merged floors, proved identities) and of the
solver in derive.networks.admissible is compared with direct evaluation over a range of
sizes well past every period.
"""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from derive import ShapeError, conv_output_size, conv_transpose_output_size, pool_output_size
from derive.cli import main
from derive.grammar import size_symbol
from derive.networks.admissible import (
    IntegerSet,
    Run,
    expand_cases,
    solve,
    solve_constraints,
)
from derive.networks.quasi import compose, evaluate, identically_equal, lift, quasi, tidy
from derive.networks.rules import Constraint

N = size_symbol("n")
M = size_symbol("m")
RANGE = range(1, 400)


@st.composite
def layers(draw):
    kind = draw(st.sampled_from(["conv", "conv", "pool", "pool_ceil", "transpose"]))
    k = draw(st.integers(1, 5))
    s = draw(st.integers(1, 4))
    d = draw(st.integers(1, 2))
    if kind == "conv":
        return kind, dict(kernel_size=k, stride=s, padding=draw(st.integers(0, 3)), dilation=d)
    if kind == "transpose":
        output_padding = draw(st.integers(0, max(s, d) - 1))
        return kind, dict(kernel_size=k, stride=s, padding=draw(st.integers(0, 2)),
                          output_padding=output_padding, dilation=d)  # fmt: skip
    return kind, dict(kernel_size=k, stride=s, padding=draw(st.integers(0, k // 2)),
                      dilation=d, ceil_mode=(kind == "pool_ceil"))  # fmt: skip


FUNCTIONS = {
    "conv": conv_output_size,
    "pool": pool_output_size,
    "pool_ceil": pool_output_size,
    "transpose": conv_transpose_output_size,
}


def chain(spec, size):
    """Apply the layers to ``size`` (int or symbol); None when the engine refuses.

    As derive.networks does, a size holding case splits goes in as a placeholder that is
    substituted branch by branch afterwards.
    """
    for kind, params in spec:
        try:
            if isinstance(size, sp.Basic) and size.has(sp.Piecewise):
                u = sp.Dummy("u", integer=True, positive=True)
                size = compose(FUNCTIONS[kind](u, **params), u, lift(size))
            else:
                size = FUNCTIONS[kind](size, **params)
        except ShapeError:
            return None
        if size.is_Integer and size < 1:
            return None
    return size


chains = st.lists(layers(), min_size=1, max_size=4)


@settings(max_examples=120, deadline=None)
@given(chains)
def test_formulas_are_quasi_linear_with_the_stated_slope_and_period(spec):
    f = chain(spec, N)
    if f is None:
        return
    q = quasi(f, N)
    assert q is not None, f
    for n in range(-20, 60):
        assert evaluate(f, {N: n + q.period}) == evaluate(f, {N: n}) + q.slope * q.period


@settings(max_examples=80, deadline=None)
@given(chains)
def test_symbolic_chain_evaluates_to_the_concrete_chain(spec):
    f = chain(spec, N)
    if f is None:
        return
    for n in range(1, 40):
        concrete = chain(spec, n)
        if concrete is not None:
            assert evaluate(f, {N: n}) == int(concrete), (spec, n)


@settings(max_examples=120, deadline=None)
@given(chains)
def test_tidy_changes_nothing_but_the_writing(spec):
    f = chain(spec, N)
    if f is None:
        return
    g = tidy(f)
    assert sp.count_ops(g) <= sp.count_ops(f)
    for n in range(-30, 90):
        assert evaluate(g, {N: n}) == evaluate(f, {N: n})


@settings(max_examples=80, deadline=None)
@given(chains, chains)
def test_identities_are_only_claimed_when_true(a, b):
    f, g = chain(a, N), chain(b, N)
    if f is None or g is None:
        return
    if identically_equal(f, g):
        assert all(evaluate(f, {N: n}) == evaluate(g, {N: n}) for n in range(-50, 200))
    assert identically_equal(f, tidy(f))


@st.composite
def conditions(draw):
    """A condition on n: a size compared with a constant or with another size, combined."""
    f = chain(draw(chains), N)
    g = chain(draw(chains), N)
    if f is None or g is None:
        return None
    relation = draw(st.sampled_from([sp.Eq, sp.Ne, sp.Ge, sp.Gt, sp.Le, sp.Lt]))
    other = g if draw(st.booleans()) else draw(st.integers(-2, 40))
    condition = relation(f, other)
    if draw(st.booleans()):
        condition = sp.And(condition, sp.Ge(g, draw(st.integers(1, 5))))
    if draw(st.booleans()):
        condition = sp.Or(condition, sp.Eq(f, draw(st.integers(1, 30))))
    return condition


@settings(max_examples=150, deadline=None)
@given(conditions())
def test_solve_agrees_with_brute_force(condition):
    if condition is None or condition in (sp.true, sp.false):
        return
    result = solve(condition, N)
    assert result is not None, condition
    for n in RANGE:
        assert (n in result) == bool(evaluate(condition, {N: n})), (condition, n, result)


def test_lenet_equation_and_an_even_size_condition():
    H = size_symbol("H")
    assert solve(sp.Eq(sp.floor(H / 4) - 2, 5), H) == IntegerSet((Run(28, 31),))
    even = solve(sp.Eq(2 * sp.floor(H / 2), H) & sp.Ge(H, 4), H)
    assert even == IntegerSet((Run(4, None, 2, (0,)),))
    assert even.to_text("H") == "H >= 4 with H = 0 mod 2"
    assert even.min() == 4 and even.max() is None and 6 in even and 7 not in even
    assert solve(sp.Eq(sp.floor(H / 4), 0), H).to_text("H") == "1 <= H <= 3"
    assert solve(sp.Lt(H, 1), H).is_empty()


def test_integer_set_text_and_bounds():
    s = IntegerSet((Run(3, 3), Run(7, 9), Run(20, None)))
    assert s.to_text("W") == "W = 3 or 7 <= W <= 9 or W >= 20"
    assert s.to_latex("W") == r"W = 3 \;\text{or}\; 7 \le W \le 9 \;\text{or}\; W \ge 20"
    assert s.min() == 3 and s.max() is None and not s.is_finite()
    assert IntegerSet().to_text("H") == "no H"


def test_broadcast_case_splits_are_expanded():
    p = sp.floor((N - 1) / 2) + 1
    size = sp.Piecewise((N, sp.Eq(p, 1)), (p, True))
    condition = sp.Eq(p, size)
    assert quasi(size, N) is None
    expanded = expand_cases(condition)
    assert not expanded.has(sp.Piecewise)
    for n in range(1, 50):
        assert evaluate(expanded, {N: n}) == evaluate(condition, {N: n})
    assert solve(condition, N) is not None


@settings(max_examples=25, deadline=None)
@given(chains, chains, st.integers(1, 6), st.integers(1, 60))
def test_products_of_two_sizes_split_into_exact_boxes(a, b, c, value):
    f, g = chain(a, N), chain(b, M)
    if f is None or g is None:
        return
    constraints = [
        Constraint("x", "Linear", sp.Eq(c * f * g, c * value), "product"),
        Constraint("y", "Conv", sp.Ge(f, 1), "positive"),
        Constraint("z", "Conv", sp.Ge(g, 1), "positive"),
    ]
    adm = solve_constraints(constraints, [N, M])
    assert adm.exact
    for n in range(1, 33):
        for m in range(1, 33):
            truth = adm.accepts((n, m))
            assert ((n, m) in adm) == truth, (n, m, adm.to_text())


def test_unsplittable_conditions_are_reported_not_guessed():
    c = Constraint("x", "add", sp.Eq(sp.floor(N / 2), sp.floor(M / 3)), "sizes must match")
    adm = solve_constraints([c], [N, M])
    assert not adm.exact and adm.unresolved == (c,)
    assert (4, 6) in adm and (4, 9) not in adm  # single points are still decided exactly


def test_evaluate_is_exact_on_large_sizes():
    big = 10**30 + 7
    assert evaluate(sp.floor((N - 1) / 3) + 1, {N: big}) == Fraction((big - 1) // 3 + 1)


# -- the explain command ---------------------------------------------------------------------


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_explain_prints_the_lenet_table_and_admissible_sizes(capsys):
    pytest.importorskip("torch")
    code, out, err = run_cli(
        capsys, "explain", "derive.networks.classic:lenet", "--input", "1,1,H,W", "--admissible"
    )
    assert code == 0 and err == ""
    assert "5        AvgPool2d  (1, 16, floor(H/4) - 2, floor(W/4) - 2)" in out
    assert "7 (Linear): 16*(floor(H/4) - 2)*(floor(W/4) - 2) = 400" in out
    assert "  28 <= H <= 31, 28 <= W <= 31" in out
    assert "smallest accepted (each size on its own): H = 12, W = 12" in out


def test_explain_json_and_expressions_in_the_input(capsys):
    pytest.importorskip("torch")
    code, out, _ = run_cli(
        capsys, "explain", "derive.networks.classic:nin", "--input", "1,1,4*S+3,4*S+3",
        "--admissible", "--json",
    )  # fmt: skip
    assert code == 0
    payload = json.loads(out)
    assert payload["output"] == "(1, 10)"
    assert payload["input"] == ["1", "1", "4*S + 3", "4*S + 3"]
    assert payload["admissible"]["exact"] is True
    # NiN needs H >= 67; H = 4S + 3 reaches it from S = 16
    assert payload["admissible"]["smallest"] == {"S": 16}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["derive.networks.classic"], "must be given as package.module:factory"),
        (["derive.networks.classic:nope"], "has no attribute 'nope'"),
        (["no_such_package.models:net"], "cannot import 'no_such_package.models'"),
        (["derive.networks.classic:CLASSIC"], "neither callable nor an nn.Module"),
    ],
)
def test_explain_rejects_bad_factories_in_one_line(capsys, argv, message):
    pytest.importorskip("torch")
    code, out, err = run_cli(capsys, "explain", *argv, "--input", "1,1,28,28")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ("1,1,H,__import__('os')", "unexpected"),
        ("1,,H", "comma-separated sizes"),
        ("1,1,20,20", "7 (Linear): in_features=400 does not match the last dim 144"),
        ("1,3,28,28", "0 (Conv2d): expected input with 1 channels"),
    ],
)
def test_explain_rejects_bad_inputs_in_one_line(capsys, shape, message):
    pytest.importorskip("torch")
    code, out, err = run_cli(capsys, "explain", "derive.networks.classic:lenet", "--input", shape)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err


def test_import_derive_does_not_import_torch():
    code = (
        "import sys, derive; assert callable(derive.output_shape); "
        "import derive.networks, derive.commands.explain; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_explain_export_prints_a_dynamic_shapes_specification(capsys):
    pytest.importorskip("torch")
    code, out, err = run_cli(
        capsys, "explain", "derive.networks.zoo:UNet", "--input", "1,1,H,W", "--export"
    )
    assert code == 0 and err == ""
    assert "  H = 16*k with k >= 1, W = 16*k with k >= 2" in out
    assert "dynamic_shapes = ({2: 16 * h, 3: 16 * w},)" in out
    assert 'h = Dim("h", min=2)' in out
    code, out, _ = run_cli(
        capsys, "explain", "derive.networks.zoo:PadToEven", "--input", "1,2,H,W", "--export",
        "--json",
    )  # fmt: skip
    payload = json.loads(out)
    assert len(payload["cases"]) == 4 and payload["admissible"]["exact"]
    assert "dynamic_shapes = ({2: 2 * h + 1, 3: 2 * w + 1},)" in payload["export"]["code"]
    assert any("torch.export traces one branch" in n for n in payload["export"]["notes"])


def test_layers_answered_from_memory_trace_as_when_run(monkeypatch):
    """A layer applied again to inputs of the same shapes is answered from its first
    application (derive.networks.memo): the trace must be what running it again gives."""
    pytest.importorskip("torch")
    from derive.networks import memo, zoo
    from derive.networks.trace import trace

    def summary(name):
        entry = zoo.ZOO.get(name)
        net, shape = (entry.factory(), entry.input_shape) if entry else (
            zoo.resnet50(1 / 16).train(), (2, 3, size_symbol("H"), size_symbol("W")))  # fmt: skip
        t = trace(net, shape)
        return [(c.assumptions, [(r.path, r.kind, r.shape) for r in c.layers],
                 [(k.path, k.condition) for k in c.constraints], c.output,
                 [(k.path, k.condition) for k in c.static]) for c in t.cases]

    names = ["unet2d", "pad_to_even", "lstm_conv", "mobilenet_v2", "resnet50"]
    remembered = [summary(n) for n in names]
    hits = []
    replay = memo.LayerMemo.replay
    monkeypatch.setattr(memo.LayerMemo, "replay", lambda self, *a: hits.append(
        replay(self, *a) is not memo.MISS) or memo.MISS)  # fmt: skip
    assert [summary(n) for n in names] == remembered
    assert sum(hits) >= 50  # the memo answered many applications in the first pass
