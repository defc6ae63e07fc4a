"""``derive verify``: prove the claims derive makes, and sweep PyTorch.

The catalogue (:mod:`derive.verify.claims`) lists every claim as data: an id, words, LaTeX,
the identity and how it is established. A claim is

- **proved** when SymPy reduces the identity to ``True`` under the stated assumptions, using
  the floor/ceiling lemmas of :mod:`derive.verify.lemmas` where SymPy alone cannot;
- **checked** when it was only evaluated at every point of a stated finite range
  (:mod:`derive.verify.exhaustive`); such a claim is never called proved.

:mod:`derive.verify.sweep` compares the engine's output sizes, rejections and elements with
PyTorch over a large grid of configurations (torch is imported there, lazily).
Engine functions are looked up through their modules (``derive.shapes``, ``derive.conv``,
``derive.pool``) at call time, so a monkeypatched engine is what gets verified.
"""

from __future__ import annotations

__all__: list[str] = []
