"""Dumoulin & Visin, *A guide to convolution arithmetic for deep learning* (2016): the paper's
relationships, each the engine's size function against the paper's formula."""

from __future__ import annotations

import sympy as sp

from derive import shapes as S
from derive.verify.catalogue.symbols import d, i, ip, j, k, p, s
from derive.verify.claim import claim
from derive.verify.proofs import Identity

__all__ = ["CLAIMS"]


def _rel(no: int, title: str, latex: str, assumptions: str, lhs, rhs, syms, **kw):
    source = f"Dumoulin & Visin 2016, relationship {no}"
    spec = Identity(lhs, rhs, syms, **kw)
    return claim(f"dv.{no}", f"Relationship {no} ({title}).", latex, assumptions, spec, source)


_A = sp.Mod(i + 2 * p - k, s)  # relationship 14's output padding

CLAIMS = (
    _rel(1, "no zero padding, unit strides", r"o = (i - k) + 1", "i, k positive integers",
         lambda: S.conv_output_size(i, k), lambda: (i - k) + 1, (i, k)),
    _rel(2, "zero padding, unit strides", r"o = (i - k) + 2p + 1",
         "i, k positive, p non-negative integers",
         lambda: S.conv_output_size(i, k, 1, p), lambda: (i - k) + 2 * p + 1, (i, k, p)),
    _rel(3, "half (same) padding: k = 2n + 1, p = floor(k/2)", r"o = i",
         "i positive, j non-negative integers, k = 2j + 1",
         lambda: S.conv_output_size(i, 2 * j + 1, 1, sp.floor((2 * j + 1) / 2)), lambda: i,
         (i, j)),
    _rel(4, "full padding: p = k - 1", r"o = i + (k - 1)", "i, k positive integers",
         lambda: S.conv_output_size(i, k, 1, k - 1), lambda: i + (k - 1), (i, k)),
    _rel(5, "no zero padding, non-unit strides",
         r"o = \left\lfloor \frac{i - k}{s} \right\rfloor + 1",
         "i, k, s positive integers",
         lambda: S.conv_output_size(i, k, s), lambda: sp.floor((i - k) / s) + 1, (i, k, s)),
    _rel(6, "zero padding, non-unit strides",
         r"o = \left\lfloor \frac{i + 2p - k}{s} \right\rfloor + 1",
         "i, k, s positive, p non-negative integers",
         lambda: S.conv_output_size(i, k, s, p), lambda: sp.floor((i + 2 * p - k) / s) + 1,
         (i, k, s, p)),
    _rel(7, "pooling", r"o = \left\lfloor \frac{i - k}{s} \right\rfloor + 1",
         "i, k, s positive integers",
         lambda: S.pool_output_size(i, k, s), lambda: sp.floor((i - k) / s) + 1, (i, k, s)),
    _rel(8, "transposed: no zero padding, unit strides", r"o' = i' + (k - 1)",
         "i', k positive integers",
         lambda: S.conv_transpose_output_size(ip, k), lambda: ip + (k - 1), (ip, k)),
    _rel(9, "transposed: zero padding, unit strides", r"o' = i' + (k - 1) - 2p",
         "i', k positive, p non-negative integers",
         lambda: S.conv_transpose_output_size(ip, k, 1, p), lambda: ip + (k - 1) - 2 * p,
         (ip, k, p)),
    _rel(10, "transposed: half (same) padding, k = 2n + 1, p = floor(k/2)", r"o' = i'",
         "i' positive, j non-negative integers, k = 2j + 1",
         lambda: S.conv_transpose_output_size(ip, 2 * j + 1, 1, sp.floor((2 * j + 1) / 2)),
         lambda: ip, (ip, j)),
    _rel(11, "transposed: full padding, p = k - 1", r"o' = i' - (k - 1)",
         "i', k positive integers",
         lambda: S.conv_transpose_output_size(ip, k, 1, k - 1), lambda: ip - (k - 1), (ip, k)),
    _rel(12, "transposed: no zero padding, non-unit strides", r"o' = s(i' - 1) + k",
         "i', k, s positive integers",
         lambda: S.conv_transpose_output_size(ip, k, s), lambda: s * (ip - 1) + k, (ip, k, s)),
    _rel(13, "transposed: zero padding, non-unit strides", r"o' = s(i' - 1) + k - 2p",
         "i', k, s positive, p non-negative integers",
         lambda: S.conv_transpose_output_size(ip, k, s, p), lambda: s * (ip - 1) + k - 2 * p,
         (ip, k, s, p)),
    _rel(14, "transposed, with output padding a = (i + 2p - k) mod s restoring the input size",
         r"o' = s(i' - 1) + a + k - 2p = i, \quad a = (i + 2p - k) \bmod s,\ "
         r"i' = \left\lfloor \frac{i + 2p - k}{s} \right\rfloor + 1",
         "i, k, s positive, p non-negative integers, i + 2p >= k",
         lambda: (S.conv_transpose_output_size(S.conv_output_size(i, k, s, p), k, s, p, _A),) * 2,
         lambda: (s * (sp.floor((i + 2 * p - k) / s) + 1 - 1) + _A + k - 2 * p, i),
         (i, k, s, p), where=(sp.Ge(i + 2 * p, k),)),
    _rel(15, "dilation",
         r"o = \left\lfloor \frac{i + 2p - k - (k - 1)(d - 1)}{s} \right\rfloor + 1",
         "i, k, s, d positive, p non-negative integers",
         lambda: S.conv_output_size(i, k, s, p, d),
         lambda: sp.floor((i + 2 * p - k - (k - 1) * (d - 1)) / s) + 1, (i, k, s, p, d)),
)  # fmt: skip
