r"""The numeric sweep: the engine against PyTorch over a large grid of configurations.

**Shapes and rejections.** Four one-dimensional grids - convolution (integer, asymmetric,
``'same'`` and ``'valid'`` padding, dilation), max pooling (``ceil_mode``, dilation,
``stride=None``), average pooling (``ceil_mode``) and transposed convolution (output padding,
dilation) - over 100,000 configurations in all. For each one torch is asked for the output
length (or raises), and the engine's answer must match: the same length, or a
:class:`derive.ShapeError` where torch raises.

The engine's answers come from the engine itself, built once with symbols and compiled
(:mod:`derive.verify.fast`): the output-size formula of every mode, and its rejections -
an output below one, plus the guards the engine decides for each combination of the discrete
arguments (pooling padding against the window, output padding against stride and
dilation, ``'same'`` against the stride), found by calling the engine with a symbolic size.
On a random subsample the engine is also called numerically, configuration by
configuration, and must agree with both.

**Elements.** On a random sample of 2-D cases (conv2d with groups, bias, asymmetric padding;
max and average pooling with ``ceil_mode``, ``count_include_pad`` and ``divisor_override``),
the engine's exact elements are compared with torch's in float64.

Every disagreement is kept with its configuration.
"""

from __future__ import annotations

import itertools
import random
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from derive import conv as C
from derive import pool as PL
from derive import shapes as S
from derive.errors import ShapeError
from derive.verify.fast import compile_formula

__all__ = ["Disagreement", "SweepResult", "Grid", "build_grids", "run_sweep", "DEFAULT_ELEMENTS"]

#: 2-D element cases in a default run
DEFAULT_ELEMENTS = 480
#: configurations also run through the engine numerically, one by one
ENGINE_SAMPLE = 800

_n, _k, _s, _d = sp.symbols("n k s d", integer=True, positive=True)
_lo, _hi, _p, _op = sp.symbols("lo hi p op", integer=True, nonnegative=True)

REJECT = -1  # model / torch value for "rejected"
ERROR = -2  # the engine raised something other than ShapeError, or gave no integer


@dataclass(frozen=True)
class Disagreement:
    """One configuration where derive and torch (or the engine and its compiled form) differ."""

    op: str
    config: dict[str, Any]
    derive: str
    torch: str

    def __str__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.config.items())
        return f"{self.op}({shown}): derive {self.derive}, torch {self.torch}"


@dataclass
class SweepResult:
    """Counts of a sweep and its disagreements."""

    configurations: int = 0
    failed: int = 0
    by_op: dict[str, int] = field(default_factory=dict)
    rejected: int = 0
    engine_sampled: int = 0
    element_cases: int = 0
    disagreements: list[Disagreement] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


@dataclass
class Grid:
    """One operation's configurations as integer columns (one entry per configuration)."""

    op: str
    columns: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(next(iter(self.columns.values())))

    def config(self, idx: int) -> dict[str, Any]:
        return _describe(self.op, {name: int(col[idx]) for name, col in self.columns.items()})


# padding modes of the convolution grid
_INT, _PAIR, _SAME, _VALID = 0, 1, 2, 3


def _product(**axes: Any) -> dict[str, np.ndarray]:
    names = list(axes)
    mesh = np.meshgrid(*(np.asarray(v, dtype=np.int64) for v in axes.values()), indexing="ij")
    return {name: m.reshape(-1) for name, m in zip(names, mesh)}


def build_grids() -> list[Grid]:
    """The full grids, one per operation (counts below).

    >>> [(g.op, len(g)) for g in build_grids()]
    [('conv1d', 60480), ('max_pool1d', 23040), ('avg_pool1d', 7680), ('conv_transpose1d', 27648)]
    >>> build_grids()[3].config(0)
    {'size': 1, 'kernel_size': 1, 'stride': 1, 'padding': 0, 'output_padding': 0, 'dilation': 1}
    """
    pads = [(_INT, p_, p_) for p_ in range(4)]
    pads += [(_PAIR, a, b) for a in range(4) for b in range(4) if a != b]
    pads += [(_SAME, 0, 0), (_VALID, 0, 0)]
    conv = _product(
        n=range(1, 41), k=range(1, 8), s=range(1, 5), d=range(1, 4), pad=range(len(pads))
    )
    table = np.array(pads, dtype=np.int64)
    conv["mode"], conv["lo"], conv["hi"] = (table[conv["pad"], c] for c in range(3))
    del conv["pad"]
    # stride 0 stands for stride=None (the window)
    maxp = _product(
        n=range(1, 33), k=range(1, 7), s=range(0, 5), p=range(4), d=range(1, 4), ceil=range(2)
    )
    avgp = _product(n=range(1, 33), k=range(1, 7), s=range(0, 5), p=range(4), ceil=range(2))
    avgp["d"] = np.ones_like(avgp["n"])
    convt = _product(
        n=range(1, 25), k=range(1, 7), s=range(1, 5), p=range(4), op=range(4), d=range(1, 4)
    )
    return [
        Grid("conv1d", conv),
        Grid("max_pool1d", maxp),
        Grid("avg_pool1d", avgp),
        Grid("conv_transpose1d", convt),
    ]


