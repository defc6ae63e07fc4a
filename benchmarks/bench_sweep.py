"""Benchmark of ``derive verify``'s sweep, measured side by side in one run.

1. The sweep as ``derive verify`` runs it on a seeded sample of the grids: every configuration
   decided by the engine's compiled acceptance rule and size formula, plus the engine's numeric
   call on every configuration on or next to a guard's boundary (and a random sample).
2. The same sample with the compiled rule only (no numeric engine calls): what the boundary
   calls cost.
3. The naive loop on a smaller seeded sample: per configuration, build a torch module
   (``nn.Conv1d`` / ``nn.MaxPool1d`` / ``nn.AvgPool1d`` / ``nn.ConvTranspose1d``), run it on a
   fresh random input, and call the engine numerically to compare; also the torch half alone.
   Every loop must agree with torch everywhere before any figure is printed.
4. The whole ``derive verify`` (proofs and the full default sweep) as a subprocess: wall and
   CPU time, and the sweep's own figures (configurations, numeric engine calls).
5. Importing the Verification page's module (what ``derive build`` does to list its
   providers) against importing ``derive`` itself, each in a fresh interpreter.
6. What comparing the conventions with the frameworks themselves would cost per
   configuration (ONNX shape inference, JAX's ``eval_shape``; skipped when not installed)
   against the sweep's own cost per configuration, and the imports they need: the figures
   behind keeping those comparisons in the test suite rather than in ``derive verify``.

Run: ``.venv/bin/python benchmarks/bench_sweep.py`` (``--quick`` for smaller samples and
``derive verify --quick``).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from derive.errors import ShapeError
from derive.ops import AVG_POOL, CONV, MAX_POOL, Op
from derive.verify.grids import Grid, build_grids
from derive.verify.sweep import run_sweep


def _module(op: Op, config: dict[str, Any]) -> nn.Module:
    kw = {k: v for k, v in config.items() if k not in ("size", "kernel_size")}
    k = config["kernel_size"]
    if op is CONV:
        padding = kw.pop("padding")
        if isinstance(padding, tuple):
            layer = nn.Conv1d(1, 1, k, padding=0, **kw)
            return nn.Sequential(nn.ConstantPad1d(padding, 0.0), layer)
        return nn.Conv1d(1, 1, k, padding=padding, **kw)
    if op is MAX_POOL:
        return nn.MaxPool1d(k, **kw)
    if op is AVG_POOL:
        return nn.AvgPool1d(k, **kw)
    return nn.ConvTranspose1d(1, 1, k, **kw)


def naive_row(op: Op, config: dict[str, Any], with_engine: bool) -> bool:
    """One configuration the naive way; True when torch and (optionally) the engine agree."""
    try:
        with torch.no_grad():
            theirs: int | None = _module(op, config)(torch.randn(1, 1, config["size"])).shape[-1]
    except (RuntimeError, ValueError):
        theirs = None
    if not with_engine:
        return True
    try:
        ours: int | None = int(op.size(**config))
    except ShapeError:
        ours = None
    return ours == theirs


def naive(sample: list[tuple[Op, dict[str, Any]]], with_engine: bool) -> tuple[float, int]:
    start = time.perf_counter()
    bad = sum(not naive_row(op, c, with_engine) for op, c in sample)
    return time.perf_counter() - start, bad


def seeded_sample(count: int, seed: int) -> list[tuple[Op, dict[str, Any]]]:
    grids: list[Grid] = build_grids()
    rows = [(g, i) for g in grids for i in range(len(g))]
    picks = np.random.default_rng(seed).choice(len(rows), size=count, replace=False)
    return [(rows[p][0].op, rows[p][0].config(rows[p][1])) for p in sorted(picks.tolist())]


def timed_sweep(configs: int, engine: bool) -> tuple[float, Any]:
    """The sweep on a seeded sample; ``engine=False``: no numeric engine calls at all."""
    import derive.verify.model as model
    import derive.verify.sweep as sweep
    import derive.verify.torch_runs as torch_runs

    torch_runs._CACHE.clear()  # torch answers are kept per grid: ask torch afresh each time
    saved = sweep.ENGINE_SAMPLE, model.compile_model
    if not engine:

        def no_boundary(grid):
            out = saved[1](grid)
            out.boundary[:] = False
            return out

        sweep.ENGINE_SAMPLE, sweep.compile_model = 0, no_boundary
    try:
        start = time.perf_counter()
        result = run_sweep(configs=configs, elements=0, seed=1,
                           engine_sample=sweep.ENGINE_SAMPLE)  # fmt: skip
        return time.perf_counter() - start, result
    finally:
        sweep.ENGINE_SAMPLE, sweep.compile_model = saved


def whole_verify(quick: bool) -> None:
    cmd = [sys.executable, "-m", "derive.cli", "verify", "--json", "--no-progress"]
    cmd += ["--quick"] if quick else []
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    payload = json.loads(done.stdout)
    label = "derive verify --quick" if quick else "derive verify (full)"
    print(f"{label}: {wall:.1f} s wall, {cpu:.1f} s CPU, exit status {done.returncode}; "
          f"{payload['numeric']['configurations']:,} configurations, kinds {payload['kinds']}")


def _fresh(code: str, runs: int = 3) -> float:
    """The least wall time of ``python -c code`` over ``runs`` fresh interpreters."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        best = min(best, time.perf_counter() - start)
    return best


