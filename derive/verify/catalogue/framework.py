r"""Framework conventions: torch's documented formulas, and the padding conventions of
TensorFlow, Keras, JAX and ONNX through the functions users call.

The other frameworks' claims go through :func:`derive.conv_padding` (the first-class
conventions of :mod:`derive.conventions`, looked up when the claim runs, so a patched
convention is what gets proved) and the engine's general formula, for every size, kernel,
stride *and dilation*. SAME's total padding depends on $(n - 1) \bmod s$ and on the span
$d(k-1)$ against it; the split :data:`SAME_SPLIT` writes $n - 1 = qs + r$, then
$r = ad + b$ ($0 \le b < d$), and compares $k$ with $a + 1$ (then $k - a - 1$ with 1), which
decides $\max(d(k-1) - r, 0)$ in every case without a product of symbols to solve for.
"""

from __future__ import annotations

import sympy as sp

from derive import shapes as S
from derive.conventions.layer import conv_padding
from derive.verify.catalogue.symbols import NN, d, k, n, p, qn, r0, s, t, u, v, w
from derive.verify.claim import claim
from derive.verify.lemmas import ceil_as_floor, half_split
from derive.verify.proofs import Identity
from derive.verify.splits import Compare, Division

__all__ = ["CLAIMS", "SAME_SPLIT"]

TORCH_CONV = "torch.nn.Conv1d documentation"
TF = "TensorFlow tf.nn.convolution"
ONNX = "ONNX Conv operator (auto_pad)"
JAX = "JAX lax.conv_general_dilated (lax.padtype_to_pads)"

_a, _b = sp.symbols("a b", **NN)

#: n - 1 = qs + r (0 <= r < s), r = ad + b (0 <= b < d), then k >= a + 1 (and k - a - 1 >= 1
#: or not) or k < a + 1: the span d(k - 1) against the remainder r, decided in every case
SAME_SPLIT = Division(n - 1, s, n, qn, r0, u).then(
    Division(r0, d, r0, _a, _b, v), Compare(k, _a + 1, k, _a, t), Compare(t, 1, t, t, w)
)
_EVERY = "n, k, s, d positive integers"


def _torch_conv(n_, k_, s_, p_, d_):
    return sp.floor((n_ + 2 * p_ - d_ * (k_ - 1) - 1) / s_) + 1


def documented_same(lower: bool = False) -> tuple[sp.Expr, sp.Expr, tuple[sp.Expr, sp.Expr]]:
    r"""TensorFlow's documented SAME: $\lceil n/s \rceil$ outputs and
    $P = \max((\lceil n/s \rceil - 1)s + d(k-1) + 1 - n, 0)$ zeros, $\lfloor P/2 \rfloor$
    before and the rest after (``lower``: mirrored, ONNX's and JAX's SAME_LOWER)."""
    out = sp.ceiling(n / s)
    total = sp.Max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    small = sp.floor(total / 2)
    return out, total, ((total - small, small) if lower else (small, total - small))


def _same_sides(spellings) -> tuple:
    """For each ``(convention, padding)``: its size, the engine's size with its pads, its pads."""
    out = []
    for convention, padding in spellings:
        rule = conv_padding(n, k, s, padding, d, convention=convention)
        out += [rule.size, S.conv_output_size(n, k, s, rule.pads, d), *rule.pads]
    return tuple(out)


def _documented_sides(lowers) -> tuple:
    out = []
    for lower in lowers:
        size, _, pads = documented_same(lower)
        out += [size, size, *pads]
    return tuple(out)


def _same_claim(name, statement, spellings, source, lower_flags):
    """SAME of the given spellings, proved against TensorFlow's documented rule."""
    latex = (r"n_\text{out} = \operatorname{conv}(n, k, s, (p_b, p_a), d) = "
             r"\left\lceil \frac{n}{s} \right\rceil,\ P = \max\left(\left(\left\lceil"
             r" \tfrac{n}{s} \right\rceil - 1\right)s + d(k-1) + 1 - n,\ 0\right)")  # fmt: skip
    spec = Identity(lambda: _same_sides(spellings), lambda: _documented_sides(lower_flags),
                    (n, k, s, d), split=SAME_SPLIT)  # fmt: skip
    return claim(name, statement, latex, _EVERY, spec, source)


def _minimal():
    rule = conv_padding(n, k, s, "SAME", d, convention="tf")
    return S.conv_output_size(n, k, s, (sum(rule.pads) - 1, 0), d)


_CEIL_MODE = (lambda mm: sp.Piecewise((mm - 1, sp.Ge((mm - 1) * s, n + p)), (mm, True)))(
    sp.ceiling((n + 2 * p - d * (k - 1) - 1) / s) + 1
)

