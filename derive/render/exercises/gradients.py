r"""The exercise on the derivative of cross-correlation, answered by derivation.

A worked example with symbols shows $\partial L / \partial X$ and $\partial L / \partial K$
for $Y = X \star K$ and $L = \sum G \odot Y$, each entry derived by SymPy from derive's
``corr2d``, next to the closed forms: a full correlation of the padded output gradient
with the flipped kernel, and the correlation of the input with the output gradient. The
general claims of :mod:`derive.verify.gradient_claims` are established at build time, and
torch's autograd is compared with the closed forms, on random configurations and on the
book's own ``Conv2D`` layer (a Python loop of ``corr2d``).
"""

from __future__ import annotations

import random

import sympy as sp

from derive.conv import corr2d
from derive.exercise_specs import PartSpec
from derive.render.exercises.common import Answer, ints, matrix, require
from derive.tensors import symbol_array
from derive.verify.claims import establish
from derive.verify.gradient_claims import (
    CLAIMS,
    flipped_gradient,
    input_gradient,
    weight_gradient,
)

__all__ = ["gradient_answer"]


def _example(xs: tuple[int, int], ks: tuple[int, int]) -> dict[str, sp.Matrix]:
    X = sp.Matrix(*xs, sp.flatten(symbol_array("x", xs)))
    K = sp.Matrix(*ks, sp.flatten(symbol_array("k", ks)))
    Y = corr2d(X, K)
    G = sp.Matrix(*Y.shape, sp.flatten(symbol_array("g", Y.shape)))
    L = sum(g * y for g, y in zip(G, Y))
    dX = X.applyfunc(lambda v: sp.diff(L, v))
    dK = K.applyfunc(lambda v: sp.diff(L, v))
    as_arrays = (sp.Array(X.tolist()).reshape(1, *xs), sp.Array(K.tolist()).reshape(1, 1, *ks),
                 sp.Array(G.tolist()).reshape(1, *Y.shape))  # fmt: skip
    kw = {"stride": (1, 1), "padding": (0, 0), "dilation": (1, 1), "groups": 1}
    flipped = sp.Matrix(flipped_gradient(*as_arrays, kw).tolist()[0])
    return {"X": X, "K": K, "G": G, "dX": dX, "dK": dK, "flipped": flipped,
            "corr": corr2d(X, G)}  # fmt: skip


def gradient_answer(part: PartSpec) -> Answer:
    xs, ks = tuple(ints(part, "input", length=2)), tuple(ints(part, "kernel", length=2))
    ex = _example(xs, ks)
    require((ex["dX"] - ex["flipped"]).expand() == sp.zeros(*xs), part, "input gradient")
    require((ex["dK"] - ex["corr"]).expand() == sp.zeros(*ks), part, "kernel gradient")
    kh, kw = ks
    flipped_k = sp.Matrix(kh, kw, list(reversed(list(ex["K"]))))  # rotated by 180 degrees
    ans = Answer()
    ans.body += [
        f"With $X$ = {matrix(ex['X'])}, $K$ = {matrix(ex['K'])} and the output gradient "
        f"$G$ = {matrix(ex['G'])}, SymPy differentiates $L = \\sum_{{i,j}} G_{{i,j}} Y_{{i,j}}$:",
        "",
        f"$$\\frac{{\\partial L}}{{\\partial X}} = {sp.latex(ex['dX'], mat_delim='(')},"
        f"\\qquad \\frac{{\\partial L}}{{\\partial K}} = {sp.latex(ex['dK'], mat_delim='(')}.$$",
        "",
        f"The first is the correlation of $G$, padded with {kh - 1} and {kw - 1} zeros on each "
        f"side, with the flipped kernel {matrix(flipped_k)}: a transposed convolution. The "
        "second is the correlation of $X$ with $G$ as the kernel.",
        "",
    ]
    for claim in CLAIMS:
        outcome = establish(claim)
        require(outcome.status == "proved", part, f"{claim.id}: {outcome.detail}")
        ans.proved.append(f"{claim.statement} ({outcome.detail}; claim `{claim.id}`)")
    ans.proved.append("The worked example's two gradients equal the closed forms entry by "
                      "entry (polynomials in the symbols).")
    ans.checked += _torch(part, ints(part, "autograd"))
    return ans


def _config(rng: random.Random) -> tuple:
    k = (rng.randint(1, 3), rng.randint(1, 3))
    s, d = (rng.randint(1, 3), rng.randint(1, 3)), (rng.randint(1, 2), rng.randint(1, 2))
    p = tuple(rng.randint(0, dd * (kk - 1)) for kk, dd in zip(k, d))
    size = tuple(dd * (kk - 1) + 1 + rng.randint(0, 5) for kk, dd in zip(k, d))
    return (rng.randint(1, 2), *size), (rng.randint(1, 2), 0, *k), s, p, d


def _torch(part: PartSpec, count: int) -> list[str]:
    import torch
    import torch.nn.functional as F

    rng, gen = random.Random(21), torch.Generator().manual_seed(21)
    for _ in range(count):
        xshape, wshape, s, p, d = _config(rng)
        wshape = (wshape[0], xshape[0], *wshape[2:])
        x = torch.randint(-3, 4, xshape, generator=gen).double().requires_grad_(True)
        w = torch.randint(-3, 4, wshape, generator=gen).double().requires_grad_(True)
        y = F.conv2d(x, w, stride=s, padding=p, dilation=d)
        g = torch.randint(-3, 4, y.shape, generator=gen).double()
        gx, gw = torch.autograd.grad(y, (x, w), g)
        X, Wt, G = (sp.Array(t.detach().long().tolist()) for t in (x, w, g))
        kw = {"stride": s, "padding": p, "dilation": d, "groups": 1}
        ok = (input_gradient(X, Wt, G, kw).tolist() == gx.long().tolist()
              and weight_gradient(X, Wt, G, kw).tolist() == gw.long().tolist())  # fmt: skip
        require(ok, part, f"torch autograd differs at {xshape}, {wshape}, s={s}, p={p}, d={d}")
    book = _book_conv2d(torch)
    require(book, part, "the book's Conv2D gradient differs")
    return [
        f"torch autograd's input and weight gradients equal the closed forms on {count} random "
        "configurations (strides 1-3, dilations 1-2, padding up to d(k - 1); integer entries, "
        "float64, exact).",
        "autograd differentiates the book's `Conv2D` layer (a Python loop of `corr2d` plus a "
        "bias) without help: its weight gradient is `corr2d(X, G)` and its bias gradient the "
        "sum of G.",
    ]


def _book_conv2d(torch) -> bool:
    def corr2d_torch(X, K):
        h, w = K.shape
        Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1), dtype=X.dtype)
        for i in range(Y.shape[0]):
            for j in range(Y.shape[1]):
                Y[i, j] = (X[i : i + h, j : j + w] * K).sum()
        return Y

    gen = torch.Generator().manual_seed(4)
    X = torch.randint(-3, 4, (6, 8), generator=gen).double()
    K = torch.randint(-3, 4, (2, 3), generator=gen).double().requires_grad_(True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    Y = corr2d_torch(X, K) + b
    G = torch.randint(-3, 4, Y.shape, generator=gen).double()
    (Y * G).sum().backward()
    ours = corr2d(X.long().tolist(), G.long().tolist())
    return ours.tolist() == K.grad.long().tolist() and float(b.grad) == float(G.sum())
