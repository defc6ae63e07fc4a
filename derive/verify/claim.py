"""One claim of the catalogue, and the helper that writes it as one row of a table.

A :class:`Claim` holds an id (``group.name``), a statement in words and in LaTeX, its
assumptions, the *spec* that establishes it and a source. Its group is read from the id and
its method from the spec, so a catalogue row is just::

    claim("dv.1", "Relationship 1 (...).", r"o = (i - k) + 1", "i, k positive integers",
          Identity(lambda: S.conv_output_size(i, k), lambda: (i - k) + 1, (i, k)), source)

>>> from derive.verify.proofs import Exact
>>> c = claim("book.example", "An example.", "1 = 1", "none", Exact(lambda: (True, "")))
>>> c.group, c.method
('book', 'exact evaluation')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Claim", "claim", "method_of"]


def method_of(spec: Any) -> str:
    """How a spec establishes its claim, in words."""
    from derive.verify.boundary import Boundary
    from derive.verify.exhaustive import Exhaustive
    from derive.verify.proofs import Counterexample, Elementwise, Exact, Identity

    if isinstance(spec, Identity):
        if spec.sympy_only:
            return "SymPy alone"
        method = "proof by cases" if spec.split is not None else "proof"
        return f"{method} (the stated shapes)" if spec.shapes else method
    names = {
        Elementwise: "elementwise proof (the stated shapes)",
        Exact: "exact evaluation",
        Counterexample: "counterexample",
        Boundary: "two-sided rejection proof",
        Exhaustive: "exhaustive check",
    }
    return names[type(spec)]


@dataclass(frozen=True)
class Claim:
    """One claim: what is said, under which assumptions, and how it is established."""

    id: str
    statement: str
    latex: str
    assumptions: str
    spec: Any
    source: str = ""

    @property
    def group(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def method(self) -> str:
        return method_of(self.spec)


def claim(
    id: str, statement: str, latex: str, assumptions: str, spec: Any, source: str = ""
) -> Claim:
    """One row of the catalogue (group and method follow from the id and the spec)."""
    return Claim(id, statement, latex, assumptions, spec, source)
