"""The gradient claims: each is proved, a wrong engine is refuted, and the formulas are torch's
autograd on random configurations (integer entries: float64 arithmetic is then exact)."""

from __future__ import annotations

import random

import pytest
import sympy as sp

from derive import transpose
from derive.verify.claims import Claim, establish
from derive.verify.gradient_claims import (
    CLAIMS,
    GROUP,
    flipped_gradient,
    input_gradient,
    weight_gradient,
)

#: random configurations compared with torch autograd
AUTOGRAD_CONFIGURATIONS = 25


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_each_gradient_claim_is_proved(claim: Claim) -> None:
    assert isinstance(claim, Claim) and claim.group == GROUP[0]
    outcome = establish(claim)
    assert outcome.status == "proved", outcome.detail
    assert "these shapes only" in claim.assumptions  # labelled honestly: named shapes


def test_a_wrong_transposed_convolution_is_refuted(monkeypatch: pytest.MonkeyPatch) -> None:
    real = transpose.conv_transpose2d

    def no_dilation(*args, **kwargs):
        kwargs["dilation"] = 1
        kwargs["output_padding"] = 0
        return real(*args, **kwargs)

    monkeypatch.setattr(transpose, "conv_transpose2d", no_dilation)
    assert establish(CLAIMS[0]).status == "FAILED"


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
