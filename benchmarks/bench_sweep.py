"""Benchmark of ``derive verify``'s sweep, measured side by side in one run.

1. Sweep throughput: configurations per second of :func:`derive.verify.sweep.run_sweep`
   (engine formulas compiled once, cached zero tensors, one functional torch call per
   configuration, the engine itself called on a subsample) on a seeded sample of the grid.
2. The naive loop on a seeded sample of the same grid: per configuration, build a torch module
   (``nn.Conv1d`` / ``nn.MaxPool1d`` / ``nn.AvgPool1d`` / ``nn.ConvTranspose1d``), run it on a
   fresh random input, and call the engine numerically to compare. Also the torch half alone
   (module per configuration, no engine) to show where the time goes.
   Both loops must agree with torch everywhere before any figure is printed.
3. The whole ``derive verify`` (proofs and the full default sweep) as a subprocess, wall time.

Run: ``.venv/bin/python benchmarks/bench_sweep.py`` (``--quick`` for smaller samples and
``derive verify --quick``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import numpy as np
import torch
from torch import nn

import derive
from derive.verify.sweep import _INT, _PAIR, _SAME, build_grids, run_sweep


def naive_row(op: str, c: dict[str, int], with_engine: bool) -> bool:
    """One configuration the naive way; True when torch and (optionally) the engine agree."""
    n, k = c["n"], c["k"]
    x = torch.randn(1, 1, n)
    try:
        if op == "conv1d":
            padding = {_INT: c["lo"], _SAME: "same", _PAIR: 0}.get(c["mode"], "valid")
            layer = nn.Conv1d(1, 1, k, c["s"], padding, c["d"])
            if c["mode"] == _PAIR:
                layer = nn.Sequential(nn.ConstantPad1d((c["lo"], c["hi"]), 0.0), layer)
        elif op == "max_pool1d":
            layer = nn.MaxPool1d(k, c["s"] or None, c["p"], c["d"], ceil_mode=bool(c["ceil"]))
        elif op == "avg_pool1d":
            layer = nn.AvgPool1d(k, c["s"] or None, c["p"], ceil_mode=bool(c["ceil"]))
        else:
            layer = nn.ConvTranspose1d(1, 1, k, c["s"], c["p"], c["op"], dilation=c["d"])
        with torch.no_grad():
            theirs: int | None = layer(x).shape[-1]
    except (RuntimeError, ValueError):
        theirs = None
    if not with_engine:
        return True
    try:
        if op == "conv1d":
            pads = {_INT: c["lo"], _SAME: "same", _PAIR: (c["lo"], c["hi"])}
            padding = pads.get(c["mode"], "valid")
            ours: int | None = int(derive.conv_output_size(n, k, c["s"], padding, c["d"]))
        elif op in ("max_pool1d", "avg_pool1d"):
            stride = c["s"] or None
            ours = int(derive.pool_output_size(n, k, stride, c["p"], c["d"], bool(c["ceil"])))
        else:
            ours = int(derive.conv_transpose_output_size(n, k, c["s"], c["p"], c["op"], c["d"]))
    except derive.ShapeError:
        ours = None
    return ours == theirs


def naive(sample: list[tuple[str, dict[str, int]]], with_engine: bool) -> tuple[float, int]:
    start = time.perf_counter()
    bad = sum(not naive_row(op, c, with_engine) for op, c in sample)
    return time.perf_counter() - start, bad


def seeded_sample(count: int, seed: int) -> list[tuple[str, dict[str, int]]]:
    grids = build_grids()
    rows = [(g, i) for g in grids for i in range(len(g))]
    picks = np.random.default_rng(seed).choice(len(rows), size=count, replace=False)
    out = []
    for p in sorted(picks.tolist()):
        grid, i = rows[p]
        out.append((grid.op, {name: int(col[i]) for name, col in grid.columns.items()}))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    sweep_n, naive_n = (5_000, 300) if args.quick else (30_000, 1_500)

    run_sweep(configs=500, elements=0, seed=9)  # warm-up: imports, first torch calls
    start = time.perf_counter()
    result = run_sweep(configs=sweep_n, elements=0, seed=1)
    sweep_s = time.perf_counter() - start
    assert result.failed == 0, [str(d) for d in result.disagreements[:5]]

    sample = seeded_sample(naive_n, seed=2)
    naive_s, bad = naive(sample, with_engine=True)
    torch_only_s, _ = naive(sample, with_engine=False)
    assert bad == 0, f"the naive loop found {bad} disagreements"

    sweep_rate = sweep_n / sweep_s
    naive_rate = naive_n / naive_s
    torch_rate = naive_n / torch_only_s
    print(f"sweep: {sweep_n} configurations in {sweep_s:.2f} s = {sweep_rate:,.0f}/s")
    print(f"naive (module + engine per config): {naive_n} in {naive_s:.2f} s = {naive_rate:,.0f}/s")
    print(f"naive torch half only (module per config): {torch_rate:9,.0f}/s")
    print(f"ratio sweep / naive            : {sweep_rate / naive_rate:6.1f}x")
    print(f"ratio sweep / naive torch half : {sweep_rate / torch_rate:6.1f}x")

    cmd = [sys.executable, "-m", "derive.cli", "verify", "--json", "--no-progress"]
    if args.quick:
        cmd.append("--quick")
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    label = "derive verify --quick" if args.quick else "derive verify (full)"
    print(f"{label}: {wall:.1f} s wall, exit status {done.returncode}")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
