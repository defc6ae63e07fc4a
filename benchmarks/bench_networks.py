"""Network shapes benchmark, measured side by side in one run (ratios printed, nothing asserted
about time).

1. ResNet-50 (bottleneck blocks, 53 convolutions) with symbolic height and width:
   - ``derive.output_shape(net, (1, 3, H, W))``: formulas for every size;
   - ``torch.export.export`` with dynamic H and W (the ``dynamic_shapes`` derive derives;
     torch's plain ``Dim("h")`` would fail on this model), at the sample size 224.
   The first call of each is reported, then alternating runs (derive, torch, ...) and their
   medians and ratio.
2. ResNet-18 (the book's) with symbolic H and W: derive against torch's fake tensors with a
   ``ShapeEnv`` (sample size 224).
3. The exact admissible sizes of the 4-level 2-D U-Net of the zoo (trace and solve), the
   answer checked against torch forward passes at its edges.
4. The input sizes LeNet accepts, each boundary checked with a torch forward pass.

Run: ``.venv/bin/python benchmarks/bench_networks.py`` (``--repeat N``, default 5;
``--quick``: 2).
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
from derive.networks.export import export, spec_from_trace
from derive.networks.quasi import evaluate
from derive.networks.torch_symbolic import torch_symbolic
from derive.networks.trace import trace
from derive.networks.zoo import ZOO, resnet50

SAMPLE = 224
H, W = size_symbol("H"), size_symbol("W")


def time_once(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def alternate(first, second, repeat: int) -> tuple[float, float]:
    a, b = [], []
    for _ in range(repeat):
        a.append(time_once(first))
        b.append(time_once(second))
    return statistics.median(a), statistics.median(b)


def bench_resnet50(repeat: int) -> None:
    net = resnet50(width=0.25).eval()
    cold_derive = time_once(lambda: output_shape(net, (1, 3, H, W)))
    spec = spec_from_trace(trace(net, (1, 3, H, W)), {H: SAMPLE, W: SAMPLE})
    cold_torch = time_once(lambda: export(net, spec))
    ours = output_shape(net, (1, 3, H, W))
    program = export(net, spec).module()
    with torch.no_grad():
        x = torch.zeros(1, 3, SAMPLE, SAMPLE)
        assert tuple(program(x).shape) == tuple(net(x).shape) == tuple(int(d) for d in ours)
    d, t = alternate(lambda: output_shape(net, (1, 3, H, W)), lambda: export(net, spec), repeat)
    print("ResNet-50 (width 1/4), input (1, 3, H, W), symbolic H and W:")
    print(f"  first call:  derive.output_shape {cold_derive * 1000:8.1f} ms, "
          f"torch.export (dynamic H, W) {cold_torch * 1000:8.1f} ms, "
          f"ratio {cold_torch / cold_derive:.1f}x")  # fmt: skip
    print(f"  medians of {repeat}: derive {d * 1000:8.1f} ms, torch.export {t * 1000:8.1f} ms, "
          f"ratio torch / derive: {t / d:.1f}x")  # fmt: skip
    print(f"  torch.export's dynamic_shapes (from derive): "
          f"{spec.text().splitlines()[2]}, {spec.text().splitlines()[3]}")  # fmt: skip


def bench_resnet18(repeat: int) -> None:
    net = resnet18()
    ours = output_shape(net, (1, 1, H, W))
    theirs = torch_symbolic(net, (1, 1, H, W), {H: SAMPLE, W: SAMPLE})
    at_sample = tuple(int(evaluate(d, {H: SAMPLE, W: SAMPLE})) for d in ours)
    with torch.no_grad():
        real = tuple(copy.deepcopy(net)(torch.zeros(1, 1, SAMPLE, SAMPLE)).shape)
    assert at_sample == real == tuple(int(d) for d in theirs.shape), (at_sample, real, theirs)
    spare = copy.deepcopy(net)  # torch's fake forward runs on a copy, made untimed
    d, t = alternate(
        lambda: output_shape(net, (1, 1, H, W)),
        lambda: torch_symbolic(spare, (1, 1, H, W), {H: SAMPLE, W: SAMPLE}, False),
        repeat,
    )
    print(f"\nResNet-18, input (1, 1, H, W), {repeat} runs each, medians:")
    print(f"  derive.output_shape (every H, W)            {d * 1000:8.1f} ms")
    print(f"  torch fake tensors + ShapeEnv (at {SAMPLE}x{SAMPLE}) {t * 1000:8.1f} ms"
          f"  ({len(theirs.guards)} guards)")  # fmt: skip
    print(f"  ratio torch / derive: {t / d:.1f}x" + ("" if d < t else "  (derive is SLOWER)"))


def bench_unet() -> None:
    entry = ZOO["unet2d"]
    net = entry.factory()
    start = time.perf_counter()
    adm = admissible_sizes(net, entry.input_shape)
    elapsed = time.perf_counter() - start
    checked = 0
    for h in (15, 16, 17, 31, 32, 33, 48):
        for w in (16, 32, 40):
            expected = _accepts(net, (1, 1, h, w))
            assert expected == ((h, w) in adm), (h, w)
            checked += 1
    print(f"\n2-D U-Net, 4 levels: exact admissible sizes in {elapsed:.2f} s (exact={adm.exact}):")
    for box in adm.boxes:
        print("  " + ", ".join(v.to_formula(s.name) for s, v in box.sizes.items()))
    print(f"  {checked} sizes at the edges checked against torch forward passes")


def _accepts(net, shape) -> bool:
    try:
        with torch.no_grad():
            net(torch.zeros(shape))
    except (RuntimeError, ValueError):
        return False
    return True


def bench_lenet() -> None:
    net = lenet()
    start = time.perf_counter()
    adm = admissible_sizes(net, (1, 1, H, W))
    elapsed = time.perf_counter() - start
    checked = 0
    for box in adm.boxes:
        (hs,), (ws,) = (s.runs for s in box.sizes.values())
        for h in (hs.lo - 1, hs.lo, hs.hi, hs.hi + 1):
            for w in (ws.lo - 1, ws.lo, ws.hi, ws.hi + 1):
                assert _accepts(net, (1, 1, h, w)) == ((h, w) in adm), (h, w)
                checked += 1
    print(f"\nLeNet accepts exactly (solved in {elapsed * 1000:.0f} ms, exact={adm.exact}):")
    for box in adm.boxes:
        print(f"  {box.to_text()}")
    print(f"  {checked} boundary points checked against torch forward passes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="two runs each")
    args = parser.parse_args()
    if args.quick:
        args.repeat = 2
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    bench_resnet50(args.repeat)
    bench_resnet18(args.repeat)
    bench_unet()
    bench_lenet()


if __name__ == "__main__":
    main()
