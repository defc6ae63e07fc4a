r"""The catalogue: every claim derive makes, as data.

Each :class:`Claim` has an id, a statement in words and in LaTeX, its assumptions, the
method that establishes it and a *spec* holding the identity itself:

- :class:`~derive.verify.proofs.Identity` - the engine's symbolic formula against a
  reference formula (the book's, Dumoulin & Visin's, a framework's documentation), proved
  by SymPy with our lemmas, case by case;
- :class:`~derive.verify.proofs.Elementwise` - arrays of symbolic entries equal as
  polynomials: proved *for the shapes named in the statement* only;
- :class:`~derive.verify.proofs.Exact` - a concrete worked example evaluated exactly;
- :class:`~derive.verify.proofs.Counterexample` - a universal statement refuted;
- :class:`~derive.verify.proofs.Raises` - the engine rejects whole symbolic families;
- :class:`~derive.verify.exhaustive.Exhaustive` - **checked** over a finite range only.

Engine functions are looked up at call time through their modules (``S.conv_output_size``
is ``derive.shapes.conv_output_size`` as it is *now*), so a patched engine is what gets
verified. Sources: the seed page (the CNN chapter of *Dive into Deep Learning*), V. Dumoulin
and F. Visin, *A guide to convolution arithmetic for deep learning* (2016), and the
documentation of PyTorch, TensorFlow and ONNX.

>>> claim = claim_by_id("dv.6")
>>> claim.latex
'o = \\left\\lfloor \\frac{i + 2p - k}{s} \\right\\rfloor + 1'
>>> establish(claim).status
'proved'
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy as sp

from derive import conv as C
from derive import pool as PL
from derive import shapes as S
from derive import tensors as T
from derive.verify.lemmas import ceil_as_floor, half_split
from derive.verify.proofs import (
    Case,
    Counterexample,
    Elementwise,
    Exact,
    Identity,
    Outcome,
    Raises,
    prove_elementwise,
    prove_identity,
    run_counterexample,
    run_exact,
    run_raises,
)

__all__ = ["Claim", "CLAIMS", "GROUPS", "establish", "claim_by_id"]

Spec = Identity | Elementwise | Exact | Counterexample | Raises | Any

#: group id -> heading
GROUPS: dict[str, str] = {
    "lemma": "Lemmas of our own",
    "book": "Claims of the book's chapter (the seed page)",
    "dv": "Dumoulin & Visin, the fifteen relationships",
    "framework": "Framework conventions: PyTorch, TensorFlow, ONNX",
    "composition": "Composition and linearity",
    "rejection": "Rejections (what torch refuses, the engine refuses)",
    "pooling": "Pooling with ceil_mode",
}


@dataclass(frozen=True)
class Claim:
    """One claim: what is said, under which assumptions, and how it is established."""

    id: str
    group: str
    statement: str
    latex: str
    assumptions: str
    method: str
    spec: Spec
    source: str = ""


# ---------------------------------------------------------------- symbols
_POS = {"integer": True, "positive": True}
_NN = {"integer": True, "nonnegative": True}

n, k, s, d, m = sp.symbols("n k s d m", **_POS)
i, ip = sp.Symbol("i", **_POS), sp.Symbol("i'", **_POS)
k1, k2, s1, s2 = sp.symbols("k_1 k_2 s_1 s_2", **_POS)
p, pt, pb, j = sp.symbols("p p_t p_b j", **_NN)
P_tot = sp.Symbol("p", **_NN)  # the book's total padding (same letter as the page)
# case parameters
q, a_, u, t, v, w, R1, R2 = sp.symbols("q a u t v w r_1 r_2", **_NN)
r = sp.Symbol("r", **_POS)
qi, x, mi = sp.symbols("q x m", integer=True)
xr = sp.Symbol("x", real=True)
D = sp.Symbol("D", **_POS)
Rr = sp.Symbol("R", integer=True)

_DIVISION = "division with remainder"


def _remainder_inverse(value: int, divisor: int) -> dict[str, int]:
    """Parameters of ``value = q*divisor + a`` with ``divisor = a + 1 + u`` (for cover checks)."""
    quotient, rest = divmod(value, divisor)
    return {"q": quotient, "a": rest, "u": divisor - rest - 1}


def _nested_inverse(value: int, a: int, b: int) -> dict[str, int]:
    """Parameters of ``value = (q b + r_2) a + r_1``, ``a = r_1 + 1 + u``, ``b = r_2 + 1 + w``."""
    first, r1 = divmod(value, a)
    quotient, r2 = divmod(first, b)
    return {"q": quotient, "r_1": r1, "r_2": r2, "u": a - r1 - 1, "w": b - r2 - 1}


def _ceil(a: sp.Expr, b: sp.Expr) -> sp.Expr:
    return sp.ceiling(a / b)


# ---------------------------------------------------------------- references
def _torch_conv(n_, k_, s_, p_, d_):
    return sp.floor((n_ + 2 * p_ - d_ * (k_ - 1) - 1) / s_) + 1


def _tf_same(n_, k_, s_):
    """TensorFlow's SAME: output ceil(n/s), total padding, split (extra zero after)."""
    out = _ceil(n_, s_)
    total = sp.Max((out - 1) * s_ + k_ - n_, 0)
    before = sp.floor(total / 2)
    return out, total, (before, total - before)


def _onnx_pads(n_, k_, s_, mode):
    """ONNX auto_pad: SAME_UPPER puts the extra zero at the end, SAME_LOWER at the beginning."""
    _, total, (small, big) = _tf_same(n_, k_, s_)
    return (small, big) if mode == "SAME_UPPER" else (big, small)


def _same_cases() -> tuple[tuple[Case, ...], str]:
    """n = q s + r with 1 <= r <= s; then k >= r (padding needed) or k < r (none)."""

    def split(vv: dict[str, int]) -> tuple[int, int]:
        quotient, rest = divmod(vv["n"] - 1, vv["s"])
        return quotient, rest + 1  # n = q s + r with 1 <= r <= s

    def padded(vv):
        q_, r_ = split(vv)
        return {"q": q_, "r": r_, "t": vv["k"] - r_, "u": vv["s"] - r_}

    def unpadded(vv):
        q_, r_ = split(vv)
        return {"q": q_, "t": r_ - vv["k"] - 1, "u": vv["s"] - r_}

    return (
        Case("k >= r", {n: q * s + r, k: r + t}, {s: r + u}, padded),
        Case("k < r", {n: q * s + k + 1 + t}, {s: k + 1 + t + u}, unpadded),
    ), f"{_DIVISION} n = qs + r, 1 <= r <= s; then k >= r or k < r"


