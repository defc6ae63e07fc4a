"""Framework conventions: torch's documented formulas, and TensorFlow's and ONNX's 'same'
padding through the engine's general formula.

``_tf_same`` and ``_onnx_pads`` state those frameworks' documented rules here for the claims;
first-class convention functions will replace them.
"""

from __future__ import annotations

import sympy as sp

from derive import shapes as S
from derive.verify.catalogue.symbols import d, k, n, p, qn, r0, s, t, u
from derive.verify.claim import claim
from derive.verify.exhaustive import Exhaustive
from derive.verify.lemmas import ceil_as_floor, half_split
from derive.verify.proofs import Identity
from derive.verify.splits import Compare, Division

__all__ = ["CLAIMS"]

TORCH_CONV, TF, ONNX = "torch.nn.Conv1d documentation", "TensorFlow tf.nn.convolution", "ONNX Conv"


def _torch_conv(n_, k_, s_, p_, d_):
    return sp.floor((n_ + 2 * p_ - d_ * (k_ - 1) - 1) / s_) + 1


def _tf_same(n_, k_, s_):
    """TensorFlow's SAME: output ceil(n/s), total padding, split (extra zero after)."""
    out = sp.ceiling(n_ / s_)
    total = sp.Max((out - 1) * s_ + k_ - n_, 0)
    before = sp.floor(total / 2)
    return out, total, (before, total - before)


def _onnx_pads(n_, k_, s_, mode):
    """ONNX auto_pad: SAME_UPPER puts the extra zero at the end, SAME_LOWER at the beginning."""
    _, _, (small, big) = _tf_same(n_, k_, s_)
    return (small, big) if mode == "SAME_UPPER" else (big, small)


#: n = qs + r + 1 (0 <= r < s), then the kernel reaches past the remainder (k >= r + 1) or not
SAME_SPLIT = Division(n - 1, s, n, qn, r0, u).then(Compare(k, r0 + 1, k, r0, t))


def _onnx_size_claim(mode: str):
    upper = mode == "SAME_UPPER"
    small, big = r"\lfloor \tfrac{P}{2} \rfloor", r"\lceil \tfrac{P}{2} \rceil"
    pads = (small, big) if upper else (big, small)
    return claim(
        f"framework.onnx-{mode.lower().replace('_', '-')}",
        f"ONNX auto_pad={mode} (extra zero at the {'end' if upper else 'beginning'}) gives "
        "ceil(n/s) outputs by the engine's formula.",
        rf"\operatorname{{conv}}\left(n, k, s, \left({pads[0]}, {pads[1]}\right)\right)"
        r" = \left\lceil \frac{n}{s} \right\rceil",
        "n, k, s positive integers, dilation 1",
        Identity(
            lambda: S.conv_output_size(n, k, s, _onnx_pads(n, k, s, mode)),
            lambda: sp.ceiling(n / s),
            (n, k, s),
            split=SAME_SPLIT,
        ),  # fmt: skip
        f"{ONNX} operator (auto_pad)",
    )


