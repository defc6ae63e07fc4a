r"""The site page "One layer, four frameworks": the same layer in PyTorch, Keras, JAX and ONNX.

For a strided convolution, an average pooling and a transposed convolution the page shows the
output size and the zeros each framework chooses, as formulas of the input size $n$
(:mod:`derive.conventions`, printed by :mod:`derive.printing`) and for a range of sizes. When
the page is rendered every number is checked against the frameworks themselves: torch runs
the layer, Keras 3 (JAX backend) builds and calls it, ``jax.eval_shape`` gives JAX's size and
ONNX's shape inference its size; the elements shown are compared with torch, JAX and ONNX's
reference evaluator. A mismatch raises :class:`derive.specs.BuildError`, so a wrong page
cannot be built. ``derive build`` writes it to ``docs/frameworks.md``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy as sp

from derive import printing
from derive.conventions import JAX, KERAS, ONNX, TORCH, Convention, Padded
from derive.conventions.layer import conv_padding, conv_transpose_padding, pool_padding
from derive.grammar import size_symbol
from derive.ops import AVG_POOL, CONV, CONV_TRANSPOSE, Op, TransposedConvolution
from derive.render import md
from derive.specs import BuildError

__all__ = ["render_page", "SIZES", "VOCABULARY", "Vocabulary"]

N = size_symbol("n")
#: the input sizes of the tables
SIZES = tuple(range(5, 11))


@dataclass(frozen=True)
class Spelling:
    """One framework's spelling of the layer and how derive reads it."""

    framework: str
    code: str
    convention: Convention
    padding: object
    output_padding: object = 0


@dataclass(frozen=True)
class Vocabulary:
    """An operation's one-dimensional layer in each framework's own words."""

    #: the class in ``keras.layers``
    keras: str
    #: the function in ``jax.lax`` (weighted layers) or ``jax.example_libraries.stax`` (pooling)
    jax: str
    #: the ONNX operator
    onnx: str


#: the operations of this page, as the frameworks name them (keyed by the registry entry)
VOCABULARY: dict[Op, Vocabulary] = {
    CONV: Vocabulary("Conv1D", "conv_general_dilated", "Conv"),
    AVG_POOL: Vocabulary("AveragePooling1D", "AvgPool", "AveragePool"),
    CONV_TRANSPOSE: Vocabulary("Conv1DTranspose", "conv_transpose", "ConvTranspose"),
}

#: derive's checked rule of each operation's axis under a convention
_PADDING: dict[Op, Callable[..., Padded]] = {
    CONV: conv_padding,
    AVG_POOL: pool_padding,
    CONV_TRANSPOSE: conv_transpose_padding,
}


def _fmt(expr: sp.Expr) -> str:
    return md.math(printing.latex(sp.sympify(expr)))


def _output_padding(op: Op, spelling: Spelling) -> dict[str, object]:
    """``output_padding=`` of the spelling, for the operations that take one."""
    return {"output_padding": spelling.output_padding} if op.takes("output_padding") else {}


# ---------------------------------------------------------------- the frameworks' own layers
def _torch_run(op: Op, spelling: Spelling, x: Any, w: Any, k: int, s: int) -> Any:
    """``op``'s function in ``torch.nn.functional`` (one spatial axis) on ``x`` and ``w``."""
    import torch

    run = getattr(torch.nn.functional, op.torch_function(1))
    if not op.weighted:
        return run(x, k, s, padding=spelling.padding)
    return run(x, w, stride=s, padding=spelling.padding, **_output_padding(op, spelling))


