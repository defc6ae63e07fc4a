r"""Exercises on pooling: average pooling is a convolution, max pooling is not, and max
pooling from convolutions and ReLUs.

``avg-as-conv``: average pooling with window $k_h \times k_w$ (padding counted in the
divisor) is a depthwise convolution with the constant kernel $1/(k_h k_w)$; proved element by
element for the configurations named, and run in torch.

``max-not-linear``: a convolution is additive, $f(x + y) = f(x) + f(y)$; one pair of inputs
for which max pooling is not settles it.

``max-via-relu``: $\max(a, b) = \operatorname{ReLU}(a - b) + \operatorname{ReLU}(b) -
\operatorname{ReLU}(-b)$ for all reals (four sign cases). A window's maximum is a tree of
such pairwise maxima; each level is a convolution followed by a ReLU, so max pooling over
$n$ values takes $\lceil \log_2 n \rceil$ ReLU layers and a last linear 1x1 convolution.
derive builds that network from the tree, counts its layers and channels, and torch runs
it against ``max_pool2d``.
"""

from __future__ import annotations

import math
from typing import Any

import sympy as sp

from derive.conv import conv2d
from derive.exercise_specs import PartSpec
from derive.pool import avg_pool2d, max_pool2d
from derive.render.exercises.common import Answer, formula, ints, matrix, require
from derive.render.md import table
from derive.tensors import symbol_array

__all__ = ["avg_as_conv_answer", "max_not_linear_answer", "max_via_relu_answer", "relu_tree"]


def _uniform(channels: int, kh: int, kw: int) -> list:
    return [[[[sp.Rational(1, kh * kw)] * kw for _ in range(kh)]] for _ in range(channels)]


def avg_as_conv_answer(part: PartSpec) -> Answer:
    channels, hh, ww = ints(part, "input", length=3)
    configs = part.params.get("configs")
    if not isinstance(configs, list) or not configs:
        raise part.fail("field params.configs must list {kernel, stride, padding} tables")
    x = symbol_array("x", (channels, hh, ww))
    rows = []
    for cfg in configs:
        k, s, p = cfg.get("kernel"), cfg.get("stride"), cfg.get("padding", 0)
        pooled = avg_pool2d(x, k, stride=s, padding=p)
        kh, kw = (k, k) if isinstance(k, int) else k
        conv = conv2d(x, _uniform(channels, kh, kw), stride=s or (kh, kw), padding=p,
                      groups=channels)  # fmt: skip
        same = pooled.shape == conv.shape and all(
            sp.expand(a - b) == 0 for a, b in zip(sp.flatten(pooled), sp.flatten(conv)))
        require(same, part, f"average pooling {cfg} is not the convolution")
        rows.append((str(k), str(s if s is not None else k), str(p), str(pooled.shape)))
    ans = Answer()
    ans.body += [
        "The kernel has one channel per input channel (``groups`` equal to the channels), "
        f"each the constant {formula(sp.Symbol('1') / (sp.Symbol('k_h') * sp.Symbol('k_w')))}; "
        "for a 2x2 window, "
        f"{matrix([[sp.Rational(1, 4)] * 2] * 2)}. Compared entry by entry:",
        "",
        table(["Window", "Stride", "Padding", "Output shape"], rows),
        "",
    ]
    ans.proved.append(f"Average pooling equals the depthwise convolution with the constant "
                      f"kernel, for a {channels}x{hh}x{ww} input of symbols in the "
                      f"{len(rows)} configurations above (these shapes only).")  # fmt: skip
    ans.checked += _torch_avg(part, configs, (channels, hh, ww))
    return ans


def _torch_avg(part: PartSpec, configs: list, shape: tuple) -> list[str]:
    import torch
    import torch.nn.functional as F

    x = torch.randint(-9, 10, (1, *shape), generator=torch.Generator().manual_seed(5)).double()
    worst = 0.0
    for cfg in configs:
        k, s, p = cfg.get("kernel"), cfg.get("stride"), cfg.get("padding", 0)
        kh, kw = (k, k) if isinstance(k, int) else k
        weight = torch.full((shape[0], 1, kh, kw), 1.0 / (kh * kw), dtype=torch.float64)
        a = F.avg_pool2d(x, k, stride=s, padding=p)
        b = F.conv2d(x, weight, stride=s or (kh, kw), padding=p, groups=shape[0])
        worst = max(worst, float((a - b).abs().max()))
        require(a.shape == b.shape and worst < 1e-12, part, f"torch: {cfg} differs by {worst}")
    return [f"torch's `avg_pool2d` and `conv2d` with the constant kernel agree in all "
            f"{len(configs)} configurations (float64, largest difference {worst:.1e}: "
            "rounding of 1/9 and the like)."]  # fmt: skip


def max_not_linear_answer(part: PartSpec) -> Answer:
    x, y = ints(part, "x"), ints(part, "y")
    sums = [a + b for a, b in zip(x, y)]
    fx, fy, fxy = (int(max_pool2d([[v]], (1, len(v)))[0, 0, 0]) for v in (x, y, sums))
    require(fx + fy != fxy, part, "the pair does not break additivity")
    ans = Answer()
    ans.body += [
        f"With $x = {x}$ and $y = {y}$ and one window over all {len(x)} entries: "
        f"$\\max(x) + \\max(y) = {fx} + {fy} = {fx + fy}$, but $\\max(x + y) = {fxy}$.",
        "",
    ]
    ans.proved.append("Max pooling is not additive (the counterexample above, exact "
                      "arithmetic), so no convolution computes it.")  # fmt: skip
    import torch
    import torch.nn.functional as F

    t = [int(F.max_pool1d(torch.tensor([[v]], dtype=torch.float64), len(v))) for v in
         (x, y, sums)]  # fmt: skip
    require(t == [fx, fy, fxy], part, f"torch gives {t}")
    ans.checked.append(f"torch's `max_pool1d` gives the same three maxima, {t}.")
    return ans


