"""Verify can fail: break the engine (monkeypatch) and the proofs and the sweep say so.

Formula mutants replace one engine function where derive looks it up (``derive.shapes``,
``derive.conv``); the catalogue's claims and the sweep read the engine at call time, so the
broken formula is what they verify. Rejection mutants (:mod:`mutants`) edit the acceptance
rules in the source of :mod:`derive.shapes`, or make a size function reject or accept on
numbers only, where no symbolic proof can see it and only the sweep's numeric engine calls do.
"""

from __future__ import annotations

import pytest
import sympy as sp
from mutants import NAMED, generic_mutants

import derive.conv
import derive.shapes
import derive.transpose
from derive.params import as_dim, padding_pair
from derive.verify.report import run_claims, run_verification
from derive.verify.sweep import run_sweep

ORIGINAL_CONV = derive.shapes.conv_output_size
ORIGINAL_POOL = derive.shapes.pool_output_size
ORIGINAL_TRANSPOSE = derive.shapes.conv_transpose_output_size
ORIGINAL_CONV2D = derive.conv.conv2d
ORIGINAL_TRANSPOSE2D = derive.transpose.conv_transpose2d


def conv_with_ceil(size, kernel_size, stride=1, padding=0, dilation=1):
    """The convolution size rounding up instead of down."""
    return ORIGINAL_CONV(size, kernel_size, stride, padding, dilation).replace(sp.floor, sp.ceiling)


def conv_without_plus_one(size, kernel_size, stride=1, padding=0, dilation=1):
    """The convolution size without its '+ 1'."""
    return ORIGINAL_CONV(size, kernel_size, stride, padding, dilation) - 1


def pool_without_last_window_rule(
    size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False
):
    """ceil_mode rounding up but keeping a last window that starts in the right padding."""
    if not ceil_mode:
        return ORIGINAL_POOL(size, kernel_size, stride, padding, dilation, ceil_mode)
    ORIGINAL_POOL(size, kernel_size, stride, padding, dilation, ceil_mode)  # same rejections
    k, d = as_dim(kernel_size, "k"), as_dim(dilation, "d")
    s = k if stride is None else as_dim(stride, "s")
    lo, hi = padding_pair(padding)
    return sp.floor((as_dim(size, "n") + lo + hi - d * (k - 1) - 1 + s - 1) / s) + 1


def transpose_ignoring_output_padding(
    size, kernel_size, stride=1, padding=0, output_padding=0, dilation=1
):
    """The transposed-convolution size forgetting its output padding."""
    ORIGINAL_TRANSPOSE(size, kernel_size, stride, padding, output_padding, dilation)
    return ORIGINAL_TRANSPOSE(size, kernel_size, stride, padding, 0, dilation)