def _keras_layer(op: Op, spelling: Spelling, k: int, s: int) -> Any:
    """``op``'s one-channel Keras 3 layer (JAX backend), without a bias."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    cls = getattr(keras.layers, VOCABULARY[op].keras)
    if not op.weighted:
        return cls(k, s, padding=spelling.padding)
    return cls(1, k, strides=s, padding=spelling.padding, use_bias=False,
               **_output_padding(op, spelling))  # fmt: skip


def _jax_run(op: Op, spelling: Spelling, x: Any, w: Any, k: int, s: int) -> Any:
    """The output row of ``op`` in JAX on ``x`` (``NCH``) and ``w`` (``OIH``)."""
    from jax import lax
    from jax.example_libraries import stax

    name = VOCABULARY[op].jax
    if not op.weighted:  # stax works channels-last
        return getattr(stax, name)((k,), (s,), spelling.padding)[1]((), x[0][:, :, None])[0, :, 0]
    extra = {"transpose_kernel": True} if isinstance(op, TransposedConvolution) else {}
    run = getattr(lax, name)
    return run(x, w, (s,), spelling.padding, dimension_numbers=("NCH", "OIH", "NCH"), **extra)[0, 0]


def _onnx_model(op: Op, spelling: Spelling, n: int, k: int, s: int, w: list) -> Any:
    """A one-node ONNX model of ``op`` on an input of ``n`` entries (opset 22)."""
    from onnx import TensorProto, helper

    inputs, inits = ["x"], []
    if op.weighted:
        inputs.append("w")
        inits.append(helper.make_tensor("w", TensorProto.FLOAT, (1, 1, k), list(w)))
    node = helper.make_node(VOCABULARY[op].onnx, inputs, ["y"], kernel_shape=[k], strides=[s],
                            auto_pad=spelling.padding)  # fmt: skip
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, n])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=inits,
    )  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])


# ---------------------------------------------------------------- the frameworks' own sizes
def _torch_size(op: Op, spelling: Spelling, n: int, k: int, s: int) -> int:
    import torch

    x, w = torch.zeros(1, 1, n, dtype=torch.float64), torch.zeros(1, 1, k, dtype=torch.float64)
    return int(_torch_run(op, spelling, x, w, k, s).shape[-1])


def _keras_size(op: Op, spelling: Spelling, n: int, k: int, s: int) -> int:
    import numpy as np

    return int(_keras_layer(op, spelling, k, s)(np.zeros((1, n, 1), np.float32)).shape[1])


def _jax_size(op: Op, spelling: Spelling, n: int, k: int, s: int) -> int:
    import jax
    import numpy as np

    x = jax.ShapeDtypeStruct((1, 1, n), np.float32)
    w = jax.ShapeDtypeStruct((1, 1, k), np.float32)
    return int(jax.eval_shape(lambda x, w: _jax_run(op, spelling, x, w, k, s), x, w).shape[-1])


def _onnx_size(op: Op, spelling: Spelling, n: int, k: int, s: int) -> int:
    from onnx import shape_inference

    model = _onnx_model(op, spelling, n, k, s, [0.0] * k)
    inferred = shape_inference.infer_shapes(model, strict_mode=True)
    return int(inferred.graph.output[0].type.tensor_type.shape.dim[-1].dim_value)


_SIZES: dict[Convention, Callable[[Op, Spelling, int, int, int], int]] = {
    TORCH: _torch_size, KERAS: _keras_size, JAX: _jax_size, ONNX: _onnx_size,
}  # fmt: skip


def _their_size(op: Op, spelling: Spelling, n: int, k: int, s: int) -> int:
    return _SIZES[spelling.convention](op, spelling, n, k, s)


# ---------------------------------------------------------------- derive's side
def _zeros(op: Op) -> str:
    """The heading of the zeros column: a transposed layer crops, then appends."""
    if isinstance(op, TransposedConvolution):
        return "cropped (before, after) + appended"
    return "zeros (before, after)"


def _rule(op: Op, spelling: Spelling, n: object, k: int, s: int) -> Padded:
    rule = _PADDING[op]
    return rule(n, k, s, spelling.padding, **_output_padding(op, spelling),
                convention=spelling.convention)  # fmt: skip


def _pair(before: sp.Expr, after: sp.Expr, extra: sp.Expr) -> str:
    pads = f"({printing.latex(before)},\\ {printing.latex(after)})"
    return pads + (f" + {printing.latex(extra)}" if extra != 0 else "")


def _pads(rule, s: int) -> str:
    """The zeros as a formula, or one constant pair per residue of $n$ modulo the stride."""
    values = (rule.before, rule.after, rule.output_padding)
    if not any(sp.sympify(v).has(N) for v in values):
        return md.math(_pair(*values))
    q = sp.Symbol("q", integer=True, nonnegative=True)
    cases = []
    for r in range(s):
        at = [sp.simplify(sp.sympify(v).subs(N, s * q + r)) for v in values]
        if any(v.free_symbols for v in at):
            return md.math(_pair(*values))
        cases.append(f"n \\equiv {r} \\pmod{{{s}}}:\\ {_pair(*at)}")
    return "; ".join(md.math(c) for c in cases)


def _cell(rule) -> str:
    extra = f"+{rule.output_padding}" if rule.output_padding != 0 else ""
    return f"{rule.size} `({rule.before}, {rule.after}){extra}`"


def _section(op: Op, title: str, text: str, k: int, s: int, spellings: list[Spelling]) -> str:
    """A layer's section: its spellings, the formulas, and sizes checked against each framework."""
    formulas, numbers = [], []
    for sp_ in spellings:
        rule = _rule(op, sp_, N, k, s)
        formulas.append([sp_.framework, md.code(sp_.code), _fmt(rule.size), _pads(rule, s)])
        row = [sp_.framework]
        for n in SIZES:
            ours = _rule(op, sp_, n, k, s)
            theirs = _their_size(op, sp_, n, k, s)
            if theirs != int(ours.size):
                raise BuildError(f"{sp_.framework} gives {theirs} for n={n}, derive {ours.size}")
            row.append(_cell(ours))
        numbers.append(row)
    return "\n\n".join([
        f"## {title}", text,
        md.table(["framework", "layer", "output size", _zeros(op)], formulas),
        "Each cell is the size, then the zeros, for an input of $n$ entries; every size was "
        "computed by the framework itself when this page was built:",
        md.table(["framework", *(f"$n = {n}$" for n in SIZES)], numbers),
    ])  # fmt: skip


