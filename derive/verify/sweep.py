r"""The numeric sweep: the engine against PyTorch over a large grid of configurations.

**Shapes and rejections.** Four one-dimensional grids (:mod:`derive.verify.grids`) -
convolution (integer, asymmetric, ``'same'`` and ``'valid'`` padding, dilation), max pooling
(``ceil_mode``, dilation, ``stride=None``), average pooling (``ceil_mode``) and transposed
convolution (output padding, dilation) - at least
:data:`~derive.verify.settings.DEFAULT_CONFIGS_FLOOR` configurations in all, plus small
*edge* grids that cross the sign boundaries (zero and negative values). torch gives each
configuration's output length or raises (:mod:`derive.verify.torch_runs`).

The engine answers three ways, and each must agree with torch:

1. **compiled** (:mod:`derive.verify.model`): every configuration, from the operation's
   acceptance rule - its rejection predicate and its size formula, built once with symbols -
   so accept/reject *and* size are the engine's own; where both reject, torch's message must
   be about an argument of one of the engine's guards that hold there;
2. **numerically**, configuration by configuration through the size function (``op.size``):
   every configuration on or next to a guard's boundary (where a relation of the rule flips
   and the flip decides acceptance), the whole edge grids, and a random sample of the rest;
   a rejection's message must be the message of a guard of the rule that holds there, and
   that guard's argument one torch names;
3. the compiled and the numeric answers must agree with each other.

**Elements.** On a random sample of 2-D cases (:mod:`derive.verify.elements`) the engine's
exact elements are compared with torch's in float64.

Every disagreement is counted; the first :data:`KEPT` are kept with their configuration.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from derive.ops import Op
from derive.verify.elements import compare_case, random_case
from derive.verify.grids import Grid, build_grids, edge_grids
from derive.verify.model import (
    ERROR,
    REJECT,
    Model,
    compile_model,
    engine_call,
)
from derive.verify.settings import DEFAULT_ELEMENTS, ENGINE_SAMPLE, KEPT
from derive.verify.torch_runs import TORCH_CHECKS, TorchAnswers, torch_answers

__all__ = [
    "Disagreement",
    "SweepResult",
    "Grid",
    "build_grids",
    "run_sweep",
    "DEFAULT_ELEMENTS",
    "KEPT",
]


Tick = Callable[[int], None]


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
    """Counts of a sweep and its disagreements.

    ``engine_sampled``: configurations also run through the engine numerically, of which
    ``boundary`` on or next to a guard's boundary and ``edge`` in the edge grids;
    ``arguments_compared``: rejections whose named argument was compared with torch's.
    """

    configurations: int = 0
    failed: int = 0
    by_op: dict[str, int] = field(default_factory=dict)
    rejected: int = 0
    engine_sampled: int = 0
    boundary: int = 0
    edge: int = 0
    arguments_compared: int = 0
    element_cases: int = 0
    disagreements: list[Disagreement] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def disagree(self, make: Callable[[], Disagreement]) -> None:
        """Count a disagreement; keep it (``make()``) unless :data:`KEPT` are kept already."""
        self.failed += 1
        if len(self.disagreements) < KEPT:
            self.disagreements.append(make())


def _show(value: int) -> str:
    if value == ERROR:
        return "an error (not a size, not a ShapeError)"
    return "ShapeError" if value == REJECT else f"size {value}"


def _torch_show(value: int) -> str:
    return "raises" if value == REJECT else f"size {value}"


def _argument_ok(torch_check: int, named: set[str]) -> bool:
    """torch's message (its class) is about one of the ``named`` arguments, or unclassified."""
    return torch_check < 0 or bool(TORCH_CHECKS[torch_check][1] & named)


def _compare_compiled(grid: Grid, model: Model, theirs: TorchAnswers, result: SweepResult) -> None:
    for idx in np.flatnonzero(model.sizes != theirs.lengths).tolist():
        result.disagree(
            lambda idx=idx: Disagreement(
                grid.label,
                grid.config(idx),
                _show(int(model.sizes[idx])),
                _torch_show(int(theirs.lengths[idx])),
            )
        )
    both = (model.sizes == REJECT) & (theirs.lengths == REJECT)
    result.rejected += int(both.sum())
    if grid.edge:  # torch may name a consequence there (kernel 0 under 'same': negative padding)
        return
    for check in np.unique(theirs.checks[both]).tolist():
        if check < 0:
            continue
        mine = np.zeros(len(grid), dtype=bool)
        for guard in model.guards:
            if guard.argument in TORCH_CHECKS[check][1]:
                mine |= guard.holds
        chosen = both & (theirs.checks == check)
        result.arguments_compared += int(chosen.sum())
        about = "/".join(sorted(TORCH_CHECKS[check][1]))
        for idx in np.flatnonzero(chosen & ~mine).tolist():
            result.disagree(
                lambda idx=idx, about=about: Disagreement(
                    grid.label,
                    grid.config(idx),
                    f"ShapeError from guards on {', '.join(sorted(model.arguments(idx)))}",
                    f"raises about {about}: {theirs.messages[idx]}",
                )
            )