def _subset(grid: Grid, idx: np.ndarray) -> Grid:
    return Grid(grid.op, {name: col[idx] for name, col in grid.columns.items()})


def _describe(op: str, c: dict[str, int]) -> dict[str, Any]:
    """The configuration with torch's argument names."""
    if op == "conv1d":
        padding: Any = {_INT: c["lo"], _PAIR: (c["lo"], c["hi"]), _SAME: "same", _VALID: "valid"}[
            c["mode"]
        ]
        return {
            "size": c["n"],
            "kernel_size": c["k"],
            "stride": c["s"],
            "padding": padding,
            "dilation": c["d"],
        }
    if op in ("max_pool1d", "avg_pool1d"):
        out = {"size": c["n"], "kernel_size": c["k"], "stride": c["s"] or None, "padding": c["p"]}
        if op == "max_pool1d":
            out["dilation"] = c["d"]
        out["ceil_mode"] = bool(c["ceil"])
        return out
    return {
        "size": c["n"],
        "kernel_size": c["k"],
        "stride": c["s"],
        "padding": c["p"],
        "output_padding": c["op"],
        "dilation": c["d"],
    }


# ---------------------------------------------------------------- the model (engine)
def _raises(call: Callable[[], Any]) -> bool:
    try:
        call()
    except ShapeError:
        return True
    return False


def _model(grid: Grid) -> np.ndarray:
    """The engine's answer for every configuration: output length, or REJECT."""
    c = grid.columns
    out = np.zeros(len(grid), dtype=np.int64)
    guard = np.zeros(len(grid), dtype=bool)
    if grid.op == "conv1d":
        general = compile_formula(
            S.conv_output_size(_n, _k, _s, (_lo, _hi), _d), (_n, _k, _s, _lo, _hi, _d)
        )
        valid = compile_formula(S.conv_output_size(_n, _k, _s, "valid", _d), (_n, _k, _s, _d))
        sel = (c["mode"] == _INT) | (c["mode"] == _PAIR)
        out[sel] = general(
            c["n"][sel], c["k"][sel], c["s"][sel], c["lo"][sel], c["hi"][sel], c["d"][sel]
        )
        sel = c["mode"] == _VALID
        out[sel] = valid(c["n"][sel], c["k"][sel], c["s"][sel], c["d"][sel])
        for stride in np.unique(c["s"]).tolist():
            sel = (c["mode"] == _SAME) & (c["s"] == stride)
            if _raises(lambda st=stride: S.conv_output_size(_n, _k, st, "same", _d)):
                guard |= sel
            else:
                same = compile_formula(S.conv_output_size(_n, _k, stride, "same", _d), (_n, _k, _d))
                out[sel] = same(c["n"][sel], c["k"][sel], c["d"][sel])
    elif grid.op in ("max_pool1d", "avg_pool1d"):
        for ceil in (0, 1):
            strided = compile_formula(
                S.pool_output_size(_n, _k, _s, _p, _d, bool(ceil)), (_n, _k, _s, _p, _d)
            )
            default = compile_formula(
                S.pool_output_size(_n, _k, None, _p, _d, bool(ceil)), (_n, _k, _p, _d)
            )
            sel = (c["ceil"] == ceil) & (c["s"] > 0)
            out[sel] = strided(c["n"][sel], c["k"][sel], c["s"][sel], c["p"][sel], c["d"][sel])
            sel = (c["ceil"] == ceil) & (c["s"] == 0)
            out[sel] = default(c["n"][sel], c["k"][sel], c["p"][sel], c["d"][sel])
        for k_, p_ in itertools.product(np.unique(c["k"]).tolist(), np.unique(c["p"]).tolist()):
            if _raises(lambda k_=k_, p_=p_: S.pool_output_size(_n, k_, None, p_, _d)):
                guard |= (c["k"] == k_) & (c["p"] == p_)
    elif grid.op == "conv_transpose1d":
        formula = compile_formula(
            S.conv_transpose_output_size(_n, _k, _s, _p, _op, _d), (_n, _k, _s, _p, _op, _d)
        )
        out[:] = formula(c["n"], c["k"], c["s"], c["p"], c["op"], c["d"])
        combos = itertools.product(*(np.unique(c[x]).tolist() for x in ("s", "op", "d")))
        for s_, op_, d_ in combos:
            if _raises(
                lambda s_=s_, op_=op_, d_=d_: S.conv_transpose_output_size(_n, _k, s_, 0, op_, d_)
            ):
                guard |= (c["s"] == s_) & (c["op"] == op_) & (c["d"] == d_)
    else:  # pragma: no cover - grids are built here
        raise ValueError(grid.op)
    return np.where(guard | (out < 1), REJECT, out)


