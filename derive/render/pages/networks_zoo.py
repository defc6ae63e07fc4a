r"""Networks as people write them today, on the networks page: U-Net, ViT, ASPP, WaveNet.

For four networks of :mod:`derive.networks.zoo` (small channel counts: spatial sizes do not
depend on them) the page shows what :func:`derive.networks.zoo_summary` derives: every row
of the trace (a module applied twice is two rows; an ``nn.Sequential`` block is one row, its
output) with its output shape, receptive field, parameters, multiply-accumulates and bytes
kept for backward where derive has the rule; the accepted sizes as formulas; and the
``torch.export`` dynamic-shapes specification derived from them. Every formula is printed by
:mod:`derive.printing` (the reader's form, proved equal to the engine's expression).

Everything is checked against torch when the page is built, and a disagreement raises:
forward passes at sizes around the edges of the accepted set (derive's accepted set and
output shape against torch's), ``FlopCounterMode``, ``sum(p.numel())`` and autograd's saved
tensors at the sample size, and the receptive field of output positions read from torch
(:func:`derive.calculus.check.check_receptive_field`; instance norms at fixed statistics,
:func:`derive.calculus.check.fixed_statistics`).

Deterministic: no timings, so rebuilding gives the same bytes.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp

from derive.printing import latex as _latex
from derive.receptive import INDEX
from derive.render.md import code as _code
from derive.render.md import math as _math
from derive.render.md import plural
from derive.render.md import table as _table

__all__ = ["ZOO_SECTIONS", "zoo_sections", "edge_points", "formula_outcome"]


@dataclass(frozen=True)
class _Section:
    name: str
    heading: str
    text: str
    #: input sizes (besides the zoo's sample) at which fields are read from torch
    field_size: dict[str, int]
    #: how torch is read there (``None``: gradients, or single bumps with max pooling)
    method: str | None = None


ZOO_SECTIONS = (
    _Section("unet2d", "U-Net (2-D)", "An encoder of four max-pool halvings and a decoder of "
             "four 2x2 transposed convolutions, each followed by a `torch.cat` with the "
             "encoder's map of the same level; every block is two padded 3x3 convolutions with "
             "instance norms and in-place ReLUs.", {"H": 16, "W": 32}, "bump-axes"),
    _Section("vit", "Vision Transformer", "A strided convolution cuts the image into 8x8 "
             "patches, `flatten` and `transpose` make them tokens, a learnt class token is "
             "concatenated in front and learnt position embeddings are added (their count is "
             "fixed: 16 patches), then a Transformer encoder, a layer norm and a linear head "
             "on the class token.", {"H": 32, "W": 32}),
    _Section("aspp", "DeepLab ASPP", "A stride-4 backbone, then atrous spatial pyramid "
             "pooling: a 1x1 branch, 3x3 branches dilated by 2 and 3, and a global-pooling "
             "branch interpolated back to the map's size read from `x.shape[-2:]`, "
             "concatenated and projected.", {"H": 21, "W": 18}),
    _Section("wavenet", "WaveNet", "A 1-D stack of causal dilated convolutions (`F.pad` on "
             "the left by the dilation, dilations 1, 2, 4, 8), gated `tanh * sigmoid` units, "
             "residual additions and a running sum of skip connections.", {"L": 37}),
)  # fmt: skip


@functools.lru_cache(maxsize=4096)
def latex(expr: Any) -> str:
    """:func:`derive.printing.latex`, once per formula (rows repeat the same sizes); a
    ``Min``/``Max`` of formulas (the hull of joined branches) with each of them so printed."""
    if isinstance(expr, (sp.Min, sp.Max)):
        name = r"\min" if isinstance(expr, sp.Min) else r"\max"
        return name + r"\left(" + ", ".join(latex(a) for a in expr.args) + r"\right)"
    return _latex(expr)


@functools.lru_cache(maxsize=4096)
def compact(expr: Any) -> str:
    """:func:`derive.render.pages.design.compact_latex`, once per formula."""
    from derive.render.pages.design import compact_latex

    return compact_latex(expr)


def _shape(shape: Sequence[Any]) -> str:
    return _math(r"\left(" + ", ".join(latex(d) for d in shape) + r"\right)")


def _blocks(net: Any, layers: Sequence[Any]) -> list[tuple[str, str, list[int]]]:
    """Rows of a trace, consecutive rows inside one ``nn.Sequential`` as one row."""
    from torch import nn

    out: list[tuple[str, str, list[int]]] = []
    for k, layer in enumerate(layers):
        parent = layer.path.rsplit(".", 1)[0] if "." in layer.path else ""
        try:
            block = net.get_submodule(parent) if parent else None
        except AttributeError:
            block = None
        if isinstance(block, nn.Sequential) and out and out[-1][0] == parent:
            out[-1][2].append(k)
        elif isinstance(block, nn.Sequential):
            out.append((parent, f"Sequential ({len(block)} layers)", [k]))
        else:
            out.append((layer.path, layer.kind, [k]))
    return out


def _axes(values: Sequence[Any]) -> str:
    shown = ["-" if v is None else latex(v) for v in values]
    return shown[0] if len(set(shown)) == 1 else r" \times ".join(shown)


def _field_cells(layer: Any) -> list[str]:
    """Size and jump of a row's field; ``all`` and the interval when the row no longer
    carries the input's axes; ``none`` when it depends on no input entry."""
    if not layer.depends:
        return ["none", ""]
    if not layer.spatial:
        spans = r" \times ".join(f"[{latex(lo)}, {latex(hi)}]" for lo, hi in layer.interval())
        return ["all: " + _math(spans), ""]
    if any(v.has(INDEX) for v in layer.size):  # not the same for every output: its interval
        spans = r" \times ".join(f"[{latex(lo)}, {latex(hi)}]" for lo, hi in layer.interval())
        return ["output $i$: " + _math(spans), _math(_axes(layer.jump))]
    size = r" \times ".join(latex(v) for v in layer.size)
    return [_math(size), _math(_axes(layer.jump))]


