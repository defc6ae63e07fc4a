"""Engine benchmarks for issue 2, measured side by side in one run.

1. Symbolic conv2d of a 3x20x20 input of symbols with a 4x3x5x5 weight of symbols, every
   element materialised, three ways:
   - the seed's loop structure: per-window Matrix slices, an elementwise product summed,
     and a Python ``sum`` over channels of per-channel matrices;
   - one SymPy ``Add(*terms)`` per element (terms built from the same entries);
   - ``derive.conv2d``.
   All three results are compared for equality before any figure is printed.
2. ``derive shape ...`` wall time against ``python -c "import sympy"``.

Run: ``.venv/bin/python benchmarks/bench_engine.py`` (``--quick`` for a smaller seed run).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import sympy as sp

import derive
from derive.sympy_private import entries

C_IN, H, W, C_OUT, K = 3, 20, 20, 4, 5


def seed_conv(X: list[sp.Matrix], weight: list[list[sp.Matrix]]) -> list[sp.Matrix]:
    """The seed page's structure (corr2d per channel, summed with Python's sum), in SymPy."""

    def corr2d(x: sp.Matrix, k: sp.Matrix) -> sp.Matrix:
        h, w = k.shape
        y = sp.zeros(x.shape[0] - h + 1, x.shape[1] - w + 1)
        for i in range(y.shape[0]):
            for j in range(y.shape[1]):
                y[i, j] = sum(x[i : i + h, j : j + w].multiply_elementwise(k))
        return y

    return [
        sum((corr2d(x, k) for x, k in zip(X, ks)), sp.zeros(H - K + 1, W - K + 1)) for ks in weight
    ]


def add_per_element(x: list, w: list) -> list:
    """One ``Add(*terms)`` per output element, from flat entry lists."""
    out = []
    oh, ow = H - K + 1, W - K + 1
    for o in range(C_OUT):
        for i in range(oh):
            for j in range(ow):
                terms = [
                    x[(c * H + i + a) * W + j + e] * w[((o * C_IN + c) * K + a) * K + e]
                    for c in range(C_IN)
                    for a in range(K)
                    for e in range(K)
                ]
                out.append(sp.Add(*terms))
    return out


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def bench_conv2d(quick: bool) -> None:
    X = derive.symbol_array("x", (C_IN, H, W))
    Wt = derive.symbol_array("w", (C_OUT, C_IN, K, K))
    x, w = entries(X), entries(Wt)
    t_derive, y = timed(derive.conv2d, X, Wt)
    t_add, ref = timed(add_per_element, x, w)
    assert entries(y) == ref, "derive.conv2d differs from the canonical Add(*terms)"
    # the seed structure is slow: optionally on one output channel, scaled per element
    channels = 1 if quick else C_OUT
    Xm = [sp.Matrix(H, W, x[c * H * W : (c + 1) * H * W]) for c in range(C_IN)]
    Wm = [
        [
            sp.Matrix(K, K, w[(o * C_IN + c) * K * K : (o * C_IN + c + 1) * K * K])
            for c in range(C_IN)
        ]
        for o in range(channels)
    ]
    t_seed, seed = timed(seed_conv, Xm, Wm)
    per_channel = (H - K + 1) * (W - K + 1)
    assert [e for m in seed for e in m] == ref[: channels * per_channel], "seed result differs"
    t_seed_full = t_seed * C_OUT / channels
    print(
        f"conv2d {C_IN}x{H}x{W} * {C_OUT}x{C_IN}x{K}x{K}: "
        f"{len(ref)} elements of {C_IN * K * K} terms"
    )
    print(
        f"  seed loop structure     {t_seed_full:8.3f} s"
        + ("  (1 of 4 channels, scaled)" if quick else "")
    )
    print(f"  Add(*terms) per element {t_add:8.3f} s")
    print(f"  derive.conv2d           {t_derive:8.3f} s")
    print(f"  speed-up vs seed        {t_seed_full / t_derive:8.1f}x   (target >= 10x)")
    print(f"  speed-up vs Add(*terms) {t_add / t_derive:8.1f}x   (target >= 1x)")
    print("  results equal the canonical SymPy expressions: yes")


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def bench_cli(repeats: int) -> None:
    bindir = Path(sys.executable).parent
    derive_cmd = [
        str(bindir / "derive"),
        "shape",
        "conv",
        "--size",
        "2*H+1",
        "--kernel",
        "3",
        "--stride",
        "2",
        "--padding",
        "1",
    ]
    sympy_cmd = [sys.executable, "-c", "import sympy"]
    wall(derive_cmd), wall(sympy_cmd)  # warm the file cache
    d, s = [], []
    for _ in range(repeats):  # interleaved so both see the same machine load
        d.append(wall(derive_cmd))
        s.append(wall(sympy_cmd))
    md, ms = statistics.median(d), statistics.median(s)
    print(f"derive shape vs python -c 'import sympy' (median of {repeats}, interleaved)")
    print(f"  derive shape            {md * 1000:8.1f} ms")
    print(f"  import sympy            {ms * 1000:8.1f} ms")
    print(f"  ratio                   {md / ms:8.2f}x   (target <= 1.5x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="seed structure on one output channel")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    bench_conv2d(args.quick)
    bench_cli(args.repeats)


if __name__ == "__main__":
    main()
