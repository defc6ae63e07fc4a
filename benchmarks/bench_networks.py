"""Network shapes benchmark (issue 5), measured side by side in one run.

1. ResNet-18 (the book's, full width) with symbolic height and width:
   - ``derive.output_shape(net, (1, 1, H, W))``: formulas for every size;
   - torch's own symbolic tracing: a fake tensor with dynamic H and W from a ``ShapeEnv``
     (sample size 224), the forward run under ``FakeTensorMode``; its result holds under
     the guards it records.
   Runs alternate (derive, torch, derive, torch, ...) after one warm-up each; medians
   and their ratio are printed. Both results are checked at the sample size first.
2. The input sizes LeNet accepts, as derive solves them, each boundary checked with a
   real torch forward pass.

Run: ``.venv/bin/python benchmarks/bench_networks.py`` (``--repeat N``, default 7).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
import warnings

import torch

from derive import output_shape
from derive.grammar import size_symbol
from derive.networks import admissible_sizes
from derive.networks.classic import lenet, resnet18
from derive.networks.quasi import evaluate
from derive.networks.torch_symbolic import torch_symbolic

SAMPLE = 224


def time_once(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_resnet(repeat: int) -> None:
    net = resnet18()
    H, W = size_symbol("H"), size_symbol("W")
    ours = output_shape(net, (1, 1, H, W))
    theirs = torch_symbolic(net, (1, 1, H, W), {H: SAMPLE, W: SAMPLE})
    at_sample = tuple(int(evaluate(d, {H: SAMPLE, W: SAMPLE})) for d in ours)
    with torch.no_grad():
        real = tuple(copy.deepcopy(net)(torch.zeros(1, 1, SAMPLE, SAMPLE)).shape)
    assert at_sample == real == tuple(int(d) for d in theirs.shape), (at_sample, real, theirs)

    derive_times, torch_times = [], []
    for _ in range(repeat):
        derive_times.append(time_once(lambda: output_shape(net, (1, 1, H, W))))
        spare = copy.deepcopy(net)  # torch's fake forward runs on a copy, made untimed
        torch_times.append(time_once(
            lambda m=spare: torch_symbolic(m, (1, 1, H, W), {H: SAMPLE, W: SAMPLE}, False)
        ))  # fmt: skip
    d, t = statistics.median(derive_times), statistics.median(torch_times)
    print(f"ResNet-18, input (1, 1, H, W), {repeat} runs each, medians:")
    print(f"  derive.output_shape (every H, W)            {d * 1000:8.1f} ms")
    print(f"  torch fake tensors + ShapeEnv (at {SAMPLE}x{SAMPLE}) {t * 1000:8.1f} ms"
          f"  ({len(theirs.guards)} guards)")  # fmt: skip
    print(f"  ratio torch / derive: {t / d:.1f}x" + ("" if d < t else "  (derive is SLOWER)"))
    print(f"  derive's output: {ours}; torch's: ({', '.join(theirs.shape)})")


def lenet_sizes() -> None:
    net = lenet()
    H, W = size_symbol("H"), size_symbol("W")
    start = time.perf_counter()
    adm = admissible_sizes(net, (1, 1, H, W))
    elapsed = time.perf_counter() - start

    def accepted(h: int, w: int) -> bool:
        try:
            with torch.no_grad():
                net(torch.zeros(1, 1, h, w))
        except RuntimeError:
            return False
        return True

    checked = 0
    for box in adm.boxes:
        (hs,), (ws,) = (s.runs for s in box.sizes.values())
        for h in (hs.lo - 1, hs.lo, hs.hi, hs.hi + 1):
            for w in (ws.lo - 1, ws.lo, ws.hi, ws.hi + 1):
                assert accepted(h, w) == ((h, w) in adm), (h, w)
                checked += 1
    print(f"\nLeNet accepts exactly (solved in {elapsed * 1000:.0f} ms, exact={adm.exact}):")
    for box in adm.boxes:
        print(f"  {box.to_text()}")
    print(f"  {checked} boundary points checked against torch forward passes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    bench_resnet(args.repeat)
    lenet_sizes()


if __name__ == "__main__":
    main()