def _numeric_one(grid: Grid, idx: int, model: Model, theirs: TorchAnswers) -> str | None:
    """What is wrong with the engine's numeric answer at ``idx``, or None.

    A numeric rejection must carry the message of a guard that holds there, and (main grids)
    torch's message must be about an argument of the guards that hold.
    """
    config = grid.config(idx)
    value, message = engine_call(grid.op, config)
    compiled, torch_value = int(model.sizes[idx]), int(theirs.lengths[idx])
    if value != compiled or value != torch_value:
        return f"{_show(value)} (engine called numerically; compiled: {_show(compiled)})"
    if value != REJECT or not model.guards:
        return None
    named = model.named(idx, message or "")
    if named is None:
        return f"ShapeError from no guard that holds: {message}"
    if not grid.edge and not _argument_ok(int(theirs.checks[idx]), named):
        return f"ShapeError naming {', '.join(sorted(named))}: {message}"
    return None


def _numeric_indices(grid: Grid, model: Model, rng: random.Random, share: int) -> np.ndarray:
    """Every boundary configuration (every one of an edge grid) and a random sample."""
    compiled = ~model.numeric if model.numeric is not None else np.ones(len(grid), dtype=bool)
    if grid.edge:
        return np.flatnonzero(compiled)
    chosen = np.flatnonzero(model.boundary & compiled)
    rest = np.flatnonzero(~model.boundary & compiled).tolist()
    sample = sorted(rng.sample(rest, min(share, len(rest))))
    return np.union1d(chosen, np.asarray(sample, dtype=np.int64))


def _compare_numeric(
    grid: Grid, model: Model, theirs: TorchAnswers, idx: np.ndarray, result: SweepResult
) -> None:
    for i in idx.tolist():
        problem = _numeric_one(grid, i, model, theirs)
        if problem:
            shown = _torch_show(int(theirs.lengths[i]))
            if i in theirs.messages:
                shown += f" ({theirs.messages[i]})"
            result.disagree(
                lambda i=i, problem=problem, shown=shown: Disagreement(
                    grid.label, grid.config(i), problem, shown
                )
            )
    result.engine_sampled += len(idx)
    if grid.edge:
        result.edge += len(idx)
    else:
        result.boundary += int(model.boundary.sum())


def _fallback(grid: Grid, result: SweepResult, exc: Exception) -> Model:
    """The grid cannot even be split into modes: ask the engine numerically, one by one."""
    result.notes.append(f"{grid.label}: no compiled formula ({type(exc).__name__}: {exc})")
    sizes = np.array([engine_call(grid.op, c)[0] for c in grid.configs], dtype=np.int64)
    return Model(sizes, [], np.zeros(len(grid), dtype=bool), np.ones(len(grid), dtype=bool))


def _sweep_grid(
    grid: Grid, rng: random.Random, share: int, result: SweepResult, tick: Tick
) -> None:
    try:
        model = compile_model(grid)
    except Exception as exc:  # a broken engine may break its symbolic form in any way
        model = _fallback(grid, result, exc)
    result.notes.extend(model.notes)
    theirs = torch_answers(grid, tick)
    _compare_compiled(grid, model, theirs, result)
    _compare_numeric(grid, model, theirs, _numeric_indices(grid, model, rng, share), result)
    result.by_op[grid.label] = result.by_op.get(grid.label, 0) + len(grid)
    result.configurations += len(grid)


def _run_elements(count: int, rng: random.Random, result: SweepResult, tick: Tick) -> None:
    for _ in range(count):
        case = random_case(rng)
        outcome = compare_case(case)
        if outcome is True:
            result.rejected += 1
        elif outcome:
            result.disagree(lambda c=case, o=outcome: Disagreement(c.label, c.config(), *o))
        result.element_cases += 1
        tick(1)


@functools.cache
def _all_grids() -> tuple[Grid, ...]:
    """The main and edge grids, built once (each keeps its configurations once built)."""
    return tuple(build_grids() + edge_grids())


def _sample(grids: list[Grid], configs: int | None, seed: int) -> list[Grid]:
    """``configs`` configurations drawn from the grids (all of them when None)."""
    total = sum(len(g) for g in grids)
    if configs is None or configs >= total:
        return grids
    picks = np.sort(np.random.default_rng(seed).choice(total, size=configs, replace=False))
    bounds = np.cumsum([0] + [len(g) for g in grids])
    return [
        g.subset(picks[(picks >= lo) & (picks < hi)] - lo)
        for g, lo, hi in zip(grids, bounds, bounds[1:])
    ]


def run_sweep(
    configs: int | None = None,
    elements: int = DEFAULT_ELEMENTS,
    seed: int = 0,
    engine_sample: int = ENGINE_SAMPLE,
    progress: Callable[[int, int], None] | None = None,
    ops: tuple[Op, ...] | None = None,
) -> SweepResult:
    """Compare the engine with torch; ``configs`` samples that many shape configurations of
    the grids (``None``: all of them), ``elements`` 2-D element cases, all from ``seed``;
    ``ops`` keeps the grids of those operations only. ``progress(done, total)`` is called as
    work goes.
    """
    import torch

    start = time.perf_counter()
    torch.set_num_threads(1)
    rng = random.Random(seed)
    grids = [g for g in _all_grids() if ops is None or g.op in ops]
    full = sum(len(g) for g in grids if not g.edge)
    grids = _sample(grids, configs, seed)
    result = SweepResult()
    total, done = sum(len(g) for g in grids) + elements, 0

    def tick(step: int) -> None:
        nonlocal done
        done += step
        if progress is not None:
            progress(done, total)

    for grid in grids:
        share = max(1, engine_sample * len(grid) // max(full, 1))
        _sweep_grid(grid, rng, share, result, tick)
    _run_elements(elements, rng, result, tick)
    result.configurations += result.element_cases
    result.by_op["2-D elements"] = result.element_cases
    result.seconds = time.perf_counter() - start
    return result
