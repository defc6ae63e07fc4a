r"""The calculus checked against torch: receptive fields by gradients, costs by torch's counter,
memory by what autograd keeps.

**Receptive fields.** A float64 copy of the network gets positive weights, positive biases
and batch norm with fixed statistics (evaluation mode), and a positive input. Then nothing
cancels: every output depends on an input entry exactly when some path of windows links
them, and the gradient of one output position (summed over channels) is non-zero exactly on
the entries it depends on. Max pooling routes a gradient to one entry per window, so for
networks with max pooling the dependency is read by *bumping*: each input entry in turn is
raised by $10^{100}$ (one batch), and an output position depends on it when its value
changes (for large inputs, whole rows and then whole columns are bumped, which reads the
rows and the columns the dependency set spans: its projections). Both are compared with
derive's exact set (:func:`derive.calculus.seen.dependency`) and with derive's *symbolic*
field, evaluated at the size: on an interior position its interval must be the hull of what
torch finds, elsewhere it must contain it.

**Cost.** ``torch.utils.flop_counter.FlopCounterMode`` on a forward (and a backward) pass,
against derive's FLOPs formula at the same size; ``sum(p.numel())`` against its parameters.

**Memory.** ``torch.autograd.graph.saved_tensors_hooks`` on a forward pass: the distinct
storages autograd keeps, parameters and buffers excluded, against derive's saved bytes.
"""

from __future__ import annotations

import contextlib
import copy
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy as sp
import torch
from torch import nn

from derive.calculus.analysis import analyse
from derive.calculus.graph import Refused, Tensor
from derive.calculus.seen import Dependencies, Mask, hull
from derive.ops import AVG_POOL, CONV, CONV_TRANSPOSE, MAX_POOL
from derive.receptive import INDEX

__all__ = [
    "Disagreement",
    "FieldReport",
    "one_thread",
    "positive_copy",
    "fixed_statistics",
    "torch_dependency",
    "check_receptive_field",
    "check_row_fields",
    "check_cost",
    "check_memory",
    "random_network",
]

BUMP = 1e100
#: above this many input positions, max-pooling networks are bumped by rows and columns
CELL_BUMPS = 1024
#: output positions back-propagated together
GRADIENT_BATCH = 64


@dataclass(frozen=True)
class Disagreement:
    position: tuple[int, ...] | None
    what: str