def _engine_call(op: str, c: dict[str, Any]) -> int:
    """The engine called numerically on one configuration (REJECT on ShapeError)."""
    try:
        if op == "conv1d":
            v = S.conv_output_size(
                c["size"], c["kernel_size"], c["stride"], c["padding"], c["dilation"]
            )
        elif op in ("max_pool1d", "avg_pool1d"):
            v = S.pool_output_size(
                c["size"],
                c["kernel_size"],
                c["stride"],
                c["padding"],
                c.get("dilation", 1),
                c["ceil_mode"],
            )
        else:
            v = S.conv_transpose_output_size(
                c["size"],
                c["kernel_size"],
                c["stride"],
                c["padding"],
                c["output_padding"],
                c["dilation"],
            )
    except ShapeError:
        return REJECT
    except Exception:  # a broken engine: anything but a size or a ShapeError is an error
        return ERROR
    try:
        return int(v)
    except (TypeError, ValueError):
        return ERROR


# ---------------------------------------------------------------- torch
def _torch_lengths(grid: Grid, tick: Callable[[int], None]) -> np.ndarray:
    """torch's output length for every configuration, or REJECT where it raises."""
    import torch
    import torch.nn.functional as F

    c = {name: col.tolist() for name, col in grid.columns.items()}
    count = len(grid)
    out = np.empty(count, dtype=np.int64)
    xs: dict[int, Any] = {}
    ws: dict[int, Any] = {}

    def x_of(size: int):
        if size not in xs:
            xs[size] = torch.zeros(1, 1, size)
        return xs[size]

    def w_of(size: int):
        if size not in ws:
            ws[size] = torch.zeros(1, 1, size)
        return ws[size]

    op = grid.op
    with torch.no_grad(), warnings.catch_warnings():
        # torch warns that 'same' with an even kernel may copy the input: not our concern here
        warnings.simplefilter("ignore", UserWarning)
        for idx in range(count):
            n_, k_ = c["n"][idx], c["k"][idx]
            try:
                if op == "conv1d":
                    mode = c["mode"][idx]
                    x_ = x_of(n_)
                    if mode == _PAIR:
                        x_ = F.pad(x_, (c["lo"][idx], c["hi"][idx]))
                        padding: Any = 0
                    else:
                        padding = {_INT: c["lo"][idx], _SAME: "same", _VALID: "valid"}[mode]
                    y = F.conv1d(x_, w_of(k_), None, c["s"][idx], padding, c["d"][idx])
                elif op == "max_pool1d":
                    y = F.max_pool1d(
                        x_of(n_),
                        k_,
                        c["s"][idx] or None,
                        c["p"][idx],
                        c["d"][idx],
                        bool(c["ceil"][idx]),
                    )
                elif op == "avg_pool1d":
                    y = F.avg_pool1d(
                        x_of(n_), k_, c["s"][idx] or None, c["p"][idx], bool(c["ceil"][idx])
                    )
                else:
                    y = F.conv_transpose1d(
                        x_of(n_),
                        w_of(k_),
                        None,
                        c["s"][idx],
                        c["p"][idx],
                        c["op"][idx],
                        1,
                        c["d"][idx],
                    )
                out[idx] = y.shape[-1]
            except (RuntimeError, ValueError):
                out[idx] = REJECT
            if idx % 4096 == 4095:
                tick(4096)
    tick(count % 4096)
    return out


def _show(value: int) -> str:
    if value == ERROR:
        return "an error (not a size, not a ShapeError)"
    return "ShapeError" if value == REJECT else f"size {value}"


