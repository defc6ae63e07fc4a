"""Composition: stacked layers' sizes, max pooling's non-linearity, and the transposed
convolution restoring a convolution's input size. (Element identities: :mod:`.formulas`.)"""

from __future__ import annotations

import itertools

import sympy as sp

from derive import pool as PL
from derive import shapes as S
from derive.verify.catalogue.symbols import R1, R2, a_, d, k, k1, k2, n, p, q, s, s1, s2, u, w
from derive.verify.claim import claim
from derive.verify.proofs import Counterexample, Identity
from derive.verify.splits import Division

__all__ = ["CLAIMS"]

_q1 = sp.Symbol("q_1", integer=True)
_A = sp.Mod(n + 2 * p - d * (k - 1) - 1, s)  # the output padding that restores n


def _maxpool_counterexample() -> str | None:
    for xa, xb, ya, yb in itertools.product((-1, 0, 1), repeat=4):
        X, Y, XY = [[[xa, xb]]], [[[ya, yb]]], [[[xa + ya, xb + yb]]]
        lhs = PL.max_pool2d(XY, (1, 2))[0, 0, 0]
        rhs = PL.max_pool2d(X, (1, 2))[0, 0, 0] + PL.max_pool2d(Y, (1, 2))[0, 0, 0]
        if lhs != rhs:
            return (
                f"X = [[{xa}, {xb}]], Y = [[{ya}, {yb}]]: maxpool(X + Y) = {lhs} "
                f"but maxpool(X) + maxpool(Y) = {rhs}"
            )
    return None


CLAIMS = (
    claim(
        "composition.stack-size",
        "Two stacked stride-1 convolutions have the size of one with kernel k1 + k2 - 1.",
        r"\operatorname{conv}(\operatorname{conv}(n, k_1), k_2)"
        r" = \operatorname{conv}(n, k_1 + k_2 - 1)",
        "n, k1, k2 positive integers",
        Identity(
            lambda: S.conv_output_size(S.conv_output_size(n, k1), k2),
            lambda: S.conv_output_size(n, k1 + k2 - 1),
            (n, k1, k2),
        ),  # fmt: skip
    ),
    claim(
        "composition.stack-strided-size",
        "Two stacked strided convolutions have the size of one with kernel k1 + s1(k2 - 1) and "
        "stride s1 s2.",
        r"\operatorname{conv}(\operatorname{conv}(n, k_1, s_1), k_2, s_2)"
        r" = \operatorname{conv}(n, k_1 + s_1(k_2 - 1), s_1 s_2)",
        "n, k1, k2, s1, s2 positive integers",
        Identity(
            lambda: S.conv_output_size(S.conv_output_size(n, k1, s1), k2, s2),
            lambda: S.conv_output_size(n, k1 + s1 * (k2 - 1), s1 * s2),
            (n, k1, k2, s1, s2),
            split=Division(n - k1 - s1 * (k2 - 1), s1, n, _q1, R1, u).then(
                Division(_q1, s2, _q1, q, R2, w)
            ),
        ),
    ),
    claim(
        "composition.maxpool-not-linear",
        "Max pooling is not linear: a counterexample found by searching small inputs.",
        r"\exists X, Y:\ \operatorname{maxpool}(X + Y) \ne \operatorname{maxpool}(X)"
        r" + \operatorname{maxpool}(Y)",
        "none",
        Counterexample(_maxpool_counterexample),
    ),
    claim(
        "composition.transpose-restores-size",
        "With dilation too, output_padding a = (n + 2p - d(k-1) - 1) mod s makes the "
        "transposed convolution restore the size n of the convolution's input (and a < s, so "
        "torch accepts it).",
        r"\operatorname{convT}(\operatorname{conv}(n, k, s, p, d), k, s, p, a, d) = n,"
        r"\ a = (n + 2p - d(k-1) - 1) \bmod s",
        "n, k, s, d positive, p non-negative integers, n + 2p >= d(k-1) + 1",
        Identity(
            lambda: (
                S.conv_transpose_output_size(S.conv_output_size(n, k, s, p, d), k, s, p, _A, d),
                _A < s,
            ),
            lambda: (n, sp.true),
            (n, k, s, p, d),
            split=Division(n + 2 * p - d * (k - 1) - 1, s, n, q, a_, u),
            where=(sp.Ge(n + 2 * p, d * (k - 1) + 1),),
        ),  # fmt: skip
        "Dumoulin & Visin 2016, relationship 14, with dilation",
    ),
)
