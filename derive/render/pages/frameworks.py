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
from derive.conventions.layer import conv_padding, conv_transpose_padding, pool_padding
from derive.grammar import size_symbol
from derive.render import md
from derive.specs import BuildError

__all__ = ["render_page", "SIZES"]

N = size_symbol("n")
#: the input sizes of the tables
SIZES = tuple(range(5, 11))


@dataclass(frozen=True)
class Spelling:
    """One framework's spelling of the layer and how derive reads it."""

    framework: str
    code: str
    convention: str
    padding: object
    output_padding: object = 0


def _fmt(expr: sp.Expr) -> str:
    return md.math(printing.latex(sp.sympify(expr)))


# ---------------------------------------------------------------- the frameworks' own sizes
def _torch_size(kind: str, n: int, k: int, s: int, padding: int, output_padding: int = 0) -> int:
    import torch

    F = torch.nn.functional
    x = torch.zeros(1, 1, n, dtype=torch.float64)
    if kind == "conv":
        y = F.conv1d(x, torch.zeros(1, 1, k, dtype=torch.float64), stride=s, padding=padding)
    elif kind == "pool":
        y = F.avg_pool1d(x, k, s, padding=padding)
    else:
        w = torch.zeros(1, 1, k, dtype=torch.float64)
        y = F.conv_transpose1d(x, w, stride=s, padding=padding, output_padding=output_padding)
    return int(y.shape[-1])


def _keras_size(kind: str, n: int, k: int, s: int, padding: str, output_padding=None) -> int:
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    import numpy as np

    layers = {
        "conv": lambda: keras.layers.Conv1D(1, k, strides=s, padding=padding),
        "pool": lambda: keras.layers.AveragePooling1D(k, s, padding=padding),
        "transpose": lambda: keras.layers.Conv1DTranspose(
            1, k, strides=s, padding=padding, output_padding=output_padding
        ),
    }
    return int(layers[kind]()(np.zeros((1, n, 1), np.float32)).shape[1])


def _jax_size(kind: str, n: int, k: int, s: int, padding: str) -> int:
    import jax
    import numpy as np
    from jax import lax

    x = jax.ShapeDtypeStruct((1, 1, n), np.float32)
    w = jax.ShapeDtypeStruct((1, 1, k), np.float32)
    dn = ("NCH", "OIH", "NCH")
    calls: dict[str, Callable[[], Any]] = {
        "conv": lambda: lax.conv_general_dilated(x, w, (s,), padding, dimension_numbers=dn),
        "pool": lambda: lax.reduce_window(x, 0.0, lax.add, (1, 1, k), (1, 1, s), padding),
        "transpose": lambda: lax.conv_transpose(x, w, (s,), padding, dimension_numbers=dn),
    }
    return int(jax.eval_shape(calls[kind]).shape[-1])


def _onnx_size(kind: str, n: int, k: int, s: int, auto_pad: str) -> int:
    import numpy as np
    from onnx import TensorProto, helper, shape_inference

    op = {"conv": "Conv", "pool": "AveragePool", "transpose": "ConvTranspose"}[kind]
    inputs, inits = ["x"], []
    if kind != "pool":
        inputs.append("w")
        inits.append(helper.make_tensor("w", TensorProto.FLOAT, (1, 1, k), np.zeros(k).tolist()))
    node = helper.make_node(op, inputs, ["y"], kernel_shape=[k], strides=[s], auto_pad=auto_pad)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, n])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=inits,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])
    inferred = shape_inference.infer_shapes(model, strict_mode=True)
    return int(inferred.graph.output[0].type.tensor_type.shape.dim[-1].dim_value)


def _their_size(kind: str, spelling: Spelling, n: int, k: int, s: int) -> int:
    runners = {"torch": _torch_size, "keras": _keras_size, "jax": _jax_size, "onnx": _onnx_size}
    args: tuple = (kind, n, k, s, spelling.padding)
    if kind == "transpose" and spelling.convention in ("torch", "keras"):
        args += (spelling.output_padding,)
    return runners[spelling.convention](*args)


# ---------------------------------------------------------------- derive's side
_ZEROS = {
    "conv": "zeros (before, after)",
    "pool": "zeros (before, after)",
    "transpose": "cropped (before, after) + appended",
}

def _rule(kind: str, spelling: Spelling, n: object, k: int, s: int):
    c, p = spelling.convention, spelling.padding
    if kind == "conv":
        return conv_padding(n, k, s, p, convention=c)
    if kind == "pool":
        return pool_padding(n, k, s, p, convention=c)
    return conv_transpose_padding(n, k, s, p, spelling.output_padding, convention=c)


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