def _calculus(t: Any, net: Any) -> tuple[Any, Any, Any, dict[str, str], list[Any]]:
    """Fields, cost and memory of the trace; a part derive refuses is ``None`` (and why);
    and each row's cost where derive has the row's rule (``None`` where not)."""
    from derive.calculus import rules
    from derive.calculus.analysis import analyse_trace
    from derive.calculus.graph import Refused

    a = analyse_trace(t, net)
    out: list[Any] = []
    refused: dict[str, str] = {}
    for part, run in (("fields", a.receptive_field), ("cost", a.cost), ("memory", a.memory)):
        try:
            out.append(run())
        except Refused as exc:
            out.append(None)
            refused[part] = str(exc)
    per_row: list[Any] = []
    for g in a.graphs:
        for node in g.rows:
            try:
                per_row.append(rules.cost(g, node))
            except Refused:
                per_row.append(None)
    return out[0], out[1], out[2], refused, per_row


def _rows(net: Any, t: Any, fields: Any, costs: list[Any], memory: Any
          ) -> list[tuple[str, ...]]:  # fmt: skip
    rows = [("(input)", "", _shape(t.input_shape), "", "", "", "", "")]
    for path, kind, members in _blocks(net, t.layers):
        last = members[-1]
        cells = _field_cells(fields.layers[last]) if fields else ["—", "—"]
        if all(costs[k] is not None for k in members):
            params = sp.Add(*(costs[k].params for k in members))
            macs = sp.Add(*(costs[k].macs for k in members))
            cells += [_math(compact(params)), _math(compact(macs))]
        else:
            cells += ["—", "—"]
        if memory is not None:
            kept = sp.Add(*(memory.layers[k].kept_bytes() for k in members))
            cells.append(_math(compact(kept)))
        else:
            cells.append("—")
        rows.append((_code(path), kind, _shape(t.layers[last].shape), *cells))
    return rows


def edge_points(admissible: Any, sample: dict, count: int = 10) -> list[dict]:
    """The sample, the smallest point of each accepted case, the points just below it, the
    largest where there is one and just above it (sizes of at least 1)."""
    points = [dict(sample)]
    for box in admissible.boxes:
        low = {s: v.min() for s, v in box.sizes.items()}
        points.append(low)
        points += [{**low, s: low[s] - 1} for s in low]
        high = {s: v.max() for s, v in box.sizes.items()}
        if all(v is not None for v in high.values()):
            points += [high, {s: v + 1 for s, v in high.items()}]
    out: list[dict] = []
    for p in points:
        if all(v >= 1 for v in p.values()) and p not in out:
            out.append(p)
    return out[:count]