def conv2d_flipped(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """A true convolution (kernel flipped) where torch cross-correlates."""
    from derive.tensors import read_tensor, to_array

    flat, shape = read_tensor(weight, "weight")
    kh, kw = shape[-2:]
    planes = [flat[i : i + kh * kw] for i in range(0, len(flat), kh * kw)]
    flipped = [v for plane in planes for v in reversed(plane)]
    return ORIGINAL_CONV2D(input, to_array(flipped, shape), bias, stride, padding, dilation, groups)


def conv_transpose2d_flipped(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                             groups=1, dilation=1):
    """A transposed convolution with its kernel turned around."""
    from derive.tensors import read_tensor, to_array

    flat, shape = read_tensor(weight, "weight")
    kh, kw = shape[-2:]
    planes = [flat[i : i + kh * kw] for i in range(0, len(flat), kh * kw)]
    flipped = to_array([v for plane in planes for v in reversed(plane)], shape)
    return ORIGINAL_TRANSPOSE2D(input, flipped, bias, stride, padding, output_padding, groups,
                                dilation)  # fmt: skip


MUTATIONS = [
    # (module, name, broken function, claims that must fail, ops where the sweep must fail)
    (derive.shapes, "conv_output_size", conv_with_ceil,
     {"book.stride-size", "dv.6", "dv.15", "framework.tf-same-size"}, {"conv1d"}),
    (derive.shapes, "conv_output_size", conv_without_plus_one,
     {"book.valid-size", "dv.1", "dv.2", "framework.torch-same-size"}, {"conv1d"}),
    (derive.shapes, "pool_output_size", pool_without_last_window_rule,
     {"framework.torch-pool-ceil-formula", "pooling.ceil-last-window"},
     {"max_pool1d", "avg_pool1d"}),
    (derive.shapes, "conv_transpose_output_size", transpose_ignoring_output_padding,
     {"dv.14", "composition.transpose-restores-size", "framework.torch-conv-transpose-formula"},
     {"conv_transpose1d"}),
    (derive.conv, "conv2d", conv2d_flipped,
     {"book.corr2d-example", "book.worked-numbers", "formula.conv-engine"}, {"conv2d"}),
    (derive.transpose, "conv_transpose2d", conv_transpose2d_flipped,
     {"formula.conv-transpose-engine", "gradient.engine"}, {"conv_transpose2d"}),
]  # fmt: skip


@pytest.mark.parametrize(
    "module, name, broken, failing_claims, failing_ops",
    MUTATIONS,
    ids=[m[2].__name__ for m in MUTATIONS],
)
def test_a_broken_engine_fails_proofs_and_sweep(
    monkeypatch, module, name, broken, failing_claims, failing_ops
):
    monkeypatch.setattr(module, name, broken)
    report = run_verification(configs=4000, elements=80, seed=1)
    failed = {r.claim.id for r in report.results if r.outcome.status == "FAILED"}
    assert failing_claims <= failed, sorted(failed)
    assert not report.ok
    assert report.sweep.failed > 0
    ops = {d.op for d in report.sweep.disagreements}
    assert failing_ops <= ops, ops
    # every disagreement names its configuration
    assert all(d.config for d in report.sweep.disagreements)


def test_the_unbroken_engine_passes_the_same_run():
    report = run_verification(configs=4000, elements=80, seed=1)
    assert report.ok, [str(d) for d in report.sweep.disagreements[:5]]


def test_an_engine_that_crashes_is_reported_not_fatal(monkeypatch):
    def crashing(*args, **kwargs):
        raise TypeError("broken on purpose")

    monkeypatch.setattr(derive.shapes, "conv_output_size", crashing)
    report = run_verification(configs=600, elements=10, seed=2, only=["dv", "book"])
    assert not report.ok
    failed = [r for r in report.results if r.outcome.status == "FAILED"]
    assert any("broken on purpose" in r.outcome.detail for r in failed)
    assert any(note.startswith("conv1d: no compiled formula") for note in report.sweep.notes)
    assert any(d.op == "conv1d" for d in report.sweep.disagreements)


# ---------------------------------------------------------------- the rejection logic
@pytest.mark.parametrize("mutant", NAMED, ids=str)
def test_a_broken_rejection_is_caught(monkeypatch, mutant):
    """The issue's mutants: over-rejection (an exact fit rejected) and under-rejection (pool
    padding floor(k/2) + 1, output_padding = stride, 'same' with stride 2 accepted). Edited in
    the rules' source, the two-sided rejection claims fail too; on numbers only, the sweep's
    numeric engine calls (every configuration on or next to a boundary) catch them."""
    mutant.apply(monkeypatch)
    sweep = run_sweep(elements=0, ops=mutant.ops)
    assert sweep.failed > 0
    failed = {r.claim.id for r in run_claims(["rejection"]) if r.outcome.status == "FAILED"}
    if mutant.name.endswith("(source)"):
        assert failed, "a two-sided rejection claim must fail"
    else:
        assert not failed  # no symbolic proof can see a numbers-only mutant: the sweep must


#: moved comparisons that change nothing: the shortcut taken less often (the Piecewise it
#: skips is always right)
EQUIVALENT = {"pool_size_formula: hi + s - 1 < span [-1]"}
GENERIC = generic_mutants()


def test_the_generic_mutants_are_every_comparison_of_the_rules():
    names = [m.name for m in GENERIC]
    assert len(names) == len(set(names)) >= 20 and EQUIVALENT <= set(names)
    for text in ("padded < span", "side > half", "op >= s", "op >= d", "out < 1", "value < 1"):
        assert any(text in name for name in names), text


@pytest.mark.parametrize("mutant", GENERIC, ids=str)
def test_every_moved_comparison_is_caught_by_the_sweep(monkeypatch, mutant):
    """Each mutant is swept on one operation it touches (the first: enough to catch it)."""
    mutant.apply(monkeypatch)
    sweep = run_sweep(elements=0, ops=mutant.ops[:1], engine_sample=0)
    if mutant.name in EQUIVALENT:
        assert sweep.failed == 0  # and so it stays equivalent
    else:
        assert sweep.failed > 0, mutant.name
