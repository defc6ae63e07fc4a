r"""Claims about the frameworks' conventions and the inverse questions, each proved.

:func:`convention_claims` returns :class:`derive.verify.claims.Claim` objects (group
``framework``) for the catalogue. The engine's functions are looked up when a claim runs
(``CS.same_rule`` is :func:`derive.conventions.same.same_rule` as it is *now*), so a patched
convention fails its proof. A layer's span $\kappa = d(k-1)+1$ is one symbol here: the first
claim proves that only the span matters, so every other claim holds for every dilation.

>>> from derive.verify.claims import establish
>>> [establish(c).status for c in convention_claims()[:2]]
['proved', 'proved']
"""

from __future__ import annotations

import sympy as sp

from derive import shapes as S
from derive import solve as SV
from derive.conventions import keras as KE
from derive.conventions import same as CS
from derive.ops import CONV
from derive.verify.claims import Claim
from derive.verify.lemmas import ceil_as_floor
from derive.verify.proofs import Case, Identity

__all__ = ["convention_claims"]

_POS = {"integer": True, "positive": True}
_NN = {"integer": True, "nonnegative": True}
n, k, s, d, K, m = sp.symbols("n k s d K m", **_POS)
P = sp.Symbol("P", **_NN)
q, t, u = sp.symbols("q t u", **_NN)
r, j = sp.Symbol("r", **_POS), sp.Symbol("j", **_POS)

_LEMMAS = ("floor-division", "floor-window", "ceil-window", "mod")
_SOURCE = "TensorFlow tf.nn.convolution, JAX lax.padtype_to_pads, ONNX Conv auto_pad"


def _split(vv: dict[str, int]) -> tuple[int, int]:
    quotient, rest = divmod(vv["n"] - 1, vv["s"])
    return quotient, rest + 1  # n = q s + r with 1 <= r <= s


def _same_cases() -> tuple[tuple[Case, ...], str]:
    """n = q s + r (1 <= r <= s); then the span reaches past the remainder (K >= r) or not."""

    def padded(vv):
        q_, r_ = _split(vv)
        return {"q": q_, "r": r_, "t": vv["K"] - r_, "u": vv["s"] - r_}

    def unpadded(vv):
        q_, r_ = _split(vv)
        return {"q": q_, "t": r_ - vv["K"] - 1, "u": vv["s"] - r_}

    return (
        Case("K >= r", {n: q * s + r, K: r + t}, {s: r + u}, padded),
        Case("K < r", {n: q * s + K + 1 + t}, {s: K + 1 + t + u}, unpadded),
    ), "division with remainder n = qs + r, 1 <= r <= s; then K >= r or K < r"


def _same(lower: bool) -> tuple[sp.Expr, sp.Expr]:
    return CS.same_rule(n, K, s, 1, lower=lower).pads


def _claim(cid: str, statement: str, latex: str, assumptions: str, spec, source=_SOURCE) -> Claim:
    method = "proof by cases" if len(spec.cases) > 1 else "proof"
    return Claim(cid, "framework", statement, latex, assumptions, method, spec, source)


def _span_claims() -> list[Claim]:
    cases, cover = _same_cases()
    return [
        _claim(
            "convention.span-only",
            "A convolution's size depends on kernel and dilation only through the span "
            "d(k-1)+1: a dilated kernel sizes as an undilated kernel of that span.",
            r"\operatorname{conv}(n, k, s, P, d) = \operatorname{conv}(n, d(k-1)+1, s, P, 1)",
            "n, k, s, d positive, P non-negative integers",
            Identity(
                lambda: S.conv_output_size(n, k, s, (P, 0), d),
                lambda: S.conv_output_size(n, d * (k - 1) + 1, s, (P, 0), 1),
                (n, k, s, d, P),
            ),
            "the engine's formula",
        ),
        _claim(
            "convention.same-size",
            "SAME (TensorFlow, Keras, JAX 'SAME'; ONNX SAME_UPPER) gives ceil(n/s) outputs for "
            "every n, stride and span: its total padding max(K - 1 - ((n-1) mod s), 0), "
            "never negative and split floor/ceil, fed to the engine's formula.",
            r"\operatorname{conv}\bigl(n, K, s, (p_b, p_a)\bigr)"
            r" = \left\lceil \frac{n}{s} \right\rceil,\quad p_b + p_a \ge 0",
            "n, K (the span), s positive integers",
            Identity(
                lambda: (S.conv_output_size(n, K, s, _same(False)),
                         sp.Ge(sum(_same(False)), 0)),  # fmt: skip
                lambda: (sp.ceiling(n / s), sp.true),
                (n, K, s),
                cases=cases,
                cover=cover,
                lemmas=_LEMMAS,
            ),
        ),
        _claim(
            "convention.same-lower-mirror",
            "SAME_LOWER (ONNX, JAX) pads SAME_UPPER's zeros mirrored, the odd one first, and "
            "also gives ceil(n/s) outputs.",
            r"\text{SAME\_LOWER} = (p_a, p_b)\ \text{of}\ \text{SAME\_UPPER} = (p_b, p_a),"
            r"\quad \operatorname{conv}(n, K, s, \text{SAME\_LOWER}) = \lceil n/s \rceil",
            "n, K (the span), s positive integers",
            Identity(
                lambda: (*_same(True), S.conv_output_size(n, K, s, _same(True))),
                lambda: (_same(False)[1], _same(False)[0], sp.ceiling(n / s)),
                (n, K, s),
                cases=cases,
                cover=cover,
                lemmas=_LEMMAS,
            ),
            "ONNX Conv auto_pad, JAX lax.padtype_to_pads",
        ),
    ]


