"""``derive verify``: prove the claims derive makes, and sweep PyTorch.

The catalogue (:mod:`derive.verify.claims`, tables in :mod:`derive.verify.catalogue`) lists
every claim as data: an id, words, LaTeX, the claim itself and how it is established. A claim
is

- **proved** when SymPy reduces it to ``True`` for the whole stated domain
  (:mod:`derive.verify.proofs`), using the floor/ceiling lemmas of
  :mod:`derive.verify.lemmas` where SymPy alone cannot, over the cases of a vetted split
  (:mod:`derive.verify.splits`); identities between element formulas are proved for symbolic
  sizes as indexed sums (:mod:`derive.verify.indexed`), derivatives of them through their
  Kronecker deltas (:mod:`derive.verify.deltas`); a rejection is proved with its acceptance
  twin (:mod:`derive.verify.boundary`);
- **checked** when it was only evaluated at every point of a stated finite range
  (:mod:`derive.verify.exhaustive`); such a claim is never called proved.

Each claim counts as one *kind* (:data:`derive.verify.claims.KINDS`): general identities
(direct, or by a case split or lemma), definitional lemmas, fixed-shape identities, examples,
counterexamples, rejection/acceptance pairs, checked ranges.

:mod:`derive.verify.sweep` compares the engine's output sizes, rejections and elements with
PyTorch over a large grid of configurations (torch is imported there, lazily), deciding every
configuration by the engine's own compiled acceptance rule (:mod:`derive.verify.model`) and
calling the engine numerically on every configuration at a guard's boundary. Engine functions
are looked up through their modules (``derive.shapes``, the registry :mod:`derive.ops`) at call
time, so a monkeypatched engine is what gets verified.
"""

from __future__ import annotations

__all__: list[str] = []