def _cases_prove_max() -> bool:
    """ReLU(a - b) + ReLU(b) - ReLU(-b) = max(a, b) in each of the four sign cases."""
    t, v = sp.symbols("t v", nonnegative=True)
    tp, vp = sp.symbols("t' v'", positive=True)
    relu = lambda e: sp.Max(0, e)  # noqa: E731
    ok = True
    for a_minus_b in (t, -tp):
        for b in (v, -vp):
            a = b + a_minus_b
            lhs = relu(a - b) + relu(b) - relu(-b)
            ok &= sp.simplify(lhs - sp.Max(a, b)) == 0
    return ok


def relu_tree(taps: int) -> list[tuple[int, int]]:
    """``(values in, ReLU channels)`` of each level of the pairwise-maximum tree."""
    levels = []
    while taps > 1:
        pairs, odd = divmod(taps, 2)
        levels.append((taps, 3 * pairs + 2 * odd))
        taps = pairs + odd
    return levels


def _tree_network(kh: int, kw: int) -> Any:
    """A torch network of convolutions and ReLUs computing the kh x kw window maximum."""
    import torch
    from torch import nn

    n = kh * kw
    forms = torch.eye(n, dtype=torch.float64)  # each value as a combination of the taps
    layers: list[nn.Module] = []
    first = True
    while forms.shape[0] > 1:
        m = forms.shape[0]
        pre, nxt = [], []
        for i in range(0, m - 1, 2):
            a, b = forms[i], forms[i + 1]
            base = len(pre)
            pre += [a - b, b, -b]
            nxt.append((base, [1.0, 1.0, -1.0]))
        if m % 2:
            base = len(pre)
            pre += [forms[-1], -forms[-1]]
            nxt.append((base, [1.0, -1.0]))
        weight = torch.stack(pre)
        if first:
            conv = nn.Conv2d(1, len(pre), (kh, kw), stride=(kh, kw), bias=False).double()
            conv.weight.data = weight.view(len(pre), 1, kh, kw)
            first = False
        else:
            conv = nn.Conv2d(weight.shape[1], len(pre), 1, bias=False).double()
            conv.weight.data = weight.view(len(pre), -1, 1, 1)
        layers += [conv, nn.ReLU()]
        forms = torch.zeros(len(nxt), len(pre), dtype=torch.float64)
        for row, (base, coeffs) in enumerate(nxt):
            forms[row, base : base + len(coeffs)] = torch.tensor(coeffs, dtype=torch.float64)
    last = nn.Conv2d(forms.shape[1], 1, 1, bias=False).double()
    last.weight.data = forms.view(1, -1, 1, 1)
    return nn.Sequential(*layers, last)


def max_via_relu_answer(part: PartSpec) -> Answer:
    windows = part.params.get("windows")
    if not isinstance(windows, list) or not windows:
        raise part.fail("field params.windows must list [kh, kw] pairs")
    require(_cases_prove_max(), part, "the ReLU identity failed")
    ans = Answer()
    rows = []
    for kh, kw in windows:
        levels = relu_tree(kh * kw)
        rows.append((f"{kh} x {kw}", str(kh * kw), str(len(levels)),
                     ", ".join(str(c) for _, c in levels)))  # fmt: skip
        require(len(levels) == math.ceil(math.log2(kh * kw)), part, "tree depth")
    ans.body += [
        "$$\\max(a, b) = \\operatorname{ReLU}(a - b) + \\operatorname{ReLU}(b) - "
        "\\operatorname{ReLU}(-b)$$",
        "",
        "Each level pairs the values left (an odd one out passes as "
        "$\\operatorname{ReLU}(v) - \\operatorname{ReLU}(-v)$); the first convolution reads "
        "the window's taps, every later one is 1x1, and a last 1x1 convolution without ReLU "
        "adds up the final three (or two) channels:",
        "",
        table(["Window", "Values", "ReLU layers", "Channels per ReLU layer"], rows),
        "",
    ]
    ans.proved.append("The identity holds for all real a and b: SymPy reduces it to 0 in "
                      "each of the four cases a >= b or a < b, b >= 0 or b < 0. Nested "
                      "maxima are the maximum of all values (associativity).")  # fmt: skip
    ans.checked += _torch_tree(part, windows)
    return ans


def _torch_tree(part: PartSpec, windows: list) -> list[str]:
    import torch
    import torch.nn.functional as F

    gen = torch.Generator().manual_seed(3)
    for kh, kw in windows:
        net = _tree_network(kh, kw)
        x = torch.randint(-50, 51, (4, 1, 3 * kh + 1, 3 * kw + 2), generator=gen).double()
        with torch.no_grad():
            ok = torch.equal(net(x), F.max_pool2d(x, (kh, kw)))
        require(ok, part, f"torch: the ReLU network for {kh}x{kw} differs from max_pool2d")
    return [f"torch runs the network derive builds for each window on 4 random integer "
            f"images and it equals `max_pool2d` exactly ({len(windows)} windows)."]
