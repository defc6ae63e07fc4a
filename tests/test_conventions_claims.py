"""The convention claims: proved for every size, kernel, stride and dilation through the functions
users call (``derive.conv_padding`` and friends), and a broken convention fails its proof."""

from __future__ import annotations

import pytest
import sympy as sp

from derive.conventions import keras as KE
from derive.conventions import onnx as ON
from derive.conventions import same as CS
from derive.verify.catalogue import convention, framework
from derive.verify.claims import CLAIMS, claim_by_id, establish, kind_of

#: every claim about a framework other than torch, or about a convention
CONVENTION_CLAIMS = [c for c in CLAIMS if c.group == "convention"] + [
    c for c in framework.CLAIMS if not c.id.startswith("framework.torch-")
]


@pytest.mark.parametrize("claim", CONVENTION_CLAIMS, ids=[c.id for c in CONVENTION_CLAIMS])
def test_each_convention_claim_is_proved_in_general(claim):
    outcome = establish(claim)
    assert outcome.status == "proved", outcome.detail
    assert kind_of(claim, outcome).startswith("general"), claim.id
    assert claim.latex and claim.statement and claim.source
    symbols = {str(x) for x in claim.spec.symbols}
    assert {"k", "s"} <= symbols or claim.id.endswith("stride1"), claim.id
    assert "d" in symbols, f"{claim.id} must hold for every dilation"


def test_the_catalogue_holds_each_convention_claim_once():
    ids = [c.id for c in CLAIMS]
    assert len(set(ids)) == len(ids)
    assert {c.id for c in convention.CLAIMS} <= set(ids)
    assert claim_by_id("framework.same-dilated").spec.split is framework.SAME_SPLIT


def test_the_framework_claims_use_no_private_formulas():
    """The TF/ONNX rules come from derive.conventions, not from helpers of the catalogue."""
    for name in ("_tf_same", "_onnx_pads", "_tf_same_dilated", "_same_cases"):
        assert not hasattr(framework, name) and not hasattr(convention, name)


@pytest.mark.parametrize("claim_id", ["framework.tf-same-size", "framework.onnx-same-upper",
                                      "framework.onnx-same-lower", "framework.same-dilated"])
def test_same_without_its_max_fails_its_proof(monkeypatch, claim_id):
    """Padding a negative amount where the span is shorter than the remainder is wrong."""
    monkeypatch.setattr(CS, "same_total", lambda n, k, s, d: d * (k - 1) - sp.Mod(n - 1, s))
    assert establish(claim_by_id(claim_id)).status == "FAILED"


def test_same_with_the_odd_zero_on_the_wrong_side_fails(monkeypatch):
    real = CS._split
    monkeypatch.setattr(CS, "_split", lambda total, lower: real(total, not lower))
    for claim_id in ("framework.tf-same-size", "framework.onnx-same-lower",
                     "framework.same-dilated"):  # fmt: skip
        assert establish(claim_by_id(claim_id)).status == "FAILED", claim_id


def test_same_ignoring_dilation_fails(monkeypatch):
    real = CS.same_total
    monkeypatch.setattr(CS, "same_total", lambda n, k, s, d: real(n, k, s, 1))
    assert establish(claim_by_id("framework.same-dilated")).status == "FAILED"
    assert establish(claim_by_id("framework.tf-same-size")).status == "FAILED"


def test_onnx_lower_read_as_upper_fails(monkeypatch):
    monkeypatch.setattr(ON, "_auto", lambda auto_pad, *args: CS.same_rule(*args))
    assert establish(claim_by_id("framework.onnx-same-lower")).status == "FAILED"
    assert establish(claim_by_id("framework.onnx-same-upper")).status == "proved"


def test_keras_same_cropping_the_wrong_total_fails(monkeypatch):
    monkeypatch.setattr(KE, "_crop_total", lambda spelled, span, s, op: span - s + 1)
    assert establish(claim_by_id("convention.keras-transposed-same")).status == "FAILED"


def test_keras_causal_padding_after_fails(monkeypatch):
    monkeypatch.setattr(CS, "causal_rule", lambda n, k, s, d: CS.full_rule(n, k, s, d))
    monkeypatch.setattr(KE, "causal_rule", CS.causal_rule, raising=False)
    assert establish(claim_by_id("convention.causal-size")).status == "FAILED"