def _section(kind: str, title: str, text: str, k: int, s: int, spellings: list[Spelling]) -> str:
    """A layer's section: its spellings, the formulas, and sizes checked against each framework."""
    formulas, numbers = [], []
    for sp_ in spellings:
        rule = _rule(kind, sp_, N, k, s)
        formulas.append([sp_.framework, md.code(sp_.code), _fmt(rule.size), _pads(rule, s)])
        row = [sp_.framework]
        for n in SIZES:
            ours = _rule(kind, sp_, n, k, s)
            theirs = _their_size(kind, sp_, n, k, s)
            if theirs != int(ours.size):
                raise BuildError(f"{sp_.framework} gives {theirs} for n={n}, derive {ours.size}")
            row.append(_cell(ours))
        numbers.append(row)
    return "\n\n".join([
        f"## {title}", text,
        md.table(["framework", "layer", "output size", _ZEROS[kind]], formulas),
        "Each cell is the size, then the zeros, for an input of $n$ entries; every size was "
        "computed by the framework itself when this page was built:",
        md.table(["framework", *(f"$n = {n}$" for n in SIZES)], numbers),
    ])  # fmt: skip


# ---------------------------------------------------------------- elements
def _derive_elements(kind: str, spelling: Spelling, x: list, w: list, k: int, s: int) -> list:
    import derive

    c, p = spelling.convention, spelling.padding
    p = (0, p) if isinstance(p, int) else p  # one row: no zeros above or below
    if kind == "conv":
        out = derive.conv2d([[x]], [[[w]]], None, (1, s), p, convention=c)
    elif kind == "pool":
        out = derive.avg_pool2d([[x]], (1, k), (1, s), p, convention=c)
    else:
        op = None if spelling.output_padding is None else (0, spelling.output_padding)
        out = derive.conv_transpose2d([[x]], [[[w]]], None, (1, s), p, op, convention=c)
    return list(out.tolist()[0][0])


def _torch_elements(kind, spelling, x, w, k, s) -> list[float]:
    import torch

    F, t = torch.nn.functional, torch.tensor([[x]], dtype=torch.float64)
    wt = torch.tensor([[w]], dtype=torch.float64)
    if kind == "conv":
        y = F.conv1d(t, wt, stride=s, padding=spelling.padding)
    elif kind == "pool":
        y = F.avg_pool1d(t, k, s, padding=spelling.padding)
    else:
        y = F.conv_transpose1d(t, wt, stride=s, padding=spelling.padding,
                               output_padding=spelling.output_padding)  # fmt: skip
    return y[0, 0].tolist()


def _jax_elements(kind, spelling, x, w, k, s) -> list[float]:
    import numpy as np
    from jax import lax
    from jax.example_libraries import stax

    xa, wa = np.array([[x]], np.float32), np.array([[w]], np.float32)
    dn = ("NCH", "OIH", "NCH")
    if kind == "pool":  # stax works channels-last
        y = stax.AvgPool((k,), (s,), spelling.padding)[1]((), xa[0][:, :, None])
        return np.asarray(y)[0, :, 0].tolist()
    if kind == "conv":
        y = lax.conv_general_dilated(xa, wa, (s,), spelling.padding, dimension_numbers=dn)
    else:
        y = lax.conv_transpose(xa, wa, (s,), spelling.padding, dimension_numbers=dn,
                               transpose_kernel=True)  # fmt: skip
    return np.asarray(y)[0, 0].tolist()


def _onnx_elements(kind, spelling, x, w, k, s) -> list[float]:
    import numpy as np
    from onnx import TensorProto, helper
    from onnx.reference import ReferenceEvaluator

    op = {"conv": "Conv", "pool": "AveragePool", "transpose": "ConvTranspose"}[kind]
    inputs, inits = ["x"], []
    if kind != "pool":
        inputs.append("w")
        inits.append(helper.make_tensor("w", TensorProto.FLOAT, (1, 1, k), list(w)))
    node = helper.make_node(op, inputs, ["y"], kernel_shape=[k], strides=[s],
                            auto_pad=spelling.padding)  # fmt: skip
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, len(x)])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=inits,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])
    xa = np.array([[x]], np.float32)
    return ReferenceEvaluator(model).run(None, {"x": xa})[0][0, 0].tolist()


