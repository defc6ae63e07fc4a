r"""Exercises on output sizes: which padding and stride give a wanted size, identities that
hold for every size, and the chapter's examples with their parameters changed.

``solve-size``: every kernel, padding and stride in the ranges named that turns an $n$-entry
input into $m$ entries, by derive's size formula; torch runs each candidate.
``size-identity``: a layer whose output size is a stated formula of $n$ for every $n$,
proved by cases of division with remainder.
``shape-table``: the chapter's layers on an $n \times n$ input, as formulas in $n$ and at the
book's size, and a table of variations; torch runs every row.
"""

from __future__ import annotations

import itertools
from typing import Any

import sympy as sp

from derive import shapes
from derive.errors import ShapeError
from derive.exercise_specs import PartSpec, size
from derive.grammar import size_symbol
from derive.printing import text
from derive.render.exercises.common import Answer, formula, ints, require
from derive.render.md import table
from derive.verify.proofs import Identity, prove_identity
from derive.verify.splits import Division

__all__ = ["solve_size_answer", "size_identity_answer", "shape_table_answer"]


def _torch_size(n: int | tuple[int, int], k: Any, s: Any, p: Any) -> tuple[int, ...] | None:
    import torch

    from derive.calculus.check import one_thread

    hw = (n, n) if isinstance(n, int) else n
    try:
        with torch.no_grad(), one_thread():
            y = torch.nn.Conv2d(1, 1, k, stride=s, padding=p, bias=False)(torch.zeros(1, 1, *hw))
    except RuntimeError:
        return None
    return tuple(y.shape[2:])


def _size_or_none(n: int, k: int, s: int, p: int) -> int | None:
    try:
        return int(shapes.conv_output_size(n, k, s, p))
    except ShapeError:
        return None


def solve_size_answer(part: PartSpec) -> Answer:
    n, want = ints(part, "size"), ints(part, "want")
    kernels, paddings, strides = (ints(part, k) for k in ("kernels", "paddings", "strides"))
    found, tried = [], 0
    for k, p, s in itertools.product(kernels, paddings, strides):
        tried += 1
        ours = _size_or_none(n, k, s, p)
        theirs = _torch_size(n, k, s, p)
        require((ours, ours) == theirs or (ours is None and theirs is None), part,
                f"k={k}, p={p}, s={s}: derive {ours}, torch {theirs}")  # fmt: skip
        if ours == want:
            found.append((str(k), str(p), str(s)))
    require(bool(found), part, "no configuration gives the wanted size")
    ans = Answer()
    ans.body += [
        f"From {n} entries to {want}: of the {tried} combinations of kernel "
        f"({', '.join(map(str, kernels))}), padding ({', '.join(map(str, paddings))}) and "
        f"stride ({', '.join(map(str, strides))}), these {len(found)} give exactly {want}:",
        "",
        table(["Kernel", "Padding (each side)", "Stride"], found),
        "",
    ]
    ans.proved.append(f"The list is complete within the ranges: derive's size formula, exact "
                      f"for every size, was evaluated at all {tried} combinations.")
    ans.checked.append(f"torch built all {tried} layers on a {n}x{n} input: the same output "
                       "size for each, and the same rejections.")  # fmt: skip
    return ans


def _residues(nn: sp.Symbol, stride: int) -> Division | None:
    """``nn`` by its residue modulo ``stride`` (a vetted split; none for stride 1)."""
    q = sp.Symbol("q", integer=True, nonnegative=True)
    return Division(nn, stride, nn, q) if stride > 1 else None


def size_identity_answer(part: PartSpec) -> Answer:
    nn = size_symbol(str(part.params.get("variable", "n")))
    k, s, p = (size(part, key) for key in ("kernel", "stride", "padding"))
    rhs = size(part, "equals")
    out = shapes.conv_output_size(nn, k, s, p)
    stride = int(s) if s.is_Integer else None
    require(stride is not None, part, "the stride must be a number")
    others = sorted((sp.sympify(k).free_symbols | sp.sympify(p).free_symbols) - {nn},
                    key=str)  # fmt: skip
    spec = Identity(lambda: out, lambda: rhs, (nn, *others), split=_residues(nn, stride))
    outcome = prove_identity(spec)
    require(outcome.status == "proved", part, f"not proved: {outcome.detail}")
    ans = Answer()
    ans.body += [
        f"Kernel {formula(k)}, stride {formula(s)}, padding {formula(p)} on each side: the "
        f"output has {formula(out)} entries, which is {formula(rhs)} for every {formula(nn)}.",
        "",
    ]
    ans.proved.append(f"Output size = {text(rhs)} for every {nn}"
                      + (f" and {', '.join(map(str, others))}" if others else "")
                      + f" ({outcome.detail}).")  # fmt: skip
    ans.checked += _torch_identity(part, nn, k, s, p, rhs, others)
    return ans