def _tf_same_dilated(g):
    from derive.verify.fast import ceil_div, compile_formula

    lo, hi = sp.symbols("lo hi", integer=True, nonnegative=True)
    conv = compile_formula(S.conv_output_size(n, k, s, (lo, hi), d), (n, k, s, lo, hi, d))
    out = ceil_div(g["n"], g["s"])
    total = (out - 1) * g["s"] + g["d"] * (g["k"] - 1) + 1 - g["n"]
    total = total * (total > 0)
    agree = [
        conv(g["n"], g["k"], g["s"], before, total - before, g["d"]) == out
        for before in (total // 2, total - total // 2)  # SAME_UPPER / TF, then SAME_LOWER
    ]
    return True, agree[0] & agree[1]


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
    claim(
        "framework.tf-same-size",
        "TensorFlow's SAME: with P = max((ceil(n/s) - 1)s + k - n, 0) zeros split floor(P/2) "
        "before and the rest after, the engine's general formula gives ceil(n/s) outputs.",
        r"\operatorname{conv}\left(n, k, s, \left(\lfloor \tfrac{P}{2} \rfloor, P - \lfloor"
        r" \tfrac{P}{2} \rfloor\right)\right) = \left\lceil \frac{n}{s} \right\rceil",
        "n, k, s positive integers, dilation 1",
        Identity(
            lambda: S.conv_output_size(n, k, s, _tf_same(n, k, s)[2]),
            lambda: sp.ceiling(n / s),
            (n, k, s),
            split=SAME_SPLIT,
        ),  # fmt: skip
        f"{TF} (padding='SAME')",
    ),
    claim(
        "framework.tf-same-minimal",
        "TensorFlow's SAME padding is the least that gives ceil(n/s) outputs: whenever P > 0, "
        "one zero fewer gives ceil(n/s) - 1 by the engine's formula.",
        r"P > 0 \implies \left\lfloor \frac{n + P - 1 - k}{s} \right\rfloor + 1"
        r" = \left\lceil \frac{n}{s} \right\rceil - 1",
        "n, k, s positive integers, dilation 1, P > 0",
        Identity(
            lambda: S.conv_output_size(n, k, s, (_tf_same(n, k, s)[1] - 1, 0)),
            lambda: sp.ceiling(n / s) - 1,
            (n, k, s),
            split=SAME_SPLIT,
            where=(sp.Gt(_tf_same(n, k, s)[1], 0),),
        ),  # fmt: skip
        f"{TF} (padding='SAME')",
    ),
    claim(
        "framework.tf-same-stride1",
        "At stride 1 TensorFlow's SAME pads exactly torch's padding='same'.",
        r"s = 1:\ P = k - 1,\ \left(\lfloor \tfrac{P}{2} \rfloor, \lceil \tfrac{P}{2}"
        r" \rceil\right) = \text{same}(k)",
        "n, k positive integers, dilation 1",
        Identity(lambda: S.resolve_conv_padding("same", k), lambda: _tf_same(n, k, 1)[2], (n, k)),
        f"{TF} (padding='SAME')",
    ),
    claim(
        "framework.tf-valid",
        "TensorFlow's VALID output ceil((n - k + 1)/s) is the engine's padding='valid' size.",
        r"\left\lceil \frac{n - k + 1}{s} \right\rceil"
        r" = \left\lfloor \frac{n - k}{s} \right\rfloor + 1",
        "n, k, s positive integers, dilation 1",
        Identity(
            lambda: S.conv_output_size(n, k, s, "valid"),
            lambda: sp.ceiling((n - k + 1) / s),
            (n, k, s),
            rewrites=(ceil_as_floor,),
        ),
        f"{TF} (padding='VALID')",
    ),  # fmt: skip
    _onnx_size_claim("SAME_UPPER"),
    _onnx_size_claim("SAME_LOWER"),
    claim(
        "framework.onnx-stride1",
        "At stride 1, SAME_UPPER pads torch's padding='same' split and SAME_LOWER pads the "
        "book's split (ceil(p/2) before, floor(p/2) after, p = k - 1).",
        r"s = 1:\ \text{SAME\_UPPER} = \text{same}(k),\ \text{SAME\_LOWER} ="
        r" \left(\lceil \tfrac{k-1}{2} \rceil, \lfloor \tfrac{k-1}{2} \rfloor\right)",
        "n, k positive integers, dilation 1",
        Identity(
            lambda: (*_onnx_pads(n, k, 1, "SAME_UPPER"), *_onnx_pads(n, k, 1, "SAME_LOWER")),
            lambda: (
                *S.resolve_conv_padding("same", k),
                sp.ceiling((k - 1) / 2),
                sp.floor((k - 1) / 2),
            ),
            (n, k),
            rewrites=(half_split,),
        ),  # fmt: skip
        f"{ONNX} operator (auto_pad)",
    ),
    claim(
        "framework.same-dilated",
        "With dilation, TensorFlow SAME / ONNX SAME_UPPER and SAME_LOWER (effective kernel "
        "d(k-1)+1) still give ceil(n/s) outputs by the engine's formula.",
        r"\operatorname{conv}(n, k, s, \text{SAME}, d) = \left\lceil \frac{n}{s} \right\rceil",
        "n, k, s, d positive integers",
        Exhaustive(
            {"n": range(1, 97), "k": range(1, 10), "s": range(1, 9), "d": range(1, 6)},
            _tf_same_dilated,
        ),  # fmt: skip
        "TensorFlow / ONNX auto_pad",
    ),
)
