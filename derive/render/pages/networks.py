r"""The site page "Shapes through classic networks" (and networks as people write them
today), computed when it is rendered.

For LeNet, AlexNet, VGG-11, NiN and ResNet-18 (and ResNet's residual block) the page shows
every layer's output shape as a formula in the input's height $H$ and width $W$, the exact
set of accepted sizes, a check against torch forward passes at several sizes (a mismatch
raises, so a wrong page cannot be built), and torch's own symbolic result (fake tensors
with a ``ShapeEnv``) with the guards it holds under; and, per layer, the receptive field, the
parameters, the multiply-accumulates and the memory kept for backward
(:mod:`derive.render.pages.design`), checked against torch. Then a U-Net, a Vision
Transformer, DeepLab's ASPP and WaveNet (:mod:`derive.render.pages.networks_zoo`): their
accepted sizes as formulas and their ``torch.export`` dynamic shapes as well.

Deterministic: no timings, addresses or dates, so rebuilding gives the same bytes.
``derive build`` writes it to ``docs/networks.md`` through :func:`render_page`.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import sympy as sp

from derive.grammar import size_symbol
from derive.printing import latex
from derive.render.md import code as _code
from derive.render.md import math as _math
from derive.render.md import table as _table
from derive.render.pages.design import HEADERS, design_section, layer_cells
from derive.render.pages.networks_zoo import formula_outcome, zoo_sections

__all__ = ["render_page", "SLIM_WIDTH"]

#: channel factor of the copies run through torch (spatial sizes do not depend on it)
SLIM_WIDTH = 1 / 16

H, W = size_symbol("H"), size_symbol("W")

_DESCRIPTIONS = {
    "LeNet": "Two convolutions with sigmoid activations, each followed by average pooling, "
    "then three fully connected layers.",
    "AlexNet": "A large strided convolution, max pooling with overlapping windows, more "
    "convolutions and three fully connected layers with dropout.",
    "VGG-11": "Five VGG blocks of padded 3x3 convolutions, each ending in a max pooling that "
    "halves the size, then three fully connected layers.",
    "NiN": "NiN blocks (a convolution followed by two 1x1 convolutions) with max pooling; "
    "no fully connected layer: global average pooling yields the class scores.",
    "ResNet-18": "A strided convolution and max pooling, four stages of two residual blocks "
    "(each stage after the first halves the size), global average pooling and one fully "
    "connected layer.",
}

#: the residual block shown on its own: Residual(*RESIDUAL_ARGS, use_1x1conv=True, strides=2)
RESIDUAL_ARGS = (64, 128)

_INTRO = f"""\
# Shapes through classic networks

What shape comes out of a network, and which input sizes does it accept? derive answers
both for **every** size at once: it runs the network's own `forward` on an input of shape
$(1, 1, H, W)$ whose sizes $H$ and $W$ are symbols, every layer and tensor operation answered
by its shape rule (``derive.output_shape``, or
``derive explain MODULE:FACTORY --input 1,1,H,W --admissible`` on the command line), and
solves the conditions the layers impose (kernels must fit, a fully connected layer needs a
fixed flattened size, residual additions need equal shapes). Formulas are printed the way
people write them, each form proved equal to the engine's expression (`derive.printing`).
The classic networks come first; networks as people write them today (a U-Net, a Vision
Transformer, DeepLab's ASPP and WaveNet: [below](#networks-as-people-write-them)) follow.

The networks are those of the book, built with `torch.nn` in `derive.networks.classic`
(grey-scale input, as for Fashion-MNIST). The formulas below are derived for the book's channel
counts. The checks against torch run real forward passes on copies with every channel
count multiplied by {SLIM_WIDTH:g} (at least 1): spatial sizes do not depend on channel counts,
and the check compares all of the copy's output shape.

Beside each layer's shape, the tables give its **receptive field** (the $R_h \\times R_w$
window of the input that one output entry spans, padding counted, and the *jump*: how far
that window moves when the output index grows by one), its **parameters**, its
**multiply-accumulates** and the **bytes it keeps for the backward pass** in training
(float32; a tensor kept by two layers is counted at the first). All are formulas in $H$ and
$W$: ``derive.receptive_field``, ``derive.cost`` and ``derive.memory``, or
``derive explain ... --receptive-field --cost --memory``.

