r"""The exercise on edge detection: kernels on images with vertical and diagonal edges.

Images are made by rule, never typed: ``"book"`` is the chapter's (ones, with the middle
columns ``2 .. 5`` black, 0), ``"diagonal"`` has ones on and below the main diagonal and
zeros above it; either may be transposed. Each listed pair of an image and a kernel is
cross-correlated by derive's ``corr2d`` (exact integers) and by torch's ``conv2d``, and the
answer says where the output is non-zero, computed from the output itself.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from derive.conv import corr2d
from derive.exercise_specs import PartSpec
from derive.render.exercises.common import Answer, matrix, require
from derive.render.md import table

__all__ = ["edges_answer", "image", "classify", "EXPECT"]


def image(part: PartSpec, spec: Any) -> sp.Matrix:
    """The image a pair names (``{image, size, transpose}``)."""
    if not isinstance(spec, dict) or spec.get("image") not in ("book", "diagonal"):
        raise part.fail("each pair must name image = 'book' or 'diagonal'")
    rows, cols = spec.get("size", [6, 8])
    if spec["image"] == "book":
        m = sp.Matrix(rows, cols, lambda i, j: 0 if 2 <= j < 6 else 1)
    else:
        m = sp.Matrix(rows, cols, lambda i, j: 1 if j <= i else 0)
    return m.T if spec.get("transpose") else m


#: what a pair may expect (``params.pairs[k].expect``), checked against the output
EXPECT = ("nothing", "columns", "rows", "diagonal", "scattered")


def classify(y: sp.Matrix) -> tuple[str, str]:
    """Which of :data:`EXPECT` the non-zero entries of ``y`` form, and the words for it.

    >>> classify(sp.Matrix([[0, 1, 0], [0, 0, 1]]))
    ('diagonal', 'on the diagonal j - i = 1 (values 1)')
    """
    cells = [(i, j, y[i, j]) for i in range(y.rows) for j in range(y.cols) if y[i, j] != 0]
    if not cells:
        return "nothing", "nowhere: the output is all zeros"
    values = ", ".join(str(v) for v in sorted({v for _, _, v in cells}))
    columns, rows = sorted({j for _, j, _ in cells}), sorted({i for i, _, _ in cells})
    offsets = sorted({j - i for i, j, _ in cells})
    if len(columns) < y.cols and all(all(y[i, j] != 0 for i in range(y.rows)) for j in columns):
        return "columns", f"in whole columns {columns} (values {values})"
    if len(rows) < y.rows and all(all(y[i, j] != 0 for j in range(y.cols)) for i in rows):
        return "rows", f"in whole rows {rows} (values {values})"
    if len(offsets) == 1:
        return "diagonal", f"on the diagonal j - i = {offsets[0]} (values {values})"
    if offsets == list(range(offsets[0], offsets[0] + len(offsets))) and len(offsets) <= 2:
        return "diagonal", (f"on the diagonals j - i = {offsets[0]} and {offsets[-1]} "
                            f"(values {values})")  # fmt: skip
    return "scattered", f"at {len(cells)} entries (values {values})"


def edges_answer(part: PartSpec) -> Answer:
    pairs = part.params.get("pairs")
    if not isinstance(pairs, list) or not pairs:
        raise part.fail("field params.pairs must list {image, kernel} tables")
    ans, rows = Answer(), []
    import torch
    import torch.nn.functional as F

    for k, pair in enumerate(pairs):
        x = image(part, pair)
        kernel = sp.Matrix(value_of(pair, part, k))
        y = corr2d(x, kernel)
        t = F.conv2d(torch.tensor(x.tolist(), dtype=torch.float64)[None, None],
                     torch.tensor(kernel.tolist(), dtype=torch.float64)[None, None])[0, 0]
        require(t.long().tolist() == y.tolist(), part, f"pair {k}: torch differs")
        name = pair["image"] + (" transposed" if pair.get("transpose") else "")
        kind, words = classify(y)
        expect = pair.get("expect")
        require(expect in (None, *EXPECT), part, f"pairs[{k}].expect must be one of {EXPECT}")
        require(expect in (None, kind), part, f"pairs[{k}]: expected {expect}, found {words}")
        rows.append((name, matrix(x), matrix(kernel), matrix(y), words))
    ans.body += [table(["Image", "X", "Kernel", "Output", "Non-zero"], rows), ""]
    expected = sum(1 for pair in pairs if pair.get("expect"))
    ans.proved.append(f"Each output above is exact (integer arithmetic in derive's corr2d), "
                      f"{len(rows)} image and kernel pairs; where the text says what a kernel "
                      f"finds, the output was checked to show it ({expected} pairs).")
    ans.checked.append(f"torch's `conv2d` gives the same {len(rows)} outputs (float64).")
    return ans


def value_of(pair: dict, part: PartSpec, k: int) -> Any:
    """The kernel of pair ``k``: a list of integer rows."""
    kernel = pair.get("kernel")
    ok = isinstance(kernel, list) and kernel and all(
        isinstance(r, list) and r and all(isinstance(v, int) for v in r) for r in kernel)
    if not ok:
        raise part.fail(f"field params.pairs[{k}].kernel must be a matrix of ints")
    return kernel