def _torch_identity(part: PartSpec, nn: sp.Symbol, k: Any, s: Any, p: Any, rhs: Any,
                    others: list) -> list[str]:  # fmt: skip
    count = 0
    values = range(1, 5)
    for point in itertools.product(range(1, 25), *(values for _ in others)):
        at = dict(zip((nn, *others), point))
        kk, ss, pp = (int(sp.sympify(v).xreplace(at)) for v in (k, s, p))
        got = _torch_size((point[0], 1), kk, ss, pp)
        if got is None:
            continue
        require(got[0] == int(sp.sympify(rhs).xreplace(at)), part, f"torch at {at}: {got}")
        count += 1
    return [f"torch's output size equals {text(rhs)} at all {count} accepted points with "
            f"{nn} from 1 to 24" + (f" and {', '.join(map(str, others))} from 1 to 4"
                                    if others else "") + "."]  # fmt: skip


def _example(part: PartSpec, cfg: Any, k: int) -> tuple[tuple, tuple, tuple]:
    if not isinstance(cfg, dict) or "kernel" not in cfg:
        raise part.fail(f"field params.examples[{k}] must give a kernel")
    pair = lambda v: tuple(v) if isinstance(v, list) else (v, v)  # noqa: E731
    return pair(cfg["kernel"]), pair(cfg.get("padding", 0)), pair(cfg.get("stride", 1))


def shape_table_answer(part: PartSpec) -> Answer:
    n0 = ints(part, "size")
    nn = size_symbol("n")
    examples = part.params.get("examples")
    if not isinstance(examples, list) or not examples:
        raise part.fail("field params.examples must list the layers")
    rows = []
    for k, cfg in enumerate(examples):
        kernel, pad, stride = _example(part, cfg, k)
        forms = [shapes.conv_output_size(nn, a, s, p) for a, s, p in zip(kernel, stride, pad)]
        for f, a, s, p in zip(forms, kernel, stride, pad):  # the book's formula, total padding
            book = sp.floor((nn - a + 2 * p + s) / s)
            outcome = prove_identity(Identity(lambda f=f: f, lambda b=book: b, (nn,),
                                              split=_residues(nn, s)))  # fmt: skip
            require(outcome.status == "proved", part, f"example {k}: {outcome.detail}")
        ours = tuple(int(f.xreplace({nn: n0})) for f in forms)
        require(ours == _torch_size(n0, kernel, stride, pad), part, f"example {k} differs")
        rows.append((str(list(kernel)), str(list(pad)), str(list(stride)),
                     " x ".join(formula(f) for f in forms), f"{ours[0]} x {ours[1]}"))
    ans = Answer()
    ans.body += [table(["Kernel", "Padding", "Stride", "Output for n x n", f"At {n0} x {n0}"],
                       rows), ""]  # fmt: skip
    ans.body += _variations(part, n0)
    ans.proved.append("Each formula in n equals the book's "
                      "floor((n - k + p + s)/s), p the total padding, for every n (the "
                      "difference reduces to 0 in each residue class of n modulo the stride).")
    ans.checked.append(f"torch built every layer of both tables on a {n0}x{n0} input and "
                       "returned the same output shape.")
    return ans


def _variations(part: PartSpec, n0: int) -> list[str]:
    kernel = ints(part, "vary_kernel", length=2)
    paddings, strides = ints(part, "paddings"), ints(part, "strides")
    header = ["Padding \\ stride", *(str(s) for s in strides)]
    rows = []
    for p in paddings:
        cells = [str(p)]
        for s in strides:
            ours = tuple(_size_or_none(n0, k, s, p) for k in kernel)
            theirs = _torch_size(n0, tuple(kernel), s, p)
            require(theirs == (None if None in ours else ours), part, f"p={p}, s={s}")
            cells.append("rejected" if theirs is None else f"{ours[0]} x {ours[1]}")
        rows.append(cells)
    return [f"Kernel {kernel[0]} x {kernel[1]} on {n0} x {n0}, the same padding and stride on "
            "both axes:", "", table(header, rows), ""]  # fmt: skip
