r"""The site page "The inverse questions": the inputs, paddings and smallest inputs for an output.

Answers come from :mod:`derive.solve` as formulas in the wanted output size $m$ and as numbers;
when the page is rendered every number is checked against torch (``torch.nn.functional``
layers run at every candidate size) or, for SAME, against JAX's own shape rule. A mismatch
raises :class:`derive.specs.BuildError`. ``derive build`` writes it to ``docs/inverse.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from derive import printing
from derive.grammar import size_symbol
from derive.ops import AVG_POOL, CONV, CONV_TRANSPOSE, MAX_POOL, Pooling, TransposedConvolution
from derive.render import md
from derive.solve import Layer, input_sizes, paddings, smallest_input
from derive.specs import BuildError

__all__ = ["render_page"]

M = size_symbol("m")
#: the sizes run through the frameworks when checking an answer
CHECKED = range(1, 41)


def _tex(expr: sp.Expr) -> str:
    return md.math(printing.latex(sp.sympify(expr)))


def _torch_output(layer: Layer, n: int) -> int | None:
    """The output length torch (or, for a convention, JAX) gives, None where it raises."""
    if layer.convention is not None:
        return _jax_output(layer, n)
    import torch

    F, x = torch.nn.functional, torch.zeros(1, 1, n, dtype=torch.float64)
    k, s, p = layer.kernel_size, layer.stride, layer.padding
    try:
        if isinstance(layer.op, Pooling):
            fn = F.max_pool1d if layer.op is MAX_POOL else F.avg_pool1d
            y = fn(x, k, s, padding=p, ceil_mode=layer.ceil_mode)
        elif isinstance(layer.op, TransposedConvolution):
            w = torch.zeros(1, 1, k, dtype=torch.float64)
            y = F.conv_transpose1d(x, w, stride=s or 1, padding=p,
                                   output_padding=layer.output_padding)  # fmt: skip
        else:
            y = F.conv1d(x, torch.zeros(1, 1, k, dtype=torch.float64), stride=s or 1, padding=p)
    except RuntimeError:
        return None
    return int(y.shape[-1]) or None


def _jax_output(layer: Layer, n: int) -> int | None:
    import jax
    import numpy as np
    from jax import lax

    x = jax.ShapeDtypeStruct((1, 1, n), np.float32)
    w = jax.ShapeDtypeStruct((1, 1, layer.kernel_size), np.float32)
    out = jax.eval_shape(lambda: lax.conv_general_dilated(
        x, w, (layer.stride,), layer.padding, dimension_numbers=("NCH", "OIH", "NCH")))
    return int(out.shape[-1]) or None


def _check_preimages(layer: Layer, name: str) -> None:
    outputs = {n: _torch_output(layer, n) for n in CHECKED}
    for m in range(1, 6):
        found = input_sizes(layer, m)
        expected = [n for n, out in outputs.items() if out == m]
        if list(range(int(found.low), int(found.high) + 1)) != expected:
            raise BuildError(f"{name}: derive gives [{found.low}, {found.high}] for m={m}, "
                             f"the framework {expected}")  # fmt: skip


def _numbers(found) -> str:
    if found.low > found.high:
        return "none"
    return f"{found.low} to {found.high}"


def _inputs_section() -> str:
    layers = [
        ("`Conv1d(k=3, stride=2, padding=1)`", Layer(CONV, 3, 2, 1)),
        ("`Conv1d(k=5, stride=3)`", Layer(CONV, 5, 3)),
        ("`MaxPool1d(3, stride=2, padding=1, ceil_mode=True)`",
         Layer(MAX_POOL, 3, 2, 1, ceil_mode=True)),
        ("`AvgPool1d(2)`", Layer(AVG_POOL, 2)),
        ("`ConvTranspose1d(k=4, stride=2, padding=1)`", Layer(CONV_TRANSPOSE, 4, 2, 1)),
        ('SAME: `Conv1D(k=3, strides=4, padding="same")`',
         Layer(CONV, 3, 4, "SAME", convention="tf")),
    ]  # fmt: skip
    rows = []
    for name, layer in layers:
        _check_preimages(layer, name)
        try:
            found = input_sizes(layer, M)
            formula = f"{_tex(found.low)} to {_tex(found.high)}"
        except Exception:  # ceil_mode's case split: numbers only
            formula = "(numbers only: `ceil_mode` splits into cases)"
        rows.append([name, formula, *(_numbers(input_sizes(layer, m)) for m in (7, 8))])
    return "\n\n".join([
        "## Which inputs give $m$ outputs?",
        "Outputs never shrink when the input grows, so the inputs giving $m$ outputs are a "
        "run of consecutive sizes: from the least input giving at least $m$ to the one before "
        "the least giving $m + 1$. For a convolution with total padding $P$ and span "
        "$\\kappa = d(k-1)+1$ that is $(m-1)s + \\kappa - P$ to $ms + \\kappa - P - 1$: $s$ "
        "sizes (the claim `convention.inverse-conv` on the Verification page proves it). A "
        "transposed convolution is one-to-one: one size, or none (the formula's ends then cross).",
        md.table(["layer", "inputs giving $m$ outputs", "$m = 7$", "$m = 8$"], rows),
        f"Checked: for $m = 1, \\dots, 5$ each answer is exactly the set of sizes "
        f"$n \\le {CHECKED[-1]}$ at which torch (JAX for SAME) gives $m$ outputs.",
        "```console\n$ derive solve input conv --output m --kernel 3 --stride 2 --padding 1\n"
        f"{printing.text(input_sizes(layers[0][1], M).low)} <= n <= "
        f"{printing.text(input_sizes(layers[0][1], M).high)}\n```",
    ])  # fmt: skip


def _check_pairs(target: int, n: int, k: int, s: int, pairs: list[tuple[int, int]]) -> None:
    import torch

    F = torch.nn.functional
    x, w = torch.zeros(1, 1, n), torch.zeros(1, 1, k)
    works = set()
    for lo in range(0, 2 * k + s):
        for hi in range(0, 2 * k + s):
            try:
                if F.conv1d(F.pad(x, (lo, hi)), w, stride=s).shape[-1] == target:
                    works.add((lo, hi))
            except RuntimeError:
                continue
    if works != set(pairs):
        raise BuildError(f"paddings of {n} -> {target}: torch {sorted(works)}, derive {pairs}")


def _paddings_section() -> str:
    rows = []
    for n, m, k, s in ((15, 8, 3, 2), (8, 8, 4, 1), (28, 28, 5, 1), (32, 16, 4, 2)):
        found = paddings(m, n, k, s)
        pairs = found.pairs()
        _check_pairs(m, n, k, s, pairs)
        sym = found.symmetric.values()
        torch_says = ", ".join(f"`padding={p}`" for p in sym) or "none: pad asymmetrically"
        rows.append([f"${n} \\to {m}$", f"$k = {k}$, $s = {s}$",
                     ", ".join(f"`{p}`" for p in pairs), torch_says])  # fmt: skip
    return "\n\n".join([
        "## Which paddings give $m$ outputs from $n$ inputs?",
        "The total $P = p_b + p_a$ must satisfy $(m-1)s + \\kappa - n \\le P \\le "
        "(m-1)s + \\kappa - n + s - 1$; any split of it works, and torch's `padding=p` "
        "(the same $p$ on both sides) can only make even totals. With an even kernel and stride "
        "1 the one total is odd, so torch's symmetric padding cannot keep the size.",
        md.table(["input to output", "layer", "(before, after)", "torch's padding="], rows),
        "Checked: every pair listed, and no other, gives the output in torch "
        "(`F.pad` then `conv1d`).",
    ])  # fmt: skip


def _check_stack(layers: Sequence[Layer], least: int, name: str) -> None:
    def through(n: int) -> bool:
        for layer in layers:
            out = _torch_output(layer, n)
            if out is None:
                return False
            n = out
        return True

    if not through(least) or (least > 1 and through(least - 1)):
        raise BuildError(f"{name}: torch disagrees that {least} is the smallest input")


def _smallest_section() -> str:
    vgg = [Layer(CONV, 3, padding=1), Layer(MAX_POOL, 2)] * 5
    stacks = [
        ("LeNet: conv 5 (padding 2), avg-pool 2, conv 5, avg-pool 2",
         [Layer(CONV, 5, padding=2), Layer(AVG_POOL, 2), Layer(CONV, 5), Layer(AVG_POOL, 2)]),
        ("VGG: five blocks of conv 3 (padding 1) and max-pool 2", vgg),
        ("ResNet stem: conv 7 (stride 2, padding 3), max-pool 3 (stride 2, padding 1)",
         [Layer(CONV, 7, 2, 3), Layer(MAX_POOL, 3, 2, 1)]),
        ("AlexNet's first layers: conv 11 (stride 4, padding 2), max-pool 3 (stride 2)",
         [Layer(CONV, 11, 4, 2), Layer(MAX_POOL, 3, 2)]),
    ]  # fmt: skip
    rows = []
    for name, layers in stacks:
        least = int(smallest_input(layers))
        _check_stack(layers, least, name)
        rows.append([name, str(least), _tex(smallest_input(layers, M))])
    return "\n\n".join([
        "## The smallest input a stack accepts",
        "Working backwards from the last layer, each layer needs the least input giving the "
        "outputs the next one needs. The last column asks for $m$ outputs at the end.",
        md.table(["stack (one axis)", "smallest input", "for $m$ outputs"], rows),
        "Checked: torch runs each stack at the smallest size and refuses one entry less.",
    ])  # fmt: skip


_INTRO = """\
# The inverse questions

derive's size formulas run forwards: from a layer and an input size to the output size. The
questions people ask often run backwards: *which* input sizes give the output I need, *which*
padding keeps the size, *how small* can the input of this network be? `derive.solve` answers
them exactly, with numbers or symbols, for every convention derive knows (`derive solve` on the
command line, with the same grammar as `derive shape`).
"""


def render_page() -> str:
    """The page's Markdown; every number checked against torch or JAX (raises otherwise)."""
    parts = [_INTRO, _inputs_section(), _paddings_section(), _smallest_section()]
    return "\n\n".join(parts).rstrip() + "\n"
