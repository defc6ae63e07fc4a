r"""Exercises on stacking: two convolutions are one, and not every kernel splits in two.

``stacked``: without a nonlinearity between them, a convolution with kernel $K_1$ and
stride $s_1$ followed by one with kernel $K_2$ and stride $s_2$ is one convolution with
stride $s_1 s_2$ and the kernel

$$
K_{o,c,a} = \sum_m \sum_b K_{2;\,o,m,b}\; K_{1;\,m,c,\,a - s_1 b},
\qquad k = k_1 + s_1 (k_2 - 1)
$$

along each axis ($k_1 + k_2 - 1$ when $s_1 = 1$). The size identity is proved for every size
(cases of division with remainder); the elements are proved for the configurations of
``params.configs`` with arrays of symbols; torch runs both networks on integer entries.

``converse``: a 1-D kernel of size 3 is the composition of two of size 2 exactly when the
coefficient equations have a real solution; SymPy solves them.
"""

from __future__ import annotations

import itertools
from typing import Any

import sympy as sp

from derive import shapes
from derive.conv import conv2d
from derive.exercise_specs import PartSpec
from derive.render.exercises.common import Answer, formula, ints, matrix, require
from derive.render.md import table
from derive.tensors import symbol_array
from derive.verify.claims import claim_by_id, establish

__all__ = ["stacked_answer", "converse_answer", "composed_kernel", "size_identity"]

_POS = {"integer": True, "positive": True}
n, k1, k2, s1, s2 = sp.symbols("n k_1 k_2 s_1 s_2", **_POS)


def composed_kernel(w1: Any, w2: Any, stride: tuple[int, int]) -> list:
    """The single kernel of ``w1`` (stride ``stride``) followed by ``w2``: nested lists."""
    c_mid, c_in, kh1, kw1 = w1.shape
    c_out, _, kh2, kw2 = w2.shape
    sh, sw = stride
    kh, kw = kh1 + sh * (kh2 - 1), kw1 + sw * (kw2 - 1)
    out = [[[[sp.Integer(0)] * kw for _ in range(kh)] for _ in range(c_in)] for _ in range(c_out)]
    for o, m, c, b, f, a, e in itertools.product(range(c_out), range(c_mid), range(c_in),
                                                 range(kh2), range(kw2), range(kh1), range(kw1)):
        out[o][c][a + sh * b][e + sw * f] += w2[o, m, b, f] * w1[m, c, a, e]  # fmt: skip
    return out


def size_identity() -> Any:
    """Proof that the stacked output size is the single convolution's, for every size: the
    catalogue's claim ``composition.stack-strided-size`` (division with remainder, twice)."""
    return establish(claim_by_id("composition.stack-strided-size"))


def _configs(part: PartSpec) -> list[dict[str, list[int]]]:
    found = part.params.get("configs")
    keys = {"k1", "k2", "s1", "s2"}
    if not isinstance(found, list) or not found or not all(
        isinstance(c, dict) and set(c) == keys for c in found
    ):  # fmt: skip
        raise part.fail("field params.configs must list tables with k1, k2, s1, s2 (pairs)")
    return found


def stacked_answer(part: PartSpec) -> Answer:
    c_in, c_mid, c_out = ints(part, "channels", length=3)
    hh, ww = ints(part, "input", length=2)
    outcome = size_identity()
    require(outcome.status == "proved", part, f"size identity: {outcome.detail}")
    ans = Answer()
    rows = []
    for cfg in _configs(part):
        x = symbol_array("x", (c_in, hh, ww))
        w1 = symbol_array("u", (c_mid, c_in, *cfg["k1"]))
        w2 = symbol_array("v", (c_out, c_mid, *cfg["k2"]))
        two = conv2d(conv2d(x, w1, stride=tuple(cfg["s1"])), w2, stride=tuple(cfg["s2"]))
        kernel = composed_kernel(w1, w2, tuple(cfg["s1"]))
        one = conv2d(x, kernel, stride=tuple(a * b for a, b in zip(cfg["s1"], cfg["s2"])))
        same = two.shape == one.shape and all(
            sp.expand(a - b) == 0 for a, b in zip(sp.flatten(two), sp.flatten(one)))  # fmt: skip
        require(same, part, f"configuration {cfg}: the stacked layers differ from one")
        size = tuple(a + s * (b - 1) for a, b, s in zip(cfg["k1"], cfg["k2"], cfg["s1"]))
        rows.append((f"{cfg['k1']}, stride {cfg['s1']}", f"{cfg['k2']}, stride {cfg['s2']}",
                     f"{list(size)}, stride {[a * b for a, b in zip(cfg['s1'], cfg['s2'])]}",
                     str(len(sp.flatten(one)))))  # fmt: skip
    ans.body += [
        f"Along one axis the single kernel has {formula(k1 + s1 * (k2 - 1))} taps and stride "
        f"{formula(s1 * s2)}; with stride 1 first, {formula(k1 + k2 - 1)}. The output size "
        "agrees for every input size:",
        "",
        f"$$\\operatorname{{conv}}(\\operatorname{{conv}}(n, k_1, s_1), k_2, s_2) = "
        f"{sp.latex(shapes.conv_output_size(n, k1 + s1 * (k2 - 1), s1 * s2))}.$$",
        "",
        table(["First kernel", "Second kernel", "One kernel", "Entries compared"], rows),
        "",
        "The first row's single kernel, for one input and one output channel, is the "
        "*full* convolution of the two kernels (every product of a tap of the first with a "
        f"tap of the second lands at the sum of their offsets): {_example_kernel()}.",
        "",
    ]
    ans.proved += [
        "The output size of the two layers equals that of one layer with kernel "
        f"k1 + s1(k2 - 1) and stride s1 s2, for every size ({outcome.detail}).",
        f"The elements are equal as polynomials for a {c_in}x{hh}x{ww} input, {c_mid} "
        f"channels between the layers and {c_out} out, in the {len(rows)} configurations of "
        "the table (these shapes only).",
    ]
    ans.checked += _torch_stack(part, (c_in, c_mid, c_out), (hh, ww))
    return ans