def formula_outcome(t: Any, point: dict) -> tuple[tuple[int, ...] | None, str]:
    """derive's answer at ``point`` from its formulas, derived once for every size: the
    output shape, or ``None`` and the first condition the sizes break (its layer)."""
    from derive.networks.quasi import evaluate

    values = {s: int(v) for s, v in point.items()}
    for c in t.constraints:
        if not evaluate(c.condition, values):
            return None, f"{c.path} ({c.kind})" if c.path else c.kind
    if t.output is None or (t.output and isinstance(t.output[0], tuple)):
        raise ValueError("one output shape, the same in every case, is needed here")
    return tuple(int(evaluate(d, values)) for d in t.output), ""


def _concrete(shape: Sequence[Any], point: dict) -> tuple[int, ...]:
    return tuple(int(sp.sympify(d).xreplace(point)) for d in shape)


def _forward_checks(name: str, net: Any, entry: Any, adm: Any) -> list[tuple[str, ...]]:
    """derive and torch at sizes around the edges of the accepted set (raises on a
    disagreement)."""
    import torch

    rows = []
    t = _summary(name).trace
    for point in edge_points(adm, entry.sample):
        shape = _concrete(entry.input_shape, point)
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                theirs: tuple | None = tuple(net(torch.zeros(shape)).shape)
        except (RuntimeError, ValueError, IndexError, AssertionError):
            theirs = None
        ours, where = formula_outcome(t, point)
        if ours != theirs or (point in adm) != (theirs is not None):
            raise RuntimeError(f"{name} at {point}: derive gives {ours}, torch gives {theirs}")
        sizes = " x ".join(str(v) for v in point.values())
        rows.append((sizes, _code(str(ours)) if ours else f"ShapeError at {_code(where)}",
                     _code(str(theirs)) if theirs else "rejected", "agree"))  # fmt: skip
    return rows


def _sample(section: _Section, entry: Any) -> dict:
    return {s: section.field_size[s.name] for s in entry.sample}


@functools.cache
def _torch_checks(name: str, refused: tuple[str, ...]) -> tuple[str, tuple[tuple[str, ...], ...]]:
    """The checks against torch of one section (cached: the page is rendered more than
    once): the sentences of the calculus checks, and the forward-pass table."""
    from derive.networks.zoo import ZOO

    section = next(s for s in ZOO_SECTIONS if s.name == name)
    entry = ZOO[name]
    net = entry.factory()
    said = " ".join(_design_checks(section, entry, net, set(refused)))
    table = _forward_checks(name, net, entry, _summary(name).admissible)
    return said, tuple(table)


def _design_checks(section: _Section, entry: Any, net: Any, refused: set[str]
                   ) -> list[str]:  # fmt: skip
    """The calculus against torch (raises on a disagreement); the sentences saying so."""
    from derive.calculus.check import (
        check_cost,
        check_memory,
        check_receptive_field,
        fixed_statistics,
        one_thread,
    )
    from derive.grammar import size_symbol

    n = size_symbol("N")
    batch = (n, *entry.input_shape[1:])
    values = {**entry.sample, n: 2}
    at = ", ".join(f"{s} = {v}" for s, v in entry.sample.items())
    said = []
    with one_thread():
        if "cost" not in refused:
            problems = check_cost(net, batch, values) + check_memory(net, batch, values)
            if problems:
                raise RuntimeError(f"{section.name}: {problems}")
            said.append(f"At {at} with a batch of 2, `FlopCounterMode` counts the FLOPs "
                        "derive's formula gives (twice its multiply-accumulates), "
                        "`sum(p.numel())` its parameter count, and autograd keeps the bytes "
                        "its memory formula gives.")  # fmt: skip
        fixed = any("InstanceNorm" in type(m).__name__ for m in net.modules())
        copy = fixed_statistics(net) if fixed else net
        point = _sample(section, entry)
        report = check_receptive_field(copy, entry.input_shape, point, limit=12,
                                       method=section.method)  # fmt: skip
    if report.disagreements:
        raise RuntimeError(f"{section.name}: receptive field {report.disagreements[:3]}")
    from derive.render.pages.design import _HOW

    size = " x ".join(str(v) for v in point.values())
    note = (" (its instance norms at fixed statistics: an instance norm reads the whole map, "
            "and after it a ReLU hides from gradients and bumps what an output depends on; "
            "that rule is checked on networks without the ReLU in `tests/test_calculus_zoo.py`)"
            ) if fixed else ""  # fmt: skip
    said.append(f"Receptive field at {size}{note}: {plural(report.positions, 'output position')}"
                f", read from torch by {_HOW[report.method]}; derive's exact dependency set and "
                f"its formulas agree at every one ({report.interior} interior).")
    return said