def _keras_elements(kind, spelling, x, w, k, s) -> list[float]:
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    import numpy as np

    xa = np.array(x, np.float32).reshape(1, len(x), 1)
    if kind == "pool":
        pooled = keras.layers.AveragePooling1D(k, s, spelling.padding)(xa)
        return np.asarray(pooled)[0, :, 0].tolist()
    cls = keras.layers.Conv1D if kind == "conv" else keras.layers.Conv1DTranspose
    extra = {} if kind == "conv" else {"output_padding": spelling.output_padding}
    layer = cls(1, k, strides=s, padding=spelling.padding, use_bias=False, **extra)
    layer.build(xa.shape)
    layer.set_weights([np.array(w, np.float32).reshape(k, 1, 1)])
    return np.asarray(layer(xa))[0, :, 0].tolist()


_ELEMENTS = {"torch": _torch_elements, "jax": _jax_elements, "onnx": _onnx_elements,
             "keras": _keras_elements}  # fmt: skip


def _elements(kind: str, spellings: list[Spelling], n: int, k: int, s: int) -> str:
    """The outputs as expressions of the inputs, each checked in numbers against the framework."""
    xs = list(sp.symbols(f"x_0:{n}"))
    ws = list(sp.symbols(f"w_0:{k}")) if kind != "pool" else []
    values = {**{x: i + 1 for i, x in enumerate(xs)}, **{w: 2 * i + 1 for i, w in enumerate(ws)}}
    rows = []
    for sp_ in spellings:
        ours = _derive_elements(kind, sp_, xs, ws, k, s)
        numeric = [float(sp.sympify(e).subs(values)) for e in ours]
        theirs = _ELEMENTS[sp_.convention](kind, sp_, [values[x] for x in xs],
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


def _spellings() -> dict[str, list[Spelling]]:
    onnx = "{op}(kernel_shape=[3], strides=[2], auto_pad={pad!r})"
    return {
        "conv": [
            Spelling("PyTorch", "Conv1d(1, 1, 3, stride=2, padding=1)", "torch", 1),
            Spelling("Keras", 'Conv1D(1, 3, strides=2, padding="same")', "keras", "same"),
            Spelling("JAX", 'lax.conv_general_dilated(x, w, (2,), "SAME")', "jax", "SAME"),
            *(Spelling(f"ONNX {p}", onnx.format(op="Conv", pad=p), "onnx", p)
              for p in ("SAME_UPPER", "SAME_LOWER")),
        ],
        "pool": [
            Spelling("PyTorch", "AvgPool1d(3, 2, padding=1)", "torch", 1),
            Spelling("Keras", 'AveragePooling1D(3, 2, padding="same")', "keras", "same"),
            Spelling("JAX", 'stax.AvgPool((3,), (2,), "SAME")', "jax", "SAME"),
            Spelling("ONNX", onnx.format(op="AveragePool", pad="SAME_UPPER"), "onnx",
                     "SAME_UPPER"),
        ],
        "transpose": [
            Spelling("PyTorch", "ConvTranspose1d(1, 1, 3, stride=2, padding=1, output_padding=1)",
                     "torch", 1, 1),
            Spelling("Keras", 'Conv1DTranspose(1, 3, strides=2, padding="same")', "keras",
                     "same", None),
            Spelling("JAX", 'lax.conv_transpose(x, w, (2,), "SAME")', "jax", "SAME"),
            *(Spelling(f"ONNX {p}", onnx.format(op="ConvTranspose", pad=p), "onnx", p)
              for p in ("SAME_UPPER", "SAME_LOWER")),
        ],
    }  # fmt: skip


def render_page() -> str:
    """The page's Markdown, every number checked against the frameworks (raises otherwise)."""
    spellings = _spellings()
    parts = [_INTRO.replace("{size}", str(conv_padding(N, 3, 2, "SAME", convention="tf").size))]
    layers = [
        ("conv", "A strided convolution", _CONV_TEXT, 6),
        ("pool", "Average pooling: one size, two divisors", _POOL_TEXT, 6),
        ("transpose", "A transposed convolution that doubles the size", _TRANSPOSE_TEXT, 3),
    ]
    for kind, title, text, n in layers:
        parts.append(_section(kind, title, text, 3, 2, spellings[kind]))
        parts.append(_elements(kind, spellings[kind], n, 3, 2))
    parts.append(
        "The conventions are `derive.conventions` (one module per framework); the checks above "
        "run again in the test suite over random layers, including those the frameworks reject."
    )
    return "\n\n".join(parts).rstrip() + "\n"
