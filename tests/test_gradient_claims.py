"""The gradient claims: each is proved (the general ones for symbolic sizes), wrong formulas and
a wrong engine are refuted, the delta reductions refuse what they cannot decide, and the
engine's gradients are torch's autograd on random configurations (integer entries: float64
arithmetic is then exact)."""

from __future__ import annotations

import random

import pytest
import sympy as sp

from derive import transpose
from derive.verify import gradient_claims
from derive.verify.catalogue import gradient as table
from derive.verify.claims import CLAIMS as CATALOGUE
from derive.verify.claims import Claim, claim_by_id, establish, kind_of
from derive.verify.deltas import collapse, restate_indicators
from derive.verify.gradients import (
    CONFIGURATIONS,
    arrays,
    derivative,
    flipped_gradient,
    input_gradient,
    loss,
    weight_gradient,
)
from derive.verify.proofs import Identity, prove_identity

CLAIMS = table.CLAIMS
GENERAL = ("gradient.input-transposed", "gradient.weight", "gradient.bias")

#: random configurations compared with torch autograd
AUTOGRAD_CONFIGURATIONS = 25


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_each_gradient_claim_is_proved_and_counted_honestly(claim: Claim) -> None:
    assert isinstance(claim, Claim) and claim.group == "gradient"
    assert claim in CATALOGUE and gradient_claims.CLAIMS == CLAIMS
    outcome = establish(claim)
    assert outcome.status == "proved", outcome.detail
    kind = kind_of(claim, outcome)
    if claim.id in GENERAL:
        assert kind == "general-split" and "for every" in claim.statement
    else:  # labelled honestly: named shapes
        assert kind == "fixed-shape" and "these shapes only" in claim.assumptions
        assert "4x4" in claim.statement


def test_a_wrong_transposed_convolution_is_refuted(monkeypatch: pytest.MonkeyPatch) -> None:
    real = transpose.conv_transpose2d

    def no_dilation(*args, **kwargs):
        kwargs["dilation"] = 1
        kwargs["output_padding"] = 0
        return real(*args, **kwargs)

    monkeypatch.setattr(transpose, "conv_transpose2d", no_dilation)
    assert establish(claim_by_id("gradient.engine")).status == "FAILED"
    assert establish(claim_by_id("formula.conv-transpose-engine")).status == "FAILED"


def test_wrong_general_formulas_are_refuted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stride and dilation not traded, or the crop forgotten: the general proofs fail."""
    from derive.verify import indexed

    real = indexed.conv_transpose_element

    def uncropped(g, w, position, sizes):
        return real(g, w, position, {**sizes, "pt": 0})

    monkeypatch.setattr(table, "conv_transpose_element", uncropped)
    assert establish(claim_by_id("gradient.input-transposed")).status == "FAILED"
    spec = claim_by_id("gradient.weight").spec
    untraded = {**table.SIZES, "C": 1, "kh": table.Ho, "kw": table.Wo}
    bound = (indexed.BOUND[0], *indexed.OUT_BOUND[1:])
    wrong = Identity(spec.lhs, lambda: indexed.conv_element(
        lambda *ix: table.X[ix], lambda o, c, a, e: table.G[table.o1, a, e],
        (table.c1, table.a1, table.e1), untraded, channel=lambda o, c: o, bound=bound),
        spec.symbols, spec.split, spec.where)  # fmt: skip
    assert prove_identity(wrong).status == "FAILED"


def test_without_the_entry_inside_its_array_nothing_reduces() -> None:
    """The deltas collapse and the padding test is dropped only where decided: with no split
    placing the entry inside its array, the proof fails rather than assume it."""
    spec = claim_by_id("gradient.input-transposed").spec
    assert prove_identity(Identity(spec.lhs, spec.rhs, spec.symbols)).status == "FAILED"


def test_delta_rules_refuse_what_they_cannot_decide() -> None:
    v = sp.Symbol("v", integer=True)
    x = sp.Symbol("x", integer=True, nonnegative=True)
    n = sp.Symbol("n", integer=True, positive=True)
    u = sp.Symbol("u", integer=True, nonnegative=True)
    F = sp.IndexedBase("F")
    inside = {n: x + 1 + u}
    # a summand that does not vanish with the delta: no collapse
    body = sp.KroneckerDelta(v, x) * F[v] + F[0]
    assert collapse(body, ((v, 0, n - 1),), inside)[1] == ((v, 0, n - 1),)
    # x may lie outside 0..n - 1: no collapse
    assert collapse(sp.KroneckerDelta(v, x) * F[v], ((v, 0, n - 1),), {})[1]
    # x = n + u + 1 lies outside 0..n - 1 (by the region): no collapse either
    assert collapse(sp.KroneckerDelta(v, n + 1 + u) * F[v], ((v, 0, n - 1),), {})[1]
    # an indicator restated through a delta and decided true; another branch is not touched
    gated = sp.Piecewise((sp.KroneckerDelta(v, x) * F[v], sp.Lt(v, n)), (0, True))
    assert restate_indicators(gated, {v}, inside) == sp.KroneckerDelta(v, x) * F[v]
    assert restate_indicators(gated, {v}, {}) == gated
    two = sp.Piecewise((sp.KroneckerDelta(v, x) * F[v], sp.Lt(v, n)), (F[0], True))
    assert restate_indicators(two, {v}, inside) == two


def test_the_derivative_is_sympys() -> None:
    for config in CONFIGURATIONS[:2]:
        X, Wt, G, kw = arrays(config)
        L = loss(X, Wt, G, kw)
        ours = derivative(L, Wt)
        assert ours.shape == Wt.shape
        for v, d in zip(sp.flatten(Wt), sp.flatten(ours)):
            assert sp.expand(sp.diff(L, v) - d) == 0


def _config(rng: random.Random) -> tuple:
    groups = rng.choice((1, 1, 2))
    cin, cout = groups * rng.randint(1, 2), groups * rng.randint(1, 2)
    k = (rng.randint(1, 3), rng.randint(1, 3))
    s, d = (rng.randint(1, 3), rng.randint(1, 3)), (rng.randint(1, 2), rng.randint(1, 2))
    p = tuple(rng.randint(0, dd * (kk - 1)) for kk, dd in zip(k, d))
    size = tuple(dd * (kk - 1) + 1 + rng.randint(0, 5) for kk, dd in zip(k, d))
    return (cin, *size), (cout, cin // groups, *k), s, p, d, groups


def test_the_formulas_are_torchs_autograd() -> None:
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = random.Random(9)
    gen = torch.Generator().manual_seed(9)
    for _ in range(AUTOGRAD_CONFIGURATIONS):
        xshape, wshape, s, p, d, groups = _config(rng)
        x = torch.randint(-3, 4, xshape, generator=gen).double().requires_grad_(True)
        w = torch.randint(-3, 4, wshape, generator=gen).double().requires_grad_(True)
        y = F.conv2d(x, w, stride=s, padding=p, dilation=d, groups=groups)
        g = torch.randint(-3, 4, y.shape, generator=gen).double()
        gx, gw = torch.autograd.grad(y, (x, w), g)
        X, Wt, G = (sp.Array(t.detach().long().tolist()) for t in (x, w, g))
        kw = {"stride": s, "padding": p, "dilation": d, "groups": groups}
        assert input_gradient(X, Wt, G, kw).tolist() == gx.long().tolist()
        if groups == 1:
            assert flipped_gradient(X, Wt, G, kw).tolist() == gx.long().tolist()
            assert weight_gradient(X, Wt, G, kw).tolist() == gw.long().tolist()