def _example_kernel() -> str:
    a, b = symbol_array("a", (1, 1, 2, 2)), symbol_array("b", (1, 1, 2, 2))
    return matrix(composed_kernel(a, b, (1, 1))[0][0])


def _torch_stack(part: PartSpec, channels: tuple[int, int, int], size: tuple) -> list[str]:
    import torch
    import torch.nn.functional as F

    gen = torch.Generator().manual_seed(13)
    configs = _configs(part)
    for cfg in configs:
        c_in, c_mid, c_out = channels
        x = torch.randint(-4, 5, (1, c_in, *size), generator=gen).double()
        w1 = torch.randint(-4, 5, (c_mid, c_in, *cfg["k1"]), generator=gen).double()
        w2 = torch.randint(-4, 5, (c_out, c_mid, *cfg["k2"]), generator=gen).double()
        kernel = torch.tensor(composed_kernel(sp.Array(w1.long().tolist()),
                                              sp.Array(w2.long().tolist()), tuple(cfg["s1"])),
                              dtype=torch.float64)  # fmt: skip
        two = F.conv2d(F.conv2d(x, w1, stride=cfg["s1"]), w2, stride=cfg["s2"])
        one = F.conv2d(x, kernel, stride=[a * b for a, b in zip(cfg["s1"], cfg["s2"])])
        require(torch.equal(two, one), part, f"torch: configuration {cfg} differs")
    return [
        f"torch's two stacked `conv2d` equal one `conv2d` with derive's single kernel, in all "
        f"{len(configs)} configurations, on integer entries (float64, exact)."
    ]


def converse_answer(part: PartSpec) -> Answer:
    kernel = ints(part, "kernel")
    sizes = ints(part, "factors", length=2)
    require(len(kernel) == sizes[0] + sizes[1] - 1, part, "kernel size must be k1 + k2 - 1")
    require(min(sizes) == 2, part, "one factor must have 2 taps (a factor of degree 1)")
    z = sp.Symbol("z")
    a, b = sp.symbols(f"a_0:{sizes[0]}"), sp.symbols(f"b_0:{sizes[1]}")
    product = sp.Poly(sum(c * z**i for i, c in enumerate(a)) *
                      sum(c * z**i for i, c in enumerate(b)), z)  # fmt: skip
    equations = [sp.Eq(c, v) for c, v in zip(reversed(product.all_coeffs()), kernel)]
    solutions = sp.solve(equations, [*a, *b], dict=True)
    poly = sp.Poly(sum(v * z**i for i, v in enumerate(kernel)), z)
    roots = sp.real_roots(poly)
    require(not roots, part, f"{kernel} has real roots {roots}: it may split")
    first = sp.Add(*(c * z**i for i, c in enumerate(a if sizes[0] == 2 else b)))
    ans = Answer()
    ans.body += [
        f"Stacking {formula(sp.Matrix([a]))} and {formula(sp.Matrix([b]))} gives the kernel of "
        f"coefficients of the product of their polynomials. To get {formula(sp.Matrix([kernel]))} "
        "they would need",
        "",
        "$$" + r",\qquad ".join(sp.latex(e) for e in equations) + "$$",
        "",
        f"SymPy's solutions, {len(solutions)} families: "
        + "; ".join("$" + r",\ ".join(sp.latex(sp.Eq(k, v)) for k, v in sol.items()) + "$"
                    for sol in solutions)  # fmt: skip
        + f". The kernel's polynomial {formula(poly.as_expr())} has no real root, while the "
        f"2-tap factor {formula(first)} has the root {formula(sp.solve(first, z)[0])}, real "
        "for real taps: no real solution exists.",
        "",
    ]
    ans.proved.append(f"The kernel {kernel} is not the composition of two real kernels of "
                      f"sizes {sizes[0]} and {sizes[1]}: its polynomial has no real root "
                      "(SymPy's real_roots finds none), and a real 2-tap factor would give "
                      "one.")  # fmt: skip
    ans.checked.append("Nothing to run in torch: the statement is about every pair of real "
                       "kernels, which no finite run covers.")
    return ans
