r"""Exercises on cost and memory: a multi-channel convolution, and a 1x1 convolution.

``conv-cost``: with $c_i$ input and $c_o$ output channels, an $h \times w$ input, a
$k_h \times k_w$ kernel, padding and stride, the output is $h_o \times w_o$ (derive's size
formula) and one forward pass does $c_o h_o w_o \cdot c_i k_h k_w$ multiplications. Every
formula comes from :mod:`derive.layer_cost` and :mod:`derive.layer_memory`; each is
evaluated at the sizes of ``params.check`` and compared with torch: ``FlopCounterMode``
(forward, and forward with backward), the output shape, ``sum(p.numel())`` and the bytes
autograd keeps.

``conv-as-matmul``: a 1x1 convolution is a matrix product, proved element by element for
the shape of ``params.proof`` and compared with ``torch.matmul`` at the check sizes.
"""

from __future__ import annotations

import sympy as sp

from derive.conv import conv2d
from derive.exercise_specs import PartSpec, size
from derive.layer_cost import conv_cost
from derive.layer_memory import saved
from derive.ops import CONV
from derive.render.exercises.common import Answer, checks, formula, require
from derive.render.md import table
from derive.shapes import conv_output_size
from derive.tensors import symbol_array

__all__ = ["conv_cost_answer", "conv_as_matmul_answer"]


def _pair(part: PartSpec, key: str) -> tuple[sp.Expr, sp.Expr]:
    value = part.params.get(key)
    if not isinstance(value, list) or len(value) != 2:
        raise part.fail(f"field params.{key} must list two sizes (height, width)")
    return size(part, key, value[0]), size(part, key, value[1])


def _layer(part: PartSpec) -> dict[str, object]:
    ci, co = size(part, "in_channels"), size(part, "out_channels")
    h, w = size(part, "height"), size(part, "width")
    (kh, kw), (ph, pw), (sh, sw) = (_pair(part, k) for k in ("kernel", "padding", "stride"))
    ho, wo = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)
    c = conv_cost(1, ci, co, (kh, kw), (ho, wo))
    return {"ci": ci, "co": co, "h": h, "w": w, "k": (kh, kw), "p": (ph, pw), "s": (sh, sw),
            "ho": ho, "wo": wo, "cost": c}  # fmt: skip


def _rows(v: dict) -> list[tuple[str, sp.Expr]]:
    c, (kh, kw) = v["cost"], v["k"]
    outputs = v["co"] * v["ho"] * v["wo"]
    per = v["ci"] * kh * kw
    kept = saved(CONV.name)[0].role  # the convolution keeps its input
    assert kept == "input"
    return [
        ("Multiplications, forward", c.macs),
        ("Additions, forward (sums, then the bias)", outputs * (per - 1) + outputs),
        ("Parameters (weights and biases)", c.params),
        ("Input entries", v["ci"] * v["h"] * v["w"]),
        ("Output entries", outputs),
        ("Kept for the backward pass: the input", v["ci"] * v["h"] * v["w"]),
        ("Multiplications, backward (input and weight gradients)", 2 * c.macs),
        ("Additions, backward (bias gradient)", outputs),
        ("Gradient entries: input, weights, output",
         v["ci"] * v["h"] * v["w"] + c.params + outputs),
    ]  # fmt: skip


def conv_cost_answer(part: PartSpec) -> Answer:
    v = _layer(part)
    rows = _rows(v)
    macs = v["cost"].macs
    ans = Answer()
    ans.body += [
        f"The output is {formula(v['ho'])} by {formula(v['wo'])} (derive's size formula). "
        "Each of its entries, in each output channel, is a sum of "
        f"{formula(v['ci'] * v['k'][0] * v['k'][1])} products plus the bias:",
        "",
        table(["Quantity", "Formula"], [(q, formula(e)) for q, e in rows]),
        "",
    ]
    ans.body += _doubling(v)
    ans.proved.append(
        "Doubling both channel counts multiplies the multiplications by exactly 4, for every "
        "size (SymPy reduces the difference to 0)."
    )
    ans.checked += _torch_checks(part, v, rows, macs)
    return ans


def _doubling(v: dict) -> list[str]:
    macs = v["cost"].macs
    doubled = macs.xreplace({v["ci"]: 2 * v["ci"], v["co"]: 2 * v["co"]})
    ratio = sp.simplify(doubled / macs)
    assert sp.expand(doubled - ratio * macs) == 0
    ph, pw = v["p"]
    ho2 = conv_output_size(v["h"], v["k"][0], v["s"][0], 2 * ph)
    return [
        f"Doubling $c_i$ and $c_o$ multiplies the multiplications by {formula(ratio)}: each "
        "output entry sums twice as many products, and there are twice as many output "
        "channels. Doubling the padding changes only the output size: the height becomes "
        f"{formula(ho2)}, so the cost grows with the padded area, by a factor that tends to 1 "
        "as the input grows.",
        "",
    ]


