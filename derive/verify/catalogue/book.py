"""Claims of the book's chapter (the seed page): sizes, padding, stride, pooling, and its worked
numbers. The element identities for symbolic sizes live in :mod:`.formulas`."""

from __future__ import annotations

import sympy as sp

from derive import conv as C
from derive import pool as PL
from derive import shapes as S
from derive import tensors as T
from derive.verify.catalogue.symbols import P_tot, d, j, k, m, n, p, pb, pt, s
from derive.verify.claim import claim
from derive.verify.proofs import Elementwise, Exact, Identity

__all__ = ["CLAIMS"]

BOOK = "seed page"


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
    Y, YT = C.corr2d(X, K), C.corr2d(X.T, K)
    edges = {(r, c): Y[r, c] for r in range(Y.rows) for c in range(Y.cols) if Y[r, c] != 0}
    expected = {(r, 1): 1 for r in range(6)} | {(r, 5): -1 for r in range(6)}
    ok = edges == expected and YT.is_zero_matrix and Y.shape == (6, 7) and YT.shape == (8, 5)
    return ok, (
        "corr2d(X, K) is 1 in column 1 and -1 in column 5 of all 6 rows, 0 elsewhere; "
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


_X3 = [[[0, 1, 2], [3, 4, 5], [6, 7, 8]]]
_X33 = [[[0, 1, 2], [3, 4, 5], [6, 7, 8]], [[1, 2, 3], [4, 5, 6], [7, 8, 9]]]
_K22 = [[[[0, 1], [2, 3]], [[1, 2], [3, 4]]]]


def _worked_numbers() -> tuple[bool, str]:
    K = [[[[0, 1], [2, 3]]]]
    padded, strided = C.conv2d(_X3, K, padding=1), C.conv2d(_X3, K, padding=1, stride=(3, 2))
    multi = C.conv2d(_X33, _K22)
    terms = C.conv2d_terms(_X33, _K22, (0, 0, 0))
    per_channel = [
        [(int(xv), int(wv)) for (c, _, _), xv, _, wv in terms if c == ch] for ch in (0, 1)
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
    X = T.symbol_array("x", (1, 4, 6))
    return [
        (fn(X, (2, 3), padding=(0, 1)), fn(X, (2, 3), stride=(2, 3), padding=(0, 1)))
        for fn in (PL.max_pool2d, PL.avg_pool2d)
    ]


def _pool_channel_pairs():
    X = T.symbol_array("x", (3, 4, 5))
    pairs = []
    for fn, kw in (
        (PL.max_pool2d, {"kernel_size": 2, "stride": 1}),
        (PL.avg_pool2d, {"kernel_size": (2, 3), "padding": 1, "ceil_mode": True}),
    ):
        alone = [fn(X[c : c + 1, :, :], **kw) for c in range(3)]
        pairs.append((fn(X, **kw), sp.Array([a[0].tolist() for a in alone])))
    return pairs


def _transpose_pairs():
    pairs = []
    for xs, ks in (((4, 5), (2, 3)), ((3, 3), (1, 2))):
        X, K = _matrix(T.symbol_array("x", xs)), _matrix(T.symbol_array("k", ks))
        pairs.append((C.corr2d(X.T, K.T), C.corr2d(X, K).T))
    return pairs


_HALF = (sp.ceiling((2 * j + 1) / 2), sp.floor((2 * j + 1) / 2))

CLAIMS = (
    claim(
        "book.valid-size",
        "Without padding, an n-wide input and a k-wide kernel give n - k + 1 outputs.",
        r"n_\text{out} = n - k + 1",
        "n, k positive integers",
        Identity(lambda: S.conv_output_size(n, k), lambda: n - k + 1, (n, k)),
        BOOK,
    ),
    claim(
        "book.padded-size",
        "With p = p_t + p_b rows of padding in total (any split), the output has n - k + p + 1 "
        "entries.",
        r"n_\text{out} = n - k + p + 1, \quad p = p_t + p_b",
        "n, k positive, p_t, p_b non-negative integers",
        Identity(
            lambda: S.conv_output_size(n, k, 1, (pt, pb)),
            lambda: n - k + (pt + pb) + 1,
            (n, k, pt, pb),
        ),  # fmt: skip
        BOOK,
    ),
    claim(
        "book.keep-size",
        "Padding p = k - 1 in total keeps the size: the output has n entries.",
        r"p = k - 1 \implies n - k + p + 1 = n",
        "n positive, p_t, p_b non-negative, k = p_t + p_b + 1",
        Identity(lambda: S.conv_output_size(n, pt + pb + 1, 1, (pt, pb)), lambda: n, (n, pt, pb)),
        BOOK,
    ),
    claim(
        "book.odd-kernel-split",
        "An odd kernel k = 2j + 1 keeps the size with p/2 = j zeros on each side, which is "
        "exactly what torch's padding='same' pads.",
        r"k = 2j + 1:\ (p_t, p_b) = (\tfrac{p}{2}, \tfrac{p}{2}) = (j, j) = \text{same}(k)",
        "n positive, j non-negative integers",
        Identity(
            lambda: (
                *S.resolve_conv_padding("same", 2 * j + 1),
                S.conv_output_size(n, 2 * j + 1, 1, (j, j)),
                S.conv_output_size(n, 2 * j + 1, 1, "same"),
            ),
            lambda: (j, j, n, n),
            (n, j),
        ),
        BOOK,
    ),
    claim(
        "book.even-kernel-split",
        "An even kernel k = 2j + 2 needs p = 2j + 1: the book pads ceil(p/2) = j + 1 on top and "
        "floor(p/2) = j at the bottom and keeps the size; torch's padding='same' pads the "
        "mirror split, j before and j + 1 after.",
        r"k = 2j + 2:\ \left(\lceil \tfrac{p}{2} \rceil, \lfloor \tfrac{p}{2} \rfloor\right) = "
        r"(j + 1, j),\ \text{same}(k) = (j, j + 1)",
        "n positive, j non-negative integers",
        Identity(
            lambda: (
                *_HALF,
                S.conv_output_size(n, 2 * j + 2, 1, _HALF),
                *S.resolve_conv_padding("same", 2 * j + 2),
            ),
            lambda: (j + 1, j, n, j, j + 1),
            (n, j),
        ),  # fmt: skip
        BOOK,
    ),
    claim(
        "book.stride-size",
        "With stride s and total padding p the output has floor((n - k + p + s)/s) entries.",
        r"n_\text{out} = \left\lfloor \frac{n - k + p + s}{s} \right\rfloor",
        "n, k, s positive, p_t, p_b non-negative integers, p = p_t + p_b",
        Identity(
            lambda: S.conv_output_size(n, k, s, (pt, pb)),
            lambda: sp.floor((n - k + (pt + pb) + s) / s),
            (n, k, s, pt, pb),
        ),  # fmt: skip
        BOOK,
    ),
    claim(
        "book.stride-keep",
        "With p = k - 1 the strided output has floor((n + s - 1)/s) entries.",
        r"p = k - 1 \implies n_\text{out} = \left\lfloor \frac{n + s - 1}{s} \right\rfloor",
        "n, s positive, p_t, p_b non-negative, k = p_t + p_b + 1",
        Identity(
            lambda: S.conv_output_size(n, pt + pb + 1, s, (pt, pb)),
            lambda: sp.floor((n + s - 1) / s),
            (n, s, pt, pb),
        ),  # fmt: skip
        BOOK,
    ),
    claim(
        "book.stride-divides",
        "With p = k - 1 and s dividing n the output has exactly n/s entries.",
        r"p = k - 1,\ s \mid n \implies n_\text{out} = n/s",
        "s, m positive, n = s m, p_t, p_b non-negative, k = p_t + p_b + 1",
        Identity(
            lambda: S.conv_output_size(s * m, pt + pb + 1, s, (pt, pb)),
            lambda: (s * m) / s,
            (m, s, pt, pb),
        ),  # fmt: skip
        BOOK,
    ),
    claim(
        "book.total-vs-side",
        "The book's formula with total padding p = 2 p_side equals torch's per-side formula "
        "floor((n + 2 p_side - (k - 1) - 1)/s) + 1 that the engine implements.",
        r"\left\lfloor \frac{n - k + 2p + s}{s} \right\rfloor"
        r" = \left\lfloor \frac{n + 2p - (k-1) - 1}{s} \right\rfloor + 1",
        "n, k, s positive, p (per side) non-negative integers; dilation 1",
        Identity(
            lambda: S.conv_output_size(n, k, s, p),
            lambda: sp.floor((n - k + 2 * p + s) / s),
            (n, k, s, p),
        ),  # fmt: skip
        BOOK,
    ),
    claim(
        "book.plus-s-plus-one",
        "The '+s inside' and '+1 outside' forms of the stride formula agree.",
        r"\left\lfloor \frac{n - k + p + s}{s} \right\rfloor"
        r" = \left\lfloor \frac{n - k + p}{s} \right\rfloor + 1",
        "n, k, s positive, p non-negative integers",
        Identity(
            lambda: sp.floor((n - k + P_tot + s) / s),
            lambda: sp.floor((n - k + P_tot) / s) + 1,
            (n, k, s, P_tot),
        ),  # fmt: skip
        BOOK,
    ),
    claim(
        "book.pool-default-stride",
        "Pooling's default stride is the window: stride=None gives the same size as stride=k "
        "(floor and ceil mode, any padding and dilation), floor(n/k) without padding.",
        r"\operatorname{pool}(n, k) = \operatorname{pool}(n, k, s{=}k)"
        r" = \left\lfloor \frac{n}{k} \right\rfloor",
        "n, k, d positive, p non-negative integers",
        Identity(
            lambda: (
                tuple(S.pool_output_size(n, k, None, p, d, c) for c in (False, True))
                + (S.pool_output_size(n, k),)
            ),
            lambda: (
                tuple(S.pool_output_size(n, k, k, p, d, c) for c in (False, True))
                + (sp.floor(n / k),)
            ),
            (n, k, p, d),
        ),
        BOOK,
    ),
    claim(
        "book.pool-default-stride-elements",
        "For a 1x4x6 input of symbols and the page's (2, 3) window with padding (0, 1), max and "
        "average pooling with the default stride equal stride=(2, 3) entry by entry.",
        r"\operatorname{maxpool}_{2\times 3}(X) = \operatorname{maxpool}_{2\times 3,\ s=(2,3)}(X)",
        "X a 1x4x6 array of distinct symbols (this shape only)",
        Elementwise(_pool_stride_pairs),
        BOOK,
    ),
    claim(
        "book.pool-channels",
        "Pooling keeps channels: for a 3x4x5 input of symbols, max pooling (2x2, stride 1) and "
        "average pooling ((2, 3), padding 1, ceil_mode) give 3 channels, channel c being the "
        "pooling of input channel c alone.",
        r"\operatorname{pool}(X)_c = \operatorname{pool}(X_c), \quad c = 0, 1, 2",
        "X a 3x4x5 array of distinct symbols (this shape only)",
        Elementwise(_pool_channel_pairs),
        BOOK,
    ),
    claim(
        "book.transpose",
        "Transposing input and kernel transposes the output: corr2d(X^T, K^T) = corr2d(X, K)^T, "
        "for a 4x5 input with a 2x3 kernel and a 3x3 input with a 1x2 kernel of symbols.",
        r"\operatorname{corr2d}(X^\top, K^\top) = \operatorname{corr2d}(X, K)^\top",
        "X, K arrays of symbols of the two stated shape pairs (these shapes only)",
        Elementwise(_transpose_pairs),
        BOOK,
    ),
    claim(
        "book.edge-transposed",
        "On the page's 6x8 image (columns 2-5 black), the kernel [[1, -1]] finds the two "
        "vertical edges (1 and -1); on the transposed image it finds nothing: all zeros.",
        r"\operatorname{corr2d}(X^\top, [1, -1]) = 0",
        "the page's image and kernel",
        Exact(_edge_example),
        BOOK,
    ),
    claim(
        "book.corr2d-example",
        "The page's 5x5 cross-correlation example gives [[12, 12, 17], [10, 17, 19], [9, 6, 14]].",
        r"\operatorname{corr2d}(X, K) = \begin{pmatrix} 12 & 12 & 17 \\ 10 & 17 & 19 \\"
        r" 9 & 6 & 14 \end{pmatrix}",
        "the page's X and K",
        Exact(_seed_corr2d_example),
        BOOK,
    ),
    claim(
        "book.shape-examples",
        "The page's five layer shapes: 8x8 with k=3, p=1 stays 8x8; k=(5,3), p=(2,1) stays 8x8; "
        "k=3, p=1, s=2 gives 4x4; k=(3,5), p=(0,1), s=(3,4) gives 2x2; 3x3 padded to 5x5 with "
        "a 2x2 kernel gives 4x4.",
        r"8 \times 8 \to 8 \times 8,\ 8 \times 8,\ 4 \times 4,\ 2 \times 2;"
        r"\quad 3 \times 3 \to 4 \times 4",
        "the page's configurations",
        Exact(_shape_examples),
        BOOK,
    ),
    claim(
        "book.worked-numbers",
        "The page's worked arithmetic: 0 at the padded corner, 8 and 6 with stride (3, 2), and "
        "56 = (1x1+2x2+4x3+5x4) + (0x0+1x1+3x2+4x3) with two input channels.",
        r"0\times0+1\times1+3\times2+4\times3 + 1\times1+2\times2+4\times3+5\times4 = 56",
        "the page's inputs and kernels",
        Exact(_worked_numbers),
        BOOK,
    ),
)
