"""The symbols every table shares (integers with their signs) and the case parameters."""

from __future__ import annotations

import sympy as sp

__all__ = [
    "POS", "NN", "n", "k", "s", "d", "m", "i", "ip", "k1", "k2", "s1", "s2", "p", "pt", "pb",
    "j", "P_tot", "q", "qn", "a_", "u", "t", "v", "w", "R1", "R2", "r0", "x", "xr", "mi", "D",
    "Rr", "alpha", "beta",
]  # fmt: skip

POS = {"integer": True, "positive": True}
NN = {"integer": True, "nonnegative": True}

n, k, s, d, m = sp.symbols("n k s d m", **POS)
i, ip = sp.Symbol("i", **POS), sp.Symbol("i'", **POS)
k1, k2, s1, s2 = sp.symbols("k_1 k_2 s_1 s_2", **POS)
p, pt, pb, j = sp.symbols("p p_t p_b j", **NN)
P_tot = sp.Symbol("p", **NN)  # the book's total padding (same letter as the page)
# case parameters: quotients (any integer, or non-negative), remainders and slacks
q, mi, x = sp.symbols("q m x", integer=True)
qn = sp.Symbol("q", **NN)
a_, u, t, v, w, R1, R2, r0 = sp.symbols("a u t v w r_1 r_2 r", **NN)
xr = sp.Symbol("x", real=True)
D = sp.Symbol("D", **POS)
Rr = sp.Symbol("R", integer=True)
alpha, beta = sp.symbols("alpha beta")
