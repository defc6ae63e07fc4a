"""``derive verify``: the catalogue, the prover's honesty, the sweep, the command and the page."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import derive
from derive.cli import main
from derive.render.pages.verification import page_markdown, render_page
from derive.verify import claims as catalogue
from derive.verify.claims import CLAIMS, KINDS, claim_by_id
from derive.verify.exhaustive import Exhaustive, run_exhaustive
from derive.verify.fast import compile_formula
from derive.verify.lemmas import apply_lemmas, nonnegative, positive, split_quotient
from derive.verify.proofs import Identity, prove_identity
from derive.verify.report import run_verification, to_json
from derive.verify.splits import Case, Compare, Division
from derive.verify.sweep import build_grids, run_sweep

POS = {"integer": True, "positive": True}
NN = {"integer": True, "nonnegative": True}
n, k, s, d = sp.symbols("n k s d", **POS)
q, u, t = sp.symbols("q u t", **NN)
r = sp.Symbol("r", **POS)
p_ = sp.Symbol("p", **NN)


# ---------------------------------------------------------------- one full default run
@pytest.fixture(scope="module")
def full_report():
    """The default verification (every claim, the full sweep, seed 0), run once."""
    return run_verification()


@pytest.fixture(scope="module")
def full_run(full_report):
    payload = json.loads(json.dumps(to_json(full_report)))
    shown = "\n".join(map(str, full_report.sweep.disagreements))
    return (0 if full_report.ok else 1), payload, shown


def test_full_run_passes_with_the_promised_counts(full_run):
    code, payload, err = full_run
    assert code == 0, err
    assert set(payload) == {"proofs", "numeric", "kinds"}
    assert set(payload["numeric"]) == {"configurations", "failed"}
    assert payload["numeric"]["configurations"] >= 100_000
    assert payload["numeric"]["failed"] == 0
    proofs = payload["proofs"]
    assert set(proofs) == {"passed", "failed", "items"}
    assert proofs["failed"] == 0 and proofs["passed"] == len(CLAIMS) == len(proofs["items"])
    assert list(payload["kinds"]) == list(KINDS)
    assert sum(payload["kinds"].values()) == len(CLAIMS)
    kinds = [item["kind"] for item in proofs["items"]]
    assert kinds.count("boundary") == payload["kinds"]["boundary"]


def test_cli_json_prints_exactly_the_promised_object(capsys):
    code = main(["verify", "--json", "--claim", "dv", "--configs", "400", "--elements", "4"])
    out, err = capsys.readouterr()
    payload = json.loads(out)
    assert code == 0 and err == ""
    assert set(payload) == {"proofs", "numeric", "kinds"}
    assert set(payload["numeric"]) == {"configurations", "failed"}
    assert payload["numeric"] == {"configurations": 404, "failed": 0}
    assert payload["proofs"]["passed"] == 15 and payload["proofs"]["failed"] == 0
    assert payload["kinds"]["general-direct"] == 15 and sum(payload["kinds"].values()) == 15


def test_cli_exit_status_is_1_on_a_failure(monkeypatch, capsys):
    import derive.shapes

    monkeypatch.setattr(derive.shapes, "conv_output_size", lambda *a, **k: sp.Integer(0))
    assert main(["verify", "--no-sweep", "--claim", "dv.1"]) == 1
    out = capsys.readouterr().out
    assert "dv.1" in out and "FAILED" in out and "1 FAILED" in out


def test_items_carry_what_the_report_promises(full_run):
    items = full_run[1]["proofs"]["items"]
    for item in items:
        assert {"id", "status", "statement", "latex", "seconds", "kind"} <= set(item)
        assert item["status"] in ("proved", "checked")
        assert ("range" in item) == (item["status"] == "checked")
    assert [item["id"] for item in items] == [c.id for c in CLAIMS]


def test_the_count_by_kind_is_honest(full_report):
    """Each kind means what it says: direct identities have one case and no lemma, split
    identities a split or a lemma, definitional lemmas are SymPy alone, fixed shapes name their
    shapes, and at least 25 general identities are proved beyond the lemmas."""
    general = 0
    for r in full_report.results:
        spec, outcome = r.claim.spec, r.outcome
        if r.kind == "general-direct":
            assert spec.split is None and not outcome.lemmas and "directly" in outcome.detail
        if r.kind == "general-split":
            assert spec.split is not None or outcome.lemmas, r.claim.id
        if r.kind == "definitional":
            assert r.claim.group == "lemma" and spec.sympy_only
        if r.kind == "fixed-shape":
            assert "only" in r.claim.assumptions and "x" in r.claim.statement
        general += r.kind.startswith("general") and r.claim.group != "lemma"
    assert general >= 25
    counts = to_json(full_report)["kinds"]
    assert counts["boundary"] == 12 and counts["checked"] == 0 and counts["definitional"] == 5


def test_symbolic_size_identities_are_general(full_report):
    """Linearity, channels, 1x1 kernels, average pooling, SAME with dilation and the gradients
    are proved for symbolic sizes."""
    kinds = {r.claim.id: r.kind for r in full_report.results}
    for claim_id in ("book.linear-input", "book.linear-kernel", "book.multi-in-sum",
                     "book.conv1x1-matmul", "composition.avgpool-is-conv"):  # fmt: skip
        assert kinds[claim_id].startswith("general"), claim_id
    # general in the input size, but for the stated kernel shapes only: counted as fixed-shape
    assert kinds["composition.stack-elements"] == "fixed-shape"
    for claim_id in ("pooling.ceil-at-most-one-more", "pooling.ceil-last-window",
                     "pooling.ceil-agrees-when-divisible", "framework.same-dilated",
                     "gradient.input-transposed", "gradient.weight", "gradient.bias"):  # fmt: skip
        assert kinds[claim_id] == "general-split"
    # the engine's own gradients stay fixed-shape, and say so
    assert kinds["gradient.engine"] == kinds["gradient.input-flipped"] == "fixed-shape"


def test_exhaustive_claims_are_checked_never_proved(full_run):
    status = {item["id"]: item for item in full_run[1]["proofs"]["items"]}
    for claim in CLAIMS:
        if isinstance(claim.spec, Exhaustive):
            assert status[claim.id]["status"] == "checked"
            assert "points" in status[claim.id]["range"]
        else:
            assert status[claim.id]["status"] != "checked"


# ---------------------------------------------------------------- the catalogue
def test_catalogue_covers_the_issue():
    ids = {c.id for c in CLAIMS}
    assert len(ids) == len(CLAIMS)
    assert {f"dv.{no}" for no in range(1, 16)} <= ids
    required = {
        "rejection.conv-span", "rejection.same-strided", "rejection.pool-padding",
        "rejection.transpose-output-padding", "lemma.split-division", "lemma.split-compare",
        "book.valid-size", "book.padded-size", "book.keep-size", "book.odd-kernel-split",
        "book.even-kernel-split", "book.stride-size", "book.stride-keep", "book.stride-divides",
        "book.total-vs-side", "book.plus-s-plus-one", "book.pool-default-stride",
        "book.pool-channels", "book.conv1x1-matmul", "book.transpose", "book.edge-transposed",
        "book.linear-input", "book.linear-kernel", "book.multi-in-sum",
        "framework.torch-same-split", "framework.tf-same-size", "framework.tf-valid",
        "framework.onnx-same-upper", "framework.onnx-same-lower",
        "composition.stack-elements", "composition.avgpool-is-conv",
        "composition.maxpool-not-linear",
    }  # fmt: skip
    assert required <= ids
    for claim in CLAIMS:
        assert claim.statement and claim.latex and claim.assumptions and claim.method
        assert claim.group in catalogue.GROUPS


def test_fixed_shape_claims_say_so():
    """A claim proved on arrays of symbols names its shapes: 'this shape only'."""
    from derive.verify.proofs import Elementwise

    for claim in CLAIMS:
        if isinstance(claim.spec, Elementwise):
            assert "only" in claim.assumptions, claim.id
            assert "x" in claim.statement, claim.id  # e.g. "4x5", "2x3x3"


def test_book_facts_are_asserted_against_computed_values():
    for claim_id in ("book.corr2d-example", "book.shape-examples", "book.worked-numbers"):
        ok, detail = claim_by_id(claim_id).spec.run()
        assert ok, detail


def test_max_pool_counterexample_is_real():
    detail = claim_by_id("composition.maxpool-not-linear").spec.search()
    assert detail is not None
    # recompute the counterexample the search reports with torch
    import torch

    x = torch.tensor([[[-1.0, 0.0]]])
    y = torch.tensor([[[0.0, -1.0]]])
    pool = torch.nn.functional.max_pool1d
    assert pool(x + y, 2).item() != pool(x, 2).item() + pool(y, 2).item()


# ---------------------------------------------------------------- the prover is honest
def test_a_false_identity_fails():
    wrong = Identity(lambda: sp.floor((n + s) / s), lambda: sp.floor(n / s), (n, s))
    assert prove_identity(wrong).status == "FAILED"


def test_a_bogus_split_is_refused():
    """n = 12 - v would make conv(n, k) <= 12 look proved: free-form cases are refused."""
    v = sp.Symbol("v", **NN)
    bogus = Identity(lambda: derive.conv_output_size(n, k) <= 12, lambda: sp.true, (n, k),
                     split=Case("n = 12 - v", {n: 12 - v}))  # fmt: skip
    outcome = prove_identity(bogus)
    assert outcome.status == "FAILED" and "free-form case split refused" in outcome.detail
    # the same claim through a vetted comparison split fails honestly (n > 12 is a case)
    vetted = Identity(bogus.lhs, bogus.rhs, (n, k), split=Compare(12, n, n, n, v))
    assert prove_identity(vetted).status == "FAILED"


def test_splitters_refuse_what_they_cannot_cover():
    x, qi = sp.symbols("x q", integer=True)
    r0 = sp.Symbol("r", **NN)
    # 2x = qs + r cannot be solved for x by a bijection of the integers
    spec = Identity(lambda: sp.floor(2 * x / s), lambda: sp.floor(2 * x / s), (x, s),
                    split=Division(2 * x, s, x, qi, r0, u))  # fmt: skip
    assert "coefficient 1 or -1" in prove_identity(spec).detail
    # a parameter named like a symbol of the claim would mix the two
    clash = Identity(lambda: sp.floor(n / s), lambda: sp.floor(n / s), (n, s, u),
                     split=Division(n, s, n, qi, r0, u))  # fmt: skip
    assert "clash" in prove_identity(clash).detail
    # a non-negative quotient needs its dividend shown non-negative
    signed = Identity(lambda: sp.floor(x / s), lambda: sp.floor(x / s), (x, s),
                      split=Division(x, s, x, q, r0, u))  # fmt: skip
    assert "needs x >= 0" in prove_identity(signed).detail
    # one slack for two comparisons would tie them together
    twice = Identity(lambda: sp.floor(n / s), lambda: sp.floor(n / s), (n, s),
                     split=Compare(n, 3, n, n, t).then(Compare(n, 5, n, n, t)))  # fmt: skip
    assert "in use in the case already" in prove_identity(twice).detail
    # a symbol of the claim solved for after it entered an earlier substitution is still
    # substituted wherever the claim has it
    for case in Division(n - k, s, n, qi, r0, u).then(Compare(k, 3, k, k, t)).cases():
        assert set(case.subs) == {n, k} and k not in case.subs[n].free_symbols
    # the symbol solved for cannot be on both sides (n = q n + r)
    circular = Identity(lambda: n, lambda: n, (n,), split=Division(n, n, n, qi, r0, u))
    assert prove_identity(circular).status == "FAILED"


def test_a_later_split_rewrites_the_earlier_bounds():
    """n - 1 = qs + r, then r = ad + b with d = b + 1 + v: the bound on s is written in the
    new parameters, so that every bound of a case is in signed parameters alone."""
    from derive.verify.catalogue.framework import SAME_SPLIT

    for case in SAME_SPLIT.cases():
        bounded = set(case.region)
        for value in case.region.values():
            assert not sp.sympify(value).free_symbols & bounded, case.name


def test_a_split_that_is_not_enough_is_no_proof():
    """Division alone leaves ceil(r/s) undecided: the comparison r = 0 / r >= 1 is needed."""
    x = sp.Symbol("x", integer=True)
    r0 = sp.Symbol("r", **NN)
    half = Identity(lambda: sp.ceiling(x / s), lambda: sp.floor((x + s - 1) / s), (x, s),
                    split=Division(x, s, x, sp.Symbol("q", integer=True), r0, u))  # fmt: skip
    assert prove_identity(half).status == "FAILED"
    full = Identity(half.lhs, half.rhs, (x, s), split=half.split.then(Compare(r0, 1, r0, r0, t)))
    outcome = prove_identity(full)
    assert outcome.status == "proved" and outcome.cases == 2 and "ceil-window" in outcome.lemmas


def test_false_ceil_mode_properties_fail():
    """The ceil_mode proofs decide their conditions: the reversed statements fail."""
    ceil, floor = (lambda c=c: derive.pool_output_size(n, k, s, p_, d, c) for c in (True, False))
    spec = claim_by_id("pooling.ceil-at-most-one-more").spec
    wrong = Identity(lambda: sp.Le(ceil() - floor(), 0), lambda: sp.true, spec.symbols,
                     split=spec.split, where=spec.where)  # fmt: skip
    assert prove_identity(wrong).status == "FAILED"
    window = claim_by_id("pooling.ceil-last-window").spec
    tighter = Identity(lambda: (ceil() - 1) * s < n, lambda: sp.true, window.symbols,
                       split=window.split, where=window.where)  # fmt: skip
    assert prove_identity(tighter).status == "FAILED"


def test_undeclared_symbols_fail():
    spec = Identity(lambda: n + k, lambda: k + n, (n,))
    assert "undeclared" in prove_identity(spec).detail


def test_window_lemma_needs_decided_inequalities():
    # floor(r/s) is 0 only when r < s: without that region it must stay a floor
    assert apply_lemmas(sp.floor(r / s)) == sp.floor(r / s)
    assert apply_lemmas(sp.floor((q * s + r) / s), {s: r + 1 + u}) == q
    assert apply_lemmas(sp.ceiling((q * s + r) / s), {s: r + u}) == q + 1


def test_sign_decisions():
    assert nonnegative((s - 1) / s) and positive(s / (s + 1))
    assert not nonnegative(s - 2) and not nonnegative(2 - s)
    assert not positive(sp.Symbol("x", integer=True))


@settings(max_examples=60, deadline=None)
@given(st.integers(-50, 50), st.integers(-20, 20), st.integers(1, 12))
def test_split_quotient_is_division(a, b, c):
    x = sp.Symbol("x", integer=True)
    num = a * x + b * c * x + b
    Q, R = split_quotient(sp.expand(num), sp.Integer(c))
    assert sp.expand(Q * c + R - num) == 0


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 40),
    st.integers(1, 7),
    st.integers(1, 5),
    st.integers(0, 3),
    st.integers(1, 3),
    st.booleans(),
)
def test_compiled_engine_formula_matches_the_engine(size, kernel, stride, pad, dil, ceil):
    p_ = sp.Symbol("p", **NN)
    formula = compile_formula(derive.pool_output_size(n, k, s, p_, d, ceil), (n, k, s, p_, d))
    try:
        expected = int(derive.pool_output_size(size, kernel, stride, pad, dil, ceil))
    except derive.ShapeError:
        return
    assert int(formula(size, kernel, stride, pad, dil)) == expected


def test_exhaustive_reports_its_range_and_a_failure():
    ok = Exhaustive({"a": range(1, 5), "b": range(0, 3)}, lambda g: (True, g["a"] + g["b"] > 0))
    bad = Exhaustive({"a": range(1, 5)}, lambda g: (True, g["a"] < 4))
    outcome = run_exhaustive(ok)
    assert outcome.status == "checked" and outcome.range == "1 <= a <= 4, 0 <= b <= 2 (12 points)"
    failed = run_exhaustive(bad)
    assert failed.status == "FAILED" and "{'a': 4}" in failed.detail


# ---------------------------------------------------------------- the sweep
def test_grids_are_large_and_distinct():
    grids = build_grids()
    assert sum(len(g) for g in grids) >= 100_000
    for grid in grids:
        rows = np.stack(list(grid.columns.values()), axis=1)
        assert len(np.unique(rows, axis=0)) == len(grid)


def test_a_small_sweep_agrees_and_counts():
    result = run_sweep(configs=3000, elements=40, seed=3)
    assert result.failed == 0, [str(x) for x in result.disagreements[:5]]
    assert result.configurations == 3040 and result.element_cases == 40
    assert result.rejected > 0 and result.engine_sampled > 0
    assert result.boundary > 0 and result.edge > 0 and result.arguments_compared > 0
    assert set(result.by_op) == {
        "conv1d", "max_pool1d", "avg_pool1d", "conv_transpose1d", "2-D elements"
    }  # fmt: skip


def test_sweep_is_deterministic():
    a = run_sweep(configs=500, elements=10, seed=7)
    b = run_sweep(configs=500, elements=10, seed=7)
    assert (a.configurations, a.rejected, a.by_op) == (b.configurations, b.rejected, b.by_op)


# ---------------------------------------------------------------- command and page
def test_table_output_and_claim_filter(capsys):
    code = main(["verify", "--no-sweep", "--claim", "dv", "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    lines = [line for line in out.splitlines() if line.startswith("dv.")]
    assert len(lines) == 15 and all("proved" in line for line in lines)
    assert "proofs: 15 proved, 0 checked on finite ranges only, 0 FAILED" in out


def test_bad_arguments_are_one_line_errors(capsys):
    assert main(["verify", "--no-sweep", "--claim", "nonsense"]) == 2
    assert main(["verify", "--configs", "-3"]) == 2
    err = capsys.readouterr().err
    assert "no claim or group named nonsense" in err and "--configs=-3" in err


def test_verify_imports_no_torch_until_the_sweep():
    code = (
        "import sys, derive.cli, derive.commands.verify, derive.verify.claims, "
        "derive.verify.report, derive.render.pages.verification; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_page_module_imports_cheaply():
    """``derive build`` imports the page writer to list its providers: no catalogue, sweep,
    numpy or torch until a page is written."""
    heavy = ("numpy", "torch", "derive.verify.claims", "derive.verify.sweep")
    code = (
        "import sys, derive.render.pages.verification as page; "
        f"print([m for m in {heavy!r} if m in sys.modules]); "
        "page.page_markdown; print(callable(page.render_page))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[]", "True"]


def test_page_is_deterministic_and_complete(monkeypatch, full_report):
    import derive.render.pages.verification as page
    import derive.verify.report as report_module

    text = page_markdown(full_report)
    for claim in CLAIMS:
        assert f"`{claim.id}`" in text and claim.latex in text
    # the intro explains every kind the summary counts, in the same order
    assert list(page.KIND_TEXT) == list(KINDS)
    intro = text.split("## Summary")[0]
    for words, covers in page.KIND_TEXT.values():
        assert f"**{words}**: {covers}" in intro
    assert "**checked**" in intro and "**proved**" in intro
    assert f"{full_report.sweep.configurations:,} configurations" in text
    assert "**0 disagreements**" in text
    for item in to_json(full_report)["proofs"]["items"]:
        if item["status"] == "checked":
            assert item["range"] in text
    # the same run twice gives the same page (no timings, no dates)
    small = [run_verification(configs=800, elements=6, only=["dv", "pooling"]) for _ in range(2)]
    assert page_markdown(small[0]) == page_markdown(small[1])
    # render_page runs the verification itself (a small one here)
    monkeypatch.setattr(report_module, "run_verification", lambda seed: run_verification(
        configs=300, elements=5, seed=seed, only=["dv.1"]
    ))  # fmt: skip
    rendered = render_page()
    assert rendered.startswith("# Verification") and "`dv.1`" in rendered
    assert "seconds" not in rendered and " s:" not in rendered


# ---------------------------------------------------------------- two-sided rejections
def test_a_boundary_claim_checks_the_argument_and_both_sides():
    from derive.ops import CONV
    from derive.verify.boundary import Boundary, Family, run_boundary

    pt = sp.Symbol("p_t", **NN)
    span = d * (k - 1)
    short = Family(lambda: {"size": span - pt - t, "kernel_size": k, "stride": s,
                            "padding": (pt, 0), "dilation": d}, (sp.Ge(span - pt - t, 1),))
    fit = Family(lambda: {"size": span + 1 - pt, "kernel_size": k, "stride": s,
                          "padding": (pt, 0), "dilation": d}, (sp.Ge(span + 1 - pt, 1),))
    assert run_boundary(Boundary(CONV, "kernel_size", (short,), (fit,))).status == "proved"
    wrong_argument = run_boundary(Boundary(CONV, "padding", (short,), (fit,)))
    assert "names kernel_size, not padding" in wrong_argument.detail
    swapped = run_boundary(Boundary(CONV, "kernel_size", (fit,), (short,)))
    assert swapped.status == "FAILED" and "accepted" in swapped.detail
    # a family the engine cannot decide, claimed accepted, is refused as not shown
    same = Family(lambda: {"size": n, "kernel_size": k, "stride": s, "padding": "same",
                           "dilation": d})
    assert run_boundary(Boundary(CONV, "stride", (), (same,))).status == "FAILED"
    assert run_boundary(Boundary(CONV, "stride", (), (), (same,))).status == "proved"


# ---------------------------------------------------------------- indexed sums
def test_a_false_element_identity_fails():
    from derive.verify.indexed import conv_element

    X, Y, W = (sp.IndexedBase(name) for name in "XYW")
    o, i, j = sp.symbols("o i j", **NN)
    a, b = sp.symbols("a b")
    sizes = {"C": n, "H": s, "W": d, "kh": k, "kw": k}
    symbols = (n, s, d, k, o, i, j, a, b)

    def conv(x):
        return conv_element(x, lambda *ix: W[ix], (o, i, j), sizes)

    def mixed(*ix):
        return a * X[ix] + b * Y[ix]

    true = Identity(lambda: conv(mixed), lambda: a * conv(lambda *ix: X[ix])
                    + b * conv(lambda *ix: Y[ix]), symbols)  # fmt: skip
    false = Identity(lambda: conv(mixed), lambda: a * conv(lambda *ix: X[ix])
                     + a * conv(lambda *ix: Y[ix]), symbols)  # fmt: skip
    assert prove_identity(true).status == "proved"
    assert prove_identity(false).status == "FAILED"


# ---------------------------------------------------------------- the sweep's engine calls
def test_every_exact_fit_is_run_through_the_engine():
    """Exact fits (padded input = span) and one short of them are on the span guard's
    boundary: the sweep calls the engine numerically on every one."""
    from derive.verify.grids import INT, PAIR, VALID
    from derive.verify.model import compile_model

    grid = build_grids()[0]
    model = compile_model(grid)
    c = grid.columns
    numbers = np.isin(c["mode"], [INT, PAIR, VALID])
    padded = c["n"] + np.where(c["mode"] == VALID, 0, c["lo"] + c["hi"])
    span = c["d"] * (c["k"] - 1) + 1
    for gap in (0, -1):
        chosen = numbers & (padded - span == gap)
        assert chosen.sum() > 100 and model.boundary[chosen].all()
    assert not model.boundary[numbers & (padded - span > 3) & (c["s"] > 2)].any()
