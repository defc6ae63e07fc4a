r"""The catalogue: every claim derive makes, as data, and how each is established.

Each :class:`~derive.verify.claim.Claim` has an id, a statement in words and in LaTeX, its
assumptions, a source and a *spec* holding the claim itself:

- :class:`~derive.verify.proofs.Identity` - the engine's symbolic formula against a
  reference formula (the book's, Dumoulin & Visin's, a framework's documentation), proved by
  SymPy with our lemmas over the cases of a vetted split (:mod:`derive.verify.splits`);
- :class:`~derive.verify.proofs.Elementwise` - arrays of symbolic entries equal as
  polynomials: proved *for the shapes named in the statement* only;
- :class:`~derive.verify.proofs.Exact` - a concrete worked example evaluated exactly;
- :class:`~derive.verify.proofs.Counterexample` - a universal statement refuted;
- :class:`~derive.verify.boundary.Boundary` - a rejection and its acceptance twin, both for
  whole symbolic families;
- :class:`~derive.verify.exhaustive.Exhaustive` - **checked** over a finite range only.

The tables live in :mod:`derive.verify.catalogue`, one module per group. Engine functions
are looked up at call time (``S.conv_output_size`` is ``derive.shapes.conv_output_size`` as
it is *now*), so a patched engine is what gets verified. Sources: the seed page (the CNN
chapter of *Dive into Deep Learning*), V. Dumoulin and F. Visin, *A guide to convolution
arithmetic for deep learning* (2016), and the documentation of PyTorch, TensorFlow, Keras, JAX
and ONNX.

>>> claim = claim_by_id("dv.6")
>>> claim.latex
'o = \\left\\lfloor \\frac{i + 2p - k}{s} \\right\\rfloor + 1'
>>> outcome = establish(claim)
>>> outcome.status, kind_of(claim, outcome)
('proved', 'general-direct')
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from derive.verify.boundary import Boundary, run_boundary
from derive.verify.catalogue import (
    book,
    composition,
    convention,
    dv,
    formulas,
    framework,
    gradient,
    lemma,
    pooling,
    rejection,
)
from derive.verify.claim import Claim
from derive.verify.exhaustive import Exhaustive, run_exhaustive
from derive.verify.proofs import (
    FAILED,
    Counterexample,
    Elementwise,
    Exact,
    Identity,
    Outcome,
    prove_elementwise,
    prove_identity,
    run_counterexample,
    run_exact,
)

__all__ = ["Claim", "CLAIMS", "GROUPS", "KINDS", "establish", "claim_by_id", "kind_of"]

#: group id -> heading, in report order
GROUPS: dict[str, str] = {
    "lemma": "Lemmas of our own",
    "formula": "Element formulas: what the engine computes, entry by entry",
    "book": "Claims of the book's chapter (the seed page)",
    "dv": "Dumoulin & Visin's relationships",
    "framework": "Framework conventions: PyTorch, TensorFlow, Keras, JAX, ONNX",
    "convention": "Causal and full padding, transposed layers by inferred size, inverse questions",
    "composition": "Composition and linearity",
    "gradient": "Gradients of cross-correlation",
    "rejection": "Rejections and their acceptance twins",
    "pooling": "Pooling with ceil_mode",
}

#: kind -> what it counts, in report order
KINDS: dict[str, str] = {
    "general-direct": "general identities that reduce directly",
    "general-split": "general identities needing a case split or a lemma",
    "definitional": "definitional lemmas (SymPy's own evaluation)",
    "fixed-shape": "fixed-shape identities",
    "example": "evaluated examples",
    "counterexample": "counterexamples",
    "boundary": "rejection/acceptance pairs",
    "checked": "checked on a range only",
}

_TABLES = (lemma, book, dv, framework, convention, formulas, composition, gradient, rejection,
           pooling)  # fmt: skip


def _catalogue() -> list[Claim]:
    claims = [c for table in _TABLES for c in table.CLAIMS]
    order = list(GROUPS)
    return sorted(claims, key=lambda c: order.index(c.group))  # stable: groups stay together


#: every claim, in report order
CLAIMS: list[Claim] = _catalogue()


def claim_by_id(claim_id: str) -> Claim:
    """The claim with this id (``KeyError`` if none)."""
    for claim in CLAIMS:
        if claim.id == claim_id:
            return claim
    raise KeyError(claim_id)


def kind_of(claim: Claim, outcome: Outcome | None = None) -> str:
    """The kind a claim counts as (:data:`KINDS`): for an identity, whether its proof needed a
    case split or a lemma is read from its outcome."""
    spec = claim.spec
    if isinstance(spec, Identity):
        if spec.sympy_only:
            return "definitional"
        if spec.shapes:
            return "fixed-shape"
        direct = outcome is not None and outcome.cases == 1 and not outcome.lemmas
        return "general-direct" if spec.split is None and direct else "general-split"
    kinds = {
        Elementwise: "fixed-shape",
        Exact: "example",
        Counterexample: "counterexample",
        Boundary: "boundary",
        Exhaustive: "checked",
    }
    return kinds[type(spec)]


_RUNNERS: dict[type, Callable[[Any], Outcome]] = {
    Identity: prove_identity,
    Elementwise: prove_elementwise,
    Exact: run_exact,
    Counterexample: run_counterexample,
    Boundary: run_boundary,
    Exhaustive: run_exhaustive,
}


def establish(claim: Claim) -> Outcome:
    """Run the claim's method and return its :class:`~derive.verify.proofs.Outcome`."""
    start = time.perf_counter()
    try:
        return _RUNNERS[type(claim.spec)](claim.spec)
    except Exception as exc:  # a broken engine may break a proof in any way: report, never crash
        return Outcome(FAILED, f"{type(exc).__name__}: {exc}", time.perf_counter() - start)