def _padding_claims() -> list[Claim]:
    return [
        _claim(
            "convention.valid-size",
            "VALID pads nothing: ceil((n - K + 1)/s) outputs, the engine's formula without zeros.",
            r"\operatorname{conv}(n, K, s, \text{VALID}) = \left\lceil \frac{n - K + 1}{s} "
            r"\right\rceil",
            "n, K, s positive integers",
            Identity(lambda: CS.valid_rule(n, K, s, 1).size,
                     lambda: sp.ceiling((n - K + 1) / s), (n, K, s),
                     rewrites=(ceil_as_floor,), lemmas=("ceil-as-floor",)),  # fmt: skip
        ),
        _claim(
            "convention.causal-size",
            "Keras's causal padding (K - 1 zeros before, none after) gives ceil(n/s) outputs.",
            r"\operatorname{conv}\bigl(n, K, s, (K - 1, 0)\bigr) = \left\lceil \frac{n}{s} "
            r"\right\rceil",
            "n, K, s positive integers",
            Identity(lambda: S.conv_output_size(n, K, s, CS.causal_rule(n, K, s, 1).pads),
                     lambda: sp.ceiling(n / s), (n, K, s),
                     rewrites=(ceil_as_floor,), lemmas=("ceil-as-floor",)),  # fmt: skip
            "keras.layers.Conv1D(padding='causal')",
        ),
        _claim(
            "convention.full-size",
            "'full' padding (K - 1 zeros on each side) gives ceil((n + K - 1)/s) outputs.",
            r"\operatorname{conv}\bigl(n, K, s, (K-1, K-1)\bigr) = "
            r"\left\lceil \frac{n + K - 1}{s} \right\rceil",
            "n, K, s positive integers",
            Identity(lambda: S.conv_output_size(n, K, s, CS.full_rule(n, K, s, 1).pads),
                     lambda: sp.ceiling((n + K - 1) / s), (n, K, s),
                     rewrites=(ceil_as_floor,), lemmas=("ceil-as-floor",)),  # fmt: skip
            "Keras 2 conv_utils.conv_output_length",
        ),
    ]


def _transposed_claims() -> list[Claim]:
    def same(vv):
        if vv["K"] >= vv["s"]:
            return {"t": vv["K"] - vv["s"]}
        return None

    def short(vv):
        if vv["K"] < vv["s"]:
            return {"t": vv["s"] - vv["K"] - 1}
        return None

    cases = (
        Case("K >= s", {K: s + t}, inverse=same),
        Case("K < s", {s: K + 1 + t}, inverse=short),
    )
    cover = "the span reaches the stride (K >= s) or not"
    return [
        _claim(
            "convention.keras-transposed-same",
            "Keras's Conv*DTranspose with padding='same' and output_padding=None (JAX's "
            "conv_transpose 'SAME') gives n s outputs: it crops K - s entries, or appends s - K.",
            r"(n-1)s + K - c_b - c_a + p_\text{out} = n s",
            "n, K, s positive integers",
            Identity(lambda: KE.conv_transpose_rule(n, K, s, "same", None, 1).size,
                     lambda: n * s, (n, K, s), cases=cases, cover=cover),  # fmt: skip
            "keras.layers.Conv1DTranspose, jax.lax.conv_transpose",
        ),
        _claim(
            "convention.keras-transposed-valid",
            "With padding='valid' and output_padding=None it gives (n - 1)s + max(K, s).",
            r"(n-1)s + K + p_\text{out} = (n-1)s + \max(K, s)",
            "n, K, s positive integers",
            Identity(lambda: KE.conv_transpose_rule(n, K, s, "valid", None, 1).size,
                     lambda: (n - 1) * s + sp.Max(K, s), (n, K, s), cases=cases,
                     cover=cover),  # fmt: skip
            "keras.layers.Conv1DTranspose, jax.lax.conv_transpose",
        ),
    ]


def _preimage(layer_padding: object, convention: object):
    """``f(L), f(H), f(H + 1), f(L - 1)`` of the inverse interval ``[L, H]`` of ``m = j + 1``."""
    layer = SV.Layer(CONV, K, s, layer_padding, convention=convention)
    target = j + 1  # m >= 2, so that L - 1 is an input size too
    found = SV.input_sizes(layer, target)

    def f(size):
        return layer.rule(size).size

    return f(found.low), f(found.high), f(found.high + 1), f(found.low - 1)


def _inverse_claims() -> list[Claim]:
    statement = (
        "The inputs giving m >= 2 outputs are exactly the interval derive solves for: its ends "
        "give m, the sizes just outside give m - 1 and m + 1 (outputs grow with inputs)."
    )
    latex = r"f(L) = f(H) = m,\ f(L - 1) = m - 1,\ f(H + 1) = m + 1"
    return [
        _claim(
            "convention.inverse-conv",
            statement + " A convolution (no padding): [(m-1)s + K, ms + K - 1], s sizes.",
            latex,
            "m = j + 1 >= 2; j, K, s positive integers",
            Identity(lambda: _preimage(0, None), lambda: (j + 1, j + 1, j + 2, j),
                     (j, K, s), lemmas=("floor-division", "floor-window")),  # fmt: skip
            "derive.solve.input_sizes",
        ),
        _claim(
            "convention.inverse-same",
            statement + " SAME: [(m-1)s + 1, ms].",
            latex,
            "m = j + 1 >= 2; j, K, s positive integers",
            Identity(lambda: _preimage("SAME", "tf"), lambda: (j + 1, j + 1, j + 2, j),
                     (j, K, s), lemmas=("floor-division", "ceil-window")),  # fmt: skip
            "derive.solve.input_sizes",
        ),
    ]


def convention_claims() -> list[Claim]:
    """Every convention claim, in report order (group ``framework``)."""
    return _span_claims() + _padding_claims() + _transposed_claims() + _inverse_claims()
