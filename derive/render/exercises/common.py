"""What every exercise derivation shares: the answer it returns and small helpers.

An :class:`Answer` is Markdown (formulas, tables), a list of what was *proved* (for every
value of the symbols, or for the shapes named) and a list of what was *checked* against
torch (at the sizes named). A failed check raises :class:`derive.specs.BuildError`, so a
wrong answer cannot be built.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from derive.exercise_specs import PartSpec
from derive.render.md import math as _math
from derive.specs import BuildError

__all__ = ["Answer", "formula", "matrix", "require", "ints", "checks"]


@dataclass
class Answer:
    """Markdown lines, what was proved, what was checked against torch."""

    body: list[str] = field(default_factory=list)
    proved: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)


def formula(expr: Any) -> str:
    """Inline math in the reader's form (:func:`derive.printing.latex`), products of sizes
    kept whole (:func:`derive.render.pages.design.compact_latex`)."""
    from derive.render.pages.design import compact_latex

    return _math(compact_latex(sp.sympify(expr)))


def matrix(rows: Any) -> str:
    """A matrix (nested lists or a SymPy matrix/array) as inline math."""
    m = sp.Matrix(rows.tolist() if hasattr(rows, "tolist") else rows)
    return _math(sp.latex(m, mat_delim="("))


def require(ok: bool, part: PartSpec, message: str) -> None:
    """Raise a :class:`BuildError` naming the part unless ``ok``."""
    if not ok:
        raise BuildError(f"{part.where}: {message}")


def ints(part: PartSpec, key: str, default: Any = None, length: int | None = None) -> Any:
    """Parameter ``key``: an int, or a list of ints (of ``length`` when given)."""
    value = part.params.get(key, default)
    flat = value if isinstance(value, list) else [value]
    if value is None or not all(isinstance(v, int) and not isinstance(v, bool) for v in flat):
        raise part.fail(f"field params.{key} must be an int or a list of ints, got {value!r}")
    if length is not None and (not isinstance(value, list) or len(value) != length):
        raise part.fail(f"field params.{key} must list {length} ints, got {value!r}")
    return value


def checks(part: PartSpec, names: Sequence[str]) -> list[dict[str, int]]:
    """``params.check``: a list of tables giving an int to each of ``names``."""
    found = part.params.get("check", [])
    if not isinstance(found, list) or not found:
        raise part.fail("field params.check must list at least one table of sizes")
    for k, point in enumerate(found):
        if not isinstance(point, dict) or set(point) != set(names) or not all(
            isinstance(v, int) and v >= 0 for v in point.values()
        ):  # fmt: skip
            raise part.fail(f"field params.check[{k}] must give an int to each of {list(names)}")
    return found
