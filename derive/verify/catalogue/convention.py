r"""Conventions beyond SAME: Keras's causal and full padding, transposed layers that infer
their output padding, and the inverse questions, each through the functions users call.

SAME and VALID of every framework are claims of :mod:`.framework`. Here every claim holds for
every size, kernel, stride and dilation: a layer's span $\kappa = d(k-1) + 1$ is compared
with the stride by solving for the stride ($s = \kappa - t$ or $s = \kappa + 1 + t$), which
needs no product of symbols to be solved for.
"""

from __future__ import annotations

import sympy as sp

from derive import shapes as S
from derive import solve as SV
from derive.conventions.layer import conv_padding, conv_transpose_padding
from derive.ops import CONV
from derive.verify.catalogue.symbols import POS, d, k, n, p, s, t
from derive.verify.claim import claim
from derive.verify.lemmas import ceil_as_floor
from derive.verify.proofs import Identity
from derive.verify.splits import Compare

__all__ = ["CLAIMS"]

KERAS = "keras.layers.Conv1D"
TRANSPOSED = "keras.layers.Conv1DTranspose, jax.lax.conv_transpose"
SOLVE = "derive.solve.input_sizes"
_EVERY = "n, k, s, d positive integers"

_SPAN = d * (k - 1) + 1
#: the span reaches the stride (s = span - t) or not (s = span + 1 + t)
SPAN_SPLIT = Compare(_SPAN, s, s, s, t)
_j = sp.Symbol("j", **POS)


def _padded(padding: str) -> tuple:
    """Keras's size for ``padding``, the engine's size with its pads, and the pads."""
    rule = conv_padding(n, k, s, padding, d, convention="keras")
    return rule.size, S.conv_output_size(n, k, s, rule.pads, d), *rule.pads


def _transposed(padding: str) -> tuple:
    """Keras's (``output_padding=None``) and JAX's transposed sizes for ``padding``."""
    keras = conv_transpose_padding(n, k, s, padding.lower(), None, d, convention="keras")
    jax = conv_transpose_padding(n, k, s, padding.upper(), 0, d, convention="jax")
    return keras.size, jax.size


def _preimage(padding: object, convention: object) -> tuple:
    """``f(L), f(H), f(H + 1), f(L - 1)`` of the inverse interval ``[L, H]`` of ``m = j + 1``."""
    layer = SV.Layer(CONV, k, s, padding, d, convention=convention)
    found = SV.input_sizes(layer, _j + 1)  # m >= 2, so that L - 1 is an input size too

    def f(size):
        return layer.rule(size).size

    return f(found.low), f(found.high), f(found.high + 1), f(found.low - 1)


_PREIMAGE = (
    "The inputs giving m >= 2 outputs are exactly the interval derive.solve.input_sizes "
    "gives: its ends give m, the sizes just outside give m - 1 and m + 1 (outputs grow with "
    "inputs), for every m, k, s, d."
)
_PREIMAGE_TEX = r"f(L) = f(H) = m,\ f(L - 1) = m - 1,\ f(H + 1) = m + 1"

CLAIMS = (
    claim(
        "convention.span-only",
        "A convolution's size depends on kernel and dilation only through the span d(k-1)+1: a "
        "dilated kernel sizes as an undilated kernel of that span, for any padding.",
        r"\operatorname{conv}(n, k, s, (p, 0), d) = \operatorname{conv}(n, d(k-1)+1, s, (p, 0), 1)",
        "n, k, s, d positive, p non-negative integers",
        Identity(
            lambda: S.conv_output_size(n, k, s, (p, 0), d),
            lambda: S.conv_output_size(n, _SPAN, s, (p, 0), 1),
            (n, k, s, d, p),
        ),
        "the engine's formula",
    ),
    claim(
        "convention.causal-size",
        "Keras's causal padding, through derive.conv_padding: d(k-1) zeros before and none "
        "after, ceil(n/s) outputs, by the engine's formula too, for every n, k, s, d.",
        r"\operatorname{conv}\bigl(n, k, s, (d(k-1), 0), d\bigr) = "
        r"\left\lceil \frac{n}{s} \right\rceil",
        _EVERY,
        Identity(lambda: _padded("causal"),
                 lambda: (sp.ceiling(n / s), sp.ceiling(n / s), d * (k - 1), 0), (n, k, s, d),
                 rewrites=(ceil_as_floor,)),  # fmt: skip
        f"{KERAS}(padding='causal')",
    ),
    claim(
        "convention.full-size",
        "'full' padding (Keras 2), through derive.conv_padding: d(k-1) zeros on each side, "
        "ceil((n + d(k-1))/s) outputs, by the engine's formula too, for every n, k, s, d.",
        r"\operatorname{conv}\bigl(n, k, s, (d(k-1), d(k-1)), d\bigr) = "
        r"\left\lceil \frac{n + d(k-1)}{s} \right\rceil",
        _EVERY,
        Identity(lambda: _padded("full"),
                 lambda: (sp.ceiling((n + d * (k - 1)) / s),) * 2 + (d * (k - 1),) * 2,
                 (n, k, s, d), rewrites=(ceil_as_floor,)),  # fmt: skip
        "Keras 2 conv_utils.conv_output_length",
    ),
    claim(
        "convention.keras-transposed-same",
        "Keras's Conv1DTranspose with padding='same' and output_padding=None, and JAX's "
        "conv_transpose with 'SAME', give n s outputs: they crop d(k-1) + 1 - s entries, or "
        "append s - d(k-1) - 1; for every n, k, s, d (Keras accepts d > 1 only with s = 1).",
        r"(n-1)s + d(k-1) + 1 - c_b - c_a + p_\text{out} = n s",
        _EVERY,
        Identity(lambda: _transposed("same"), lambda: (n * s, n * s), (n, k, s, d),
                 split=SPAN_SPLIT),  # fmt: skip
        TRANSPOSED,
    ),
    claim(
        "convention.keras-transposed-valid",
        "With padding='valid' (JAX: 'VALID') they give (n - 1)s + max(d(k-1) + 1, s) outputs, "
        "for every n, k, s, d.",
        r"(n-1)s + d(k-1) + 1 + p_\text{out} = (n-1)s + \max(d(k-1) + 1, s)",
        _EVERY,
        Identity(lambda: _transposed("valid"),
                 lambda: ((n - 1) * s + sp.Max(_SPAN, s),) * 2, (n, k, s, d),
                 split=SPAN_SPLIT),  # fmt: skip
        TRANSPOSED,
    ),
    claim(
        "convention.inverse-conv",
        _PREIMAGE + " A convolution without padding: [(m-1)s + d(k-1) + 1, ms + d(k-1)], s "
        "sizes.",
        _PREIMAGE_TEX,
        "m = j + 1 >= 2; j, k, s, d positive integers",
        Identity(lambda: _preimage(0, None), lambda: (_j + 1, _j + 1, _j + 2, _j),
                 (_j, k, s, d)),  # fmt: skip
        SOLVE,
    ),
    claim(
        "convention.inverse-same",
        _PREIMAGE + " TensorFlow's SAME: [(m-1)s + 1, ms].",
        _PREIMAGE_TEX,
        "m = j + 1 >= 2; j, k, s, d positive integers",
        Identity(lambda: _preimage("SAME", "tf"), lambda: (_j + 1, _j + 1, _j + 2, _j),
                 (_j, k, s, d)),  # fmt: skip
        SOLVE,
    ),
)
