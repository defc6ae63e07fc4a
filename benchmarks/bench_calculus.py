"""Design-calculus benchmark (issue 13), measured side by side in one run.

A ResNet-50-depth network (derive.calculus.models.resnet50: 16 bottleneck blocks, 53
convolutions, 25,557,032 parameters), input (1, 3, H, W).

derive: the network traced once (its own ``forward`` run on symbolic sizes,
:func:`derive.networks.trace`), then receptive fields, cost and memory of every row as
formulas in symbolic H and W (``analyse``, then the three analyses), each run on a freshly
built network object:

- *cold*: every cache of derive cleared first (every ``functools`` cache of every derive
  module: remembered sizes, windows, handlers' signatures): what the first analysis in a
  process costs, SymPy's own cache aside; also measured with SymPy's cache cleared too;
- *warm*: derive's and SymPy's caches kept from earlier runs on other network objects.

torch: ``FlopCounterMode`` on one forward pass at 224 x 224 (one size only, FLOPs only), on
real tensors (the requirement: at least 20x slower than derive), and also on the ``meta``
device (no arithmetic; the quickest way torch counts).

Runs alternate after one warm-up each; medians and ratios are printed. derive's FLOPs at
224 x 224 and its parameter count are checked against torch's first.

Run: ``.venv/bin/python benchmarks/bench_calculus.py`` (``--repeat N``, default 7).
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time

import torch
from sympy.core.cache import clear_cache
from torch.utils.flop_counter import FlopCounterMode

from derive.calculus import analyse
from derive.calculus.models import resnet50
from derive.grammar import size_symbol

SAMPLE = 224
H, W = size_symbol("H"), size_symbol("W")


def derive_all(net: torch.nn.Module) -> tuple:
    a = analyse(net, (1, 3, H, W))
    return a.receptive_field(), a.cost(), a.memory()


def clear_caches(sympy_too: bool = False) -> int:
    """Clear every functools cache of every derive module (and SymPy's); how many."""
    count = 0
    for name, module in list(sys.modules.items()):
        if not name.startswith("derive") or module is None:
            continue
        for value in list(vars(module).values()):
            if isinstance(value, functools._lru_cache_wrapper):
                value.cache_clear()
                count += 1
    if sympy_too:
        clear_cache()
    return count


def torch_flops(net: torch.nn.Module, x: torch.Tensor) -> int:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net(x)
    return counter.get_total_flops()


_FRESH = """
import sys, time
sys.path.insert(0, {bench!r})
from bench_calculus import derive_all, resnet50, torch_flops, SAMPLE
import torch
import derive.calculus.analysis, derive.calculus.fields, derive.calculus.kept
import derive.calculus.functions, derive.networks.trace, derive.networks.handlers
import sympy.tensor.tensor  # SymPy imports it (~0.15 s) at the first sum of a process
net = resnet50()
x = torch.rand(1, 3, SAMPLE, SAMPLE)
start = time.perf_counter()
{what}
print(time.perf_counter() - start)
"""


def fresh_process(what: str) -> float:
    """The first run of ``what`` in a new process (imports done, the network built)."""
    import subprocess
    from pathlib import Path

    code = _FRESH.format(bench=str(Path(__file__).resolve().parent), what=what)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True)  # fmt: skip
    return float(out.stdout.strip().splitlines()[-1])


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

    times: dict[str, list[float]] = {"cold": [], "colder": [], "fresh": [], "warm": [],
                                     "torch": [], "torch_fresh": [], "meta": []}  # fmt: skip
    cleared = clear_caches()
    for _ in range(repeat):
        fresh = resnet50()
        clear_caches()
        times["cold"].append(timed(derive_all, fresh))
        fresh = resnet50()
        clear_caches(sympy_too=True)
        times["colder"].append(timed(derive_all, fresh))
        times["warm"].append(timed(derive_all, resnet50()))
        times["fresh"].append(fresh_process("derive_all(net)"))
        times["torch_fresh"].append(fresh_process("torch_flops(net.eval(), x)"))
        times["torch"].append(timed(torch_flops, net, x))
        times["meta"].append(timed(torch_flops, meta_net, meta_x))
    m = {k: statistics.median(v) for k, v in times.items()}
    print(f"ResNet-50 depth ({len(rf.layers)} layers), input (1, 3, H, W), {repeat} runs each, "
          "medians:")
    print(f"  derive, symbolic H, W, trace + receptive fields + cost + memory, cold "
          f"({cleared} caches cleared) {m['cold'] * 1000:8.1f} ms")
    print(f"  derive, same, cold with SymPy's cache cleared too                "
          f"{m['colder'] * 1000:8.1f} ms")
    print(f"  derive, same, first analysis in a new process (imports done)    "
          f"{m['fresh'] * 1000:8.1f} ms")
    print(f"  derive, same, warm (fresh network object)                      "
          f"{m['warm'] * 1000:8.1f} ms")
    print(f"  torch FlopCounterMode, one forward at {SAMPLE}x{SAMPLE}, float32, "
          f"{torch.get_num_threads()} threads {m['torch'] * 1000:8.1f} ms")
    print(f"  torch FlopCounterMode, same, first run in a new process          "
          f"{m['torch_fresh'] * 1000:8.1f} ms")
    print(f"  torch FlopCounterMode on the meta device (no arithmetic)       "
          f"{m['meta'] * 1000:8.1f} ms")
    for label, key in (("cold", "cold"), ("cold, SymPy cleared", "colder"),
                       ("new process", "fresh"), ("warm", "warm")):  # fmt: skip
        print(f"  ratio torch forward / derive {label}: {m['torch'] / m[key]:.1f}x; "
              f"meta / derive {label}: {m['meta'] / m[key]:.1f}x")
    print(f"  ratio, first runs in new processes, torch / derive: "
          f"{m['torch_fresh'] / m['fresh']:.1f}x; torch's first run / derive cold: "
          f"{m['torch_fresh'] / m['cold']:.1f}x")
    print(f"  output receptive field {rf.output.fields[0].interval()}; params {cost.params}; "
          f"FLOPs at {SAMPLE}: {theirs} (both)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="two timed runs")
    args = parser.parse_args()
    main(2 if args.quick else args.repeat)