@dataclass
class FieldReport:
    """Positions compared, how torch read them, and every disagreement found."""

    positions: int = 0
    interior: int = 0
    method: str = ""
    disagreements: list[Disagreement] = field(default_factory=list)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """torch on one thread (small tensors: more threads only contend on a shared machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _has_max_pool(analysis: Any, upto: int | None = None) -> bool:
    """Whether a row of the network (up to node ``upto``) takes a maximum (its gradient
    reaches one entry)."""
    import torch.nn.functional as F

    kinds = (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AdaptiveMaxPoolNd)
    functions = {getattr(F, f"{k}max_pool{d}d") for k in ("", "adaptive_") for d in (1, 2, 3)}
    return any(isinstance(n.module, kinds) or n.target in functions for n in analysis.nodes
               if upto is None or n.index <= upto)  # fmt: skip


def positive_copy(module: nn.Module, seed: int = 0) -> nn.Module:
    """A float64 copy in evaluation mode with every parameter in $[0.5, 1]$ / fan-in."""
    net = copy.deepcopy(module).double().eval()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            for name, p in m.named_parameters(recurse=False):
                fan = max(1, p[0].numel()) if name == "weight" and p.dim() > 1 else 1
                p.copy_((0.5 + 0.5 * torch.rand(p.shape, generator=gen, dtype=p.dtype)) / fan)
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
                m.running_mean.zero_()
                m.running_var.fill_(1.0)
    return net


def fixed_statistics(module: nn.Module) -> nn.Module:
    """A copy whose instance norms normalise with fixed statistics (mean 0, variance 1).

    An instance norm without running statistics makes every output read the whole map, and
    it centres its output: with a ReLU after it, gradients and bumps stop seeing what the
    output depends on (positivity no longer holds). The copy keeps the network's structure
    (convolutions, poolings, skips, resampling) with entry-by-entry norms, so that its
    fields can be checked position by position; the instance norm's own rule is checked on
    networks where positivity holds.
    """
    net = copy.deepcopy(module)
    for m in net.modules():
        if isinstance(m, nn.modules.instancenorm._InstanceNorm) and not m.track_running_stats:
            m.track_running_stats = True
            m.register_buffer("running_mean", torch.zeros(m.num_features))
            m.register_buffer("running_var", torch.ones(m.num_features))
            m.register_buffer("num_batches_tracked", torch.tensor(0))
    return net.eval()


def _mask(grid: torch.Tensor) -> Mask:
    """A boolean (rows, cols) tensor as row bit masks."""
    return [_bits(row) for row in grid.tolist()]


def _grid(t: torch.Tensor) -> torch.Tensor:
    """(C, *spatial) -> (rows, cols): any channel non-zero."""
    g = t.abs().sum(0) > 0
    return g.unsqueeze(0) if g.dim() == 1 else g


def torch_dependency(
    net: nn.Module, shape: Sequence[int], positions: Sequence[tuple | None],
    method: str = "gradient", output: int = 0,
) -> list[Mask]:  # fmt: skip
    """What torch says each output position depends on (``net`` from :func:`positive_copy`).

    ``positions``: index tuples into the output without its batch axis (``slice(None)`` on
    axes summed over; ``None``: the whole output). ``output``: which tensor of a forward
    returning several.
    """
    gen = torch.Generator().manual_seed(1)
    x = 0.5 + 0.5 * torch.rand(tuple(shape), generator=gen, dtype=torch.float64)
    run = _selected(net, output)
    if method == "gradient":
        out = []
        for start in range(0, len(positions), GRADIENT_BATCH):
            out += _gradient_masks(run, x, positions[start : start + GRADIENT_BATCH])
        return out
    grid = (1, *shape[2:]) if len(shape) == 3 else tuple(shape[2:])
    bumps = _bumps(grid, by_axis=method == "bump-axes")
    batch = x.repeat(len(bumps) + 1, *([1] * (len(shape) - 1)))
    for b, cells in enumerate(bumps):
        batch[b + 1].view(shape[1], *grid)[(slice(None), *cells)] += BUMP
    with torch.no_grad():
        y = run(batch)
    base, out = y[0], []
    for pos in positions:
        sel = y if pos is None else y[(slice(None), *pos)]
        ref = base if pos is None else base[pos]
        moved = (sel[1:] - ref).abs().reshape(len(bumps), -1).amax(1) > 1e-6 * (ref.abs().max() + 1)
        if method == "bump-axes":
            rows = _bits(moved[: grid[0]].tolist())
            out.append([_bits(moved[grid[0] :].tolist()) if rows >> r & 1 else 0
                        for r in range(grid[0])])  # fmt: skip
        else:
            out.append(_mask(moved.view(*grid)))
    return out


def _selected(net: nn.Module, output: int) -> Any:
    def run(x: torch.Tensor) -> torch.Tensor:
        y = net(x)
        return y[output] if isinstance(y, (tuple, list)) else y

    return run


def _gradient_masks(net: Any, x: torch.Tensor, positions: Sequence[Any]) -> list[Mask]:
    """One copy of the input per position (evaluation mode: copies do not interact)."""
    xs = x.repeat(len(positions), *([1] * (x.dim() - 1))).requires_grad_(True)
    y = net(xs)
    seeds = torch.zeros_like(y)
    for k, pos in enumerate(positions):
        seeds[(k,) if pos is None else (k, *pos)] = 1.0
    (g,) = torch.autograd.grad(y, xs, seeds)
    return [_mask(_grid(g[k])) for k in range(len(positions))]


def _bumps(grid: tuple[int, int], by_axis: bool) -> list[tuple]:
    """Which cells each bumped copy raises: one each, or whole rows then whole columns."""
    rows, cols = grid
    if by_axis:
        return [(r, slice(None)) for r in range(rows)] + [(slice(None), c) for c in range(cols)]
    return [(r, c) for r in range(rows) for c in range(cols)]


def _bits(flags: list[bool]) -> int:
    return sum(1 << q for q, v in enumerate(flags) if v)


def project(mask: Mask) -> Mask:
    """The product of a mask's row and column projections (what row and column bumps see)."""
    cols = 0
    for bits in mask:
        cols |= bits
    return [cols if bits else 0 for bits in mask]