torch has its own symbolic shapes: fake tensors whose sizes come from a `ShapeEnv`. It
traces at one *sample* size and records *guards*, conditions under which its result holds;
elsewhere torch traces again. The last part of each section shows that result next to
derive's and finds accepted sizes where torch's guards fail.
"""


def _latex_shape(shape: Sequence[sp.Expr]) -> str:
    return r"\left(" + ", ".join(latex(d) for d in shape) + r"\right)"


def _condensed(layers: Sequence[Any], blocks: set[str]) -> list[tuple[str, str, Any]]:
    """Rows of a trace, a residual block reduced to one row (its output)."""
    rows: list[tuple[str, str, Any]] = []
    for layer in layers:
        block = next((b for b in blocks if layer.path.startswith(b + ".")), None)
        if block is None:
            rows.append((layer.path, layer.kind, layer.shape))
        elif rows and rows[-1][0] == block:
            rows[-1] = (block, "Residual", layer.shape)
        else:
            rows.append((block, "Residual", layer.shape))
    return rows


def _torch_outcome(net: Any, size: tuple[int, int]) -> tuple[int, ...] | None:
    import torch

    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return tuple(net(torch.zeros(1, 1, *size)).shape)
    except (RuntimeError, ValueError, IndexError):
        return None




def _check_sizes(admissible: Any, book: int) -> list[tuple[int, int]]:
    """The book's size, the corners of every accepted box and the sizes just outside them."""
    sizes = {(book, book)}
    for box in admissible.boxes:
        h, w = (box.sizes[s] for s in (H, W))
        hlo, wlo = h.min(), w.min()
        hhi = h.max() if h.max() is not None else hlo + 61
        whi = w.max() if w.max() is not None else wlo + 37
        sizes |= {(hlo, wlo), (hhi, whi), (hlo - 1, wlo), (hlo, wlo - 1)}
        if h.max() is not None:
            sizes.add((hhi + 1, whi))
        if w.max() is not None:
            sizes.add((hhi, whi + 1))
    return sorted(s for s in sizes if min(s) >= 1)


def _section(
    name: str,
    factory: Callable[..., Any],
    book: int,
    residual_blocks: bool,
) -> tuple[str, Any]:
    """One network's section: layers, design columns, accepted sizes, torch's checks."""
    import torch

    from derive.networks.admissible import solve_constraints
    from derive.networks.trace import trace

    with torch.device("meta"):
        full = factory()
    t = trace(full, (1, 1, H, W))
    adm = solve_constraints(t.constraints, t.symbols)
    out = [f"## {name}", "", _DESCRIPTIONS[name], ""]
    out += _layers_part(name, full, t, factory, book, residual_blocks)
    out += _accepted_part(t, adm)
    probe = _probe_path(full)
    theirs = _torch_symbolic(name, factory, book, probe)
    candidates = _check_sizes(adm, book)
    out += _checked_part(name, factory(SLIM_WIDTH), candidates, adm)
    out += _torch_symbolic_part(name, t, adm, theirs, probe, book, candidates)
    return "\n".join(out), full


def _layers_part(
    name: str, full: Any, t: Any, factory: Callable[..., Any], book: int, residual_blocks: bool
) -> list[str]:
    """The layer-by-layer table (residual blocks condensed) and the design section."""
    from derive.calculus.analysis import analyse_trace

    blocks = {
        path for path, m in full.named_modules() if type(m).__name__ == "Residual"
    } if residual_blocks else set()  # fmt: skip
    condensed = _condensed(t.layers, blocks)
    analysis = analyse_trace(t, full)
    extra = layer_cells(analysis, [path for path, _, _ in condensed], blocks)
    rows = [("(input)", "", _math(_latex_shape(t.input_shape)), *[""] * len(HEADERS))]
    rows += [
        (_code(path), kind, _math(_latex_shape(shape)), *cells)
        for (path, kind, shape), cells in zip(condensed, extra)
    ]
    out = ["### Layer by layer", ""]
    if blocks:
        out += ["Each residual block is one row here (its output); the block itself is "
                "traced in [the next section](#the-residual-block).", ""]  # fmt: skip
    out += [_table(["Layer", "Type", "Output shape", *HEADERS], rows), ""]
    return out + design_section(name, analysis, factory, book, SLIM_WIDTH)


