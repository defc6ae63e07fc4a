r"""Receptive field, cost and memory on the networks page: table columns, totals, torch checks.

:func:`layer_cells` gives, for each row of a network's layer table, the receptive field
($R_h \times R_w$, the jump), the parameters, the multiply-accumulates and the bytes kept for
backward (float32), as formulas in $H$ and $W$ printed by :func:`derive.printing.latex`. A
residual block shown as one row gets its output's field and the sums over its layers.

:func:`design_section` states the totals and checks them against torch on the slimmed copy:
``FlopCounterMode`` and ``sum(p.numel())`` at the book's size, what autograd keeps in a
training step (batch 2), and the receptive field of every output position of the network's
spatial part at a small size (gradients, or bumps where there is max pooling). A
disagreement raises, so a wrong page cannot be built.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import sympy as sp

from derive.grammar import size_symbol
from derive.printing import latex
from derive.render.md import math as _math

__all__ = ["HEADERS", "layer_cells", "design_section", "CHECK_SIZE", "compact_latex"]

H, W, N = size_symbol("H"), size_symbol("W"), size_symbol("N")

HEADERS = ["Receptive field", "Jump", "Params", "MACs", "Kept (bytes)"]

_HOW = {"gradient": "gradients", "bump": "bumping one input entry at a time",
        "bump-axes": "bumping whole rows and columns"}  # fmt: skip

#: the input size at which each network's spatial part is checked position by position
CHECK_SIZE = {"LeNet": 28, "AlexNet": 67, "VGG-11": 36, "NiN": 67, "ResNet-18": 37}


def _factor(expr: sp.Expr) -> str:
    body = latex(expr)
    return rf"\left({body}\right)" if isinstance(expr, sp.Add) else body


def compact_latex(expr: Any) -> str:
    r"""A sum of products of sizes, each size in the reader's form, the products kept whole.

    (:func:`derive.printing.latex` would expand the products of floors into many terms.)

    >>> print(compact_latex(3 * (sp.floor((H - 1) / 2) + 1) * W + 5))
    3 W \left(\left\lfloor \frac{H - 1}{2} \right\rfloor + 1\right) + 5
    """
    expr = sp.sympify(expr)
    if not isinstance(expr, sp.Add):
        terms = [expr]
    else:
        terms = sorted(expr.args, key=lambda t: (t.is_number, -len(t.free_symbols)))
    parts = []
    for term in terms:
        coeff, factors = term.as_coeff_mul()
        kept = []
        for f in factors:  # 3 floor(x) + 3 -> 3 (floor(x) + 1)
            content, f = f.primitive() if isinstance(f, sp.Add) else (1, f)
            coeff, kept = coeff * content, [*kept, f]
        body = r" ".join(_factor(f) for f in kept)
        head = "" if coeff == 1 and kept else "-" if coeff == -1 and kept else latex(coeff)
        parts.append(f"{head} {body}".strip())
    return " + ".join(parts).replace("+ -", "- ")


def _ltx(expr: Any) -> str:
    return _math(compact_latex(expr))


def _field_cells(layer: Any) -> list[str]:
    if not layer.spatial:
        spans = r" \times ".join(f"[{latex(lo)}, {latex(hi)}]" for lo, hi in layer.interval())
        return [_math(spans), ""]
    size = r" \times ".join(latex(v) for v in layer.size)
    shown = ["-" if v is None else latex(v) for v in layer.jump]  # None: an axis of one entry
    jump = shown[0] if len(set(shown)) == 1 else r" \times ".join(shown)
    return [_math(size), _math(jump)]


def layer_cells(analysis: Any, paths: Sequence[str], blocks: set[str]) -> list[list[str]]:
    """The extra cells of each table row (``paths``: row paths; a block path stands for its
    layers)."""
    nodes = analysis.nodes
    fields = analysis.receptive_field().layers
    costs, memory = analysis.cost().layers, analysis.memory().layers
    used: dict[str, int] = {}
    out = []
    for path in paths:
        if path in blocks:
            members = [k for k, n in enumerate(nodes) if n.path.startswith(path + ".")]
        else:
            n = used.get(path, 0)
            used[path] = n + 1
            members = [[k for k, node in enumerate(nodes) if node.path == path][n]]
        last = members[-1]
        params = sp.Add(*(costs[k].cost.params for k in members))
        macs = sp.Add(*(costs[k].cost.macs for k in members))
        kept = sp.Add(*(memory[k].kept_bytes() for k in members))
        out.append([*_field_cells(fields[last]), _ltx(params), _ltx(macs), _ltx(kept)])
    return out


def _prefixes(net: Any) -> list[Any]:
    """The network cut after each top-level layer, up to its last spatial one."""
    from torch import nn

    children = list(net.children())
    cut = next((i for i, m in enumerate(children) if isinstance(m, nn.Flatten)), len(children))
    if cut and isinstance(children[cut - 1], nn.AdaptiveAvgPool2d):
        cut -= 1
    return [nn.Sequential(*children[:k]) for k in range(1, cut + 1)]


def _field_checks(slim: Any, size: int) -> tuple[int, int, int, str]:
    """``(layers, positions, interior, method)``; raises at the first disagreement.

    The network's spatial part is traced twice (symbolic, and at the check size); each
    prefix's output is a row of it, which torch reads by running the prefix.
    """
    from derive.calculus.check import check_row_fields

    prefixes = _prefixes(slim)
    reports = check_row_fields(prefixes[-1], (1, 1, H, W), {H: size, W: size + 1},
                               [(str(len(p) - 1), p) for p in prefixes], limit=16)  # fmt: skip
    for prefix, report in zip(prefixes, reports):
        if report.disagreements:
            raise RuntimeError(f"receptive field disagrees with torch after layer "
                               f"{len(prefix) - 1}: {report.disagreements[:3]}")  # fmt: skip
    methods = {r.method for r in reports}
    return (len(prefixes), sum(r.positions for r in reports), sum(r.interior for r in reports),
            " and ".join(_HOW[m] for m in sorted(methods)))  # fmt: skip


@functools.cache
def _checks(name: str, book: int, factory: Callable[..., Any], width: float) -> dict[str, Any]:
    """Every torch check of one network (cached: the page is rendered more than once)."""
    from derive.calculus import analyse
    from derive.calculus.check import torch_flops, torch_saved_bytes

    slim = factory(width)
    slim.train()
    point = {H: book, W: book, N: 2}
    a = analyse(slim, (N, 1, H, W))
    c, m = a.cost(), a.memory()
    out = {
        "flops": (int(c.flops.xreplace(point)), torch_flops(slim, (2, 1, book, book))),
        "params": (int(c.params), sum(p.numel() for p in slim.parameters())),
        "saved": (int(m.saved_bytes.xreplace(point)),
                  torch_saved_bytes(slim, (2, 1, book, book), _float32())),
    }  # fmt: skip
    for what, (ours, theirs) in out.items():
        if ours != theirs:
            raise RuntimeError(f"{name}: derive's {what} {ours} != torch's {theirs}")
    out["field"] = (*_field_checks(slim, CHECK_SIZE[name]), CHECK_SIZE[name])
    return out


def _float32() -> Any:
    import torch

    return torch.float32


def design_section(name: str, analysis: Any, factory: Callable[..., Any], book: int,
                   width: float) -> list[str]:  # fmt: skip
    """Markdown lines: the totals (formulas and at the book's size) and the torch checks."""
    c, m = analysis.cost(), analysis.memory()
    at = {H: book, W: book}
    checks = _checks(name, book, factory, width)
    layers, positions, interior, how, size = checks["field"]
    flops, params, saved = checks["flops"], checks["params"], checks["saved"]
    return [
        "### Receptive field, cost and memory",
        "",
        f"Per image ($N = 1$), the network has {_ltx(c.params)} parameters and does "
        f"{_ltx(c.macs)} multiply-accumulates, {_ltx(c.macs.xreplace(at))} at "
        f"{book} x {book}; torch counts FLOPs as twice that. A training step keeps "
        f"{_ltx(m.saved_bytes)} bytes (float32) for the backward pass, "
        f"{_ltx(m.saved_bytes.xreplace(at))} at {book} x {book}. The columns of the table "
        "above give each layer's share and its receptive field.",
        "",
        f"Checked against torch on the slimmed copy: at {book} x {book} with a batch of 2, "
        f"`FlopCounterMode` counts {flops[1]:,} FLOPs and derive's formula gives {flops[0]:,}; "
        f"`sum(p.numel())` is {params[1]:,}, derive's count {params[0]:,}; autograd keeps "
        f"{saved[1]:,} bytes, derive's formula {saved[0]:,}. Receptive fields: the network "
        f"cut after each of its first {layers} top-level layers, at {size} x {size + 1}, "
        f"{positions} output positions in all, read from torch by {how}; derive's exact "
        f"dependency sets and its formulas agree at every one ({interior} interior positions, "
        "where the interval formula must be exact; elsewhere it must contain what torch "
        "finds).",
        "",
    ]