def _positions(layout: tuple, shape: tuple, count: int, limit: int | None
               ) -> list[tuple[tuple[int, ...], tuple]]:  # fmt: skip
    """Output positions to compare: a coordinate per carried input axis, and the index
    into the output (batch axis left out) that selects it."""
    carried = [a for a in range(count) if a in layout]
    if not carried:
        return [((), None)]  # type: ignore[list-item]
    ranges = [range(int(shape[layout.index(a)])) for a in carried]
    everything = _product(ranges)
    if limit is not None and len(everything) > limit:
        step = max(1, len(everything) // limit)
        everything = sorted(set(everything[::step]) | {everything[0], everything[-1]})
    out = []
    for coords in everything:
        at = dict(zip(carried, coords))
        index = tuple(slice(None) if a is None else at[a] for a in layout[1:])
        out.append((coords, index))
    return out


def _product(ranges: list[range]) -> list[tuple[int, ...]]:
    import itertools

    return list(itertools.product(*ranges))


class _AtSize:
    """derive's symbolic field of a layer, at sizes ``values``, evaluated exactly at each
    $i$ (:func:`derive.networks.quasi.evaluate`, rational arithmetic: floating point would
    misplace a floor)."""

    def __init__(self, layer: Any, values: dict) -> None:
        self.carried = layer.carried
        values = {k: sp.Integer(v) for k, v in values.items()}
        self.axes = []
        for f in layer.fields:
            lo, hi = (sp.sympify(v).xreplace(values) for v in f.interval())
            inside = f.interior().xreplace(values) if layer.spatial else sp.false
            self.axes.append((lo, hi, inside))

    def __call__(self, coords: tuple[int, ...]) -> list[tuple[int, int, bool]]:
        """``(lo, hi, interior)`` per axis at the output position with ``coords`` (one per
        carried axis)."""
        from derive.networks.quasi import evaluate

        given = iter(coords)
        pos = [next(given) if c else 0 for c in self.carried]
        out = []
        for (lo, hi, inside), i in zip(self.axes, pos):
            at = {INDEX: i}
            out.append((int(evaluate(lo, at)), int(evaluate(hi, at)), bool(evaluate(inside, at))))
        return out


def _case_output(rf: Any, values: dict, output: int) -> Any:
    """The output fields of the case whose assumptions hold at ``values``."""
    for assumptions, fields in rf.outputs:
        if all(sp.sympify(a).xreplace(values) == sp.true for a in assumptions):
            return fields[output]
    raise Refused(f"no case of the forward holds at {values}")


def _concrete_shape(symbolic_shape: Sequence[object], values: dict) -> tuple[int, ...]:
    concrete = tuple(int(sp.sympify(d).xreplace(values)) for d in symbolic_shape)
    if not 1 <= len(concrete) - 2 <= 2:
        raise Refused(f"checks of receptive fields against torch need 1 or 2 spatial axes, "
                      f"got input shape {concrete}")  # fmt: skip
    return concrete


def check_receptive_field(
    module: nn.Module,
    symbolic_shape: Sequence[object],
    values: dict[sp.Symbol, int],
    limit: int | None = None,
    method: str | None = None,
    output: int = 0,
) -> FieldReport:
    """Compare derive's fields of ``module``'s output with torch at the sizes ``values``.

    ``symbolic_shape`` holds the symbols of ``values``; derive's formulas are derived once
    for it, then evaluated. ``limit`` caps the number of output positions (spread evenly);
    ``output`` picks the tensor of a forward returning several.
    """
    concrete = _concrete_shape(symbolic_shape, values)
    symbolic = _case_output(analyse(module, symbolic_shape).receptive_field(), values, output)
    exact = analyse(module, concrete)
    target = exact.graphs[0].outputs[output]
    return _check_target(module, symbolic, values, exact, target, limit, method, output)


def check_row_fields(
    module: nn.Module,
    symbolic_shape: Sequence[object],
    values: dict[sp.Symbol, int],
    rows: Sequence[tuple[str, nn.Module]],
    limit: int | None = None,
) -> list[FieldReport]:
    """:func:`check_receptive_field` of several rows of one network, traced twice in all
    (symbolic and at ``values``). ``rows`` pairs a submodule's path with the module torch
    runs to read that submodule's output (the network cut after it); derive's side is the
    last row of that submodule (a prefix of ``module``'s rows)."""
    concrete = _concrete_shape(symbolic_shape, values)
    fields = analyse(module, symbolic_shape).receptive_field().layers
    exact = analyse(module, concrete)
    graph = exact.graphs[0]
    out = []
    for path, prefix in rows:
        k = max(j for j, n in enumerate(graph.rows)
                if n.path == path or n.path.startswith(path + "."))  # fmt: skip
        out.append(_check_target(prefix, fields[k], values, exact, Tensor(graph.inputs + k),
                                 limit, None, 0))  # fmt: skip
    return out


def _check_target(module: nn.Module, symbolic: Any, values: dict, exact: Any, target: Any,
                  limit: int | None, method: str | None, output: int) -> FieldReport:  # fmt: skip
    """``module``'s output (torch) against the tensor ``target`` of ``exact`` (derive's
    analysis at the sizes ``values``) and its symbolic field ``symbolic``."""
    graph = exact.graphs[0]
    concrete = tuple(int(d) for d in graph.nodes[0].shape)
    state = exact.states()[0][target]
    count = max(len(concrete) - 2, 0)
    positions = _positions(state.layout, graph.shape_of(target), count, limit)
    cells = math.prod(concrete[2:])
    method = method or ("gradient" if not _has_max_pool(exact, target.node) else
                        "bump" if cells <= CELL_BUMPS else "bump-axes")  # fmt: skip
    with one_thread():
        theirs = torch_dependency(positive_copy(module), concrete,
                                  [index for _, index in positions], method, output)  # fmt: skip
    report, deps = FieldReport(len(positions), 0, method), Dependencies(exact, target=target)
    at_size = _AtSize(symbolic, values)
    for (coords, index), got in zip(positions, theirs):
        ours = deps.of(coords if index is not None else None)
        _compare(report, coords, got, project(ours) if method == "bump-axes" else ours,
                 at_size(coords))  # fmt: skip
    return report


def _compare(report: FieldReport, pos: Any, got: Mask, ours: Mask,
             fields: list[tuple[int, int, bool]]) -> None:  # fmt: skip
    if got != ours:
        report.disagreements.append(Disagreement(pos, "exact set differs from torch's"))
    box = hull(got)
    if len(fields) == 1:
        fields = [(0, 0, True), *fields]  # a 1-D input is one row
    if box is None:
        return
    interior = all(inside for _, _, inside in fields)
    report.interior += int(interior)
    for (lo, hi, _), (a, b) in zip(fields, box):
        if interior and (lo, hi) != (a, b):
            report.disagreements.append(Disagreement(pos, f"interval {(lo, hi)} != {(a, b)}"))
        elif not lo <= a <= b <= hi:
            report.disagreements.append(Disagreement(pos, f"{(a, b)} not inside {(lo, hi)}"))


def torch_flops(module: nn.Module, shape: Sequence[int], backward: bool = False) -> int:
    """``FlopCounterMode``'s total for one forward (and backward) pass at ``shape``."""
    from torch.utils.flop_counter import FlopCounterMode

    net = copy.deepcopy(module)
    x = torch.rand(tuple(shape))
    with one_thread(), FlopCounterMode(display=False) as counter:
        y = net(x)
        if backward:
            y.sum().backward()
    return int(counter.get_total_flops())


def check_cost(module: nn.Module, symbolic_shape: Sequence[object],
               values: dict[sp.Symbol, int]) -> list[str]:  # fmt: skip
    """Problems found comparing derive's cost formulas with torch at ``values`` (empty: none)."""
    c = analyse(module, symbolic_shape).cost()
    shape = [int(sp.sympify(d).xreplace(values)) for d in symbolic_shape]
    problems = []
    ours = int(c.flops.xreplace(values))
    theirs = torch_flops(module, shape)
    if ours != theirs:
        problems.append(f"forward FLOPs: derive {ours}, FlopCounterMode {theirs}")
    ours = int(c.params)
    theirs = sum(p.numel() for p in module.parameters())
    if ours != theirs:
        problems.append(f"parameters: derive {ours}, torch {theirs}")
    return problems


def torch_saved_bytes(module: nn.Module, shape: Sequence[int], dtype: torch.dtype) -> int:
    """Bytes of the distinct storages autograd keeps in a forward pass (no parameters)."""
    net = copy.deepcopy(module).to(dtype)
    own = {t.untyped_storage().data_ptr() for t in (*net.parameters(), *net.buffers())}
    kept: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in own and storage.nbytes():
            kept[storage.data_ptr()] = storage.nbytes()
        return t

    x = torch.rand(tuple(shape), dtype=dtype)
    with one_thread(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = net(x)
    del y
    return sum(kept.values())


def check_memory(module: nn.Module, symbolic_shape: Sequence[object],
                 values: dict[sp.Symbol, int], dtype: str = "float32") -> list[str]:  # fmt: skip
    """Problems found comparing derive's saved bytes with torch at ``values`` (empty: none)."""
    m = analyse(module, symbolic_shape).memory(dtype)
    shape = [int(sp.sympify(d).xreplace(values)) for d in symbolic_shape]
    ours = int(m.saved_bytes.xreplace(values))
    theirs = torch_saved_bytes(module, shape, getattr(torch, dtype))
    if ours != theirs:
        return [f"saved for backward: derive {ours} bytes, torch {theirs} bytes"]
    return []



def random_network(rng: random.Random, spatial: int = 2) -> tuple[nn.Module, bool]:
    """A random chain (sometimes with a residual branch) of 1-3 convolutions, poolings and
    transposed convolutions, one or two spatial axes; and whether it has max pooling."""
    from derive.calculus.models import Branches

    layers: list[nn.Module] = []
    channels, has_max = 1, False
    for _ in range(rng.randint(1, 3)):
        layer, channels = _random_layer(rng, channels, spatial)
        has_max |= isinstance(layer, nn.modules.pooling._MaxPoolNd)
        layers.append(layer)
    if rng.random() < 0.3:  # two branches added: the union of their fields
        conv = (nn.Conv1d, nn.Conv2d)[spatial - 1]
        k = rng.choice((1, 3, 5))
        layers.append(Branches(conv(channels, channels, k, padding=k // 2),
                               conv(channels, channels, 3, padding=2, dilation=2)))  # fmt: skip
    return nn.Sequential(*layers), has_max


def _random_layer(rng: random.Random, c: int, spatial: int) -> tuple[nn.Module, int]:
    n = spatial - 1
    kind = rng.choice((CONV, CONV, MAX_POOL, AVG_POOL, CONV_TRANSPOSE))
    k = rng.randint(1, 4)
    if kind is CONV:
        out = rng.randint(1, 2)
        layer = (nn.Conv1d, nn.Conv2d)[n](c, out, k, stride=rng.randint(1, 3),
                                          padding=rng.randint(0, 2), dilation=rng.randint(1, 3))
        return layer, out
    if kind is CONV_TRANSPOSE:
        s, d = rng.randint(1, 3), 1
        if s == 1:
            d = rng.randint(1, 3)
        layer = (nn.ConvTranspose1d, nn.ConvTranspose2d)[n](
            c, c, k, stride=s, padding=rng.randint(0, 1), dilation=d,
            output_padding=rng.randint(0, max(s, d) - 1),
        )
        return layer, c
    k = max(k, 2)
    pad, ceil = rng.randint(0, k // 2), rng.random() < 0.5
    if kind is MAX_POOL:
        return (nn.MaxPool1d, nn.MaxPool2d)[n](k, stride=rng.randint(1, 3), padding=pad,
                                               dilation=rng.randint(1, 2), ceil_mode=ceil), c
    return (nn.AvgPool1d, nn.AvgPool2d)[n](k, stride=rng.randint(1, 3), padding=pad,
                                           ceil_mode=ceil), c
