"""Design-calculus benchmark (issue 13), measured side by side in one run.

A ResNet-50-depth network (derive.calculus.models.resnet50: 16 bottleneck blocks, 53
convolutions, 25,557,032 parameters), input (1, 3, H, W):

- derive: receptive fields, cost and memory of every layer as formulas in symbolic H and W
  (``analyse`` then the three analyses), on a freshly built network each run with derive's
  per-layer shape memo cleared: nothing is reused from an earlier run;
- torch: ``FlopCounterMode`` on one forward pass at 224 x 224 (one size only, FLOPs only).

Runs alternate (derive, torch, derive, torch, ...) after one warm-up each (the warm-up
builds a different network object); medians and their ratio are printed. derive's FLOPs at
224 x 224 and its parameter count are checked against torch's first.

Run: ``.venv/bin/python benchmarks/bench_calculus.py`` (``--repeat N``, default 5).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

import derive.calculus.graph as graph
from derive.calculus import analyse
from derive.calculus.models import resnet50
from derive.grammar import size_symbol

SAMPLE = 224
H, W = size_symbol("H"), size_symbol("W")


def derive_all(net: torch.nn.Module) -> tuple:
    a = analyse(net, (1, 3, H, W))
    return a.receptive_field(), a.cost(), a.memory()


def torch_flops(net: torch.nn.Module, x: torch.Tensor) -> int:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net(x)
    return counter.get_total_flops()


def main(repeat: int) -> None:
    torch.manual_seed(0)
    net = resnet50().eval()
    x = torch.rand(1, 3, SAMPLE, SAMPLE)
    rf, cost, memory = derive_all(resnet50())  # warm-up on another object
    theirs = torch_flops(net, x)  # warm-up
    at = {H: SAMPLE, W: SAMPLE}
    assert int(cost.flops.xreplace(at)) == theirs, (cost.flops.xreplace(at), theirs)
    assert int(cost.params) == sum(p.numel() for p in net.parameters())

    derive_times, torch_times = [], []
    for _ in range(repeat):
        fresh = resnet50()
        graph._SHAPES.clear()  # no memoised layer shapes from earlier runs
        start = time.perf_counter()
        derive_all(fresh)
        derive_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        torch_flops(net, x)
        torch_times.append(time.perf_counter() - start)
    d, t = statistics.median(derive_times), statistics.median(torch_times)
    print(f"ResNet-50 depth ({len(rf.layers)} layers), input (1, 3, H, W), {repeat} runs each,"
          " medians:")
    print(f"  derive: receptive fields + cost + memory, symbolic H, W  {d * 1000:8.1f} ms"
          f"  (max {max(derive_times) * 1000:.1f} ms)")
    print(f"  torch FlopCounterMode, one forward at {SAMPLE}x{SAMPLE}          {t * 1000:8.1f} ms")
    print(f"  ratio torch / derive: {t / d:.1f}x" + ("" if d < t else "  (derive is SLOWER)"))
    print(f"  output receptive field {rf.output.fields[0].interval()}; params {cost.params}; "
          f"FLOPs at {SAMPLE}: {theirs} (both)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one timed run")
    args = parser.parse_args()
    main(1 if args.quick else args.repeat)
