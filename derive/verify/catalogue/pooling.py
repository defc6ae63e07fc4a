r"""Pooling with ``ceil_mode``: three properties of torch's rule, proved for every size.

With $T = n + 2p - d(k-1) - 1$, floor mode gives $\lfloor T/s \rfloor + 1$ and ceil mode rounds
up but drops a last window starting in the right padding. The proofs split $T = qs + r$
($0 \le r < s$), then $r = 0$ or $r \ge 1$, and use $p \le d(k-1)$, which torch's
$p \le \lfloor k/2 \rfloor$ implies (``pooling.half-within-span``).
"""

from __future__ import annotations

import sympy as sp

from derive import shapes as S
from derive.verify.catalogue.symbols import d, j, k, n, p, q, r0, s, t, u, v
from derive.verify.claim import claim
from derive.verify.proofs import Identity
from derive.verify.splits import Compare, Division

__all__ = ["CLAIMS"]

_T = n + 2 * p - d * (k - 1) - 1
_SPLIT = Compare(d * (k - 1), p, p, p, t).then(Division(_T, s, n, q, r0, u),
                                               Compare(r0, 1, r0, r0, v))  # fmt: skip
_WITHIN = (sp.Le(p, d * (k - 1)),)
_SYMS = (n, k, s, p, d)
_SOURCE = "torch pooling_output_shape"
_ASSUMED = "n, k, s, d positive, p non-negative integers, p <= d(k-1) (torch: p <= floor(k/2))"


def _floor_mode():
    return S.pool_output_size(n, k, s, p, d, False)


def _ceil_mode():
    return S.pool_output_size(n, k, s, p, d, True)


def _ceil_claim(name, statement, latex, lhs, rhs, where=()):
    """A ceil_mode property, proved over the split above for every p <= d(k-1)."""
    assumed = _ASSUMED + (", n + 2p >= d(k-1) + 1" if where else "")
    spec = Identity(lhs, rhs, _SYMS, split=_SPLIT, where=_WITHIN + tuple(where))
    return claim(name, statement, latex, assumed, spec, _SOURCE)


CLAIMS = (
    claim(
        "pooling.half-within-span",
        "torch's pooling padding bound keeps the padding inside the window's span: "
        "floor(k/2) <= d(k-1) for every kernel and dilation.",
        r"\lfloor k/2 \rfloor \le d(k-1)",
        "k, d positive integers",
        Identity(
            lambda: sp.Le(sp.floor(k / 2), d * (k - 1)),
            lambda: sp.true,
            (k, d),
            split=Division(k - 1, 2, k, j),
        ),
    ),
    _ceil_claim(
        "pooling.ceil-at-most-one-more",
        "ceil_mode gives the floor-mode size or one more, never anything else.",
        r"0 \le n_\text{out}^{\lceil\rceil} - n_\text{out}^{\lfloor\rfloor} \le 1",
        lambda: (sp.Ge(_ceil_mode() - _floor_mode(), 0), sp.Le(_ceil_mode() - _floor_mode(), 1)),
        lambda: (sp.true, sp.true),
    ),
    _ceil_claim(
        "pooling.ceil-last-window",
        "With ceil_mode the last window starts inside the input or the left padding.",
        r"(n_\text{out} - 1)s < n + p",
        lambda: (_ceil_mode() - 1) * s < n + p,
        lambda: sp.true,
    ),
    _ceil_claim(
        "pooling.ceil-agrees-when-divisible",
        "When s divides n + 2p - d(k-1) - 1 (>= 0), ceil_mode and floor mode give the same size.",
        r"s \mid n + 2p - d(k-1) - 1 \implies n_\text{out}^{\lceil\rceil}"
        r" = n_\text{out}^{\lfloor\rfloor}",
        _ceil_mode,
        _floor_mode,
        (sp.Eq(sp.Mod(_T, s), 0), sp.Ge(_T, 0)),
    ),
)