# ---------------------------------------------------------------- elements
def _derive_elements(op: Op, spelling: Spelling, x: list, w: list, k: int, s: int) -> list:
    """derive's outputs of ``op`` on one row ``x`` (its engine function, in two dimensions)."""
    p = spelling.padding
    p = (0, p) if isinstance(p, int) else p  # one row: no zeros above or below
    options: dict[str, object] = {"convention": spelling.convention}
    if op.takes("output_padding"):
        extra = spelling.output_padding
        options["output_padding"] = None if extra is None else (0, extra)
    if op.weighted:
        out = op.elements([[x]], [[[w]]], None, (1, s), p, **options)
    else:
        out = op.elements([[x]], (1, k), (1, s), p, **options)
    return list(out.tolist()[0][0])


def _torch_elements(op: Op, spelling: Spelling, x: list, w: list, k: int, s: int) -> list[float]:
    import torch

    t, wt = (torch.tensor([[v]], dtype=torch.float64) for v in (x, w))
    return _torch_run(op, spelling, t, wt, k, s)[0, 0].tolist()


def _jax_elements(op: Op, spelling: Spelling, x: list, w: list, k: int, s: int) -> list[float]:
    import numpy as np

    xa, wa = np.array([[x]], np.float32), np.array([[w]], np.float32)
    return np.asarray(_jax_run(op, spelling, xa, wa, k, s)).tolist()


def _onnx_elements(op: Op, spelling: Spelling, x: list, w: list, k: int, s: int) -> list[float]:
    import numpy as np
    from onnx.reference import ReferenceEvaluator

    model = _onnx_model(op, spelling, len(x), k, s, w)
    xa = np.array([[x]], np.float32)
    return ReferenceEvaluator(model).run(None, {"x": xa})[0][0, 0].tolist()


def _keras_elements(op: Op, spelling: Spelling, x: list, w: list, k: int, s: int) -> list[float]:
    import numpy as np

    xa = np.array(x, np.float32).reshape(1, len(x), 1)
    layer = _keras_layer(op, spelling, k, s)
    if op.weighted:
        layer.build(xa.shape)
        layer.set_weights([np.array(w, np.float32).reshape(k, 1, 1)])
    return np.asarray(layer(xa))[0, :, 0].tolist()


_ELEMENTS: dict[Convention, Callable[..., list[float]]] = {
    TORCH: _torch_elements, JAX: _jax_elements, ONNX: _onnx_elements, KERAS: _keras_elements,
}  # fmt: skip


def _elements(op: Op, spellings: list[Spelling], n: int, k: int, s: int) -> str:
    """The outputs as expressions of the inputs, each checked in numbers against the framework."""
    xs = list(sp.symbols(f"x_0:{n}"))
    ws = list(sp.symbols(f"w_0:{k}")) if op.weighted else []
    values = {**{x: i + 1 for i, x in enumerate(xs)}, **{w: 2 * i + 1 for i, w in enumerate(ws)}}
    rows = []
    for sp_ in spellings:
        ours = _derive_elements(op, sp_, xs, ws, k, s)
        numeric = [float(sp.sympify(e).subs(values)) for e in ours]
        theirs = _ELEMENTS[sp_.convention](op, sp_, [values[x] for x in xs],
                                           [values[w] for w in ws], k, s)  # fmt: skip
        if len(theirs) != len(numeric) or any(abs(a - b) > 1e-6 for a, b in zip(numeric, theirs)):
            raise BuildError(f"{sp_.framework}: {theirs} against derive's {numeric}")
        rows.append([sp_.framework, *(md.math(printing.latex(e)) for e in ours)])
    width = max(len(r) for r in rows) - 1
    rows = [r + [""] * (width + 1 - len(r)) for r in rows]
    numbers = ", ".join(f"${sp.latex(x)} = {v}$" for x, v in values.items())
    return "\n\n".join([
        f"With $n = {n}$ every output, as derive derives it (checked with {numbers} against "
        "each framework's own output):",
        md.table(["framework", *(f"$y_{i}$" for i in range(width))], rows),
    ])  # fmt: skip