def _accepted_part(t: Any, adm: Any) -> list[str]:
    """The conditions the layers set and derive's exact set of accepted sizes."""
    out = ["### Accepted input sizes", ""]
    fixed = [c for c in t.constraints if isinstance(c.condition, sp.Eq)]
    for c in fixed:
        out += [
            f"Layer {_code(c.path)} ({c.kind}) needs "
            f"{_math(latex(c.condition.lhs) + ' = ' + latex(c.condition.rhs))}. "
            "Sizes are integers, so each factor is a divisor and the product splits into "
            "cases, each solved exactly along the residue classes of the sizes.",
            "",
        ]
    others: dict[str, list[Any]] = {}
    for c in t.constraints:
        positivity = isinstance(c.condition, sp.GreaterThan) and c.condition.rhs == 1
        if not positivity and not isinstance(c.condition, sp.Eq):
            others.setdefault(c.kind, []).append(c)
    for kind, found in others.items():
        last = found[-1]
        more = f" ({len(found) - 1} more such conditions, on larger sizes, from earlier layers)"
        out += [
            f"Layer {_code(last.path)} ({kind}) needs {_math(latex(last.condition))}: "
            f"{last.reason.split(',')[0]}" + (more if len(found) > 1 else "") + ".",
            "",
        ]
    lead = "derive's answer (exact)" if adm.exact else "derive's answer (an outer bound)"
    out += [f"{lead}: the network accepts $(1, 1, H, W)$ exactly when", ""]
    out += [f"- {_math(box.to_latex())}" for box in adm.boxes]
    smallest = {s.name: adm.smallest(s) for s in (H, W)}
    return out + [
        "",
        f"Smallest accepted height {smallest['H']} and width {smallest['W']} "
        "(each on its own; the cases above say which pairs).",
        "",
    ]


def _checked_part(name: str, slim: Any, candidates: list[tuple[int, int]], adm: Any) -> list[str]:
    """Forward passes of the slimmed copy against derive's formulas at each candidate size
    (a disagreement stops the build)."""
    from derive.networks.trace import trace

    table = []
    slim_trace = trace(slim, (1, 1, H, W))
    for size in candidates:
        expected = _torch_outcome(slim, size)
        got, where = formula_outcome(slim_trace, {H: size[0], W: size[1]})
        if got != expected:
            raise RuntimeError(f"{name} at {size}: derive gives {got}, torch gives {expected}")
        if (size in adm) != (expected is not None):
            raise RuntimeError(f"{name} at {size}: admissible set disagrees with torch")
        shown = "rejected" if expected is None else _code(str(expected))
        table.append((
            f"{size[0]} x {size[1]}",
            _code(str(got)) if got is not None else f"ShapeError at {_code(where)}",
            shown,
            "agree",
        ))  # fmt: skip
    return [
        "### Checked against torch",
        "",
        f"Forward passes of the slimmed copy (channels x {SLIM_WIDTH:g}) at the book's size "
        "and around the edges of the accepted set, against derive's formulas for the copy "
        "(derived once, for every size) evaluated there:",
        "",
        _table(["H x W", "derive", "torch", ""], table),
        "",
    ]