def page_import() -> None:
    page = _fresh("import derive.render.pages.verification")
    bare = _fresh("import derive")
    print(f"import derive.render.pages.verification: {page:.2f} s; import derive: {bare:.2f} s; "
          f"ratio {page / bare:.2f}x")


_FRAMEWORKS = """
import random, time
import numpy as np
from derive.conventions.layer import conv_padding
start = time.perf_counter()
from onnx import TensorProto, helper, shape_inference
import jax
jax.config.update("jax_platforms", "cpu")
from jax import lax
imports = time.perf_counter() - start

def onnx_size(n, k, s, d):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, n])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    w = helper.make_tensor("w", TensorProto.FLOAT, (1, 1, k), [1.0] * k)
    node = helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[k], strides=[s],
                            dilations=[d], auto_pad="SAME_UPPER")
    graph = helper.make_graph([node], "g", [x], [y], initializer=[w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])
    out = shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    return out.graph.output[0].type.tensor_type.shape.dim[-1].dim_value

def jax_size(n, k, s, d):
    x, w = (jax.ShapeDtypeStruct((1, 1, m), np.float32) for m in (n, k))
    conv = lambda x, w: lax.conv_general_dilated(x, w, (s,), "SAME", rhs_dilation=(d,),
                                                 dimension_numbers=("NCH", "OIH", "NCH"))
    return jax.eval_shape(conv, x, w).shape[-1]

rng = random.Random(0)
configs = [(rng.randint(1, 12), rng.randint(1, 5), rng.randint(1, 4), rng.randint(1, 3))
           for _ in range(COUNT)]
times = []
for convention, padding, theirs in (("onnx", "SAME_UPPER", onnx_size), ("jax", "SAME", jax_size)):
    start = time.perf_counter()
    for n, k, s, d in configs:
        ours = conv_padding(n, k, s, padding, d, convention=convention).size
        assert int(ours) == theirs(n, k, s, d)
    times.append((time.perf_counter() - start) / COUNT)
print(imports, *times)
"""


def framework_comparisons(count: int, sweep_rate: float) -> None:
    try:
        import jax  # noqa: F401
        import onnx  # noqa: F401
    except ImportError:
        print("framework comparisons: onnx or jax not installed, skipped")
        return
    done = subprocess.run([sys.executable, "-c", _FRAMEWORKS.replace("COUNT", str(count))],
                          capture_output=True, text=True, check=True)  # fmt: skip
    imports, onnx_each, jax_each = (float(x) for x in done.stdout.split())
    ours = 1 / sweep_rate
    print(f"framework comparisons ({count} configurations each, all agreeing): imports "
          f"{imports:.2f} s; ONNX shape inference {onnx_each * 1e3:.2f} ms and JAX eval_shape "
          f"{jax_each * 1e3:.2f} ms per configuration, {onnx_each / ours:.0f}x and "
          f"{jax_each / ours:.0f}x the sweep's {ours * 1e3:.3f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    sweep_n, naive_n = (5_000, 300) if args.quick else (30_000, 1_500)

    run_sweep(configs=500, elements=0, seed=9)  # warm-up: imports, first torch calls
    full_s, result = timed_sweep(sweep_n, engine=True)
    bare_s, bare = timed_sweep(sweep_n, engine=False)
    assert result.failed == 0 and bare.failed == 0, [str(d) for d in result.disagreements[:5]]

    sample = seeded_sample(naive_n, seed=2)
    naive_s, bad = naive(sample, with_engine=True)
    torch_only_s, _ = naive(sample, with_engine=False)
    assert bad == 0, f"the naive loop found {bad} disagreements"

    rate = sweep_n / full_s
    print(f"sweep: {sweep_n} configurations in {full_s:.2f} s = {rate:,.0f}/s, "
          f"{result.engine_sampled:,} of them also through the engine numerically "
          f"({result.boundary:,} on a boundary)")  # fmt: skip
    print(f"sweep, compiled rule only: {bare_s:.2f} s = {sweep_n / bare_s:,.0f}/s")
    print(f"ratio sweep / compiled rule only : {full_s / bare_s:6.2f}x the time")
    print(f"naive (module + engine per config): {naive_n / naive_s:,.0f}/s")
    print(f"naive torch half only (module per config): {naive_n / torch_only_s:,.0f}/s")
    print(f"ratio sweep / naive            : {rate / (naive_n / naive_s):6.1f}x")
    print(f"ratio sweep / naive torch half : {rate / (naive_n / torch_only_s):6.1f}x")
    whole_verify(args.quick)
    page_import()
    framework_comparisons(100 if args.quick else 500, rate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
