"""Design-calculus benchmark (issue 13), measured side by side in one run.

A ResNet-50-depth network (derive.calculus.models.resnet50: 16 bottleneck blocks, 53
convolutions, 25,557,032 parameters), input (1, 3, H, W).

derive: receptive fields, cost and memory of every layer as formulas in symbolic H and W
(``analyse``, then the three analyses), each run on a freshly built network object:

- *cold*: every cache of derive cleared first (layer shapes, traced forwards, remembered
  sizes, windows, layer costs and saved tensors): what the first analysis in a process
  costs, SymPy's own cache aside;
- *warm*: derive's caches kept from earlier runs on other objects of the same structure (a
  traced forward is reused for a module of the same structure; layer shapes are remembered).

torch: ``FlopCounterMode`` on one forward pass at 224 x 224 (one size only, FLOPs only), on
real tensors (the requirement: at least 20x slower than derive), and also on the ``meta``
device (no arithmetic; the quickest way torch counts).

Runs alternate after one warm-up each; medians and ratios are printed. derive's FLOPs at
224 x 224 and its parameter count are checked against torch's first.

Run: ``.venv/bin/python benchmarks/bench_calculus.py`` (``--repeat N``, default 7).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

import derive.calculus.graph as graph
import derive.layer_cost as layer_cost
import derive.receptive as receptive
from derive.calculus import analyse, rules
from derive.calculus.models import resnet50
from derive.grammar import size_symbol

SAMPLE = 224
H, W = size_symbol("H"), size_symbol("W")


def derive_all(net: torch.nn.Module) -> tuple:
    a = analyse(net, (1, 3, H, W))
    return a.receptive_field(), a.cost(), a.memory()


def clear_caches() -> None:
    graph._SHAPES.clear()
    graph._TRACED.clear()
    layer_cost._remembered.cache_clear()
    layer_cost._product.cache_clear()
    receptive._conv_window.cache_clear()
    rules._COSTS.clear()
    rules._SAVES.clear()


def torch_flops(net: torch.nn.Module, x: torch.Tensor) -> int:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net(x)
    return counter.get_total_flops()


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main(repeat: int) -> None:
    torch.manual_seed(0)
    net = resnet50().eval()
    with torch.device("meta"):
        meta_net = resnet50().eval()
    x, meta_x = torch.rand(1, 3, SAMPLE, SAMPLE), torch.empty(1, 3, SAMPLE, SAMPLE, device="meta")
    rf, cost, _ = derive_all(resnet50())  # warm-ups
    theirs = torch_flops(net, x)
    assert torch_flops(meta_net, meta_x) == theirs
    at = {H: SAMPLE, W: SAMPLE}
    assert int(cost.flops.xreplace(at)) == theirs, (cost.flops.xreplace(at), theirs)
    assert int(cost.params) == sum(p.numel() for p in net.parameters())

    times: dict[str, list[float]] = {"cold": [], "warm": [], "torch": [], "meta": []}
    for _ in range(repeat):
        fresh = resnet50()
        clear_caches()
        times["cold"].append(timed(derive_all, fresh))
        times["warm"].append(timed(derive_all, resnet50()))
        times["torch"].append(timed(torch_flops, net, x))
        times["meta"].append(timed(torch_flops, meta_net, meta_x))
    m = {k: statistics.median(v) for k, v in times.items()}
    print(f"ResNet-50 depth ({len(rf.layers)} layers), input (1, 3, H, W), {repeat} runs each, "
          "medians:")
    print(f"  derive, symbolic H, W, receptive fields + cost + memory, cold  "
          f"{m['cold'] * 1000:8.1f} ms")
    print(f"  derive, same, warm (fresh network object)                      "
          f"{m['warm'] * 1000:8.1f} ms")
    print(f"  torch FlopCounterMode, one forward at {SAMPLE}x{SAMPLE}              "
          f"{m['torch'] * 1000:8.1f} ms")
    print(f"  torch FlopCounterMode on the meta device (no arithmetic)       "
          f"{m['meta'] * 1000:8.1f} ms")
    for label, key in (("cold", "cold"), ("warm", "warm")):
        print(f"  ratio torch forward / derive {label}: {m['torch'] / m[key]:.1f}x; "
              f"meta / derive {label}: {m['meta'] / m[key]:.1f}x")
    print(f"  output receptive field {rf.output.fields[0].interval()}; params {cost.params}; "
          f"FLOPs at {SAMPLE}: {theirs} (both)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="two timed runs")
    args = parser.parse_args()
    main(2 if args.quick else args.repeat)