def _torch_symbolic_part(
    name: str, t: Any, adm: Any, theirs: Any, probe: str, book: int,
    candidates: list[tuple[int, int]],
) -> list[str]:
    """torch's fake-tensor answer beside derive's: its guards, its lower bounds, and the
    accepted sizes where its guards fail."""
    ours_probe = next(layer.shape for layer in reversed(t.layers) if _inside(layer.path, probe))
    outside = [
        (size, theirs.failing_guards({"H": size[0], "W": size[1]}))
        for size in candidates
        if size in adm
    ]
    outside = [(size, failing) for size, failing in outside if failing]
    out = [
        "### torch's symbolic shape",
        "",
        f"Fake tensors at the sample size {book} x {book}, $H$ and $W$ dynamic. Output of "
        f"layer {_code(probe)}:",
        "",
        f"- torch: {_code('(' + ', '.join(theirs.probe or ()) + ')')}, valid under "
        f"{len(theirs.guards)} guards; ranges recorded: {', '.join(theirs.ranges) or 'none'}",
        f"- derive: {_math(_latex_shape(ours_probe))}, valid for every accepted size",
        "",
        f'??? note "torch\'s {len(theirs.guards)} guards"',
        "    ```text",
        *[f"    {g}" for g in theirs.guards],
        "    ```",
        "",
    ]
    for s in (H, W):
        ours, torchs = adm.smallest(s), theirs.lower.get(s.name)
        if torchs is not None and ours is not None and ours < torchs:
            out += [
                f"torch's `ShapeEnv` records ${s.name} \\ge {torchs}$; the smallest "
                f"accepted ${s.name}$ is {ours}.",
                "",
            ]
    if not outside:
        return out + ["Every accepted size checked above satisfies torch's guards.", ""]
    size, failing = outside[0]
    return out + [
        f"At {size[0]} x {size[1]}, which {name} accepts (see the check above), torch's "
        f"guard {_code(failing[0])} is false: torch's symbolic result does not apply "
        "there and torch would trace again. "
        + (f"{len(outside)} of the accepted sizes checked above are like this."
           if len(outside) > 1 else ""),
        "",
    ]  # fmt: skip


@functools.cache
def _torch_symbolic(name: str, factory: Callable[..., Any], book: int, probe: str) -> Any:
    """torch's fake-tensor run of the full network (cached: the page is rendered more than
    once; torch's answer does not change)."""
    import torch

    from derive.networks.torch_symbolic import torch_symbolic

    with torch.device("meta"):
        full = factory()
    return torch_symbolic(full, (1, 1, H, W), {H: book, W: book}, probe=probe,
                          copy_module=False)  # a meta network of its own: nothing to copy


def _inside(path: str, probe: str) -> bool:
    return path == probe or path.startswith(probe + ".")


def _probe_path(net: Any) -> str:
    """The last top-level layer before flattening or global pooling."""
    names = [name for name, _ in net.named_children()]
    for i, (_, child) in enumerate(net.named_children()):
        if type(child).__name__ in ("Flatten", "AdaptiveAvgPool2d") and i > 0:
            return names[i - 1]
    return names[-1]


def _residual_section() -> str:
    from derive.networks.classic import Residual
    from derive.networks.trace import trace

    cin, cout = RESIDUAL_ARGS
    block = Residual(cin, cout, use_1x1conv=True, strides=2)
    block.eval()
    t = trace(block, (1, cin, H, W))
    shapes = {layer.path: layer.shape for layer in t.layers}
    same = shapes["conv1"] == shapes["conv3"]
    rows = [("(input)", "", _math(_latex_shape(t.input_shape)))]
    rows += [
        (_code(layer.path), layer.kind, _math(_latex_shape(layer.shape))) for layer in t.layers
    ]
    if same:
        shortcut = (
            "The shortcut's 1x1 convolution with stride 2 (`conv3`) gives exactly the size "
            "formula of the main path's padded 3x3 convolution with stride 2 (`conv1`), so "
            "the in-place addition adds no condition on $H$ and $W$"
        )
    else:
        shortcut = "The shortcut and the main path give different formulas"
    left = len(t.constraints)
    return "\n".join([
        "## The residual block",
        "",
        f"`Residual({cin}, {cout}, use_1x1conv=True, strides=2)` in evaluation mode, traced "
        "by running its own `forward` (which adds the input to the output of two "
        f"convolutions, `Y += X`). {shortcut}; conditions left for this block: {left}.",
        "",
        _table(["Node", "Type", "Output shape"], rows),
        "",
    ])  # fmt: skip


def render_page() -> str:
    """The page's Markdown (arithmatex ``$...$`` and ``$$...$$``)."""
    import torch

    from derive.networks.classic import CLASSIC, SAMPLE_SIZE

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    try:
        parts = [_INTRO]
        for name, factory in CLASSIC.items():
            residual = name == "ResNet-18"
            text, _ = _section(name, factory, SAMPLE_SIZE[name], residual_blocks=residual)
            parts.append(text)
            if name == "ResNet-18":
                parts.append(_residual_section())
        parts.append(zoo_sections())
    finally:
        torch.set_num_threads(threads)
    return "\n".join(parts).rstrip("\n") + "\n"