# ---------------------------------------------------------------- lemmas
def _lemmas() -> list[Claim]:
    return [
        Claim(
            "lemma.floor-shift",
            "lemma",
            "An integer leaves a floor unchanged: floor(x + m) = floor(x) + m.",
            r"\lfloor x + m \rfloor = \lfloor x \rfloor + m",
            "x real, m integer",
            "SymPy alone",
            Identity(
                lambda: sp.floor(xr + mi), lambda: sp.floor(xr) + mi, (xr, mi), sympy_only=True
            ),
        ),
        Claim(
            "lemma.floor-division",
            "lemma",
            "The quotient of a division leaves the floor: floor((QD + R)/D) = Q + floor(R/D), "
            "and the same for the ceiling.",
            r"\left\lfloor \frac{QD + R}{D} \right\rfloor = Q + \left\lfloor \frac{R}{D} "
            r"\right\rfloor,"
            r"\quad \left\lceil \frac{QD + R}{D} \right\rceil = Q + \left\lceil \frac{R}{D} "
            r"\right\rceil",
            "Q, R integers, D a positive integer",
            "SymPy alone",
            Identity(
                lambda: (sp.floor((qi * D + Rr) / D), sp.ceiling((qi * D + Rr) / D)),
                lambda: (qi + sp.floor(Rr / D), qi + sp.ceiling(Rr / D)),
                (qi, Rr, D),
                sympy_only=True,
            ),
        ),
        Claim(
            "lemma.mod",
            "lemma",
            "The remainder is what the floored quotient leaves: x mod s = x - s floor(x/s).",
            r"x \bmod s = x - s \left\lfloor \frac{x}{s} \right\rfloor",
            "x integer, s a positive integer",
            "SymPy alone (its definition of Mod)",
            Identity(
                lambda: sp.Mod(x, s), lambda: x - s * sp.floor(x / s), (x, s), sympy_only=True
            ),
        ),
        Claim(
            "lemma.ceil-as-floor",
            "lemma",
            "A ceiling of a quotient is a floor: ceil(x/s) = floor((x + s - 1)/s).",
            r"\left\lceil \frac{x}{s} \right\rceil"
            r" = \left\lfloor \frac{x + s - 1}{s} \right\rfloor",
            "x integer, s a positive integer",
            "proof by cases",
            Identity(
                lambda: _ceil(x, s),
                lambda: sp.floor((x + s - 1) / s),
                (x, s),
                cases=(
                    Case(
                        "s divides x",
                        {x: qi * s},
                        inverse=lambda vv: (
                            {"q": vv["x"] // vv["s"]} if vv["x"] % vv["s"] == 0 else None
                        ),
                    ),
                    Case(
                        "1 <= r <= s-1",
                        {x: qi * s + r},
                        {s: r + 1 + u},
                        lambda vv: {
                            "q": vv["x"] // vv["s"],
                            "r": vv["x"] % vv["s"],
                            "u": vv["s"] - vv["x"] % vv["s"] - 1,
                        },
                    ),
                ),
                cover=f"{_DIVISION} x = qs + r, r = 0 or 1 <= r <= s-1",
                lemmas=("floor-division", "floor-window", "ceil-window"),
            ),
        ),
        Claim(
            "lemma.half-split",
            "lemma",
            "An integer splits into its floor half and its ceiling half: "
            "floor(x/2) + ceil(x/2) = x.",
            r"\left\lfloor \frac{x}{2} \right\rfloor + \left\lceil \frac{x}{2} \right\rceil = x",
            "x integer",
            "proof by cases",
            Identity(
                lambda: sp.floor(x / 2) + _ceil(x, 2),
                lambda: x,
                (x,),
                cases=(
                    Case(
                        "x even",
                        {x: 2 * qi},
                        inverse=lambda vv: {"q": vv["x"] // 2} if vv["x"] % 2 == 0 else None,
                    ),
                    Case(
                        "x odd",
                        {x: 2 * qi + 1},
                        inverse=lambda vv: {"q": vv["x"] // 2} if vv["x"] % 2 == 1 else None,
                    ),
                ),
                cover="parity: x = 2q or x = 2q + 1",
                lemmas=("floor-division", "floor-window", "ceil-window"),
            ),
        ),
        Claim(
            "lemma.floor-nested",
            "lemma",
            "Two floored divisions are one: floor(floor(x/a)/b) = floor(x/(ab)).",
            r"\left\lfloor \frac{\lfloor x/a \rfloor}{b} \right\rfloor = \left\lfloor \frac{x}{ab} "
            r"\right\rfloor",
            "x integer, a and b positive integers",
            "proof by cases",
            Identity(
                lambda: sp.floor(sp.floor(x / s1) / s2),
                lambda: sp.floor(x / (s1 * s2)),
                (x, s1, s2),
                cases=(
                    Case(
                        "x = (q b + r_2) a + r_1",
                        {x: (qi * s2 + R2) * s1 + R1},
                        {s1: R1 + 1 + u, s2: R2 + 1 + w},
                        lambda vv: _nested_inverse(vv["x"], vv["s_1"], vv["s_2"]),
                    ),
                ),
                cover=f"{_DIVISION} twice: x = r_1 + a(r_2 + bq), 0 <= r_1 < a, 0 <= r_2 < b",
                lemmas=("floor-division", "floor-window"),
            ),
        ),
    ]


# ---------------------------------------------------------------- the seed page
def _symbolic_example(shape: tuple[int, ...], name: str) -> sp.Array:
    return T.symbol_array(name, shape)


def _matrix(a: sp.Array) -> sp.Matrix:
    rows, cols = a.shape
    return sp.Matrix(rows, cols, list(sp.flatten(a)))


def _seed_corr2d_example() -> tuple[bool, str]:
    X = [[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3], [2, 0, 0, 2, 2], [2, 0, 0, 0, 1]]
    K = [[0, 1, 2], [2, 2, 0], [0, 1, 2]]
    book = [[12, 12, 17], [10, 17, 19], [9, 6, 14]]  # quoted from the seed page
    got = C.corr2d(X, K).tolist()
    return got == book, f"corr2d(X, K) = {got}; the page prints {book}"


def _edge_example() -> tuple[bool, str]:
    X = sp.ones(6, 8)
    X[:, 2:6] = sp.zeros(6, 4)
    K = sp.Matrix([[1, -1]])
    Y = C.corr2d(X, K)
    YT = C.corr2d(X.T, K)
    edges = {(r_, c_): Y[r_, c_] for r_ in range(Y.rows) for c_ in range(Y.cols) if Y[r_, c_] != 0}
    expected = {(r_, 1): 1 for r_ in range(6)} | {(r_, 5): -1 for r_ in range(6)}
    ok = edges == expected and YT.is_zero_matrix and Y.shape == (6, 7) and YT.shape == (8, 5)
    return ok, (
        f"corr2d(X, K) is 1 in column 1 and -1 in column 5 of all 6 rows, 0 elsewhere; "
        f"corr2d(X^T, K) is the {YT.rows}x{YT.cols} zero matrix"
    )


def _shape_examples() -> tuple[bool, str]:
    # (input, kernel, padding, stride) and the output the page prints for it
    book = [
        ((8, 8), (3, 3), (1, 1), (1, 1), (8, 8)),
        ((8, 8), (5, 3), (2, 1), (1, 1), (8, 8)),
        ((8, 8), (3, 3), (1, 1), (2, 2), (4, 4)),
        ((8, 8), (3, 5), (0, 1), (3, 4), (2, 2)),
        ((3, 3), (2, 2), (1, 1), (1, 1), (4, 4)),
    ]
    got = [
        tuple(int(S.conv_output_size(nn, kk, ss, pp)) for nn, kk, pp, ss in zip(*cfg[:4]))
        for cfg in book
    ]
    ok = got == [cfg[4] for cfg in book]
    return ok, f"engine sizes {got}; the page prints {[cfg[4] for cfg in book]}"


def _worked_numbers() -> tuple[bool, str]:
    X = [[[0, 1, 2], [3, 4, 5], [6, 7, 8]]]
    K = [[[[0, 1], [2, 3]]]]
    padded = C.conv2d(X, K, padding=1)
    strided = C.conv2d(X, K, padding=1, stride=(3, 2))
    multi = C.conv2d(
        [[[0, 1, 2], [3, 4, 5], [6, 7, 8]], [[1, 2, 3], [4, 5, 6], [7, 8, 9]]],
        [[[[0, 1], [2, 3]], [[1, 2], [3, 4]]]],
    )
    terms = C.conv2d_terms(
        [[[0, 1, 2], [3, 4, 5], [6, 7, 8]], [[1, 2, 3], [4, 5, 6], [7, 8, 9]]],
        [[[[0, 1], [2, 3]], [[1, 2], [3, 4]]]],
        (0, 0, 0),
    )
    per_channel = [
        [(int(xv), int(wv)) for (c_, _, _), xv, _, wv in terms if c_ == ch] for ch in (0, 1)
    ]
    # the page: 0x0+0x1+0x2+0x3 = 0; 0x0+0x1+1x2+2x3 = 8; 0x0+6x1+0x2+0x3 = 6;
    # (1x1+2x2+4x3+5x4)+(0x0+1x1+3x2+4x3) = 56
    checks = {
        "padded top-left 0": padded.shape == (1, 4, 4) and padded[0, 0, 0] == 0,
        "strided 8 and 6": strided.shape == (1, 2, 2)
        and (strided[0, 0, 1], strided[0, 1, 0]) == (8, 6),
        "two channels 56": multi[0, 0, 0] == 56,
        "56 = 19 + 37": per_channel
        == [[(0, 0), (1, 1), (3, 2), (4, 3)], [(1, 1), (2, 2), (4, 3), (5, 4)]],
    }
    bad = [name for name, ok in checks.items() if not ok]
    return not bad, (
        "padding: 4x4 output, top-left 0; stride (3, 2): 8 and 6; two channels: "
        f"{multi[0, 0, 0]} = 19 + 37" + (f"; FAILED: {bad}" if bad else "")
    )


def _pool_stride_pairs():
    X = _symbolic_example((1, 4, 6), "x")
    return [
        (
            PL.max_pool2d(X, (2, 3), padding=(0, 1)),
            PL.max_pool2d(X, (2, 3), stride=(2, 3), padding=(0, 1)),
        ),
        (
            PL.avg_pool2d(X, (2, 3), padding=(0, 1)),
            PL.avg_pool2d(X, (2, 3), stride=(2, 3), padding=(0, 1)),
        ),
    ]


def _pool_channel_pairs():
    X = _symbolic_example((3, 4, 5), "x")
    pairs = []
    for fn, kw in (
        (PL.max_pool2d, {"kernel_size": 2, "stride": 1}),
        (PL.avg_pool2d, {"kernel_size": (2, 3), "padding": 1, "ceil_mode": True}),
    ):
        whole = fn(X, **kw)
        alone = [fn(X[c_ : c_ + 1, :, :], **kw) for c_ in range(3)]
        stacked = sp.Array([a[0].tolist() for a in alone])
        pairs.append((whole, stacked))
    return pairs


def _conv1x1_pairs():
    X = _symbolic_example((3, 3, 3), "x")
    W = _symbolic_example((2, 3, 1, 1), "w")
    product = _matrix(W.reshape(2, 3)) * sp.Matrix(3, 9, list(sp.flatten(X)))
    return [(C.conv2d(X, W), sp.Array(list(product), (2, 3, 3)))]


def _transpose_pairs():
    pairs = []
    for xs, ks in (((4, 5), (2, 3)), ((3, 3), (1, 2))):
        X = _matrix(_symbolic_example(xs, "x"))
        K = _matrix(_symbolic_example(ks, "k"))
        pairs.append((C.corr2d(X.T, K.T), C.corr2d(X, K).T))
    return pairs


_a, _b = sp.symbols("a b")


def _linear_input_pairs():
    X, Y = _symbolic_example((2, 4, 4), "x"), _symbolic_example((2, 4, 4), "y")
    W = _symbolic_example((2, 2, 2, 2), "w")
    out = []
    for kw in ({"padding": 1}, {"stride": 2, "padding": 1}):
        out.append(
            (
                C.conv2d(_a * X + _b * Y, W, **kw),
                _a * C.conv2d(X, W, **kw) + _b * C.conv2d(Y, W, **kw),
            )
        )
    return out


def _linear_kernel_pairs():
    X = _symbolic_example((2, 4, 4), "x")
    V, W = _symbolic_example((2, 2, 2, 2), "v"), _symbolic_example((2, 2, 2, 2), "w")
    out = []
    for kw in ({"padding": 1}, {"stride": 2, "padding": 1}):
        out.append(
            (
                C.conv2d(X, _a * V + _b * W, **kw),
                _a * C.conv2d(X, V, **kw) + _b * C.conv2d(X, W, **kw),
            )
        )
    return out


def _multi_in_pairs():
    X = _symbolic_example((2, 3, 3), "x")
    K = _symbolic_example((1, 2, 2, 2), "k")
    channels = [C.corr2d(_matrix(X[c_, :, :]), _matrix(K[0, c_, :, :])) for c_ in range(2)]
    total = channels[0] + channels[1]
    return [(C.conv2d(X, K)[0, :, :], sp.Array(total.tolist()))]


def _book() -> list[Claim]:
    book = "seed page"
    return [
        Claim(
            "book.valid-size",
            "book",
            "Without padding, an n-wide input and a k-wide kernel give n - k + 1 outputs.",
            r"n_\text{out} = n - k + 1",
            "n, k positive integers",
            "proof",
            Identity(lambda: S.conv_output_size(n, k), lambda: n - k + 1, (n, k)),
            book,
        ),
        Claim(
            "book.padded-size",
            "book",
            "With p = p_t + p_b rows of padding in total (any split), the output has "
            "n - k + p + 1 entries.",
            r"n_\text{out} = n - k + p + 1, \quad p = p_t + p_b",
            "n, k positive, p_t, p_b non-negative integers",
            "proof",
            Identity(
                lambda: S.conv_output_size(n, k, 1, (pt, pb)),
                lambda: n - k + (pt + pb) + 1,
                (n, k, pt, pb),
            ),
            book,
        ),
        Claim(
            "book.keep-size",
            "book",
            "Padding p = k - 1 in total keeps the size: the output has n entries.",
            r"p = k - 1 \implies n - k + p + 1 = n",
            "n positive, p_t, p_b non-negative, k = p_t + p_b + 1",
            "proof",
            Identity(
                lambda: S.conv_output_size(n, pt + pb + 1, 1, (pt, pb)), lambda: n, (n, pt, pb)
            ),
            book,
        ),
        Claim(
            "book.odd-kernel-split",
            "book",
            "An odd kernel k = 2j + 1 keeps the size with p/2 = j zeros on each side, "
            "which is exactly what torch's padding='same' pads.",
            r"k = 2j + 1:\ (p_t, p_b) = (\tfrac{p}{2}, \tfrac{p}{2}) = (j, j) = \text{same}(k)",
            "n positive, j non-negative integers",
            "proof",
            Identity(
                lambda: (
                    *S.resolve_conv_padding("same", 2 * j + 1),
                    S.conv_output_size(n, 2 * j + 1, 1, (j, j)),
                    S.conv_output_size(n, 2 * j + 1, 1, "same"),
                ),
                lambda: (j, j, n, n),
                (n, j),
            ),
            book,
        ),
        Claim(
            "book.even-kernel-split",
            "book",
            "An even kernel k = 2j + 2 needs p = 2j + 1: the book pads ceil(p/2) = j + 1 on top "
            "and "
            "floor(p/2) = j at the bottom and keeps the size; torch's padding='same' pads the "
            "mirror split, j before and j + 1 after.",
            r"k = 2j + 2:\ \left(\lceil \tfrac{p}{2} \rceil, \lfloor \tfrac{p}{2} \rfloor\right) = "
            r"(j + 1, j),"
            r"\ \text{same}(k) = (j, j + 1)",
            "n positive, j non-negative integers",
            "proof",
            Identity(
                lambda: (
                    _ceil(2 * j + 1, 2),
                    sp.floor((2 * j + 1) / 2),
                    S.conv_output_size(
                        n, 2 * j + 2, 1, (_ceil(2 * j + 1, 2), sp.floor((2 * j + 1) / 2))
                    ),
                    *S.resolve_conv_padding("same", 2 * j + 2),
                ),
                lambda: (j + 1, j, n, j, j + 1),
                (n, j),
                lemmas=("floor-division", "floor-window", "ceil-window"),
            ),
            book,
        ),
        Claim(
            "book.stride-size",
            "book",
            "With stride s and total padding p the output has floor((n - k + p + s)/s) entries.",
            r"n_\text{out} = \left\lfloor \frac{n - k + p + s}{s} \right\rfloor",
            "n, k, s positive, p_t, p_b non-negative integers, p = p_t + p_b",
            "proof",
            Identity(
                lambda: S.conv_output_size(n, k, s, (pt, pb)),
                lambda: sp.floor((n - k + (pt + pb) + s) / s),
                (n, k, s, pt, pb),
                lemmas=("floor-division",),
            ),
            book,
        ),
        Claim(
            "book.stride-keep",
            "book",
            "With p = k - 1 the strided output has floor((n + s - 1)/s) entries.",
            r"p = k - 1 \implies n_\text{out} = \left\lfloor \frac{n + s - 1}{s} \right\rfloor",
            "n, s positive, p_t, p_b non-negative, k = p_t + p_b + 1",
            "proof",
            Identity(
                lambda: S.conv_output_size(n, pt + pb + 1, s, (pt, pb)),
                lambda: sp.floor((n + s - 1) / s),
                (n, s, pt, pb),
                lemmas=("floor-division",),
            ),
            book,
        ),
        Claim(
            "book.stride-divides",
            "book",
            "With p = k - 1 and s dividing n the output has exactly n/s entries.",
            r"p = k - 1,\ s \mid n \implies n_\text{out} = n/s",
            "s, m positive, n = s m, p_t, p_b non-negative, k = p_t + p_b + 1",
            "proof",
            Identity(
                lambda: S.conv_output_size(s * m, pt + pb + 1, s, (pt, pb)),
                lambda: (s * m) / s,
                (m, s, pt, pb),
                lemmas=("floor-division", "floor-window"),
            ),
            book,
        ),
        Claim(
            "book.total-vs-side",
            "book",
            "The book's formula with total padding p = 2 p_side equals torch's per-side formula "
            "floor((n + 2 p_side - (k - 1) - 1)/s) + 1 that the engine implements.",
            r"\left\lfloor \frac{n - k + 2p + s}{s} \right\rfloor"
            r" = \left\lfloor \frac{n + 2p - (k-1) - 1}{s} \right\rfloor + 1",
            "n, k, s positive, p (per side) non-negative integers; dilation 1",
            "proof",
            Identity(
                lambda: S.conv_output_size(n, k, s, p),
                lambda: sp.floor((n - k + 2 * p + s) / s),
                (n, k, s, p),
                lemmas=("floor-division",),
            ),
            book,
        ),
        Claim(
            "book.plus-s-plus-one",
            "book",
            "The '+s inside' and '+1 outside' forms of the stride formula agree.",
            r"\left\lfloor \frac{n - k + p + s}{s} \right\rfloor = \left\lfloor \frac{n - k + "
            r"p}{s} \right\rfloor + 1",
            "n, k, s positive, p non-negative integers",
            "proof",
            Identity(
                lambda: sp.floor((n - k + P_tot + s) / s),
                lambda: sp.floor((n - k + P_tot) / s) + 1,
                (n, k, s, P_tot),
                lemmas=("floor-division",),
            ),
            book,
        ),
        Claim(
            "book.pool-default-stride",
            "book",
            "Pooling's default stride is the window: stride=None gives the same size as stride=k "
            "(floor and ceil mode, any padding and dilation), floor(n/k) without padding.",
            r"\operatorname{pool}(n, k) = \operatorname{pool}(n, k, s{=}k) = \left\lfloor "
            r"\frac{n}{k} \right\rfloor",
            "n, k, d positive, p non-negative integers",
            "proof",
            Identity(
                lambda: (
                    S.pool_output_size(n, k, None, p, d, False),
                    S.pool_output_size(n, k, None, p, d, True),
                    S.pool_output_size(n, k),
                ),
                lambda: (
                    S.pool_output_size(n, k, k, p, d, False),
                    S.pool_output_size(n, k, k, p, d, True),
                    sp.floor(n / k),
                ),
                (n, k, p, d),
                lemmas=("floor-division",),
            ),
            book,
        ),
        Claim(
            "book.pool-default-stride-elements",
            "book",
            "For a 1x4x6 input of symbols and the page's (2, 3) window with padding (0, 1), "
            "max and average pooling with the default stride equal stride=(2, 3) entry by entry.",
            r"\operatorname{maxpool}_{2\times 3}(X) = \operatorname{maxpool}_{2\times 3,\ "
            r"s=(2,3)}(X)",
            "X a 1x4x6 array of distinct symbols (this shape only)",
            "elementwise proof",
            Elementwise(_pool_stride_pairs),
            book,
        ),
        Claim(
            "book.pool-channels",
            "book",
            "Pooling keeps channels: for a 3x4x5 input of symbols, max pooling (2x2, stride 1) and "
            "average pooling ((2, 3), padding 1, ceil_mode) give 3 channels, channel c being the "
            "pooling of input channel c alone.",
            r"\operatorname{pool}(X)_c = \operatorname{pool}(X_c), \quad c = 0, 1, 2",
            "X a 3x4x5 array of distinct symbols (this shape only)",
            "elementwise proof",
            Elementwise(_pool_channel_pairs),
            book,
        ),
        Claim(
            "book.conv1x1-matmul",
            "book",
            "A 1x1 convolution is a matrix product: for 3 input channels of 3x3 symbols and 2 "
            "output "
            "channels, conv2d(X, W) = W (2x3) times X (3x9), reshaped.",
            r"Y = W_{c_o \times c_i}\, X_{c_i \times hw}",
            "X a 3x3x3 and W a 2x3x1x1 array of symbols (these shapes only)",
            "elementwise proof",
            Elementwise(_conv1x1_pairs),
            book,
        ),
        Claim(
            "book.transpose",
            "book",
            "Transposing input and kernel transposes the output: corr2d(X^T, K^T) = corr2d(X, "
            "K)^T, "
            "for a 4x5 input with a 2x3 kernel and a 3x3 input with a 1x2 kernel of symbols.",
            r"\operatorname{corr2d}(X^\top, K^\top) = \operatorname{corr2d}(X, K)^\top",
            "X, K arrays of symbols of the two stated shape pairs (these shapes only)",
            "elementwise proof",
            Elementwise(_transpose_pairs),
            book,
        ),
        Claim(
            "book.edge-transposed",
            "book",
            "On the page's 6x8 image (columns 2-5 black), the kernel [[1, -1]] finds the two "
            "vertical "
            "edges (1 and -1); on the transposed image it finds nothing: the output is all zeros.",
            r"\operatorname{corr2d}(X^\top, [1, -1]) = 0",
            "the page's image and kernel",
            "exact evaluation",
            Exact(_edge_example),
            book,
        ),
        Claim(
            "book.linear-input",
            "book",
            "Convolution is linear in its input: conv2d(aX + bY, W) = a conv2d(X, W) + b conv2d(Y, "
            "W), "
            "for 2x4x4 inputs and 2x2x2x2 weights of symbols, padding 1, strides 1 and 2.",
            r"(aX + bY) \star W = a (X \star W) + b (Y \star W)",
            "X, Y, W arrays of symbols of the stated shapes (these shapes only), a, b symbols",
            "elementwise proof",
            Elementwise(_linear_input_pairs),
            book,
        ),
        Claim(
            "book.linear-kernel",
            "book",
            "Convolution is linear in its kernel: conv2d(X, aV + bW) = a conv2d(X, V) + b "
            "conv2d(X, W), "
            "for a 2x4x4 input and 2x2x2x2 weights of symbols, padding 1, strides 1 and 2.",
            r"X \star (aV + bW) = a (X \star V) + b (X \star W)",
            "X, V, W arrays of symbols of the stated shapes (these shapes only), a, b symbols",
            "elementwise proof",
            Elementwise(_linear_kernel_pairs),
            book,
        ),
        Claim(
            "book.multi-in-sum",
            "book",
            "Several input channels give the sum of per-channel cross-correlations, for a 2x3x3 "
            "input "
            "and a 1x2x2x2 kernel of symbols.",
            r"Y = \sum_{c} \operatorname{corr2d}(X_c, K_c)",
            "X a 2x3x3 and K a 1x2x2x2 array of symbols (these shapes only)",
            "elementwise proof",
            Elementwise(_multi_in_pairs),
            book,
        ),
        Claim(
            "book.corr2d-example",
            "book",
            "The page's 5x5 cross-correlation example gives [[12, 12, 17], [10, 17, 19], [9, 6, "
            "14]].",
            r"\operatorname{corr2d}(X, K) = \begin{pmatrix} 12 & 12 & 17 \\ 10 & 17 & 19 \\ 9 & 6 "
            r"& 14 \end{pmatrix}",
            "the page's X and K",
            "exact evaluation",
            Exact(_seed_corr2d_example),
            book,
        ),
        Claim(
            "book.shape-examples",
            "book",
            "The page's five layer shapes: 8x8 with k=3, p=1 stays 8x8; k=(5,3), p=(2,1) stays "
            "8x8; "
            "k=3, p=1, s=2 gives 4x4; k=(3,5), p=(0,1), s=(3,4) gives 2x2; 3x3 padded to 5x5 with "
            "a "
            "2x2 kernel gives 4x4.",
            r"8 \times 8 \to 8 \times 8,\ 8 \times 8,\ 4 \times 4,\ 2 \times 2;\quad 3 \times 3 "
            r"\to 4 \times 4",
            "the page's configurations",
            "exact evaluation",
            Exact(_shape_examples),
            book,
        ),
        Claim(
            "book.worked-numbers",
            "book",
            "The page's worked arithmetic: 0 at the padded corner, 8 and 6 with stride (3, 2), and "
            "56 = (1x1+2x2+4x3+5x4) + (0x0+1x1+3x2+4x3) with two input channels.",
            r"0\times0+1\times1+3\times2+4\times3 + 1\times1+2\times2+4\times3+5\times4 = 56",
            "the page's inputs and kernels",
            "exact evaluation",
            Exact(_worked_numbers),
            book,
        ),
    ]


# ---------------------------------------------------------------- Dumoulin & Visin
def _dv() -> list[Claim]:
    src = "Dumoulin & Visin 2016"

    def rel(no: int, title: str, latex: str, assumptions: str, lhs, rhs, syms, **kw) -> Claim:
        return Claim(
            f"dv.{no}",
            "dv",
            f"Relationship {no} ({title}).",
            latex,
            assumptions,
            "proof",
            Identity(lhs, rhs, syms, **kw),
            f"{src}, relationship {no}",
        )

    a = sp.Mod(i + 2 * p - k, s)
    return [
        rel(
            1,
            "no zero padding, unit strides",
            r"o = (i - k) + 1",
            "i, k positive integers",
            lambda: S.conv_output_size(i, k),
            lambda: (i - k) + 1,
            (i, k),
        ),
        rel(
            2,
            "zero padding, unit strides",
            r"o = (i - k) + 2p + 1",
            "i, k positive, p non-negative integers",
            lambda: S.conv_output_size(i, k, 1, p),
            lambda: (i - k) + 2 * p + 1,
            (i, k, p),
        ),
        rel(
            3,
            "half (same) padding: k = 2n + 1, p = floor(k/2)",
            r"o = i",
            "i positive, j non-negative integers, k = 2j + 1",
            lambda: S.conv_output_size(i, 2 * j + 1, 1, sp.floor((2 * j + 1) / 2)),
            lambda: i,
            (i, j),
        ),
        rel(
            4,
            "full padding: p = k - 1",
            r"o = i + (k - 1)",
            "i, k positive integers",
            lambda: S.conv_output_size(i, k, 1, k - 1),
            lambda: i + (k - 1),
            (i, k),
        ),
        rel(
            5,
            "no zero padding, non-unit strides",
            r"o = \left\lfloor \frac{i - k}{s} \right\rfloor + 1",
            "i, k, s positive integers",
            lambda: S.conv_output_size(i, k, s),
            lambda: sp.floor((i - k) / s) + 1,
            (i, k, s),
        ),
        rel(
            6,
            "zero padding, non-unit strides",
            r"o = \left\lfloor \frac{i + 2p - k}{s} \right\rfloor + 1",
            "i, k, s positive, p non-negative integers",
            lambda: S.conv_output_size(i, k, s, p),
            lambda: sp.floor((i + 2 * p - k) / s) + 1,
            (i, k, s, p),
        ),
        rel(
            7,
            "pooling",
            r"o = \left\lfloor \frac{i - k}{s} \right\rfloor + 1",
            "i, k, s positive integers",
            lambda: S.pool_output_size(i, k, s),
            lambda: sp.floor((i - k) / s) + 1,
            (i, k, s),
        ),
        rel(
            8,
            "transposed: no zero padding, unit strides",
            r"o' = i' + (k - 1)",
            "i', k positive integers",
            lambda: S.conv_transpose_output_size(ip, k),
            lambda: ip + (k - 1),
            (ip, k),
        ),
        rel(
            9,
            "transposed: zero padding, unit strides",
            r"o' = i' + (k - 1) - 2p",
            "i', k positive, p non-negative integers",
            lambda: S.conv_transpose_output_size(ip, k, 1, p),
            lambda: ip + (k - 1) - 2 * p,
            (ip, k, p),
        ),
        rel(
            10,
            "transposed: half (same) padding, k = 2n + 1, p = floor(k/2)",
            r"o' = i'",
            "i' positive, j non-negative integers, k = 2j + 1",
            lambda: S.conv_transpose_output_size(ip, 2 * j + 1, 1, sp.floor((2 * j + 1) / 2)),
            lambda: ip,
            (ip, j),
        ),
        rel(
            11,
            "transposed: full padding, p = k - 1",
            r"o' = i' - (k - 1)",
            "i', k positive integers",
            lambda: S.conv_transpose_output_size(ip, k, 1, k - 1),
            lambda: ip - (k - 1),
            (ip, k),
        ),
        rel(
            12,
            "transposed: no zero padding, non-unit strides",
            r"o' = s(i' - 1) + k",
            "i', k, s positive integers",
            lambda: S.conv_transpose_output_size(ip, k, s),
            lambda: s * (ip - 1) + k,
            (ip, k, s),
        ),
        rel(
            13,
            "transposed: zero padding, non-unit strides",
            r"o' = s(i' - 1) + k - 2p",
            "i', k, s positive, p non-negative integers",
            lambda: S.conv_transpose_output_size(ip, k, s, p),
            lambda: s * (ip - 1) + k - 2 * p,
            (ip, k, s, p),
        ),
        rel(
            14,
            "transposed, with output padding a = (i + 2p - k) mod s restoring the input size",
            r"o' = s(i' - 1) + a + k - 2p = i, \quad a = (i + 2p - k) \bmod s,\ "
            r"i' = \left\lfloor \frac{i + 2p - k}{s} \right\rfloor + 1",
            "i, k, s positive, p non-negative integers, i + 2p >= k",
            lambda: (S.conv_transpose_output_size(S.conv_output_size(i, k, s, p), k, s, p, a),) * 2,
            lambda: (s * (sp.floor((i + 2 * p - k) / s) + 1 - 1) + a + k - 2 * p, i),
            (i, k, s, p),
            cases=(
                Case(
                    "i + 2p - k = qs + a",
                    {i: q * s + a_ + k - 2 * p},
                    {s: a_ + 1 + u},
                    lambda vv: _remainder_inverse(vv["i"] + 2 * vv["p"] - vv["k"], vv["s"]),
                ),
            ),
            cover=f"{_DIVISION} of i + 2p - k >= 0 by s",
            domain=lambda vals: vals["i"] + 2 * vals["p"] >= vals["k"],
            lemmas=("mod", "floor-division", "floor-window"),
        ),
        rel(
            15,
            "dilation",
            r"o = \left\lfloor \frac{i + 2p - k - (k - 1)(d - 1)}{s} \right\rfloor + 1",
            "i, k, s, d positive, p non-negative integers",
            lambda: S.conv_output_size(i, k, s, p, d),
            lambda: sp.floor((i + 2 * p - k - (k - 1) * (d - 1)) / s) + 1,
            (i, k, s, p, d),
        ),
    ]


# ---------------------------------------------------------------- frameworks
def _onnx_size_claim(mode: str, cases: tuple[Case, ...], cover: str) -> Claim:
    """ONNX auto_pad SAME_UPPER / SAME_LOWER: the engine gives ceil(n/s) outputs."""
    upper = mode == "SAME_UPPER"
    small, big = r"\lfloor \tfrac{P}{2} \rfloor", r"\lceil \tfrac{P}{2} \rceil"
    pads = (small, big) if upper else (big, small)
    return Claim(
        f"framework.onnx-{mode.lower().replace('_', '-')}",
        "framework",
        f"ONNX auto_pad={mode} (extra zero at the {'end' if upper else 'beginning'}) gives "
        "ceil(n/s) outputs by the engine's formula.",
        rf"\operatorname{{conv}}\left(n, k, s, \left({pads[0]}, {pads[1]}\right)\right)"
        r" = \left\lceil \frac{n}{s} \right\rceil",
        "n, k, s positive integers, dilation 1",
        "proof by cases",
        Identity(
            lambda: S.conv_output_size(n, k, s, _onnx_pads(n, k, s, mode)),
            lambda: _ceil(n, s),
            (n, k, s),
            cases=cases,
            cover=cover,
            lemmas=("floor-division", "floor-window", "ceil-window"),
        ),
        "ONNX Conv operator (auto_pad)",
    )


def _framework() -> list[Claim]:
    cases, cover = _same_cases()
    same_lemmas = ("floor-division", "floor-window", "ceil-window")
    return [
        Claim(
            "framework.torch-conv-formula",
            "framework",
            "The engine's convolution size is torch's documented formula.",
            r"n_\text{out} = \left\lfloor \frac{n + 2p - d(k-1) - 1}{s} \right\rfloor + 1",
            "n, k, s, d positive, p non-negative integers",
            "proof",
            Identity(
                lambda: S.conv_output_size(n, k, s, p, d),
                lambda: _torch_conv(n, k, s, p, d),
                (n, k, s, p, d),
            ),
            "torch.nn.Conv1d documentation",
        ),
        Claim(
            "framework.torch-pool-formula",
            "framework",
            "The engine's pooling size (floor mode) is torch's documented formula.",
            r"n_\text{out} = \left\lfloor \frac{n + 2p - d(k-1) - 1}{s} \right\rfloor + 1",
            "n, k, s, d positive, p non-negative integers",
            "proof",
            Identity(
                lambda: S.pool_output_size(n, k, s, p, d),
                lambda: _torch_conv(n, k, s, p, d),
                (n, k, s, p, d),
            ),
            "torch.nn.MaxPool1d documentation",
        ),
        Claim(
            "framework.torch-pool-ceil-formula",
            "framework",
            "With ceil_mode the engine rounds up, m = ceil((n + 2p - d(k-1) - 1)/s) + 1, and drops "
            "the "
            "last window when it would start in the right padding ((m - 1)s >= n + p).",
            r"n_\text{out} = \begin{cases} m - 1 & (m-1)s \ge n + p \\ m & \text{otherwise} "
            r"\end{cases},"
            r"\ m = \left\lceil \frac{n + 2p - d(k-1) - 1}{s} \right\rceil + 1",
            "n, k, s, d positive, p non-negative integers",
            "proof",
            Identity(
                lambda: S.pool_output_size(n, k, s, p, d, True),
                lambda: (lambda mm: sp.Piecewise((mm - 1, sp.Ge((mm - 1) * s, n + p)), (mm, True)))(
                    _ceil(n + 2 * p - d * (k - 1) - 1, s) + 1
                ),
                (n, k, s, p, d),
                rewrites=(ceil_as_floor,),
                lemmas=("ceil-as-floor",),
            ),
            "torch pooling_output_shape (ATen)",
        ),
        Claim(
            "framework.torch-conv-transpose-formula",
            "framework",
            "The engine's transposed-convolution size is torch's documented formula.",
            r"n_\text{out} = (n - 1)s - 2p + d(k - 1) + p_\text{out} + 1",
            "n, k, s, d positive, p, output padding non-negative integers",
            "proof",
            Identity(
                lambda: S.conv_transpose_output_size(n, k, s, p, t, d),
                lambda: (n - 1) * s - 2 * p + d * (k - 1) + t + 1,
                (n, k, s, p, t, d),
            ),
            "torch.nn.ConvTranspose1d documentation",
        ),
        Claim(
            "framework.torch-same-size",
            "framework",
            "torch's padding='same' (stride 1) keeps the size for every kernel and dilation.",
            r"\operatorname{conv}(n, k, \text{same}, d) = n",
            "n, k, d positive integers, stride 1",
            "proof",
            Identity(lambda: S.conv_output_size(n, k, 1, "same", d), lambda: n, (n, k, d)),
            "torch.nn.functional.conv1d",
        ),
        Claim(
            "framework.torch-same-split",
            "framework",
            "torch's padding='same' pads floor(d(k-1)/2) before and ceil(d(k-1)/2) after.",
            r"(p_l, p_r) = \left(\left\lfloor \tfrac{d(k-1)}{2} \right\rfloor, \left\lceil "
            r"\tfrac{d(k-1)}{2} \right\rceil\right)",
            "k, d positive integers, stride 1",
            "proof",
            Identity(
                lambda: S.resolve_conv_padding("same", k, 1, d),
                lambda: (sp.floor(d * (k - 1) / 2), _ceil(d * (k - 1), 2)),
                (k, d),
                rewrites=(half_split,),
                lemmas=("half-split",),
            ),
            "torch.nn.functional.conv1d",
        ),
        Claim(
            "framework.tf-same-size",
            "framework",
            "TensorFlow's SAME: with P = max((ceil(n/s) - 1)s + k - n, 0) zeros split floor(P/2) "
            "before "
            "and the rest after, the engine's general formula gives ceil(n/s) outputs.",
            r"\operatorname{conv}\left(n, k, s, \left(\lfloor \tfrac{P}{2} \rfloor, P - \lfloor "
            r"\tfrac{P}{2} \rfloor\right)\right)"
            r" = \left\lceil \frac{n}{s} \right\rceil",
            "n, k, s positive integers, dilation 1",
            "proof by cases",
            Identity(
                lambda: S.conv_output_size(n, k, s, _tf_same(n, k, s)[2]),
                lambda: _ceil(n, s),
                (n, k, s),
                cases=cases,
                cover=cover,
                lemmas=same_lemmas,
            ),
            "TensorFlow tf.nn.convolution (padding='SAME')",
        ),
        Claim(
            "framework.tf-same-minimal",
            "framework",
            "TensorFlow's SAME padding is the least that gives ceil(n/s) outputs: whenever P > 0, "
            "one "
            "zero fewer gives ceil(n/s) - 1 by the engine's formula.",
            r"P > 0 \implies \left\lfloor \frac{n + P - 1 - k}{s} \right\rfloor + 1 = \left\lceil "
            r"\frac{n}{s} \right\rceil - 1",
            "n, k, s positive integers, dilation 1, P > 0",
            "proof by cases",
            Identity(
                lambda: S.conv_output_size(n, k, s, (_tf_same(n, k, s)[1] - 1, 0)),
                lambda: _ceil(n, s) - 1,
                (n, k, s),
                cases=(
                    Case(
                        "k > r",
                        {n: q * s + r, k: r + 1 + t},
                        {s: r + u},
                        lambda vv: {
                            "q": (vv["n"] - 1) // vv["s"],
                            "r": (vv["n"] - 1) % vv["s"] + 1,
                            "t": vv["k"] - (vv["n"] - 1) % vv["s"] - 2,
                            "u": vv["s"] - (vv["n"] - 1) % vv["s"] - 1,
                        },
                    ),
                ),
                cover=f"{_DIVISION} n = qs + r, 1 <= r <= s; P > 0 means k > r",
                domain=lambda vv: (-(-vv["n"] // vv["s"]) - 1) * vv["s"] + vv["k"] - vv["n"] > 0,
                lemmas=same_lemmas,
            ),
            "TensorFlow tf.nn.convolution (padding='SAME')",
        ),
        Claim(
            "framework.tf-same-stride1",
            "framework",
            "At stride 1 TensorFlow's SAME pads exactly torch's padding='same'.",
            r"s = 1:\ P = k - 1,\ \left(\lfloor \tfrac{P}{2} \rfloor, \lceil \tfrac{P}{2} "
            r"\rceil\right) = \text{same}(k)",
            "n, k positive integers, dilation 1",
            "proof",
            Identity(
                lambda: S.resolve_conv_padding("same", k),
                lambda: _tf_same(n, k, 1)[2],
                (n, k),
            ),
            "TensorFlow tf.nn.convolution (padding='SAME')",
        ),
        Claim(
            "framework.tf-valid",
            "framework",
            "TensorFlow's VALID output ceil((n - k + 1)/s) is the engine's padding='valid' size.",
            r"\left\lceil \frac{n - k + 1}{s} \right\rceil = \left\lfloor \frac{n - k}{s} "
            r"\right\rfloor + 1",
            "n, k, s positive integers, dilation 1",
            "proof",
            Identity(
                lambda: S.conv_output_size(n, k, s, "valid"),
                lambda: _ceil(n - k + 1, s),
                (n, k, s),
                rewrites=(ceil_as_floor,),
                lemmas=("ceil-as-floor", "floor-division"),
            ),
            "TensorFlow tf.nn.convolution (padding='VALID')",
        ),
        _onnx_size_claim("SAME_UPPER", cases, cover),
        _onnx_size_claim("SAME_LOWER", cases, cover),
        Claim(
            "framework.onnx-stride1",
            "framework",
            "At stride 1, SAME_UPPER pads torch's padding='same' split and SAME_LOWER pads the "
            "book's "
            "split (ceil(p/2) before, floor(p/2) after, p = k - 1).",
            r"s = 1:\ \text{SAME\_UPPER} = \text{same}(k),\ "
            r"\text{SAME\_LOWER} = \left(\lceil \tfrac{k-1}{2} \rceil, \lfloor \tfrac{k-1}{2} "
            r"\rfloor\right)",
            "n, k positive integers, dilation 1",
            "proof",
            Identity(
                lambda: (*_onnx_pads(n, k, 1, "SAME_UPPER"), *_onnx_pads(n, k, 1, "SAME_LOWER")),
                lambda: (
                    *S.resolve_conv_padding("same", k),
                    _ceil(k - 1, 2),
                    sp.floor((k - 1) / 2),
                ),
                (n, k),
                rewrites=(half_split,),
                lemmas=("half-split",),
            ),
            "ONNX Conv operator (auto_pad)",
        ),
    ]


# ---------------------------------------------------------------- composition
def _full_kernel(K1: sp.Array, K2: sp.Array) -> sp.Array:
    """The kernel of two stacked cross-correlations: the coefficients of a polynomial product."""
    z, y = sp.symbols("z y")
    (h1, w1), (h2, w2) = K1.shape, K2.shape
    poly = sp.expand(
        sum(K1[a1, b1] * z**a1 * y**b1 for a1 in range(h1) for b1 in range(w1))
        * sum(K2[a2, b2] * z**a2 * y**b2 for a2 in range(h2) for b2 in range(w2))
    )
    rows = [
        [poly.coeff(z, a1).coeff(y, b1) for b1 in range(w1 + w2 - 1)] for a1 in range(h1 + h2 - 1)
    ]
    return sp.Array(rows)


def _stack_pairs():
    out = []
    for xs, s1_, s2_ in (((5, 6), (2, 2), (3, 2)), ((4, 4), (1, 3), (2, 1))):
        X = _symbolic_example((1, *xs), "x")
        K1 = _symbolic_example(s1_, "a")
        K2 = _symbolic_example(s2_, "b")
        full = _full_kernel(K1, K2)
        two = C.conv2d(C.conv2d(X, K1.reshape(1, 1, *s1_)), K2.reshape(1, 1, *s2_))
        one = C.conv2d(X, full.reshape(1, 1, *full.shape))
        out.append((two, one))
    return out


def _avgpool_pairs():
    out = []
    X = _symbolic_example((2, 5, 5), "x")
    for ks, st, pad in (((2, 3), (1, 2), 0), ((3, 3), (2, 2), 1), ((2, 2), None, 0)):
        area = ks[0] * ks[1]
        weight = sp.Array([[[[sp.Rational(1, area)] * ks[1]] * ks[0]]] * 2)
        conv_stride = ks if st is None else st
        out.append(
            (
                PL.avg_pool2d(X, ks, st, pad),
                C.conv2d(X, weight, stride=conv_stride, padding=pad, groups=2),
            )
        )
    return out


def _maxpool_counterexample() -> str | None:
    values = (-1, 0, 1)
    for xa, xb, ya, yb in itertools.product(values, repeat=4):
        X, Y = [[[xa, xb]]], [[[ya, yb]]]
        XY = [[[xa + ya, xb + yb]]]
        lhs = PL.max_pool2d(XY, (1, 2))[0, 0, 0]
        rhs = PL.max_pool2d(X, (1, 2))[0, 0, 0] + PL.max_pool2d(Y, (1, 2))[0, 0, 0]
        if lhs != rhs:
            return (
                f"X = [[{xa}, {xb}]], Y = [[{ya}, {yb}]]: maxpool(X + Y) = {lhs} "
                f"but maxpool(X) + maxpool(Y) = {rhs}"
            )
    return None


def _composition() -> list[Claim]:
    return [
        Claim(
            "composition.stack-size",
            "composition",
            "Two stacked stride-1 convolutions have the size of one with kernel k1 + k2 - 1.",
            r"\operatorname{conv}(\operatorname{conv}(n, k_1), k_2) = \operatorname{conv}(n, k_1 + "
            r"k_2 - 1)",
            "n, k1, k2 positive integers",
            "proof",
            Identity(
                lambda: S.conv_output_size(S.conv_output_size(n, k1), k2),
                lambda: S.conv_output_size(n, k1 + k2 - 1),
                (n, k1, k2),
            ),
        ),
        Claim(
            "composition.stack-strided-size",
            "composition",
            "Two stacked strided convolutions have the size of one with kernel k1 + s1(k2 - 1) and "
            "stride s1 s2.",
            r"\operatorname{conv}(\operatorname{conv}(n, k_1, s_1), k_2, s_2)"
            r" = \operatorname{conv}(n, k_1 + s_1(k_2 - 1), s_1 s_2)",
            "n, k1, k2, s1, s2 positive integers",
            "proof by cases",
            Identity(
                lambda: S.conv_output_size(S.conv_output_size(n, k1, s1), k2, s2),
                lambda: S.conv_output_size(n, k1 + s1 * (k2 - 1), s1 * s2),
                (n, k1, k2, s1, s2),
                cases=(
                    Case(
                        "n - k1 - s1(k2-1) = (q s2 + r2) s1 + r1",
                        {n: (qi * s2 + R2) * s1 + R1 + k1 + s1 * (k2 - 1)},
                        {s1: R1 + 1 + u, s2: R2 + 1 + w},
                        lambda vv: _nested_inverse(
                            vv["n"] - vv["k_1"] - vv["s_1"] * (vv["k_2"] - 1), vv["s_1"], vv["s_2"]
                        ),
                    ),
                ),
                cover=f"{_DIVISION} twice (as in lemma.floor-nested)",
                lemmas=("floor-division", "floor-window", "floor-nested"),
            ),
        ),
        Claim(
            "composition.stack-elements",
            "composition",
            "Two stacked convolutions equal one convolution with the full convolution of the "
            "kernels "
            "(size k1 + k2 - 1), entry by entry: for a 5x6 input with 2x2 then 3x2 kernels, and a "
            "4x4 "
            "input with 1x3 then 2x1 kernels, all of symbols.",
            r"(X \star K_1) \star K_2 = X \star (K_1 * K_2)",
            "X, K1, K2 arrays of symbols of the stated shapes (these shapes only)",
            "elementwise proof",
            Elementwise(_stack_pairs),
        ),
        Claim(
            "composition.avgpool-is-conv",
            "composition",
            "Average pooling is a (depthwise) convolution with the uniform kernel 1/(kh kw): for a "
            "2x5x5 "
            "input of symbols with window (2,3) stride (1,2); window 3 stride 2 padding 1 "
            "(count_include_pad); window 2 default stride.",
            r"\operatorname{avgpool}_{k}(X) = X \star \tfrac{1}{k_h k_w} \mathbf{1}_{k_h \times "
            r"k_w}",
            "X a 2x5x5 array of symbols (this shape only), the three stated configurations",
            "elementwise proof",
            Elementwise(_avgpool_pairs),
        ),
        Claim(
            "composition.maxpool-not-linear",
            "composition",
            "Max pooling is not linear: a counterexample found by searching small inputs.",
            r"\exists X, Y:\ \operatorname{maxpool}(X + Y) \ne \operatorname{maxpool}(X) + "
            r"\operatorname{maxpool}(Y)",
            "none",
            "counterexample",
            Counterexample(_maxpool_counterexample),
        ),
        Claim(
            "composition.transpose-restores-size",
            "composition",
            "With dilation too, output_padding a = (n + 2p - d(k-1) - 1) mod s makes the "
            "transposed "
            "convolution restore the size n of the convolution's input (and a < s, so torch "
            "accepts it).",
            r"\operatorname{convT}(\operatorname{conv}(n, k, s, p, d), k, s, p, a, d) = n,"
            r"\ a = (n + 2p - d(k-1) - 1) \bmod s",
            "n, k, s, d positive, p non-negative integers, n + 2p >= d(k-1) + 1",
            "proof",
            Identity(
                lambda: (
                    S.conv_transpose_output_size(
                        S.conv_output_size(n, k, s, p, d),
                        k,
                        s,
                        p,
                        sp.Mod(n + 2 * p - d * (k - 1) - 1, s),
                        d,
                    ),
                    sp.Mod(n + 2 * p - d * (k - 1) - 1, s) < s,
                ),
                lambda: (n, sp.true),
                (n, k, s, p, d),
                cases=(
                    Case(
                        "n + 2p - d(k-1) - 1 = qs + a",
                        {n: q * s + a_ + d * (k - 1) + 1 - 2 * p},
                        {s: a_ + 1 + u},
                        lambda vv: _remainder_inverse(
                            vv["n"] + 2 * vv["p"] - vv["d"] * (vv["k"] - 1) - 1, vv["s"]
                        ),
                    ),
                ),
                cover=f"{_DIVISION} of n + 2p - d(k-1) - 1 >= 0 by s",
                domain=lambda vv: vv["n"] + 2 * vv["p"] >= vv["d"] * (vv["k"] - 1) + 1,
                lemmas=("mod", "floor-division", "floor-window"),
            ),
            "Dumoulin & Visin 2016, relationship 14, with dilation",
        ),
    ]


# ---------------------------------------------------------------- rejections
def _rejections() -> list[Claim]:
    return [
        Claim(
            "rejection.conv-span",
            "rejection",
            "A convolution whose dilated kernel spans more than the padded input is rejected: "
            "every "
            "size n = d(k-1) - p_l - p_r - t, t >= 0, for all k, s, d and paddings.",
            r"n + p_l + p_r < d(k-1) + 1 \implies \text{ShapeError}",
            "k, s, d positive, p_l, p_r, t non-negative integers",
            "symbolic rejection",
            Raises((lambda: S.conv_output_size(d * (k - 1) - pt - pb - t, k, s, (pt, pb), d),)),
        ),
        Claim(
            "rejection.same-strided",
            "rejection",
            "padding='same' with a stride of 2 or more is rejected, for every size, kernel and "
            "dilation.",
            r"s \ge 2 \implies \text{same is a ShapeError}",
            "n, k, d positive, t non-negative integers, s = 2 + t",
            "symbolic rejection",
            Raises((lambda: S.conv_output_size(n, k, 2 + t, "same", d),)),
        ),
        Claim(
            "rejection.pool-padding",
            "rejection",
            "Pooling with more than floor(k/2) zeros on a side is rejected (either side, floor or "
            "ceil mode).",
            r"p > \lfloor k/2 \rfloor \implies \text{ShapeError}",
            "n, k, s, d positive, t non-negative integers, p = floor(k/2) + 1 + t",
            "symbolic rejection",
            Raises(
                tuple(
                    (lambda pad=pad, cm=cm: S.pool_output_size(n, k, s, pad, d, cm))
                    for pad in (
                        sp.floor(k / 2) + 1 + t,
                        (sp.floor(k / 2) + 1 + t, 0),
                        (0, sp.floor(k / 2) + 1 + t),
                    )
                    for cm in (False, True)
                )
            ),
        ),
        Claim(
            "rejection.pool-empty",
            "rejection",
            "Pooling (floor mode) whose window spans more than the padded input is rejected: every "
            "size "
            "n = d(k-1) - 2p - t, t >= 0.",
            r"n + 2p < d(k-1) + 1 \implies \text{ShapeError}",
            "k, s, d positive, p, t non-negative integers",
            "symbolic rejection",
            Raises((lambda: S.pool_output_size(d * (k - 1) - 2 * p - t, k, s, p, d),)),
        ),
        Claim(
            "rejection.transpose-output-padding",
            "rejection",
            "A transposed convolution with output_padding at least both the stride and the "
            "dilation is "
            "rejected (both orders of stride and dilation).",
            r"p_\text{out} \ge \max(s, d) \implies \text{ShapeError}",
            "n, k, s, d positive, p, t, v non-negative integers",
            "symbolic rejection",
            Raises(
                (
                    lambda: S.conv_transpose_output_size(n, k, d + v, p, d + v + t, d),
                    lambda: S.conv_transpose_output_size(n, k, s, p, s + v + t, s + v),
                )
            ),
        ),
        Claim(
            "rejection.transpose-empty",
            "rejection",
            "A transposed convolution whose output would have fewer than one entry is rejected: "
            "padding "
            "p_l = (n-1)s + d(k-1) + p_out + 1 + t before.",
            r"(n-1)s - p_l - p_r + d(k-1) + p_\text{out} + 1 < 1 \implies \text{ShapeError}",
            "n, k, s, d positive, p_out, t non-negative integers",
            "symbolic rejection",
            Raises(
                (
                    lambda: S.conv_transpose_output_size(
                        n, k, s, ((n - 1) * s + d * (k - 1) + p + 1 + t, 0), p, d
                    ),
                )
            ),
        ),
    ]


# ---------------------------------------------------------------- checked only
def _pool_formulas():
    """The engine's pooling sizes (floor, ceil mode) compiled from its symbolic formulas."""
    from derive.verify.fast import compile_formula

    syms = (n, k, s, p, d)
    floor_mode = compile_formula(S.pool_output_size(n, k, s, p, d, False), syms)
    ceil_mode = compile_formula(S.pool_output_size(n, k, s, p, d, True), syms)
    return floor_mode, ceil_mode


_POOL_RANGES = {
    "n": range(1, 65),
    "k": range(1, 10),
    "s": range(1, 9),
    "p": range(0, 5),
    "d": range(1, 5),
}


def _ceil_one_more(g):
    floor_mode, ceil_mode = _pool_formulas()
    args = (g["n"], g["k"], g["s"], g["p"], g["d"])
    lo, hi = floor_mode(*args), ceil_mode(*args)
    return g["p"] <= g["k"] // 2, (hi - lo >= 0) & (hi - lo <= 1)


def _ceil_last_window(g):
    _, ceil_mode = _pool_formulas()
    out = ceil_mode(g["n"], g["k"], g["s"], g["p"], g["d"])
    applies = (g["p"] <= g["k"] // 2) & (out >= 1)
    return applies, (out - 1) * g["s"] < g["n"] + g["p"]


def _ceil_divisible(g):
    floor_mode, ceil_mode = _pool_formulas()
    args = (g["n"], g["k"], g["s"], g["p"], g["d"])
    span = g["d"] * (g["k"] - 1) + 1
    rest = g["n"] + 2 * g["p"] - span
    applies = (g["p"] <= g["k"] // 2) & (rest >= 0) & (rest % g["s"] == 0)
    return applies, floor_mode(*args) == ceil_mode(*args)


def _tf_same_dilated(g):
    from derive.verify.fast import ceil_div, compile_formula

    lo_s, hi_s = sp.symbols("lo hi", **_NN)
    conv = compile_formula(S.conv_output_size(n, k, s, (lo_s, hi_s), d), (n, k, s, lo_s, hi_s, d))
    out = ceil_div(g["n"], g["s"])
    span = g["d"] * (g["k"] - 1) + 1
    total = (out - 1) * g["s"] + span - g["n"]
    total = total * (total > 0)
    results = []
    for before in (total // 2, total - total // 2):  # SAME_UPPER / TF, then SAME_LOWER
        results.append(conv(g["n"], g["k"], g["s"], before, total - before, g["d"]) == out)
    return True, results[0] & results[1]


def _checked() -> list[Claim]:
    from derive.verify.exhaustive import Exhaustive

    return [
        Claim(
            "pooling.ceil-at-most-one-more",
            "pooling",
            "ceil_mode gives the floor-mode size or one more, never anything else.",
            r"0 \le n_\text{out}^{\lceil\rceil} - n_\text{out}^{\lfloor\rfloor} \le 1",
            "p <= floor(k/2)",
            "exhaustive check",
            Exhaustive(_POOL_RANGES, _ceil_one_more),
            "torch pooling_output_shape",
        ),
        Claim(
            "pooling.ceil-last-window",
            "pooling",
            "With ceil_mode the last window starts inside the input or the left padding.",
            r"(n_\text{out} - 1)s < n + p",
            "p <= floor(k/2), at least one output",
            "exhaustive check",
            Exhaustive(_POOL_RANGES, _ceil_last_window),
            "torch pooling_output_shape",
        ),
        Claim(
            "pooling.ceil-agrees-when-divisible",
            "pooling",
            "When s divides n + 2p - d(k-1) - 1 (>= 0), ceil_mode and floor mode give the same "
            "size.",
            r"s \mid n + 2p - d(k-1) - 1 \implies n_\text{out}^{\lceil\rceil} = "
            r"n_\text{out}^{\lfloor\rfloor}",
            "p <= floor(k/2), n + 2p >= d(k-1) + 1",
            "exhaustive check",
            Exhaustive(_POOL_RANGES, _ceil_divisible),
        ),
        Claim(
            "framework.same-dilated",
            "framework",
            "With dilation, TensorFlow SAME / ONNX SAME_UPPER and SAME_LOWER (effective kernel "
            "d(k-1)+1) still give ceil(n/s) outputs by the engine's formula.",
            r"\operatorname{conv}(n, k, s, \text{SAME}, d) = \left\lceil \frac{n}{s} \right\rceil",
            "n, k, s, d positive integers",
            "exhaustive check",
            Exhaustive(
                {"n": range(1, 97), "k": range(1, 10), "s": range(1, 9), "d": range(1, 6)},
                _tf_same_dilated,
            ),
            "TensorFlow / ONNX auto_pad",
        ),
    ]


def _catalogue() -> list[Claim]:
    claims = (
        _lemmas() + _book() + _dv() + _framework() + _composition() + _rejections() + _checked()
    )
    order = list(GROUPS)
    return sorted(claims, key=lambda c: order.index(c.group))  # stable: groups stay together


#: every claim, in report order
CLAIMS: list[Claim] = _catalogue()


def claim_by_id(claim_id: str) -> Claim:
    """The claim with this id (``KeyError`` if none)."""
    for claim in CLAIMS:
        if claim.id == claim_id:
            return claim
    raise KeyError(claim_id)


def establish(claim: Claim) -> Outcome:
    """Run the claim's method and return its :class:`~derive.verify.proofs.Outcome`."""
    from derive.verify.exhaustive import Exhaustive, run_exhaustive

    runners: dict[type, Callable[[Any], Outcome]] = {
        Identity: prove_identity,
        Elementwise: prove_elementwise,
        Exact: run_exact,
        Counterexample: run_counterexample,
        Raises: run_raises,
        Exhaustive: run_exhaustive,
    }
    start = time.perf_counter()
    try:
        return runners[type(claim.spec)](claim.spec)
    except Exception as exc:  # a broken engine may break a proof in any way: report, never crash
        return Outcome("FAILED", f"{type(exc).__name__}: {exc}", time.perf_counter() - start)