CLAIMS = (
    claim(
        "framework.torch-conv-formula",
        "The engine's convolution size is torch's documented formula.",
        r"n_\text{out} = \left\lfloor \frac{n + 2p - d(k-1) - 1}{s} \right\rfloor + 1",
        "n, k, s, d positive, p non-negative integers",
        Identity(
            lambda: S.conv_output_size(n, k, s, p, d),
            lambda: _torch_conv(n, k, s, p, d),
            (n, k, s, p, d),
        ),  # fmt: skip
        TORCH_CONV,
    ),
    claim(
        "framework.torch-pool-formula",
        "The engine's pooling size (floor mode) is torch's documented formula.",
        r"n_\text{out} = \left\lfloor \frac{n + 2p - d(k-1) - 1}{s} \right\rfloor + 1",
        "n, k, s, d positive, p non-negative integers",
        Identity(
            lambda: S.pool_output_size(n, k, s, p, d),
            lambda: _torch_conv(n, k, s, p, d),
            (n, k, s, p, d),
        ),  # fmt: skip
        "torch.nn.MaxPool1d documentation",
    ),
    claim(
        "framework.torch-pool-ceil-formula",
        "With ceil_mode the engine rounds up, m = ceil((n + 2p - d(k-1) - 1)/s) + 1, and drops "
        "the last window when it would start in the right padding ((m - 1)s >= n + p).",
        r"n_\text{out} = \begin{cases} m - 1 & (m-1)s \ge n + p \\ m & \text{otherwise}"
        r" \end{cases},\ m = \left\lceil \frac{n + 2p - d(k-1) - 1}{s} \right\rceil + 1",
        "n, k, s, d positive, p non-negative integers",
        Identity(
            lambda: S.pool_output_size(n, k, s, p, d, True),
            lambda: _CEIL_MODE,
            (n, k, s, p, d),
            rewrites=(ceil_as_floor,),
        ),  # fmt: skip
        "torch pooling_output_shape (ATen)",
    ),
    claim(
        "framework.torch-conv-transpose-formula",
        "The engine's transposed-convolution size is torch's documented formula.",
        r"n_\text{out} = (n - 1)s - 2p + d(k - 1) + p_\text{out} + 1",
        "n, k, s, d positive, p, output padding non-negative integers",
        Identity(
            lambda: S.conv_transpose_output_size(n, k, s, p, t, d),
            lambda: (n - 1) * s - 2 * p + d * (k - 1) + t + 1,
            (n, k, s, p, t, d),
        ),
        "torch.nn.ConvTranspose1d documentation",
    ),  # fmt: skip
    claim(
        "framework.torch-same-size",
        "torch's padding='same' (stride 1) keeps the size for every kernel and dilation.",
        r"\operatorname{conv}(n, k, \text{same}, d) = n",
        "n, k, d positive integers, stride 1",
        Identity(lambda: S.conv_output_size(n, k, 1, "same", d), lambda: n, (n, k, d)),
        "torch.nn.functional.conv1d",
    ),
    claim(
        "framework.torch-same-split",
        "torch's padding='same' pads floor(d(k-1)/2) before and ceil(d(k-1)/2) after.",
        r"(p_l, p_r) = \left(\left\lfloor \tfrac{d(k-1)}{2} \right\rfloor,"
        r" \left\lceil \tfrac{d(k-1)}{2} \right\rceil\right)",
        "k, d positive integers, stride 1",
        Identity(
            lambda: S.resolve_conv_padding("same", k, 1, d),
            lambda: (sp.floor(d * (k - 1) / 2), sp.ceiling(d * (k - 1) / 2)),
            (k, d),
            rewrites=(half_split,),
        ),  # fmt: skip
        "torch.nn.functional.conv1d",
    ),
    _same_claim(
        "framework.tf-same-size",
        "TensorFlow's padding='SAME' (and Keras's 'same'), through derive.conv_padding: "
        "ceil(n/s) outputs, the engine's general formula with the pads it chooses gives "
        "ceil(n/s) too, and the pads are TensorFlow's documented P = max((ceil(n/s) - 1)s + "
        "d(k-1) + 1 - n, 0) zeros, floor(P/2) before and the rest after; for every n, k, s "
        "and d (TensorFlow and Keras accept d > 1 only with s = 1).",
        (("tf", "SAME"), ("keras", "same")),
        f"{TF} (padding='SAME'), keras.layers.Conv1D",
        (False, False),
    ),
    claim(
        "framework.tf-same-minimal",
        "TensorFlow's SAME padding is the least that gives ceil(n/s) outputs: whenever P > 0, "
        "one zero fewer gives ceil(n/s) - 1 by the engine's formula, for every n, k, s, d.",
        r"P > 0 \implies \operatorname{conv}(n, k, s, (P - 1, 0), d)"
        r" = \left\lceil \frac{n}{s} \right\rceil - 1",
        _EVERY + ", P > 0",
        Identity(
            _minimal,
            lambda: sp.ceiling(n / s) - 1,
            (n, k, s, d),
            split=SAME_SPLIT,
            where=(sp.Gt(documented_same()[1], 0),),
        ),  # fmt: skip
        f"{TF} (padding='SAME')",
    ),
    claim(
        "framework.tf-same-stride1",
        "At stride 1 TensorFlow's SAME pads exactly torch's padding='same', for every kernel and "
        "dilation.",
        r"s = 1:\ P = d(k - 1),\ \left(\lfloor \tfrac{P}{2} \rfloor, \lceil \tfrac{P}{2}"
        r" \rceil\right) = \text{same}(k, d)",
        "n, k, d positive integers",
        Identity(
            lambda: conv_padding(n, k, 1, "SAME", d, convention="tf").pads,
            lambda: S.resolve_conv_padding("same", k, 1, d),
            (n, k, d),
            rewrites=(half_split,),
        ),  # fmt: skip
        f"{TF} (padding='SAME')",
    ),
    claim(
        "framework.tf-valid",
        "TensorFlow's VALID, through derive.conv_padding, gives ceil((n - d(k-1))/s) outputs "
        "and no zeros: the engine's padding='valid' size, for every n, k, s, d.",
        r"\left\lceil \frac{n - d(k-1)}{s} \right\rceil"
        r" = \left\lfloor \frac{n - d(k-1) - 1}{s} \right\rfloor + 1",
        _EVERY,
        Identity(
            lambda: (conv_padding(n, k, s, "VALID", d, convention="tf").size,
                     S.conv_output_size(n, k, s, "valid", d),
                     *conv_padding(n, k, s, "VALID", d, convention="tf").pads),
            lambda: (sp.ceiling((n - d * (k - 1)) / s),) * 2 + (0, 0),
            (n, k, s, d),
            rewrites=(ceil_as_floor,),
        ),
        f"{TF} (padding='VALID')",
    ),  # fmt: skip
    _same_claim(
        "framework.onnx-same-upper",
        "ONNX auto_pad=SAME_UPPER, through derive.conv_padding: ceil(n/s) outputs, by the "
        "engine's formula too, with TensorFlow's pads (the odd zero at the end), for every n, "
        "k, s, d.",
        (("onnx", "SAME_UPPER"),),
        ONNX,
        (False,),
    ),
    _same_claim(
        "framework.onnx-same-lower",
        "ONNX auto_pad=SAME_LOWER pads SAME_UPPER's zeros mirrored (the odd one at the "
        "beginning) and also gives ceil(n/s) outputs by the engine's formula, for every n, k, "
        "s, d.",
        (("onnx", "SAME_LOWER"),),
        ONNX,
        (True,),
    ),
    claim(
        "framework.onnx-stride1",
        "At stride 1, SAME_UPPER pads torch's padding='same' split and SAME_LOWER pads the "
        "book's split (ceil(P/2) before, floor(P/2) after, P = d(k - 1)), for every kernel and "
        "dilation.",
        r"s = 1:\ \text{SAME\_UPPER} = \text{same}(k, d),\ \text{SAME\_LOWER} ="
        r" \left(\lceil \tfrac{P}{2} \rceil, \lfloor \tfrac{P}{2} \rfloor\right)",
        "n, k, d positive integers",
        Identity(
            lambda: (*conv_padding(n, k, 1, "SAME_UPPER", d, convention="onnx").pads,
                     *conv_padding(n, k, 1, "SAME_LOWER", d, convention="onnx").pads),
            lambda: (
                *S.resolve_conv_padding("same", k, 1, d),
                sp.ceiling(d * (k - 1) / 2),
                sp.floor(d * (k - 1) / 2),
            ),
            (n, k, d),
            rewrites=(half_split,),
        ),  # fmt: skip
        ONNX,
    ),
    _same_claim(
        "framework.same-dilated",
        "With dilation, JAX's padding='SAME' and 'SAME_LOWER' (lax.padtype_to_pads on the "
        "dilated window d(k-1) + 1) give ceil(n/s) outputs with TensorFlow's pads (SAME_LOWER "
        "mirrored), by the engine's formula too, for every n, k, s and d.",
        (("jax", "SAME"), ("jax", "SAME_LOWER")),
        JAX,
        (False, True),
    ),
)