def _torch_checks(part: PartSpec, v: dict, rows: list, macs: sp.Expr) -> list[str]:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from derive.calculus.check import one_thread, torch_saved_bytes

    names = [str(s) for s in sp.Add(*(e for _, e in rows), v["h"], v["w"]).free_symbols]
    points = checks(part, sorted(names))
    for point in points:
        at = {s: point[str(s)] for s in sp.Add(macs, v["h"], v["w"]).free_symbols}
        conv = torch.nn.Conv2d(*(int(v[k].xreplace(at)) for k in ("ci", "co")),
                               tuple(int(k.xreplace(at)) for k in v["k"]),
                               stride=tuple(int(s.xreplace(at)) for s in v["s"]),
                               padding=tuple(int(p.xreplace(at)) for p in v["p"]))  # fmt: skip
        x = torch.rand(1, conv.in_channels, int(v["h"].xreplace(at)), int(v["w"].xreplace(at)),
                       requires_grad=True)  # fmt: skip
        with one_thread(), FlopCounterMode(display=False) as fwd:
            y = conv(x)
        with one_thread(), FlopCounterMode(display=False) as both:
            conv(x).sum().backward()
        m = int(macs.xreplace(at))
        ho, wo, params, kept = (int(sp.sympify(e).xreplace(at)) for e in (
            v["ho"], v["wo"], v["cost"].params, 4 * v["ci"] * v["h"] * v["w"]))  # fmt: skip
        ours = (2 * m, 6 * m, (conv.out_channels, ho, wo), params, kept)
        theirs = (fwd.get_total_flops(), both.get_total_flops(), tuple(y.shape[1:]),
                  sum(p.numel() for p in conv.parameters()),
                  torch_saved_bytes(conv, tuple(x.shape), torch.float32))  # fmt: skip
        require(ours == theirs, part, f"at {point}: derive {ours}, torch {theirs}")
    return [
        f"At {len(points)} sets of sizes ({_show(points)}): `FlopCounterMode` counts twice the "
        "multiplications forward and six times them forward and backward (torch counts a "
        "multiply-add as 2 FLOPs); the output shape, `sum(p.numel())` and the float32 bytes "
        "autograd keeps (the input) equal derive's formulas."
    ]


def _show(points: list[dict]) -> str:
    return "; ".join(", ".join(f"{k} = {v}" for k, v in sorted(p.items())) for p in points)


def conv_as_matmul_answer(part: PartSpec) -> Answer:
    ci, co = size(part, "in_channels"), size(part, "out_channels")
    h, w = size(part, "height"), size(part, "width")
    proof = part.params.get("proof", {})
    if not isinstance(proof, dict) or set(proof) != {str(ci), str(co), str(h), str(w)}:
        raise part.fail("field params.proof must give a size to each of the four symbols")
    c_i, c_o, hh, ww = (proof[str(s)] for s in (ci, co, h, w))
    X, Wt = symbol_array("x", (c_i, hh, ww)), symbol_array("w", (c_o, c_i, 1, 1))
    product = sp.Matrix(c_o, c_i, list(sp.flatten(Wt))) * sp.Matrix(c_i, hh * ww,
                                                                       list(sp.flatten(X)))
    conv = conv2d(X, Wt)
    require(all(sp.expand(a - b) == 0 for a, b in zip(sp.flatten(conv), list(product))), part,
            "the 1x1 convolution is not the matrix product")  # fmt: skip
    macs = conv_cost(1, ci, co, (1, 1), (h, w)).macs
    ans = Answer()
    ans.body += [
        "With a 1x1 kernel the output keeps the input's size, and output channel $o$ at "
        r"position $(i, j)$ is $b_o + \sum_c W_{o,c} X_{c,i,j}$: "
        f"the {formula(co)} by {formula(ci)} weight matrix times the {formula(ci)} by "
        f"{formula(h * w)} matrix of the input's columns. It costs {formula(macs)} "
        "multiplications, the cost of that matrix product.",
        "",
    ]
    ans.proved.append(
        f"conv2d with a 1x1 kernel equals the matrix product entry by entry, for a "
        f"{c_i}x{hh}x{ww} input and {c_o} output channels of distinct symbols (this shape only)."
    )
    ans.checked += _matmul_checks(part, (ci, co, h, w), macs)
    return ans


def _matmul_checks(part: PartSpec, symbols: tuple, macs: sp.Expr) -> list[str]:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from derive.calculus.check import one_thread

    points = checks(part, [str(s) for s in symbols])
    for point in points:
        ci, co, h, w = (point[str(s)] for s in symbols)
        conv = torch.nn.Conv2d(ci, co, 1, bias=False).double()
        x = torch.randint(-5, 6, (1, ci, h, w)).double()
        with torch.no_grad():
            conv.weight.copy_(torch.randint(-5, 6, conv.weight.shape).double())
        with one_thread(), FlopCounterMode(display=False) as a:
            y = conv(x)
        with one_thread(), FlopCounterMode(display=False) as b:
            z = torch.matmul(conv.weight.view(co, ci), x.view(ci, h * w))
        m = int(macs.xreplace({s: point[str(s)] for s in symbols}))
        require(torch.equal(y.view(co, h * w), z) and a.get_total_flops() == b.get_total_flops()
                == 2 * m, part, f"at {point}: torch disagrees")  # fmt: skip
    return [
        f"At {len(points)} sets of sizes ({_show(points)}): torch's 1x1 convolution equals "
        "`torch.matmul` of the reshaped tensors (integer entries, exact), and "
        "`FlopCounterMode` counts both as twice derive's multiplications."
    ]