_INTRO = """\
# One layer, four frameworks

The same layer is written differently in PyTorch, Keras, JAX and ONNX, and the frameworks do not
always pad it the same way. derive reads each framework's own spelling (the `convention=`
argument: `"torch"`, `"keras"`, `"jax"`, `"onnx"`, and `"tf"` for `tf.nn`) and returns the output
size *and* the zeros the framework adds, as formulas valid for every input size $n$:

```python
>>> r = derive.conv_padding(n, 3, stride=2, padding="SAME", convention="tf")
>>> r.size
{size}
```

Below, three layers side by side. Where the zeros depend on $n \\bmod s$, the tables give them
for each remainder. Every size in the tables was also computed by the framework itself (torch
runs the layer, Keras 3 builds it, `jax.eval_shape` and ONNX's shape inference give their
sizes), and every element shown was compared, in numbers, with torch, JAX, Keras and ONNX's
reference evaluator when this page was built.
"""

_CONV_TEXT = (
    "Kernel 3, stride 2: every framework gives $\\lceil n/2 \\rceil$ outputs, but torch pads "
    "one zero on each side whatever $n$, while SAME pads one zero *after* an even input and one "
    "on each side of an odd one (ONNX's SAME_LOWER puts the odd zero first). On an even input "
    "the windows therefore start one entry apart: the same weights give different outputs."
)
_POOL_TEXT = (
    "Average pooling, window 3, stride 2. The sizes agree; the divisors do not. torch counts "
    "the padding zeros (`count_include_pad=True`); TensorFlow, Keras and JAX (`stax.AvgPool`) "
    "divide by the input entries of the window only, and so does ONNX by default "
    "(`count_include_pad=0`)."
)
_TRANSPOSE_TEXT = (
    "Transposed convolution, kernel 3, stride 2, doubling the size. torch needs `padding=1` and "
    "`output_padding=1` (crop one entry on each side, append one zero); Keras (with "
    "`output_padding=None`, inferred), JAX and ONNX's SAME_UPPER crop one entry at the end only, "
    "so their outputs are shifted by one against torch's; ONNX's SAME_LOWER crops at the front, "
    "as torch does."
)


def _spellings() -> dict[Op, list[Spelling]]:
    onnx = "{op}(kernel_shape=[3], strides=[2], auto_pad={pad!r})"
    conv, pool, transpose = (VOCABULARY[op] for op in (CONV, AVG_POOL, CONV_TRANSPOSE))
    return {
        CONV: [
            Spelling("PyTorch", "Conv1d(1, 1, 3, stride=2, padding=1)", TORCH, 1),
            Spelling("Keras", f'{conv.keras}(1, 3, strides=2, padding="same")', KERAS, "same"),
            Spelling("JAX", f'lax.{conv.jax}(x, w, (2,), "SAME")', JAX, "SAME"),
            *(Spelling(f"ONNX {p}", onnx.format(op=conv.onnx, pad=p), ONNX, p)
              for p in ("SAME_UPPER", "SAME_LOWER")),
        ],
        AVG_POOL: [
            Spelling("PyTorch", "AvgPool1d(3, 2, padding=1)", TORCH, 1),
            Spelling("Keras", f'{pool.keras}(3, 2, padding="same")', KERAS, "same"),
            Spelling("JAX", f'stax.{pool.jax}((3,), (2,), "SAME")', JAX, "SAME"),
            Spelling("ONNX", onnx.format(op=pool.onnx, pad="SAME_UPPER"), ONNX, "SAME_UPPER"),
        ],
        CONV_TRANSPOSE: [
            Spelling("PyTorch", "ConvTranspose1d(1, 1, 3, stride=2, padding=1, output_padding=1)",
                     TORCH, 1, 1),
            Spelling("Keras", f'{transpose.keras}(1, 3, strides=2, padding="same")', KERAS,
                     "same", None),
            Spelling("JAX", f'lax.{transpose.jax}(x, w, (2,), "SAME")', JAX, "SAME"),
            *(Spelling(f"ONNX {p}", onnx.format(op=transpose.onnx, pad=p), ONNX, p)
              for p in ("SAME_UPPER", "SAME_LOWER")),
        ],
    }  # fmt: skip


def render_page() -> str:
    """The page's Markdown, every number checked against the frameworks (raises otherwise)."""
    spellings = _spellings()
    parts = [_INTRO.replace("{size}", str(conv_padding(N, 3, 2, "SAME", convention="tf").size))]
    layers = [
        (CONV, "A strided convolution", _CONV_TEXT, 6),
        (AVG_POOL, "Average pooling: one size, two divisors", _POOL_TEXT, 6),
        (CONV_TRANSPOSE, "A transposed convolution that doubles the size", _TRANSPOSE_TEXT, 3),
    ]
    for op, title, text, n in layers:
        parts.append(_section(op, title, text, 3, 2, spellings[op]))
        parts.append(_elements(op, spellings[op], n, 3, 2))
    parts.append(
        "The conventions are `derive.conventions` (one module per framework); the checks above "
        "run again in the test suite over random layers, including those the frameworks reject."
    )
    return "\n\n".join(parts).rstrip() + "\n"