def _torch_show(value: int) -> str:
    return "raises" if value == REJECT else f"size {value}"


# ---------------------------------------------------------------- elements
def _element_case(rng: random.Random) -> tuple[str, dict[str, Any], list, list | None, list | None]:
    """A random 2-D case: (op, params, input, weight, bias), values small integers."""
    op = rng.choice(["conv2d", "conv2d", "conv2d", "max_pool2d", "avg_pool2d"])
    height, width = rng.randint(1, 7), rng.randint(1, 7)

    def tensor(*shape: int) -> list:
        if len(shape) == 1:
            return [rng.randint(-4, 4) for _ in range(shape[0])]
        return [tensor(*shape[1:]) for _ in range(shape[0])]

    if op == "conv2d":
        groups = rng.choice([1, 1, 2])
        c_in = groups * rng.randint(1, 2)
        c_out = groups * rng.randint(1, 2)
        kh, kw = rng.randint(1, 4), rng.randint(1, 4)
        stride = (rng.randint(1, 3), rng.randint(1, 3)) if rng.random() < 0.6 else 1
        dilation = rng.choice([1, 1, 2, (1, 2)])
        padding: Any = rng.choice(
            [
                rng.randint(0, 2),
                (rng.randint(0, 2), rng.randint(0, 2)),
                "valid",
                "same",
                ((rng.randint(0, 2), rng.randint(0, 2)), (rng.randint(0, 2), rng.randint(0, 2))),
            ]
        )
        if padding == "same" and rng.random() < 0.8:
            stride = 1
        batched = rng.random() < 0.2
        shape = (2, c_in, height, width) if batched else (c_in, height, width)
        bias = tensor(c_out) if rng.random() < 0.5 else None
        params = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
        return op, params, tensor(*shape), tensor(c_out, c_in // groups, kh, kw), bias
    channels = rng.randint(1, 2)
    kernel = (rng.randint(1, 4), rng.randint(1, 4))
    stride = None if rng.random() < 0.3 else (rng.randint(1, 3), rng.randint(1, 3))
    padding = (rng.randint(0, 2), rng.randint(0, 2))
    params = {
        "kernel_size": kernel,
        "stride": stride,
        "padding": padding,
        "ceil_mode": rng.random() < 0.5,
    }
    if op == "max_pool2d":
        params["dilation"] = rng.choice([1, 1, 2])
    else:
        params["count_include_pad"] = rng.random() < 0.5
        params["divisor_override"] = rng.choice([None, None, None, rng.randint(1, 5)])
    return op, params, tensor(channels, height, width), None, None


def _torch_2d(op: str, params: dict[str, Any], x: list, w: list | None, b: list | None):
    import torch
    import torch.nn.functional as F

    X = torch.tensor(x, dtype=torch.float64)
    if op == "conv2d":
        kw = dict(params)
        padding = kw.pop("padding")
        if isinstance(padding, tuple) and isinstance(padding[0], tuple):
            (top, bottom), (left, right) = padding
            X = F.pad(X, (left, right, top, bottom))
            padding = 0
        W = torch.tensor(w, dtype=torch.float64)
        B = None if b is None else torch.tensor(b, dtype=torch.float64)
        return F.conv2d(X, W, B, padding=padding, **kw)
    fn = F.max_pool2d if op == "max_pool2d" else F.avg_pool2d
    return fn(X, **params)


def _engine_2d(op: str, params: dict[str, Any], x: list, w: list | None, b: list | None):
    if op == "conv2d":
        return C.conv2d(x, w, b, **params)
    fn = PL.max_pool2d if op == "max_pool2d" else PL.avg_pool2d
    return fn(x, **params)


def _compare_elements(ours: Any, theirs: Any) -> str | None:
    shape = tuple(ours.shape)
    if shape != tuple(theirs.shape):
        return f"shape {shape} vs {tuple(theirs.shape)}"
    values = theirs.reshape(-1).tolist()
    for pos, (a, b) in enumerate(zip(sp.flatten(ours), values)):
        if a in (sp.oo, -sp.oo) or b in (float("inf"), float("-inf")):
            if float(a) != b:
                return f"entry {pos}: {a} vs {b}"
            continue
        if a is sp.nan or b != b:
            if not (a is sp.nan and b != b):
                return f"entry {pos}: {a} vs {b}"
            continue
        if abs(float(a) - b) > 1e-9 * max(1.0, abs(b)):
            return f"entry {pos}: {a} vs {b}"
    return None


def _run_elements(
    count: int, rng: random.Random, result: SweepResult, tick: Callable[[int], None]
) -> None:
    for _ in range(count):
        op, params, x, w, b = _element_case(rng)
        config = {"params": params, "input": x, "weight": w, "bias": b}
        try:
            ours: Any = _engine_2d(op, params, x, w, b)
        except ShapeError as exc:
            ours = exc
        except Exception as exc:  # a broken engine: report it as a disagreement
            result.disagreements.append(Disagreement(op, config, f"raised {exc!r}", "-"))
            result.element_cases += 1
            tick(1)
            continue
        try:
            theirs: Any = _torch_2d(op, params, x, w, b)
        except (RuntimeError, ValueError) as exc:
            theirs = exc
        problem = None
        if isinstance(ours, ShapeError) or isinstance(theirs, Exception):
            if isinstance(ours, ShapeError) != isinstance(theirs, Exception):
                problem = (
                    f"ShapeError: {ours}"
                    if isinstance(ours, ShapeError)
                    else f"shape {tuple(ours.shape)}",
                    f"raises: {theirs}"
                    if isinstance(theirs, Exception)
                    else f"shape {tuple(theirs.shape)}",
                )
            else:
                result.rejected += 1
        else:
            diff = _compare_elements(ours, theirs)
            if diff:
                problem = (diff, "differs")
        if problem:
            result.disagreements.append(Disagreement(op, config, *problem))
        result.element_cases += 1
        tick(1)


# ---------------------------------------------------------------- driver
def run_sweep(
    configs: int | None = None,
    elements: int = DEFAULT_ELEMENTS,
    seed: int = 0,
    engine_sample: int = ENGINE_SAMPLE,
    progress: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """Compare the engine with torch; ``configs`` samples that many shape configurations
    (``None``: the full grids), ``elements`` 2-D element cases, all from ``seed``.

    ``progress(done, total)`` is called as work completes.
    """
    import torch

    start = time.perf_counter()
    torch.set_num_threads(1)
    rng = random.Random(seed)
    grids = build_grids()
    total_grid = sum(len(g) for g in grids)
    if configs is not None and configs < total_grid:
        picks = np.random.default_rng(seed).choice(total_grid, size=configs, replace=False)
        picks.sort()
        bounds = np.cumsum([0] + [len(g) for g in grids])
        grids = [
            _subset(g, picks[(picks >= lo) & (picks < hi)] - lo)
            for g, lo, hi in zip(grids, bounds, bounds[1:])
        ]
    result = SweepResult()
    total = sum(len(g) for g in grids) + elements
    done = 0

    def tick(step: int) -> None:
        nonlocal done
        done += step
        if progress is not None:
            progress(done, total)

    for grid in grids:
        try:
            model = _model(grid)
        except Exception as exc:  # the engine's symbolic formula is unusable: ask it numerically
            result.notes.append(f"{grid.op}: no compiled formula ({type(exc).__name__}: {exc})")
            model = np.array([_engine_call(grid.op, grid.config(i)) for i in range(len(grid))])
        theirs = _torch_lengths(grid, tick)
        result.by_op[grid.op] = len(grid)
        result.configurations += len(grid)
        result.rejected += int(np.sum((model == REJECT) & (theirs == REJECT)))
        for idx in np.flatnonzero(model != theirs).tolist():
            result.disagreements.append(
                Disagreement(
                    grid.op, grid.config(idx), _show(int(model[idx])), _torch_show(int(theirs[idx]))
                )
            )
        # the engine itself, numerically, on a random subsample
        share = max(1, engine_sample * len(grid) // max(1, total_grid))
        for idx in sorted(rng.sample(range(len(grid)), min(share, len(grid)))):
            cfg = grid.config(idx)
            direct = _engine_call(grid.op, cfg)
            result.engine_sampled += 1
            if direct != model[idx] or direct != theirs[idx]:
                result.disagreements.append(
                    Disagreement(
                        grid.op,
                        cfg,
                        f"{_show(direct)} (engine called numerically; compiled: "
                        f"{_show(int(model[idx]))})",
                        _torch_show(int(theirs[idx])),
                    )
                )
    _run_elements(elements, rng, result, tick)
    result.configurations += result.element_cases
    result.by_op["2-D elements"] = result.element_cases
    result.failed = len(result.disagreements)
    result.seconds = time.perf_counter() - start
    return result
