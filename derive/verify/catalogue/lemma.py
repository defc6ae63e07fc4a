"""Lemmas of our own: the floor and ceiling facts the proofs apply, and the two facts that
make every vetted case split exhaustive (:mod:`derive.verify.splits`)."""

from __future__ import annotations

import sympy as sp

from derive.verify.catalogue.symbols import R1, R2, D, Rr, mi, q, r0, s, s1, s2, u, v, w, x, xr
from derive.verify.claim import claim
from derive.verify.proofs import Identity
from derive.verify.splits import Compare, Division

__all__ = ["CLAIMS"]

_y = sp.Symbol("y", real=True)
_yi, _yn = sp.Symbol("y", integer=True), sp.Symbol("y", integer=True, negative=True)
_q1 = sp.Symbol("q_1", integer=True)

CLAIMS = (
    claim(
        "lemma.floor-shift",
        "An integer leaves a floor unchanged: floor(x + m) = floor(x) + m.",
        r"\lfloor x + m \rfloor = \lfloor x \rfloor + m",
        "x real, m integer",
        Identity(lambda: sp.floor(xr + mi), lambda: sp.floor(xr) + mi, (xr, mi), sympy_only=True),
    ),
    claim(
        "lemma.floor-division",
        "The quotient of a division leaves the floor: floor((QD + R)/D) = Q + floor(R/D), and "
        "the same for the ceiling.",
        r"\left\lfloor \frac{QD + R}{D} \right\rfloor"
        r" = Q + \left\lfloor \frac{R}{D} \right\rfloor,"
        r"\quad \left\lceil \frac{QD + R}{D} \right\rceil"
        r" = Q + \left\lceil \frac{R}{D} \right\rceil",
        "Q, R integers, D a positive integer",
        Identity(
            lambda: (sp.floor((q * D + Rr) / D), sp.ceiling((q * D + Rr) / D)),
            lambda: (q + sp.floor(Rr / D), q + sp.ceiling(Rr / D)),
            (q, Rr, D),
            sympy_only=True,
        ),
    ),
    claim(
        "lemma.mod",
        "The remainder is what the floored quotient leaves: x mod s = x - s floor(x/s).",
        r"x \bmod s = x - s \left\lfloor \frac{x}{s} \right\rfloor",
        "x integer, s a positive integer",
        Identity(lambda: sp.Mod(x, s), lambda: x - s * sp.floor(x / s), (x, s), sympy_only=True),
    ),
    claim(
        "lemma.split-division",
        "Division with remainder covers every integer: x = s floor(x/s) + r with r = s frac(x/s) "
        "and 0 <= frac < 1, so 0 <= r < s. Every case split by division (and parity, s = 2) "
        "rests on this; it solves for a symbol of coefficient 1 or -1, a bijection of the "
        "integers.",
        r"x = s \left\lfloor \tfrac{x}{s} \right\rfloor + r,\ r = s\,\{x/s\},"
        r"\ 0 \le \{y\} < 1",
        "x integer, s a positive integer, y real",
        Identity(
            lambda: (x - s * sp.floor(x / s), sp.frac(_y) >= 0, sp.frac(_y) < 1),
            lambda: ((s * sp.frac(x / s)).rewrite(sp.floor), sp.true, sp.true),
            (x, s, _y),
            sympy_only=True,
        ),
    ),
    claim(
        "lemma.split-compare",
        "A comparison and its negation cover every integer: y >= 0, or y < 0 and then "
        "-1 - y >= 0. Every case split by comparison (a >= b as a - b = t, a < b as "
        "b - a = 1 + t, t >= 0) rests on this.",
        r"y \ge 0 \lor y < 0, \quad y < 0 \implies -1 - y \ge 0",
        "y integer",
        Identity(
            lambda: (sp.Or(_yi >= 0, _yi < 0), -1 - _yn >= 0),
            lambda: (sp.true, sp.true),
            (_yi, _yn),
            sympy_only=True,
        ),
    ),
    claim(
        "lemma.ceil-as-floor",
        "A ceiling of a quotient is a floor: ceil(x/s) = floor((x + s - 1)/s).",
        r"\left\lceil \frac{x}{s} \right\rceil = \left\lfloor \frac{x + s - 1}{s} \right\rfloor",
        "x integer, s a positive integer",
        Identity(
            lambda: sp.ceiling(x / s),
            lambda: sp.floor((x + s - 1) / s),
            (x, s),
            split=Division(x, s, x, q, r0, u).then(Compare(r0, 1, r0, r0, v)),
        ),
    ),
    claim(
        "lemma.half-split",
        "An integer splits into its floor half and its ceiling half: floor(x/2) + ceil(x/2) = x.",
        r"\left\lfloor \frac{x}{2} \right\rfloor + \left\lceil \frac{x}{2} \right\rceil = x",
        "x integer",
        Identity(
            lambda: sp.floor(x / 2) + sp.ceiling(x / 2), lambda: x, (x,), split=Division(x, 2, x, q)
        ),  # fmt: skip
    ),
    claim(
        "lemma.floor-nested",
        "Two floored divisions are one: floor(floor(x/a)/b) = floor(x/(ab)).",
        r"\left\lfloor \frac{\lfloor x/a \rfloor}{b} \right\rfloor"
        r" = \left\lfloor \frac{x}{ab} \right\rfloor",
        "x integer, a and b positive integers",
        Identity(
            lambda: sp.floor(sp.floor(x / s1) / s2),
            lambda: sp.floor(x / (s1 * s2)),
            (x, s1, s2),
            split=Division(x, s1, x, _q1, R1, u).then(Division(_q1, s2, _q1, q, R2, w)),
        ),
    ),
)
