"""The convention claims are proved, and a broken convention fails its proof."""

from __future__ import annotations

import pytest
import sympy as sp

from derive.conventions import same as CS
from derive.verify.claims import establish
from derive.verify.convention_claims import convention_claims

CLAIMS = convention_claims()


@pytest.mark.parametrize("claim", CLAIMS, ids=[c.id for c in CLAIMS])
def test_each_convention_claim_is_proved(claim):
    outcome = establish(claim)
    assert outcome.status == "proved", outcome.detail
    assert claim.group == "framework" and claim.latex and claim.statement


def test_ids_are_unique_and_new():
    from derive.verify.claims import CLAIMS as CATALOGUE

    ids = [c.id for c in CLAIMS]
    assert len(set(ids)) == len(ids)
    assert not set(ids) & {c.id for c in CATALOGUE}


def test_same_without_its_max_fails_its_proof(monkeypatch):
    """Padding a negative amount where the span is shorter than the remainder is wrong."""
    monkeypatch.setattr(CS, "same_total", lambda n, k, s, d: d * (k - 1) - sp.Mod(n - 1, s))
    claim = next(c for c in CLAIMS if c.id == "convention.same-size")
    assert establish(claim).status == "FAILED"


def test_keras_same_cropping_the_wrong_total_fails(monkeypatch):
    from derive.conventions import keras as KE

    monkeypatch.setattr(KE, "_crop_total", lambda spelled, span, s, op: span - s + 1)
    claim = next(c for c in CLAIMS if c.id == "convention.keras-transposed-same")
    assert establish(claim).status == "FAILED"