def _refusals(refused: dict[str, str]) -> list[str]:
    if not refused:
        return []
    why = {"cost": "cost", "memory": "memory kept for backward", "fields": "receptive field"}
    lines = [f"derive states no total {why[k]} here: {_code(v)}." for k, v in refused.items()]
    if "cost" in refused:
        lines.append("(torch's `FlopCounterMode` on this torch counts an encoder layer's "
                     "projections but not its attention products on the CPU, and nothing on "
                     "the fast path taken without gradients: there is no count to check a "
                     "formula against.)")  # fmt: skip
    return [" ".join(lines), ""]


def _totals(cost: Any, memory: Any, fields: Any) -> list[str]:
    out = []
    if cost is not None:
        out.append(f"Per input, the network has {_math(compact(cost.params))} parameters "
                   f"and does {_math(compact(cost.macs))} multiply-accumulates.")
    if memory is not None:
        out.append(f"A training step keeps {_math(compact(memory.saved_bytes))} bytes "
                   "(float32) for the backward pass.")
    if fields is not None:
        field = fields.output
        if field.spatial:
            size = r" \times ".join(latex(v) for v in field.size)
            out.append(f"One output entry spans {_math(size)} input entries, padding counted.")
        else:
            spans = r" \times ".join(f"[{latex(lo)}, {latex(hi)}]" for lo, hi in
                                     field.interval())  # fmt: skip
            out.append(f"The output as a whole reads {_math(spans)} of the input.")
    return [" ".join(out), ""]


def _accepted(summary: Any) -> list[str]:
    adm = summary.admissible
    lead = "exactly" if adm.exact else "within an outer bound:"
    out = [f"The network accepts {_shape(summary.input_shape)} {lead} when", ""]
    out += [f"- {_code(formula)}, that is {_math(box.to_latex())}"
            for formula, box in zip(summary.accepted_formulas(), adm.boxes)]  # fmt: skip
    return [*out, ""]


def _export(summary: Any) -> list[str]:
    spec = summary.export
    head = ("It covers every accepted size." if spec.complete else
            "It covers part of the accepted sizes; the comments say which and why.")  # fmt: skip
    return [
        f"The `dynamic_shapes` derived from them ({head.lower().rstrip('.')}). The test suite "
        "exports the network with it and runs the exported program at a second size "
        "(`tests/test_networks_zoo.py`).",
        "",
        "```python",
        spec.text(),
        "```",
        "",
    ]


@functools.cache
def _summary(name: str) -> Any:
    """:func:`derive.networks.zoo_summary` (cached: the page is rendered more than once)."""
    from derive.networks import zoo_summary

    return zoo_summary(name)


def _section(section: _Section) -> str:
    from derive.networks.zoo import ZOO

    entry = ZOO[section.name]
    summary = _summary(section.name)
    net, t = entry.factory(), summary.trace
    fields, cost, memory, refused, costs = _calculus(t, net)
    headers = ["Layer", "Type", "Output shape", "Receptive field", "Jump", "Params", "MACs",
               "Kept (bytes)"]  # fmt: skip
    out = [f"## {section.heading}", "", f"{entry.title}. {section.text}", "",
           "### Layer by layer", "",
           "Each `nn.Sequential` block is one row (its output; the sums of its layers).", "",
           _table(headers, _rows(net, t, fields, costs, memory)), ""]  # fmt: skip
    said, forwards = _torch_checks(section.name, tuple(sorted(refused)))
    out += ["### Receptive field, cost and memory", ""]
    out += _totals(cost, memory, fields) + _refusals(refused) + [said, ""]
    out += ["### Accepted input sizes", ""] + _accepted(summary)
    out += ["### torch.export dynamic shapes", ""] + _export(summary)
    out += ["### Checked against torch", "",
            "Forward passes at the sample size and around the edges of the accepted set, "
            "against derive's formulas (derived once, for every size) evaluated there:", "",
            _table([" x ".join(s.name for s in entry.sample), "derive", "torch", ""],
                   forwards), ""]
    return "\n".join(out)


def zoo_sections() -> str:
    """The Markdown of the four sections."""
    intro = [
        "# Networks as people write them",
        "",
        "The same questions for networks of today (`derive.networks.zoo`, small channel "
        "counts), traced the same way: derive runs each network's own `forward` on an input "
        "whose sizes are symbols, Python control flow, `x.shape` arithmetic and "
        "`isinstance` tests included, and composes each row's formulas over the tensors it "
        "reads.",
        "",
    ]
    return "\n".join(intro) + "\n" + "\n".join(_section(s) for s in ZOO_SECTIONS)
